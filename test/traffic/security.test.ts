// The reference server under attack (issue 18): hostile clients on other
// loopback addresses (127.0.0.2, 127.0.0.3, … play other hosts) try each
// attack over real sockets, and each is refused — and logged.

import { describe, expect, it } from 'vitest';
import type { DecodedFrame } from '../../src/protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { DEFAULT_LIMITS } from '../../src/traffic/config.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { CLIENT, RawTcp, payload, server, sleep, udpExchange } from './helpers.js';

const GiB = 1024 * 1024;
const VICTIM = '127.0.0.1';
const ATTACKER = '127.0.0.2';
const hdr = (spec: FrameSpec): FrameSpec => ({ src_san: 1, dst_san: 1, client_id: CLIENT, ...spec });
const allocFrame = (txid: number, client = CLIENT, capacity_kb = GiB) =>
  encodeFrame(hdr({ opcode: 2, sub_opcode: 1, client_id: client, transaction_id: txid, payload: { storage_type: 0xff, access_type: 0xff, capacity_kb } }));

/** One request over TCP from `from`, its reply. */
async function tcpAsk(port: number, frame: Uint8Array, from: string): Promise<DecodedFrame> {
  const c = await RawTcp.connect(port, from);
  try {
    c.write(frame);
    const [r] = await c.waitFrames(1);
    return r!;
  } finally {
    c.destroy();
  }
}

/** A reply without its transaction id: what an attacker could compare. */
const shape = (f: DecodedFrame) => Buffer.from(f.bytes).toString('hex').replace(/^(.{48}).{8}(.{6})..(.*)$/, '$1$2$3');

const announce = (sub: number, devices: Array<Record<string, number>>, server_id = 0x99n) =>
  encodeFrame({ opcode: 7, sub_opcode: sub, src_san: 1, dst_san: 0xffffff, client_id: 0n, server_id, transaction_id: 1, payload: { devices } });

const fakeDevice = (device_id: number, free_kb = 4 * 1024 * GiB) =>
  ({ device_id, san_id: 1, device_class: 0, storage_type: 2, access_type: 2, free_kb, bandwidth_kb: 1000, device_flags: 0 });

describe('sessions belong to the client id and source that allocated them', () => {
  it('another host naming the session (same client id) gets UNKNOWN_SESSION, exactly as for a session that does not exist, TCP and UDP', async () => {
    const s = await server();
    const a = await tcpAsk(s.tcpPort, allocFrame(1), VICTIM);
    expect(a.status).toBe('OK');
    const sid = payload(a)['session_id'] as number;
    const unknown = sid === 1 ? 2 : sid - 1;
    const ops: Array<(id: number) => FrameSpec> = [
      (id) => hdr({ opcode: 4, transaction_id: 9, payload: { session_id: id, release_kb: 0 } }),
      (id) => hdr({ opcode: 5, transaction_id: 9, payload: { storage_type: 0xff, access_type: 0xff, session_id: id, capacity_kb: 1 } }),
      (id) => hdr({ opcode: 3, transaction_id: 9, payload: { session_id: id } }),
      (id) => hdr({ opcode: 6, transaction_id: 9, payload: { session_id: id } }),
    ];
    for (const op of ops) {
      const tcp = await tcpAsk(s.tcpPort, encodeFrame(op(sid)), ATTACKER);
      const tcpUnknown = await tcpAsk(s.tcpPort, encodeFrame(op(unknown)), ATTACKER);
      expect(tcp.status).toBe('UNKNOWN_SESSION');
      expect(shape(tcp)).toBe(shape(tcpUnknown)); // no ownership disclosed
      const [udp] = await udpExchange(s.udpPort, encodeFrame(op(sid)), 500, 1, '127.0.0.3');
      expect(udp!.status).toBe('UNKNOWN_SESSION');
    }
    // The session is intact and still the victim's.
    expect(s.manager.session(sid)).toMatchObject({ capacity_kb: GiB, state: 'ALLOCATED', source: VICTIM });
    expect((await tcpAsk(s.tcpPort, encodeFrame(hdr({ opcode: 6, transaction_id: 3, payload: { session_id: sid } })), VICTIM)).status).toBe('OK');
    expect(s.lines.filter((l) => l.includes('event=refused reason=session_not_owned') && l.includes(`source=${ATTACKER}`))).toHaveLength(4);
    expect(s.lines.filter((l) => l.includes('event=refused reason=session_not_owned') && l.includes('source=127.0.0.3'))).toHaveLength(4);
    await s.close();
  });

  it('session ids are random, distinct and tell nothing about other sessions', async () => {
    const s = await server();
    const c = await RawTcp.connect(s.tcpPort, VICTIM);
    for (let i = 1; i <= 200; i++) c.write(allocFrame(i, CLIENT, 1));
    const ids = (await c.waitFrames(200)).map((f) => payload(f)['session_id'] as number);
    c.destroy();
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    const steps = ids.slice(1).filter((id, i) => id === ids[i]! + 1).length;
    expect(steps).toBeLessThan(5); // sequential numbering would give 199
    await s.close();
  });
});

