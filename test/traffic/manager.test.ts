// The SAN manager as a pure state machine: no sockets, a fake clock and a fake peer.

import { describe, expect, it } from 'vitest';
import { decodeFrame, type DecodedFrame } from '../../src/protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import type { BlockRecord } from '../../src/protocol/codec.js';
import { defaultServerConfig, type PeerConfig, type ServerConfig } from '../../src/traffic/config.js';
import {
  BAD_CHECKSUM, CONFLICT, DENIED, MALFORMED, NO_CAPACITY, NO_MATCH, OK, PENDING, SanManager, TIMEOUT, UNKNOWN_SESSION,
  UNSUPPORTED,
} from '../../src/traffic/manager.js';

const A = 0x11n;
const B = 0x22n;
const GiB = 1024 * 1024;

function frame(spec: FrameSpec): DecodedFrame {
  return decodeFrame(encodeFrame(spec));
}

function setup(mutate?: (c: ServerConfig) => void, extra: Partial<ConstructorParameters<typeof SanManager<string>>[0]> = {}) {
  const config = defaultServerConfig();
  mutate?.(config);
  let t = 1_700_000_000_000;
  const pushed: Array<[string, DecodedFrame]> = [];
  const m = new SanManager<string>({
    config, now: () => t, deliver: (target, spec) => pushed.push([target, frame(spec)]), sessionIds: 'sequential', ...extra,
  });
  const send = async (spec: FrameSpec, target = 'conn-A'): Promise<DecodedFrame | null> => {
    const r = await m.handle(frame({ src_san: 1, dst_san: 1, client_id: A, transaction_id: 1, ...spec }), target);
    return r ? frame(r) : null;
  };
  const alloc = (sub: number, p: Partial<BlockRecord>, client = A, txid = 1, target = 'conn-A') =>
    send({ opcode: 2, sub_opcode: sub, client_id: client, transaction_id: txid, payload: { storage_type: 0xff, access_type: 0xff, ...p } }, target);
  return { m, send, alloc, pushed, advance: (ms: number) => (t += ms), now: () => t };
}

const status = (f: DecodedFrame | null) => f?.header.sub_opcode;
const pl = (f: DecodedFrame | null) => (f?.payload ?? {}) as BlockRecord;

describe('reply header', () => {
  it('echoes client and transaction, swaps SANs, sets bit 15, own server id', async () => {
    const { send } = setup();
    const r = await send({ opcode: 1, sub_opcode: 1, src_san: 7, dst_san: 1, client_id: 0x1234n, transaction_id: 99 });
    expect(r!.header).toMatchObject({ opcode: 0x8001, src_san: 1, dst_san: 7, client_id: 0x1234n, transaction_id: 99, server_id: 0xaan, sub_opcode: OK });
    expect(r!.findings).toEqual([]);
  });

  it('never answers replies or Announces', async () => {
    const { send, m } = setup();
    expect(await send({ opcode: 0x8001, sub_opcode: 0 })).toBeNull();
    expect(await send({ opcode: 0x8042, sub_opcode: 0 })).toBeNull();
    expect(await send({ opcode: 7, sub_opcode: 1, payload: { devices: [] } })).toBeNull();
    expect(await send({ opcode: 7, sub_opcode: 1, corruptChecksum: true, payload: { devices: [] } })).toBeNull();
    expect(m.counters.ignored).toBe(2);
  });
});

