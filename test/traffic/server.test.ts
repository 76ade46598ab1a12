// The server over real sockets on 127.0.0.1: every opcode on TCP and UDP,
// every status, PENDING's second reply, Announces, logs and the state file.

import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, type DecodedFrame } from '../../src/protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { defaultServerConfig } from '../../src/traffic/config.js';
import { loadStateFile, startServer } from '../../src/traffic/server.js';
import { startSilentPeer } from '../../src/traffic/scenarios.js';
import {
  ConnectionRefusedError, ConnectionResetError, TimeoutError, VvmpConnection, type TransportKind,
} from '../../src/traffic/transport.js';
import { CLIENT, payload, server, sleep, udpExchange } from './helpers.js';

const GiB = 1024 * 1024;
const hdr = (spec: FrameSpec): FrameSpec => ({ src_san: 1, dst_san: 1, client_id: CLIENT, ...spec });
const st = (f: DecodedFrame) => f.status;

describe.each(['tcp', 'udp'] as TransportKind[])('every opcode over %s', (transport) => {
  let s: Awaited<ReturnType<typeof server>>;
  let c: VvmpConnection;
  beforeAll(async () => {
    s = await server();
    c = await VvmpConnection.connect({ port: s.tcpPort, transport });
  });
  afterAll(async () => {
    await c.close();
    await s.close();
  });

  it('Query, Allocate, Initialize, Modify, Statistics, Free; Announce gets no reply', async () => {
    const q = await c.request(hdr({ opcode: 1, sub_opcode: 1 }));
    expect(q.header.opcode).toBe(0x8001);
    expect(st(q)).toBe('OK');
    expect(q.findings).toEqual([]);
    expect((q.payload as { devices: unknown[] }).devices).toHaveLength(6);
    const a = await c.request(hdr({ opcode: 2, sub_opcode: 2, payload: { storage_type: 5, access_type: 2, capacity_kb: GiB, bandwidth_kb: 2048, qos: 3 } }));
    expect(a.header).toMatchObject({ opcode: 0x8002, sub_opcode: 0, client_id: CLIENT, server_id: 0xaan, src_san: 1, dst_san: 1 });
    const sid = payload(a)['session_id'] as number;
    expect(sid).toBeGreaterThan(0);
    const i = await c.request(hdr({ opcode: 3, payload: { session_id: sid, stripe_size: 131072 } }));
    expect(payload(i)).toMatchObject({ session_id: sid, stripe_size: 131072, block_size: 4096 });
    const m = await c.request(hdr({ opcode: 5, payload: { storage_type: 0xff, access_type: 0xff, session_id: sid, capacity_kb: 2 * GiB, bandwidth_kb: 2048, qos: 3 } }));
    expect(payload(m)).toMatchObject({ session_id: sid, capacity_kb: 2 * GiB });
    await sleep(20);
    const t = await c.request(hdr({ opcode: 6, payload: { session_id: sid } }));
    expect(t.header.opcode).toBe(0x8006);
    expect(payload(t)['age_ms']).toBeGreaterThanOrEqual(15);
    expect(payload(t)['bytes_read']).toBeGreaterThan(0n);
    const f = await c.request(hdr({ opcode: 4, payload: { session_id: sid, release_kb: 0 } }));
    expect(payload(f)).toMatchObject({ session_id: sid, release_kb: 0 });
    const unsolicited: DecodedFrame[] = [];
    const c2 = await VvmpConnection.connect({ port: s.tcpPort, transport, onUnsolicited: (x) => unsolicited.push(x) });
    c2.sendRaw(encodeFrame(hdr({ opcode: 7, sub_opcode: 1, transaction_id: 9, payload: { devices: [] } })));
    await sleep(100);
    expect(unsolicited).toEqual([]);
    await c2.close();
    expect(s.lines.some((l) => l.includes('op=Announce'))).toBe(true);
  });
});

