// A server under abuse: garbage, oversize lengths, truncated frames, slow
// drip, many connections, abrupt disconnects — and afterwards it still
// answers and the sessions made before are intact.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { VvmpConnection } from '../../src/traffic/transport.js';
import { CLIENT, RawTcp, payload, server, sleep, udpExchange } from './helpers.js';

const GiB = 1024 * 1024;
const hdr = (spec: FrameSpec): FrameSpec => ({ src_san: 1, dst_san: 1, client_id: CLIENT, ...spec });
const query = (txid: number) => encodeFrame(hdr({ opcode: 1, sub_opcode: 1, transaction_id: txid }));

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed = 0x1234567): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('robustness', () => {
  let s: Awaited<ReturnType<typeof server>>;
  let sessions: number[] = [];
  beforeAll(async () => {
    // 500 connections from one address below: over the default per-source limit.
    s = await server((c) => (c.limits.max_connections_per_source = 1024), { sessionIds: 'sequential' });
    const c = await VvmpConnection.connect({ port: s.tcpPort });
    for (const type of [5, 1, 3]) {
      const a = await c.request(hdr({ opcode: 2, sub_opcode: 1, payload: { storage_type: type, access_type: 0xff, capacity_kb: GiB, flags: 1 } }));
      expect(a.status).toBe('OK');
      sessions.push(payload(a)['session_id'] as number);
    }
    await c.close();
  });
  afterAll(() => s.close());

  it('answers zeros as an unknown opcode, closes on 0xFF… (oversize), survives random garbage', async () => {
    const z = await RawTcp.connect(s.tcpPort);
    z.write(Buffer.alloc(32));
    const [f] = await z.waitFrames(1);
    expect([f!.header.opcode, f!.status]).toEqual([0x8000, 'UNSUPPORTED']);
    z.write(Buffer.alloc(32, 0xff));
    expect(await z.waitClosed()).toBe(true);
    for (let seed = 1; seed <= 20; seed++) {
      const g = await RawTcp.connect(s.tcpPort);
      g.write(noise(3000, seed * 7919));
      await sleep(5);
      g.destroy();
    }
    const [u] = await udpExchange(s.udpPort, noise(100, 99), 150);
    // A datagram of noise: answered (whole header, bit 15 clear, not Announce) or ignored (reply opcode).
    if (u) expect(u.bytes.length).toBeGreaterThanOrEqual(32);
  });

  it('answers exactly the frames with a request opcode (not Announce), each with a whole header', async () => {
    const c = await RawTcp.connect(s.tcpPort);
    const frames: Buffer[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 400; i++) {
      const words = i % 4;
      const f = noise(32 + 4 * words, 1000 + i);
      if (i % 3 === 0) f.writeUInt16BE(i % 9, 0); // plenty of known opcodes too
      f.writeUInt16BE(words, 29);
      f.writeUInt32BE(i, 24);
      if (i % 2 === 0) {
        f[31] = 0;
        let sum = 0;
        for (const b of f) sum += b;
        f[31] = (256 - (sum & 0xff)) & 0xff;
      }
      const op = f.readUInt16BE(0);
      if ((op & 0x8000) === 0 && op !== 7) expected.push(i);
      frames.push(f);
    }
    c.write(Buffer.concat(frames));
    await c.waitFrames(expected.length);
    await sleep(50);
    expect(c.frames.map((f) => f.header.transaction_id)).toEqual(expected);
    for (const f of c.frames) {
      expect(f.bytes.length).toBeGreaterThanOrEqual(32);
      expect(f.checksumOk).toBe(true);
      expect((f.header.opcode! & 0x8000) !== 0).toBe(true);
    }
    c.destroy();
  });

  it('an oversize length closes the connection after answering what came before', async () => {
    const c = await RawTcp.connect(s.tcpPort);
    const over = Buffer.from(query(2));
    over.writeUInt16BE(16385, 29);
    c.write(Buffer.concat([query(1), over, query(3)]));
    expect(await c.waitClosed()).toBe(true);
    expect(c.frames.map((f) => f.header.transaction_id)).toEqual([1]);
    expect(s.lines.some((l) => l.includes('event=oversize') && l.includes('length=16385'))).toBe(true);
    // Exactly at the limit is still read (and answered: a Query carries no payload).
    const d = await RawTcp.connect(s.tcpPort);
    d.write(encodeFrame(hdr({ opcode: 1, sub_opcode: 1, transaction_id: 4, payload: new Uint8Array(65536) })));
    const [f] = await d.waitFrames(1);
    expect([f!.status, f!.header.transaction_id]).toEqual(['MALFORMED', 4]);
    d.destroy();
  });

  it('a frame split anywhere, many frames in one write, and a slow drip are all answered', async () => {
    const c = await RawTcp.connect(s.tcpPort);
    const frames = Buffer.concat(Array.from({ length: 500 }, (_, i) => query(i + 1)));
    c.write(frames);
    await c.waitFrames(500);
    expect(c.frames.map((f) => f.header.transaction_id)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const stats = encodeFrame(hdr({ opcode: 6, transaction_id: 1000, payload: { session_id: sessions[0] } }));
    c.write(stats.subarray(0, 3));
    await sleep(10);
    c.write(stats.subarray(3, 33));
    await sleep(10);
    c.write(stats.subarray(33));
    await c.waitFrames(501);
    expect(c.frames[500]!.status).toBe('OK');
    const drip = query(2000);
    const t0 = Date.now();
    for (let i = 0; i < drip.length; i++) {
      c.write(drip.subarray(i, i + 1));
      await sleep(20);
    }
    await c.waitFrames(502);
    expect(Date.now() - t0).toBeGreaterThan(600);
    expect([c.frames[501]!.header.transaction_id, c.frames[501]!.status]).toEqual([2000, 'OK']);
    c.destroy();
  });

  it('500 concurrent TCP connections, one Query each', async () => {
    const conns = await Promise.all(Array.from({ length: 500 }, () => RawTcp.connect(s.tcpPort)));
    conns.forEach((c, i) => c.write(query(i + 1)));
    const replies = await Promise.all(conns.map((c) => c.waitFrames(1, 10_000).then((f) => f[0])));
    expect(replies.every((f, i) => f?.status === 'OK' && f.header.transaction_id === i + 1)).toBe(true);
    expect(s.connections).toBeGreaterThanOrEqual(500);
    conns.forEach((c) => c.destroy());
    for (let i = 0; i < 100 && s.connections > 0; i++) await sleep(20);
    expect(s.connections).toBe(0);
  });

  it('abrupt disconnects mid-frame and mid-wait free the connection state', async () => {
    // A waiter on a connection that dies is dropped.
    const w = await RawTcp.connect(s.tcpPort);
    w.write(encodeFrame(hdr({ opcode: 2, sub_opcode: 1, client_id: CLIENT + 5n, transaction_id: 1,
      payload: { storage_type: 5, access_type: 0xff, capacity_kb: GiB, flags: 8 } })));
    const [p] = await w.waitFrames(1);
    expect(p!.status).toBe('PENDING');
    expect(s.manager.waiting).toBe(1);
    const q = query(7);
    const half = await Promise.all(Array.from({ length: 50 }, () => RawTcp.connect(s.tcpPort)));
    half.forEach((c, i) => c.write(q.subarray(0, 1 + (i % 31))));
    await sleep(50);
    half.forEach((c) => c.sock.resetAndDestroy());
    w.sock.resetAndDestroy();
    for (let i = 0; i < 100 && (s.connections > 0 || s.manager.waiting > 0); i++) await sleep(20);
    expect(s.connections).toBe(0);
    expect(s.manager.waiting).toBe(0);
    expect(s.manager.outstandingTotal).toBe(0);
  });

  it('afterwards: a valid Query on TCP and UDP is answered and the earlier sessions are intact', async () => {
    const c = await VvmpConnection.connect({ port: s.tcpPort });
    expect((await c.request(hdr({ opcode: 1, sub_opcode: 1 }))).status).toBe('OK');
    for (const id of sessions) {
      const t = await c.request(hdr({ opcode: 6, payload: { session_id: id } }));
      expect([t.status, payload(t)['session_id']]).toEqual(['OK', id]);
    }
    expect(s.manager.sessions().map((x) => x.session_id)).toEqual(sessions);
    await c.close();
    const [u] = await udpExchange(s.udpPort, query(77));
    expect([u!.status, u!.header.transaction_id]).toEqual(['OK', 77]);
  });
});

describe('limits', () => {
  it('max_connections: extra connections are closed at once (FIN), served again when one leaves', async () => {
    const s = await server((c) => (c.limits.max_connections = 3), { verbose: true });
    const ok = await Promise.all([1, 2, 3].map(() => RawTcp.connect(s.tcpPort)));
    await sleep(30);
    const extra = await RawTcp.connect(s.tcpPort);
    extra.write(query(1));
    expect(await extra.waitClosed()).toBe(true);
    expect(extra.frames).toEqual([]);
    expect(s.lines.some((l) => l.includes('event=refused') && l.includes('max_connections'))).toBe(true);
    ok[0]!.destroy();
    await sleep(50);
    const again = await RawTcp.connect(s.tcpPort);
    again.write(query(2));
    expect((await again.waitFrames(1))[0]!.status).toBe('OK');
    for (const c of [...ok, again]) c.destroy();
    await s.close();
  });

  it('frame_timeout_ms: a partial frame held too long closes the connection; idle ones stay', async () => {
    const s = await server((c) => (c.limits.frame_timeout_ms = 200));
    const idle = await RawTcp.connect(s.tcpPort);
    const stuck = await RawTcp.connect(s.tcpPort);
    stuck.write(query(1).subarray(0, 10));
    const t0 = Date.now();
    expect(await stuck.waitClosed()).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(s.lines.some((l) => l.includes('event=frame_timeout') && l.includes('partial_bytes=10'))).toBe(true);
    idle.write(query(3));
    expect((await idle.waitFrames(1))[0]!.status).toBe('OK');
    idle.destroy();
    await s.close();
  });

  it('idle_timeout_ms: a silent (e.g. half-open) connection is closed; a talking one is not', async () => {
    const s = await server((c) => (c.limits.idle_timeout_ms = 200), { verbose: true });
    const silent = await RawTcp.connect(s.tcpPort);
    const chatty = await RawTcp.connect(s.tcpPort);
    for (let i = 0; i < 8; i++) {
      chatty.write(query(i));
      await sleep(50);
    }
    expect(await silent.waitClosed(1000)).toBe(true);
    expect(chatty.closed || chatty.ended).toBe(false);
    expect(chatty.frames).toHaveLength(8);
    expect(s.lines.some((l) => l.includes('event=idle_timeout'))).toBe(true);
    chatty.destroy();
    await s.close();
  });
});