describe('frame-level statuses', () => {
  it('BAD_CHECKSUM before anything else, even for unknown opcodes', async () => {
    const { send } = setup();
    expect(status(await send({ opcode: 1, sub_opcode: 1, corruptChecksum: true }))).toBe(BAD_CHECKSUM);
    const r = await send({ opcode: 0x42, corruptChecksum: true });
    expect(r!.header.opcode).toBe(0x8042);
    expect(status(r)).toBe(BAD_CHECKSUM);
  });

  it('UNSUPPORTED for unknown opcodes and invalid sub-opcodes', async () => {
    const { send, alloc } = setup();
    expect(status(await send({ opcode: 0x42 }))).toBe(UNSUPPORTED);
    expect(status(await send({ opcode: 1, sub_opcode: 0x04 }))).toBe(UNSUPPORTED);
    expect(status(await alloc(0x00, { capacity_kb: 1 }))).toBe(UNSUPPORTED);
    expect(status(await send({ opcode: 6, sub_opcode: 1, payload: { session_id: 1 } }))).toBe(UNSUPPORTED);
  });

  it('MALFORMED for a payload of the wrong size', async () => {
    const { send } = setup();
    expect(status(await send({ opcode: 2, sub_opcode: 1, payload: new Uint8Array(16) }))).toBe(MALFORMED);
    expect(status(await send({ opcode: 1, sub_opcode: 1, payload: new Uint8Array(4) }))).toBe(MALFORMED);
    expect(status(await send({ opcode: 6, sub_opcode: 0 }))).toBe(MALFORMED);
    expect(status(await send({ opcode: 4, sub_opcode: 0, payload: new Uint8Array(12) }))).toBe(MALFORMED);
  });

  it('MALFORMED for a cut-off UDP datagram and for trailing bytes; short frames too', async () => {
    const { m } = setup();
    const full = encodeFrame({ opcode: 6, client_id: A, transaction_id: 3, payload: { session_id: 1 } });
    const trailing = decodeFrame(Buffer.concat([full, Buffer.alloc(4)]), { udp: true });
    expect((m.handle(trailing, 'u') as FrameSpec).sub_opcode).toBe(MALFORMED);
    const cut = Buffer.from(full.subarray(0, 34));
    cut[31] = (cut[31]! + full[34]! + full[35]!) & 0xff; // keep the sum of what is present at 0
    expect((m.handle(decodeFrame(cut, { udp: true }), 'u') as FrameSpec).sub_opcode).toBe(MALFORMED);
    const short = m.handle(decodeFrame(full.subarray(0, 28), { udp: true }), 'u') as FrameSpec;
    expect(short.sub_opcode).toBe(MALFORMED);
    expect(short.transaction_id).toBe(3);
    expect(m.handle(decodeFrame(full.subarray(0, 1), { udp: true }), 'u')).toBeNull();
  });

  it('DENIED outside the security domain, for every opcode', async () => {
    const { send, alloc } = setup((c) => (c.allowed_clients = [A]));
    expect(status(await send({ opcode: 1, sub_opcode: 1 }))).toBe(OK);
    expect(status(await send({ opcode: 1, sub_opcode: 1, client_id: B }))).toBe(DENIED);
    expect(status(await alloc(1, { capacity_kb: 1 }, B))).toBe(DENIED);
    expect(status(await send({ opcode: 6, client_id: B, payload: { session_id: 1 } }))).toBe(DENIED);
  });
});