describe('every status over real sockets', () => {
  let s: Awaited<ReturnType<typeof server>>;
  let silent: Awaited<ReturnType<typeof startSilentPeer>>;
  let c: VvmpConnection;
  beforeAll(async () => {
    silent = await startSilentPeer();
    s = await server((cfg) => {
      cfg.allowed_clients = [CLIENT, CLIENT + 1n];
      cfg.peers = [{ san_id: 2, address: '', host: '127.0.0.1', port: silent.port }];
      cfg.limits.peer_timeout_ms = 300;
    });
    c = await VvmpConnection.connect({ port: s.tcpPort });
  });
  afterAll(async () => {
    await c.close();
    await s.close();
    await silent.close();
  });
  const alloc = (sub: number, p: Record<string, number>, client = CLIENT) =>
    c.request(hdr({ opcode: 2, sub_opcode: sub, client_id: client, payload: { storage_type: 0xff, access_type: 0xff, ...p } }));

  it('OK, NO_CAPACITY, NO_MATCH, UNKNOWN_SESSION, DENIED, CONFLICT', async () => {
    const a = await alloc(1, { storage_type: 5, capacity_kb: GiB, flags: 1 });
    expect(st(a)).toBe('OK');
    expect(st(await alloc(1, { capacity_kb: 0xffffffff }))).toBe('NO_CAPACITY');
    expect(st(await alloc(1, { storage_type: 2, capacity_kb: 1 }))).toBe('NO_MATCH');
    expect(st(await c.request(hdr({ opcode: 6, payload: { session_id: 999 } })))).toBe('UNKNOWN_SESSION');
    expect(st(await c.request(hdr({ opcode: 1, sub_opcode: 1, client_id: 0x99n })))).toBe('DENIED');
    expect(st(await alloc(1, { storage_type: 5, capacity_kb: GiB }, CLIENT + 1n))).toBe('CONFLICT');
    await c.request(hdr({ opcode: 4, payload: { session_id: payload(a)['session_id'] } }));
  });

  it('MALFORMED, BAD_CHECKSUM, UNSUPPORTED (opcode and sub-op), with empty payloads', async () => {
    const raw = (spec: FrameSpec) => c.requestBytes(encodeFrame(hdr({ transaction_id: c.nextTransactionId(), ...spec })));
    const m = await raw({ opcode: 2, sub_opcode: 1, payload: new Uint8Array(16) });
    expect([st(m), m.header.length]).toEqual(['MALFORMED', 0]);
    const b = await raw({ opcode: 6, payload: { session_id: 1 }, corruptChecksum: true });
    expect([st(b), b.header.opcode, b.checksumOk]).toEqual(['BAD_CHECKSUM', 0x8006, true]);
    const u = await raw({ opcode: 0x0042 });
    expect([st(u), u.header.opcode]).toEqual(['UNSUPPORTED', 0x8042]);
    expect(st(await raw({ opcode: 2, sub_opcode: 0x07, payload: { capacity_kb: 1 } }))).toBe('UNSUPPORTED');
  });

  it('TIMEOUT when the peer SAN never answers a forward', async () => {
    const t0 = Date.now();
    const r = await alloc(0xff, { storage_type: 2, capacity_kb: GiB });
    expect(st(r)).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('PENDING, then the second reply with the same transaction id (TCP and UDP)', async () => {
    const big = await alloc(1, { storage_type: 5, capacity_kb: 100 * GiB });
    for (const transport of ['tcp', 'udp'] as TransportKind[]) {
      const w = await VvmpConnection.connect({ port: s.tcpPort, transport });
      const x = await w.requestWithPending(hdr({ opcode: 2, sub_opcode: 1, client_id: CLIENT + 1n, transaction_id: 4242,
        payload: { storage_type: 5, access_type: 0xff, capacity_kb: GiB, flags: 8 } }));
      expect(x.pending).toBe(true);
      expect(x.first.status).toBe('PENDING');
      expect(x.first.findings.map((f) => f.code)).toEqual(['status_pending']);
      expect(payload(x.first)).toMatchObject({ session_id: 0, capacity_kb: GiB, flags: 8 });
      let done = false;
      void x.final.then(() => (done = true));
      await sleep(50);
      expect(done).toBe(false);
      // Free a bit of the big session: room for exactly the waiter.
      await c.request(hdr({ opcode: 4, payload: { session_id: payload(big)['session_id'], release_kb: GiB } }));
      const g = await x.final;
      expect(g.header).toMatchObject({ opcode: 0x8002, transaction_id: 4242, sub_opcode: 0, client_id: CLIENT + 1n });
      expect(payload(g)['session_id']).toBeGreaterThan(0);
      expect(s.lines.some((l) => l.includes('txid=4242') && l.includes('pushed=1') && l.includes(`proto=${transport}`))).toBe(true);
      await w.close();
    }
  });

  it('logs one structured line per exchange', () => {
    const line = s.lines.find((l) => l.includes('op=Allocate') && l.includes('status=CONFLICT'))!;
    expect(line).toMatch(/^ts=\S+Z peer=127\.0\.0\.1:\d+ proto=tcp op=Allocate txid=\d+ client=0x0000000000000012 status=CONFLICT session=0 ms=\d+\.\d\d$/);
  });
});

describe('Announces', () => {
  it('boot Announce to peers and targets at start, periodic ones, leaving at close', async () => {
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const got: DecodedFrame[] = [];
    sink.on('message', (m) => got.push(decodeFrame(m, { udp: true })));
    const port = (sink.address()).port;
    const s = await server((cfg) => {
      cfg.peers = [{ san_id: 2, address: '', host: '127.0.0.1', port }];
      cfg.announce_targets = [{ host: '127.0.0.1', port }];
      cfg.announce_interval_ms = 60;
    });
    await sleep(200);
    await s.close();
    await sleep(50);
    sink.close();
    const subs = got.map((f) => f.header.sub_opcode);
    expect(subs.slice(0, 2)).toEqual([2, 2]);
    expect(subs.filter((x) => x === 1).length).toBeGreaterThanOrEqual(2);
    expect(subs.slice(-2)).toEqual([3, 3]);
    const boot = got[0]!;
    expect(boot.header).toMatchObject({ opcode: 7, src_san: 1, server_id: 0xaan });
    expect(boot.findings).toEqual([]);
    expect((boot.payload as { devices: unknown[] }).devices).toHaveLength(6);
    expect(got.map((f) => f.header.dst_san)).toContain(2);
    expect(got.map((f) => f.header.dst_san)).toContain(0xffffff);
  });
});

describe('client transport errors', () => {
  it('ConnectionRefusedError on TCP and UDP, naming the target', async () => {
    const s = await server();
    const port = s.tcpPort;
    await s.close();
    await expect(VvmpConnection.connect({ port })).rejects.toThrow(new ConnectionRefusedError(`127.0.0.1:${port}`).message);
    const u = await VvmpConnection.connect({ port, transport: 'udp' });
    const err = await u.request(hdr({ opcode: 1, sub_opcode: 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err.message).toBe(`127.0.0.1:${port}: connection refused`);
    await u.close();
  });

  it('TimeoutError after the request timeout; Allocate uses its timeout_ms', async () => {
    const silent = await startSilentPeer();
    const c = await VvmpConnection.connect({ port: silent.port });
    const t0 = Date.now();
    const err = await c.request(hdr({ opcode: 2, sub_opcode: 1, payload: { capacity_kb: 1, timeout_ms: 150 } })).catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${silent.port}: no reply to Allocate txid=\\d+ within 150 ms$`));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const e2 = await c.request(hdr({ opcode: 1, sub_opcode: 1 }), { timeoutMs: 50 }).catch((e) => e);
    expect(e2).toBeInstanceOf(TimeoutError);
    await c.close();
    await silent.close();
  });

  it('ConnectionResetError when the server goes away with requests outstanding', async () => {
    const silent = await startSilentPeer();
    const c = await VvmpConnection.connect({ port: silent.port });
    const p = c.request(hdr({ opcode: 1, sub_opcode: 1 })).catch((e) => e);
    await sleep(30);
    await silent.close();
    const err = await p;
    expect(err).toBeInstanceOf(ConnectionResetError);
    expect(err.message).toMatch(/^127\.0\.0\.1:\d+: connection (reset by peer|closed by peer)$/);
    await c.close();
  });
});

describe('state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vvmp-state-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function allocTwo(statePath: string, restore?: 'keep' | 'teardown') {
    const s = await server(undefined, { statePath, restore });
    const c = await VvmpConnection.connect({ port: s.tcpPort });
    return { s, c };
  }

  it('default (teardown): a restart is a boot; the sessions are torn down and their ids retired', async () => {
    const path = join(dir, 'teardown.json');
    const { s, c } = await allocTwo(path);
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await c.request(hdr({ opcode: 2, sub_opcode: 1, payload: { storage_type: 5, access_type: 0xff, capacity_kb: GiB } }));
      expect(st(r)).toBe('OK');
      ids.push(payload(r)['session_id'] as number);
    }
    const saved = loadStateFile(path)!.state;
    expect(saved).toMatchObject({ san_id: 1, server_id: '0x00000000000000aa' });
    expect(saved.sessions.map((x) => x.session_id).sort()).toEqual([...ids].sort());
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    await c.close();
    await s.close();

    const { s: s2, c: c2 } = await allocTwo(path);
    expect(s2.lines.some((l) => l.includes('event=state_restored') && l.includes('mode=teardown') && l.includes('torn_down=2'))).toBe(true);
    expect(st(await c2.request(hdr({ opcode: 6, payload: { session_id: ids[0]! } })))).toBe('UNKNOWN_SESSION');
    const a = await c2.request(hdr({ opcode: 2, sub_opcode: 1, payload: { storage_type: 5, access_type: 0xff, capacity_kb: GiB } }));
    expect(ids).not.toContain(payload(a)['session_id']);
    expect(s2.manager.table.retiredIds().sort()).toEqual([...ids].sort());
    expect(s2.manager.devices()[0]!.free_kb).toBe(99 * GiB);
    await c2.close();
    await s2.close();
  });

  it('keep: sessions and device usage survive a restart, no boot Announce', async () => {
    const path = join(dir, 'keep.json');
    const { s, c } = await allocTwo(path, 'keep');
    const a = await c.request(hdr({ opcode: 2, sub_opcode: 2, payload: { storage_type: 5, access_type: 0xff, capacity_kb: 10 * GiB, flags: 1 } }));
    const sid = payload(a)['session_id'] as number;
    await c.request(hdr({ opcode: 3, payload: { session_id: sid } }));
    await c.close();
    await s.close();
    const { s: s2, c: c2 } = await allocTwo(path, 'keep');
    expect(s2.manager.session(sid)).toMatchObject({ state: 'ACTIVE', capacity_kb: 10 * GiB, exclusive: true, expandable: true });
    expect(st(await c2.request(hdr({ opcode: 6, payload: { session_id: sid } })))).toBe('OK');
    expect(st(await c2.request(hdr({ opcode: 2, sub_opcode: 1, client_id: CLIENT + 1n, payload: { storage_type: 5, access_type: 0xff, capacity_kb: 1 } })))).toBe('CONFLICT');
    expect(st(await c2.request(hdr({ opcode: 4, payload: { session_id: sid } })))).toBe('OK');
    expect(loadStateFile(path)!.state.sessions).toEqual([]);
    await c2.close();
    await s2.close();
  });

  it('refuses a state file of another server, or a broken one, with a one-line error', async () => {
    const path = join(dir, 'keep.json');
    const cfg = defaultServerConfig();
    cfg.server_id = 0xbbn;
    await expect(startServer({ port: 0, config: cfg, statePath: path })).rejects.toThrow(/keep\.json: state of SAN 1 server 0x00000000000000aa, not of this server/);
    const bad = join(dir, 'bad.json');
    await import('node:fs').then((fs) => fs.writeFileSync(bad, '{nope'));
    await expect(startServer({ port: 0, config: defaultServerConfig(), statePath: bad })).rejects.toThrow(/bad\.json: not a readable state file/);
    await expect(startServer({ port: 0, config: defaultServerConfig(), statePath: join(dir, 'no/such/dir.json') }))
      .rejects.toThrow(/no\/such\/dir\.json: cannot write the state file \(ENOENT\)$/);
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  });
});

describe('UDP specifics', () => {
  it('answers a datagram with trailing bytes MALFORMED, a short one MALFORMED, a reply not at all', async () => {
    const s = await server();
    const q = encodeFrame(hdr({ opcode: 1, sub_opcode: 1, transaction_id: 5 }));
    const [t] = await udpExchange(s.udpPort, Buffer.concat([q, Buffer.from([1, 2, 3, 4])]));
    expect([t!.status, t!.header.transaction_id]).toEqual(['MALFORMED', 5]);
    const [sh] = await udpExchange(s.udpPort, q.subarray(0, 20));
    expect(sh!.status).toBe('MALFORMED');
    expect(sh!.bytes.length).toBe(32);
    expect(await udpExchange(s.udpPort, encodeFrame(hdr({ opcode: 0x8001 })), 150)).toEqual([]);
    await s.close();
  });
});