describe('the domain names networks as well as client ids', () => {
  it('a client id of the domain from outside its networks gets DENIED (and the refusal is logged)', async () => {
    const s = await server((c) => {
      c.allowed_clients = [CLIENT];
      c.client_networks = ['127.0.0.1/32'];
    });
    expect((await tcpAsk(s.tcpPort, allocFrame(1), VICTIM)).status).toBe('OK');
    expect((await tcpAsk(s.tcpPort, allocFrame(2), ATTACKER)).status).toBe('DENIED');
    expect((await udpExchange(s.udpPort, Buffer.from(allocFrame(3)), 500, 1, ATTACKER))[0]!.status).toBe('DENIED');
    expect((await tcpAsk(s.tcpPort, allocFrame(4, 0x66n), VICTIM)).status).toBe('DENIED');
    expect(s.lines.filter((l) => l.includes('event=refused reason=network_not_in_domain') && l.includes(`source=${ATTACKER}`))).toHaveLength(2);
    expect(s.lines.some((l) => l.includes('event=refused reason=client_not_in_domain') && l.includes('client=0x0000000000000066'))).toBe(true);
    await s.close();
  });
});

describe('Announces', () => {
  it('a boot Announce naming the server\'s own devices from another host tears nothing down', async () => {
    const s = await server((c) => (c.device_networks = ['127.0.0.1/32']));
    const a = await tcpAsk(s.tcpPort, allocFrame(1), VICTIM);
    const sid = payload(a)['session_id'] as number;
    const own = s.manager.devices().map((d) => fakeDevice(d.device_id));
    await udpExchange(s.udpPort, Buffer.from(announce(2, own, 0xaan)), 100, 1, ATTACKER);
    await udpExchange(s.udpPort, Buffer.from(announce(2, own)), 100, 1, VICTIM); // from a device network, but not the registrant (the config)
    await sleep(50);
    expect(s.manager.session(sid)).toBeDefined();
    expect(s.lines.some((l) => l.includes('event=refused reason=announce_network') && l.includes(`source=${ATTACKER}`))).toBe(true);
    expect(s.lines.some((l) => l.includes('event=refused reason=teardown_not_from_registrant') && l.includes('registrant=config'))).toBe(true);
    await s.close();
  });

  it('a fake 4 TB device from outside the device networks is not registered, so cannot be allocated', async () => {
    const s = await server((c) => (c.device_networks = ['127.0.0.3/32']));
    await udpExchange(s.udpPort, Buffer.from(announce(1, [fakeDevice(77)])), 100, 1, ATTACKER);
    await sleep(50);
    expect(s.manager.devices().some((d) => d.device_id === 77)).toBe(false);
    const r = await tcpAsk(s.tcpPort, encodeFrame(hdr({ opcode: 2, sub_opcode: 1, transaction_id: 2, payload: { storage_type: 2, access_type: 2, capacity_kb: 3 * 1024 * GiB } })), VICTIM);
    expect(r.status).toBe('NO_MATCH');
    await s.close();
  });

  it('a device of a device network is registered; only the address that registered it can tear it down', async () => {
    const s = await server((c) => (c.device_networks = ['127.0.0.0/29']));
    await udpExchange(s.udpPort, Buffer.from(announce(1, [fakeDevice(77, 10 * GiB)])), 100, 1, '127.0.0.3');
    await sleep(50);
    expect(s.manager.devices().find((d) => d.device_id === 77)).toMatchObject({ dynamic: true });
    const a = await tcpAsk(s.tcpPort, encodeFrame(hdr({ opcode: 2, sub_opcode: 1, transaction_id: 2, payload: { storage_type: 2, access_type: 2, capacity_kb: GiB } })), VICTIM);
    const sid = payload(a)['session_id'] as number;
    expect(s.manager.session(sid)?.device_id).toBe(77);
    // Same network, other address: refused; the device's own address: torn down.
    await udpExchange(s.udpPort, Buffer.from(announce(2, [fakeDevice(77)])), 100, 1, '127.0.0.4');
    await sleep(50);
    expect(s.manager.session(sid)).toBeDefined();
    await udpExchange(s.udpPort, Buffer.from(announce(2, [fakeDevice(77)])), 100, 1, '127.0.0.3');
    await sleep(50);
    expect(s.manager.session(sid)).toBeUndefined();
    await s.close();
  });
});