describe('Query', () => {
  it('0x01 lists the registered devices with free capacity; 0x03 only this SAN; 0x02 also announced ones', async () => {
    const { send, alloc } = setup((c) => c.devices.push({ ...c.devices[0]!, device_id: 77, san_id: 5 }));
    await alloc(1, { storage_type: 5, access_type: 2, capacity_kb: GiB });
    const all = pl(await send({ opcode: 1, sub_opcode: 1 }))['devices'] as unknown as BlockRecord[];
    expect(all.map((d) => d['device_id'])).toEqual([1, 2, 3, 4, 5, 6, 77]);
    expect(all[0]!['free_kb']).toBe(99 * GiB);
    const local = pl(await send({ opcode: 1, sub_opcode: 3 }))['devices'] as unknown as BlockRecord[];
    expect(local.map((d) => d['device_id'])).toEqual([1, 2, 3, 4, 5, 6]);
    await send({ opcode: 7, sub_opcode: 1, server_id: 0xbbn, payload: { devices: [{ device_id: 9, san_id: 4, free_kb: 5 }] } });
    const wide = pl(await send({ opcode: 1, sub_opcode: 2 }))['devices'] as unknown as BlockRecord[];
    expect(wide.map((d) => `${d['san_id']}:${d['device_id']}`)).toContain('4:9');
    await send({ opcode: 7, sub_opcode: 3, server_id: 0xbbn, payload: { devices: [{ device_id: 9, san_id: 4 }] } });
    expect((pl(await send({ opcode: 1, sub_opcode: 2 }))['devices'] as unknown as BlockRecord[]).length).toBe(7);
  });

  it('0xFF asks every peer (Query 0x01) and merges; a silent peer is left out', async () => {
    const asked: FrameSpec[] = [];
    const { send } = setup((c) => {
      c.peers = [2, 3].map((s) => ({ san_id: s, address: `h:${s}`, host: 'h', port: s }));
    }, {
      askPeer: async (peer: PeerConfig, spec: FrameSpec) => {
        asked.push(spec);
        if (peer.san_id === 3) return null;
        return frame({ opcode: 0x8001, server_id: 0xb2n, transaction_id: spec.transaction_id, payload: { devices: [{ device_id: 1, san_id: 2, free_kb: 10 }, { device_id: 2, san_id: 2 }] } });
      },
    });
    const r = await send({ opcode: 1, sub_opcode: 0xff });
    expect(status(r)).toBe(OK);
    expect((pl(r)['devices'] as unknown as BlockRecord[]).map((d) => `${d['san_id']}:${d['device_id']}`)).toEqual(
      ['1:1', '1:2', '1:3', '1:4', '1:5', '1:6', '2:1', '2:2']);
    expect(asked.map((s) => [s.opcode, s.sub_opcode, s.src_san, s.dst_san, s.client_id])).toEqual([[1, 1, 1, 2, A], [1, 1, 1, 3, A]]);
  });
});

describe('Allocate', () => {
  it('grants by type and access, best fit, with the device type in the reply', async () => {
    const { alloc, m } = setup();
    const r = await alloc(1, { storage_type: 0xff, access_type: 2, capacity_kb: GiB, bandwidth_kb: 1000, qos: 3, timeout_ms: 1234 });
    expect(status(r)).toBe(OK);
    // FC devices with room: RAID5 (100 GiB) and JBOD disk (20 GiB): best fit is the disk.
    expect(pl(r)).toMatchObject({ storage_type: 0, access_type: 2, session_id: 1, capacity_kb: GiB, bandwidth_kb: 1000, qos: 3, flags: 0, timeout_ms: 1234 });
    expect(m.session(1)).toMatchObject({ device_id: 3, client_id: A, state: 'ALLOCATED' });
    expect(pl(await alloc(1, { storage_type: 5, access_type: 2, capacity_kb: GiB }))).toMatchObject({ session_id: 2, storage_type: 5 });
  });

  it('NO_MATCH for type, access, bandwidth or QoS nobody offers; MALFORMED for session ≠ 0 or capacity 0', async () => {
    const { alloc } = setup();
    expect(status(await alloc(1, { storage_type: 2, capacity_kb: 1 }))).toBe(NO_MATCH);
    expect(status(await alloc(1, { storage_type: 5, access_type: 1, capacity_kb: 1 }))).toBe(NO_MATCH);
    expect(status(await alloc(1, { capacity_kb: 1, bandwidth_kb: 2_000_000 }))).toBe(NO_MATCH);
    expect(status(await alloc(1, { capacity_kb: 1, qos: 5 }))).toBe(NO_MATCH);
    expect(status(await alloc(1, { capacity_kb: 1, session_id: 4 }))).toBe(MALFORMED);
    expect(status(await alloc(1, { capacity_kb: 0 }))).toBe(MALFORMED);
  });

  it('0x01 is all or nothing (NO_CAPACITY); 0x02 grants what is left', async () => {
    const { alloc } = setup();
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 101 * GiB }))).toBe(NO_CAPACITY);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 60 * GiB }))).toBe(OK);
    const r = await alloc(2, { storage_type: 5, capacity_kb: 60 * GiB });
    expect(status(r)).toBe(OK);
    expect(pl(r)['capacity_kb']).toBe(40 * GiB);
    expect(status(await alloc(2, { storage_type: 5, capacity_kb: 1 }))).toBe(NO_CAPACITY);
  });

  it('bandwidth is reserved per device', async () => {
    const { alloc } = setup();
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 1, bandwidth_kb: 300 * 1024 }))).toBe(OK);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 1, bandwidth_kb: 200 * 1024 }))).toBe(NO_CAPACITY);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 1, bandwidth_kb: 100 * 1024 }))).toBe(OK);
  });

  it('EXCLUSIVE blocks other clients (CONFLICT) but not its own client; exclusive is refused while others share', async () => {
    const { alloc } = setup();
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: GiB, flags: 1 }))).toBe(OK);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: GiB }, B))).toBe(CONFLICT);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: GiB }))).toBe(OK);
    expect(status(await alloc(1, { storage_type: 3, capacity_kb: GiB }, B))).toBe(OK);
    expect(status(await alloc(1, { storage_type: 3, capacity_kb: GiB, flags: 1 }))).toBe(CONFLICT);
    // Conflict only where the device would otherwise fit.
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 200 * GiB }, B))).toBe(NO_CAPACITY);
  });

  it('WAIT: PENDING with the block echoed, then the grant pushed to the waiting target with the same txid', async () => {
    const { alloc, send, pushed, m } = setup();
    const a = await alloc(1, { storage_type: 5, capacity_kb: 90 * GiB });
    const p = await alloc(1, { storage_type: 5, capacity_kb: 20 * GiB, flags: 8, qos: 2 }, B, 77, 'conn-B');
    expect(status(p)).toBe(PENDING);
    expect(pl(p)).toMatchObject({ session_id: 0, capacity_kb: 20 * GiB, flags: 8, qos: 2 });
    expect(m.waiting).toBe(1);
    // NO_MATCH is not worth waiting for.
    expect(status(await alloc(1, { storage_type: 2, capacity_kb: 1, flags: 8 }, B))).toBe(NO_MATCH);
    // A shrink that does not make room yet: still waiting.
    expect(status(await send({ opcode: 4, payload: { session_id: pl(a)['session_id'], release_kb: 5 * GiB } }))).toBe(OK);
    expect(pushed).toHaveLength(0);
    expect(status(await send({ opcode: 4, payload: { session_id: pl(a)['session_id'], release_kb: 0 } }))).toBe(OK);
    expect(pushed).toHaveLength(1);
    const [target, g] = pushed[0]!;
    expect(target).toBe('conn-B');
    expect(g.header).toMatchObject({ opcode: 0x8002, transaction_id: 77, client_id: B, sub_opcode: OK, server_id: 0xaan });
    expect(pl(g)).toMatchObject({ capacity_kb: 20 * GiB, storage_type: 5 });
    expect(m.session(pl(g)['session_id'] as number)?.client_id).toBe(B);
    expect(m.waiting).toBe(0);
  });

  it('WAIT on CONFLICT is served when the exclusive holder leaves; dropTarget forgets waiters', async () => {
    const { alloc, send, pushed, m } = setup();
    await alloc(1, { storage_type: 5, capacity_kb: GiB, flags: 1 });
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: GiB, flags: 8 }, B, 5, 'conn-B'))).toBe(PENDING);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: GiB, flags: 8 }, B, 6, 'conn-C'))).toBe(PENDING);
    expect(m.dropTarget('conn-C')).toBe(1);
    expect(status(await send({ opcode: 4, payload: { session_id: 1, release_kb: 0 } }))).toBe(OK);
    expect(pushed.map(([t, f]) => [t, f.header.transaction_id])).toEqual([['conn-B', 5]]);
  });

  it('limits WAIT registrations per client', async () => {
    const { alloc } = setup((c) => (c.limits.max_outstanding_per_client = 1));
    await alloc(1, { storage_type: 5, capacity_kb: 100 * GiB });
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 1, flags: 8 }, B))).toBe(PENDING);
    expect(status(await alloc(1, { storage_type: 5, capacity_kb: 1, flags: 8 }, B))).toBe(NO_CAPACITY);
  });

  it('session ids count up from 1 and skip ids in use after wrapping', async () => {
    const { alloc, send, m } = setup();
    for (let i = 1; i <= 3; i++) expect(pl(await alloc(1, { capacity_kb: 1 }))['session_id']).toBe(i);
    await send({ opcode: 4, payload: { session_id: 2 } });
    expect(pl(await alloc(1, { capacity_kb: 1 }))['session_id']).toBe(4);
    const st = m.snapshot();
    st.next_session_id = 0xffff;
    m.restore(st);
    expect(pl(await alloc(1, { capacity_kb: 1 }))['session_id']).toBe(0xffff);
    expect(pl(await alloc(1, { capacity_kb: 1 }))['session_id']).toBe(2);
  });
});