describe('resources', () => {
  it('connections per source are limited; another host still gets in; idle connections time out by default', async () => {
    expect(DEFAULT_LIMITS.idle_timeout_ms).toBeGreaterThan(0);
    const s = await server((c) => (c.limits.max_connections_per_source = 8));
    const hoard = await Promise.all(Array.from({ length: 8 }, () => RawTcp.connect(s.tcpPort, ATTACKER)));
    for (let i = 0; i < 50 && s.connections < 8; i++) await sleep(10);
    const extra = await RawTcp.connect(s.tcpPort, ATTACKER);
    expect(await extra.waitClosed()).toBe(true);
    const q = encodeFrame(hdr({ opcode: 1, sub_opcode: 1, transaction_id: 5 }));
    expect((await tcpAsk(s.tcpPort, q, '127.0.0.3')).status).toBe('OK');
    expect(s.lines.some((l) => l.includes('event=refused reason=max_connections_per_source') && l.includes(`source=${ATTACKER}`))).toBe(true);
    hoard.forEach((c) => c.destroy());
    await s.close();
  });

  it('session and capacity quotas per client and per source: one client cannot take every session id', async () => {
    const s = await server((c) => {
      c.limits.max_sessions_per_client = 50;
      c.limits.max_sessions_per_source = 120;
      c.limits.max_capacity_per_client_kb = 10 * GiB;
    });
    const hog = await RawTcp.connect(s.tcpPort, ATTACKER);
    for (let i = 1; i <= 60; i++) hog.write(allocFrame(i, 0x51n, 1));
    const st = (await hog.waitFrames(60)).map((f) => f.status);
    expect(st.filter((x) => x === 'OK')).toHaveLength(50);
    expect(st.filter((x) => x === 'NO_CAPACITY')).toHaveLength(10);
    // Spoofed client ids from the same source: the per-source quota.
    for (let i = 0; i < 100; i++) hog.write(allocFrame(100 + i, 0x1000n + BigInt(i), 1));
    const spoofed = (await hog.waitFrames(160)).slice(60).map((f) => f.status);
    expect(spoofed.filter((x) => x === 'OK')).toHaveLength(70);
    hog.destroy();
    // Capacity quota: 10 GiB per client.
    expect((await tcpAsk(s.tcpPort, allocFrame(1, 0x52n, 8 * GiB), VICTIM)).status).toBe('OK');
    expect((await tcpAsk(s.tcpPort, allocFrame(2, 0x52n, 4 * GiB), VICTIM)).status).toBe('NO_CAPACITY');
    // Everyone else is still served.
    expect((await tcpAsk(s.tcpPort, allocFrame(3, CLIENT, GiB), VICTIM)).status).toBe('OK');
    expect(s.lines.some((l) => l.includes('reason=quota_sessions_per_client') && l.includes('client=0x0000000000000051'))).toBe(true);
    expect(s.lines.some((l) => l.includes('reason=quota_sessions_per_source') && l.includes(`source=${ATTACKER}`))).toBe(true);
    expect(s.lines.some((l) => l.includes('reason=quota_capacity_per_client'))).toBe(true);
    await s.close();
  });

  it('200 announced devices: a Query never gets a silently cut list — whole over TCP, TOO_LARGE where it does not fit', async () => {
    const s = await server((c) => (c.device_networks = ['127.0.0.3/32']));
    const devs = Array.from({ length: 200 }, (_, i) => fakeDevice(1000 + i, GiB));
    for (let i = 0; i < 200; i += 50) await udpExchange(s.udpPort, Buffer.from(announce(1, devs.slice(i, i + 50))), 30, 1, '127.0.0.3');
    for (let i = 0; i < 50 && s.manager.devices().length < 206; i++) await sleep(10);
    expect(s.manager.devices()).toHaveLength(206);
    const q = encodeFrame(hdr({ opcode: 1, sub_opcode: 1, transaction_id: 5 }));
    const whole = await tcpAsk(s.tcpPort, q, VICTIM);
    expect(whole.status).toBe('OK');
    expect((whole.payload as { devices: unknown[] }).devices).toHaveLength(206);
    // UDP: a 32-byte Query may not draw 4 kB (amplification bound: 8 × the request).
    const [udp] = await udpExchange(s.udpPort, Buffer.from(q), 500);
    expect(udp!.status).toBe('TOO_LARGE');
    expect(udp!.bytes.length).toBeLessThanOrEqual(8 * q.length);
    expect(udp!.payload).toBeNull();
    expect(s.lines.some((l) => l.includes('event=refused reason=udp_reply_bound') && l.includes('reply_bytes=4152'))).toBe(true);
    await s.close();
    // A payload limit below the answer: TOO_LARGE over TCP too, never OK with a third of the list.
    const t = await server((c) => {
      c.device_networks = ['127.0.0.3/32'];
      c.limits.max_payload = 1024;
    });
    for (let i = 0; i < 200; i += 50) await udpExchange(t.udpPort, Buffer.from(announce(1, devs.slice(i, i + 50))), 30, 1, '127.0.0.3');
    for (let i = 0; i < 50 && t.manager.devices().length < 206; i++) await sleep(10);
    const cut = await tcpAsk(t.tcpPort, q, VICTIM);
    expect(cut.status).toBe('TOO_LARGE');
    expect(cut.payload).toBeNull();
    await t.close();
  });

  it('the analyzer names TOO_LARGE and says what to do', () => {
    const f = decodeFrame(encodeFrame({ opcode: 0x8001, sub_opcode: 0x33, client_id: CLIENT, server_id: 0xaan, transaction_id: 5 }), { udp: true });
    expect(f.status).toBe('TOO_LARGE');
    const e = f.findings.find((x) => x.code === 'status_error');
    expect(e?.message).toMatch(/ask over TCP/);
    expect(f.findings.some((x) => x.code === 'subop_invalid')).toBe(false);
  });
});