describe('cross-SAN forwarding (0xFF)', () => {
  function peers(answer: (peer: PeerConfig, spec: FrameSpec) => DecodedFrame | null) {
    const asked: FrameSpec[] = [];
    const s = setup((c) => {
      c.devices = [{ ...c.devices[0]!, capacity_kb: 4 * GiB }];
      c.peers = [2, 3].map((san) => ({ san_id: san, address: `h:${san}`, host: 'h', port: san }));
    }, {
      askPeer: async (peer: PeerConfig, spec: FrameSpec) => {
        asked.push(spec);
        return answer(peer, spec);
      },
    });
    return { ...s, asked };
  }

  it('forwards when exhausted, tries peers in order, relays the grant as a proxy session', async () => {
    const { alloc, send, asked, m } = peers((peer, spec) => {
      if (peer.san_id === 2) return frame({ opcode: 0x8002, sub_opcode: NO_MATCH, transaction_id: spec.transaction_id });
      if (spec.opcode === 2) {
        return frame({ opcode: 0x8002, server_id: 0xa3n, transaction_id: spec.transaction_id, payload: { ...(spec.payload as BlockRecord), session_id: 42, storage_type: 5, access_type: 2 } });
      }
      if (spec.opcode === 6) return frame({ opcode: 0x8006, server_id: 0xa3n, payload: { session_id: 42, age_ms: 5, io_ops: 9 } });
      return frame({ opcode: spec.opcode | 0x8000, server_id: 0xa3n, payload: spec.payload as BlockRecord });
    });
    const r = await alloc(0xff, { storage_type: 5, capacity_kb: 10 * GiB, flags: 8, timeout_ms: 2000 }, A, 500);
    expect(status(r)).toBe(OK);
    expect(pl(r)).toMatchObject({ session_id: 1, capacity_kb: 10 * GiB, storage_type: 5, timeout_ms: 2000 });
    expect(asked).toHaveLength(2);
    for (const [i, f] of asked.entries()) {
      expect(f).toMatchObject({ opcode: 2, sub_opcode: 1, src_san: 1, dst_san: i + 2, client_id: A, server_id: 0n });
      expect(f.transaction_id).not.toBe(500);
      expect((f.payload as BlockRecord)['flags']).toBe(0); // WAIT cleared
    }
    expect(m.session(1)!.remote).toEqual({ san_id: 3, server_id: 0xa3n, session_id: 42 });
    const st = await send({ opcode: 6, payload: { session_id: 1 } });
    expect(pl(st)).toMatchObject({ session_id: 1, age_ms: 5, io_ops: 9 });
    expect(asked[2]).toMatchObject({ opcode: 6, dst_san: 3, server_id: 0xa3n, payload: { session_id: 42 } });
    expect(status(await send({ opcode: 3, payload: { session_id: 1 } }))).toBe(OK);
    expect(m.session(1)!.state).toBe('ACTIVE');
    expect(status(await send({ opcode: 4, payload: { session_id: 1, release_kb: 0 } }))).toBe(OK);
    expect(m.session(1)).toBeUndefined();
  });

  it('TIMEOUT when a peer does not answer and nothing local fits', async () => {
    const { alloc } = peers(() => null);
    expect(status(await alloc(0xff, { storage_type: 2, capacity_kb: GiB }))).toBe(TIMEOUT);
  });

  it('after the peers fail: a partial local grant, or the peers\' NO_CAPACITY, or PENDING with WAIT', async () => {
    const full = (_p: PeerConfig, spec: FrameSpec) => frame({ opcode: 0x8002, sub_opcode: NO_CAPACITY, transaction_id: spec.transaction_id });
    const a = peers(full);
    const r = await a.alloc(0xff, { storage_type: 5, capacity_kb: 10 * GiB });
    expect(pl(r)['capacity_kb']).toBe(4 * GiB);
    expect(a.m.session(1)!.expandable).toBe(true);
    expect(status(await a.alloc(0xff, { storage_type: 5, capacity_kb: GiB }))).toBe(NO_CAPACITY);
    expect(status(await a.alloc(0xff, { storage_type: 5, capacity_kb: GiB, flags: 8 }))).toBe(PENDING);
    const b = peers(full);
    expect(status(await b.alloc(0xff, { storage_type: 2, capacity_kb: GiB }))).toBe(NO_CAPACITY);
  });

  it('a proxied session whose peer forgot it becomes unknown; a peer boot tears proxies down', async () => {
    const { alloc, send, m } = peers((_p, spec) => spec.opcode === 2
      ? frame({ opcode: 0x8002, server_id: 0xa2n, payload: { ...(spec.payload as BlockRecord), session_id: 8 } })
      : frame({ opcode: spec.opcode | 0x8000, server_id: 0xa2n, sub_opcode: UNKNOWN_SESSION }));
    await alloc(0xff, { storage_type: 5, capacity_kb: 10 * GiB });
    await alloc(0xff, { storage_type: 5, capacity_kb: 10 * GiB });
    expect(status(await send({ opcode: 6, payload: { session_id: 1 } }))).toBe(UNKNOWN_SESSION);
    expect(m.session(1)).toBeUndefined();
    expect(m.session(2)).toBeDefined();
    await send({ opcode: 7, sub_opcode: 2, server_id: 0xa2n, src_san: 2, payload: { devices: [] } });
    expect(m.session(2)).toBeUndefined();
  });
});

describe('Initialize', () => {
  it('applies defaults, validates sizes (MALFORMED) and devices (NO_MATCH)', async () => {
    const { alloc, send, m } = setup();
    await alloc(1, { storage_type: 5, access_type: 2, capacity_kb: GiB }); // session 1 on device 1
    await alloc(1, { storage_type: 0, access_type: 2, capacity_kb: GiB }); // session 2 on the JBOD disk
    const init = (p: Partial<BlockRecord>) => send({ opcode: 3, payload: { session_id: 1, ...p } });
    const r = await init({});
    expect(pl(r)).toMatchObject({ session_id: 1, stripe_size: 65536, cache_line_size: 4096, block_size: 4096 });
    expect(m.session(1)!.state).toBe('ACTIVE');
    expect(pl(await send({ opcode: 3, payload: { session_id: 2, stripe_size: 65536 } }))['stripe_size']).toBe(0);
    for (const bad of [{ stripe_size: 3000 }, { stripe_size: 256 }, { stripe_size: 32 << 20 }, { cache_line_size: 8 }, { block_size: 2 << 20 },
      { stripe_size: 4096, block_size: 8192 }]) {
      expect(status(await init(bad))).toBe(MALFORMED);
    }
    expect(pl(await init({ stripe_size: 1 << 20, cache_line_size: 64, block_size: 512, include_device_id: 6, exclude_device_id: 2 })))
      .toMatchObject({ stripe_size: 1 << 20, cache_line_size: 64, block_size: 512, include_device_id: 6, exclude_device_id: 2 });
    expect(status(await init({ include_device_id: 2 }))).toBe(NO_MATCH); // not special hardware
    expect(status(await init({ include_device_id: 99 }))).toBe(NO_MATCH);
    expect(status(await init({ exclude_device_id: 99 }))).toBe(NO_MATCH);
    expect(status(await init({ exclude_device_id: 1 }))).toBe(NO_MATCH); // its own storage
    expect(status(await init({ include_device_id: 6, exclude_device_id: 6 }))).toBe(NO_MATCH);
    expect(status(await send({ opcode: 3, payload: { session_id: 9 } }))).toBe(UNKNOWN_SESSION);
    expect(status(await send({ opcode: 3, client_id: B, payload: { session_id: 1 } }))).toBe(UNKNOWN_SESSION);
  });
});

describe('Modify', () => {
  it('grows expandable sessions, not 0x01 ones; shrinks any; checks type, access, QoS, exclusivity', async () => {
    const { alloc, send, m } = setup();
    await alloc(1, { storage_type: 5, capacity_kb: GiB }); // 1: local only
    await alloc(2, { storage_type: 5, capacity_kb: GiB }); // 2: expandable
    const mod = (p: Partial<BlockRecord>, client = A) => send({ opcode: 5, client_id: client, payload: { storage_type: 0xff, access_type: 0xff, ...p } });
    expect(status(await mod({ session_id: 1, capacity_kb: 2 * GiB }))).toBe(NO_CAPACITY);
    expect(status(await mod({ session_id: 1, capacity_kb: GiB / 2 }))).toBe(OK);
    const g = await mod({ session_id: 2, capacity_kb: 50 * GiB, bandwidth_kb: 1000, qos: 4 });
    expect(pl(g)).toMatchObject({ session_id: 2, capacity_kb: 50 * GiB, bandwidth_kb: 1000, qos: 4, storage_type: 5, access_type: 2 });
    expect(m.devices()[0]!.free_kb).toBe(100 * GiB - 50 * GiB - GiB / 2);
    expect(status(await mod({ session_id: 2, capacity_kb: 100 * GiB }))).toBe(NO_CAPACITY);
    expect(status(await mod({ session_id: 2, capacity_kb: GiB, storage_type: 1 }))).toBe(NO_MATCH);
    expect(status(await mod({ session_id: 2, capacity_kb: GiB, qos: 7 }))).toBe(NO_MATCH);
    expect(status(await mod({ session_id: 2, capacity_kb: GiB }, B))).toBe(UNKNOWN_SESSION);
    expect(status(await mod({ session_id: 0, capacity_kb: GiB }))).toBe(MALFORMED);
    expect(status(await mod({ session_id: 2, capacity_kb: 0 }))).toBe(MALFORMED);
    expect(status(await mod({ session_id: 33, capacity_kb: GiB }))).toBe(UNKNOWN_SESSION);
    await alloc(1, { storage_type: 5, capacity_kb: GiB }, B);
    expect(status(await mod({ session_id: 2, capacity_kb: GiB, flags: 1 }))).toBe(CONFLICT);
  });
});

describe('Statistics and Free', () => {
  it('age is real time; bytes move only once initialized, deterministically', async () => {
    const { alloc, send, advance } = setup();
    await alloc(1, { storage_type: 5, capacity_kb: GiB, bandwidth_kb: 1000 });
    advance(250);
    expect(pl(await send({ opcode: 6, payload: { session_id: 1 } }))).toMatchObject({ session_id: 1, age_ms: 250, bytes_read: 0n, bytes_written: 0n, io_ops: 0 });
    await send({ opcode: 3, payload: { session_id: 1, block_size: 512, stripe_size: 512 } });
    advance(1000);
    // 1000 ms at half of 1000 KB/s = 512,000 bytes: 60 % read, 40 % written, /512 ops.
    expect(pl(await send({ opcode: 6, payload: { session_id: 1 } }))).toMatchObject({
      age_ms: 1250, bytes_read: 307200n, bytes_written: 204800n, io_ops: 1000, io_errors: 0,
    });
    expect(status(await send({ opcode: 6, client_id: B, payload: { session_id: 1 } }))).toBe(UNKNOWN_SESSION);
  });

  it('release_kb > 0 shrinks; 0 or everything ends the session', async () => {
    const { alloc, send, m } = setup();
    await alloc(1, { storage_type: 5, capacity_kb: 10 * GiB });
    await alloc(1, { storage_type: 5, capacity_kb: 10 * GiB });
    expect(pl(await send({ opcode: 4, payload: { session_id: 1, release_kb: 4 * GiB } }))).toMatchObject({ session_id: 1, release_kb: 4 * GiB });
    expect(m.session(1)!.capacity_kb).toBe(6 * GiB);
    expect(m.devices()[0]!.free_kb).toBe(84 * GiB);
    expect(pl(await send({ opcode: 4, payload: { session_id: 1, release_kb: 0 } }))).toMatchObject({ session_id: 1, release_kb: 0 });
    expect(pl(await send({ opcode: 4, payload: { session_id: 2, release_kb: 11 * GiB } }))).toMatchObject({ release_kb: 0 });
    expect(m.sessions()).toEqual([]);
    expect(m.devices()[0]!.free_kb).toBe(100 * GiB);
    expect(status(await send({ opcode: 4, payload: { session_id: 1 } }))).toBe(UNKNOWN_SESSION);
  });
});

describe('Announces and persistence', () => {
  it('a boot Announce of one of our devices tears down its sessions; an unknown device of our SAN registers', async () => {
    const { alloc, send, m } = setup();
    await alloc(1, { storage_type: 5, capacity_kb: GiB });
    await alloc(1, { storage_type: 1, capacity_kb: GiB });
    await send({ opcode: 7, sub_opcode: 2, payload: { devices: [{ device_id: 1, san_id: 1 }] } });
    expect(m.sessions().map((s) => s.device_id)).toEqual([2]);
    await send({ opcode: 7, sub_opcode: 1, payload: { devices: [{ device_id: 50, san_id: 1, device_class: 0, storage_type: 2, access_type: 4, free_kb: GiB, bandwidth_kb: 100 }] } });
    expect(status(await alloc(1, { storage_type: 2, access_type: 4, capacity_kb: GiB }))).toBe(OK);
    // Our own Announce looped back changes nothing.
    await send({ opcode: 7, sub_opcode: 2, server_id: 0xaan, payload: { devices: [{ device_id: 2, san_id: 1 }] } });
    expect(m.sessions()).toHaveLength(2);
    const ann = m.announceSpec(2, 5);
    expect(ann).toMatchObject({ opcode: 7, sub_opcode: 2, src_san: 1, dst_san: 0xffffff, server_id: 0xaan });
    expect(frame(ann).findings).toEqual([]);
  });

  it('snapshot/restore: keep restores sessions and usage; teardown keeps only the id counter', async () => {
    const a = setup();
    await a.alloc(1, { storage_type: 5, capacity_kb: GiB, flags: 1 });
    await a.alloc(1, { storage_type: 5, capacity_kb: GiB });
    await a.send({ opcode: 3, payload: { session_id: 2 } });
    const st = JSON.parse(JSON.stringify(a.m.snapshot()));
    const b = setup();
    expect(b.m.restore(st, 'keep')).toEqual({ restored: 2, dropped: 0 });
    expect(b.m.session(2)).toMatchObject({ state: 'ACTIVE', client_id: A });
    expect(b.m.devices()[0]!.free_kb).toBe(98 * GiB);
    expect(status(await b.alloc(1, { storage_type: 5, capacity_kb: GiB }, B))).toBe(CONFLICT);
    expect(pl(await b.alloc(1, { storage_type: 1, capacity_kb: GiB }))['session_id']).toBe(3);
    const c = setup();
    expect(c.m.restore(st, 'teardown')).toEqual({ restored: 0, dropped: 2 });
    expect(c.m.devices()[0]!.free_kb).toBe(100 * GiB);
    expect(pl(await c.alloc(1, { capacity_kb: 1 }))['session_id']).toBe(3);
    expect(status(await c.send({ opcode: 6, payload: { session_id: 1 } }))).toBe(UNKNOWN_SESSION);
  });
});
