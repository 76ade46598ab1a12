import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Packet } from '../../src/capture/packet.js';
import { NetDecoder } from '../../src/net/decoder.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import {
  cat, eth, ipv4, ipv4Fragments, ipv6, packet, recorder, resetIndex, sll, tcp, TCP_ACK, TCP_FIN, TCP_RST, txOf, udp,
} from './build.js';
import { Conv } from './tcpconv.js';

const PORT = 7369;
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 127, 65535];

function noInternalErrors(dec: NetDecoder): void {
  expect(dec.counters.undecoded.get('internal error')).toBeUndefined();
}

/** A frame of the kinds a capture holds, with `tx` as transaction_id. */
function mkFrame([kind, n]: [number, number], tx: number): Buffer {
  switch (kind) {
    case 0: return encodeFrame({ opcode: 0x0001, sub_opcode: 0x01, transaction_id: tx });
    case 1: return encodeFrame({ opcode: 0x0002, sub_opcode: 0x02, transaction_id: tx, payload: { capacity_kb: tx } });
    case 2: return encodeFrame({ opcode: 0x8001, sub_opcode: 0, transaction_id: tx, payload: { devices: new Array(n).fill({}) } });
    default: return encodeFrame({ opcode: 0x0007, sub_opcode: 0x01, transaction_id: tx, payload: { devices: new Array(n).fill({}) } });
  }
}

const arbFrame = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }));

describe('robustness', () => {
  beforeEach(() => resetIndex());

  it('never throws on random bytes with random link types', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 })), { maxLength: 30 }),
      fc.boolean(),
      (pkts, heuristic) => {
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]), heuristic }, r.sink);
        for (const [lt, bytes] of pkts) dec.packet(packet(Buffer.from(bytes), lt));
        dec.end();
        noInternalErrors(dec);
        expect(dec.counters.packets).toBe(pkts.length);
      },
    ), { numRuns: 500 });
  });

  it('never throws on mutated IP/TCP/UDP packets around VVMP frames', () => {
    const arbPacket = fc.record({
      v6: fc.boolean(),
      tcpProto: fc.boolean(),
      sport: fc.constantFrom(PORT, 40000, 5555),
      dport: fc.constantFrom(PORT, 40001, 5555),
      seq: fc.constantFrom(0, 1, 100, 132, 164, 0xffffffff, 0xffffffe0),
      ack: fc.constantFrom(0, 1, 100, 200, 0x7fffffff),
      flags: fc.integer({ min: 0, max: 63 }),
      frames: fc.array(arbFrame, { maxLength: 3 }),
      junk: fc.uint8Array({ maxLength: 40 }),
      mutations: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      snap: fc.option(fc.nat({ max: 200 })),
      frag: fc.option(fc.record({ off: fc.nat({ max: 200 }), mf: fc.boolean(), id: fc.integer({ min: 0, max: 3 }) })),
    });
    fc.assert(fc.property(fc.array(arbPacket, { maxLength: 40 }), fc.boolean(), fc.integer({ min: 0, max: 100 }), (specs, heuristic, maxPayload) => {
      const r = recorder();
      const dec = new NetDecoder({ ports: new Set([PORT]), heuristic, maxPayload: maxPayload * 4 }, r.sink);
      specs.forEach((s, i) => {
        const payload = cat(...s.frames.map((f, j) => mkFrame(f, i * 10 + j)), s.junk);
        const l4 = s.tcpProto ? tcp({ sport: s.sport, dport: s.dport, seq: s.seq, ack: s.ack, flags: s.flags }, payload) : udp(s.sport, s.dport, payload);
        const ip = s.v6
          ? ipv6(l4, { nh: s.tcpProto ? 6 : 17 })
          : ipv4(l4, { proto: s.tcpProto ? 6 : 17, id: s.frag?.id ?? 1, mf: s.frag?.mf, fragOffset: s.frag ? s.frag.off * 8 : 0 });
        const data = eth(ip, s.v6 ? 0x86dd : 0x0800);
        for (const [at, v] of s.mutations) data[at % data.length] = v;
        dec.packet(packet(data, 1, s.snap ?? undefined));
      });
      dec.end();
      noInternalErrors(dec);
      for (const f of r.frames) {
        if (f.desync) expect(f.bytes.length).toBe(32);
      }
    }), { numRuns: 400 });
  });
});

describe('reassembly properties', () => {
  beforeEach(() => resetIndex());

  it('any segmentation, reordering and duplication of a stream yields each frame once, in order', () => {
    fc.assert(fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.boolean(),
      (frameFns, sizes, swaps, dups, isn, v6) => {
        resetIndex();
        const frames = frameFns.map((f, i) => mkFrame(f, i + 1));
        const stream = cat(...frames);
        const c = v6
          ? new Conv({ ip: 'fd00::1', port: 40000 }, { ip: 'fd00::2', port: PORT }, isn, 7, true)
          : new Conv(undefined, undefined, isn, 7);
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
        for (const p of c.handshake()) dec.packet(p);
        const base = c.cseq;
        const segs: Packet[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
          segs.push(c.c(stream.subarray(at, at + n), { seq: (base + at) >>> 0 }));
          at += n;
        }
        for (const d of dups) segs.splice(d % (segs.length + 1), 0, segs[d % segs.length]!);
        for (const s of swaps) {
          const i = s % segs.length;
          const j = Math.min(segs.length - 1, i + 1 + (s % 3));
          [segs[i], segs[j]] = [segs[j]!, segs[i]!];
        }
        for (const p of segs) dec.packet(p);
        expect(r.frames.map((f) => txOf(f.bytes))).toEqual(frames.map((_, i) => i + 1));
        r.frames.forEach((f, i) => expect(f.bytes).toEqual(frames[i]));
        expect(r.segments.every((s) => s.code === 'tcp_retransmission')).toBe(true);
        expect(dec.tcp.held).toBe(0);
        dec.end();
        expect(r.frames.length).toBe(frames.length);
        noInternalErrors(dec);
      },
    ), { numRuns: Number(process.env.NET_FUZZ_RUNS ?? 300) });
  });

  it('lost segments never make the framer emit frames that were not sent', () => {
    fc.assert(fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 15 }),
      fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      (frameFns, sizes, lost, viaAck) => {
        resetIndex();
        const frames = frameFns.map((f, i) => mkFrame(f, i + 1));
        const c = new Conv();
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
        for (const p of c.handshake()) dec.packet(p);
        const stream = cat(...frames);
        const segs: Packet[] = [];
        const ends: number[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
          segs.push(c.c(stream.subarray(at, at + n)));
          at += n;
          ends.push(at);
        }
        const gone = new Set(lost.map((l) => l % segs.length));
        const lastLostEnd = ends[Math.max(...gone)]!;
        const mustSee: number[] = [];
        for (let at = 0, i = 0; i < frames.length; at += frames[i]!.length, i++) if (at >= lastLostEnd) mustSee.push(i + 1);
        segs.forEach((p, i) => { if (!gone.has(i)) dec.packet(p); });
        if (viaAck) dec.packet(c.s(undefined, { flags: TCP_ACK }));
        dec.packet(c.c(undefined, { flags: TCP_FIN | TCP_ACK }));
        dec.end();
        const whole = new Set(frames.map((f) => f.toString('hex')));
        // Every whole frame emitted was sent; truncated/short ones only at the end of the stream.
        const tx = r.frames.map((f) => txOf(f.bytes));
        for (const f of r.frames.slice(0, -1)) expect(whole.has(f.bytes.toString('hex'))).toBe(true);
        const seen = tx.filter((t) => t > 0);
        expect(seen).toEqual([...new Set(seen)].sort((a, b) => a - b));
        for (const t of mustSee) expect(seen).toContain(t);
        // A gap is reported on each segment after lost ones, and at the FIN when the last ones were lost
        // (its sequence number shows they were sent).
        const gapsExpected = segs.filter((_, i) => !gone.has(i) && i > 0 && gone.has(i - 1)).length + (gone.has(segs.length - 1) ? 1 : 0);
        const gaps = r.segments.filter((x) => x.code === 'tcp_gap' && x.loss!.notCaptured > 0);
        expect(gaps.length).toBe(gapsExpected);
        // Every lost byte is counted, once.
        expect(gaps.reduce((n, x) => n + x.loss!.notCaptured, 0)).toBe([...gone].reduce((n, i) => n + ends[i]! - (i > 0 ? ends[i - 1]! : 0), 0));
        // Nothing else vanishes: what is not in a frame is reported, skipped or dropped with the gap.
        for (const x of r.segments) expect(x.code === 'tcp_retransmission' || x.loss !== undefined).toBe(true);
        noInternalErrors(dec);
      },
    ), { numRuns: 300 });
  });

  it('a capture starting anywhere mid-stream yields exactly the frames that start after it', () => {
    fc.assert(fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 10 }),
      fc.nat(),
      fc.boolean(),
      (frameFns, sizes, startAt, withFin) => {
        resetIndex();
        const frames = frameFns.map((f, i) => mkFrame(f, i + 1));
        const stream = cat(...frames);
        const c = new Conv();
        const segs: { p: Packet; at: number }[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
          segs.push({ p: c.c(stream.subarray(at, at + n)), at });
          at += n;
        }
        const first = startAt % segs.length;
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
        for (const s of segs.slice(first)) dec.packet(s.p);
        if (withFin) dec.packet(c.c(undefined, { flags: TCP_FIN | TCP_ACK }));
        dec.end();
        const from = segs[first]!.at;
        const expected: number[] = [];
        for (let at = 0, i = 0; i < frames.length; at += frames[i]!.length, i++) if (at >= from) expected.push(i + 1);
        expect(r.frames.map((f) => txOf(f.bytes))).toEqual(expected);
        // The bytes before the first frame boundary are reported skipped, exactly, once; nothing else.
        let boundary = 0;
        for (const f of frames) {
          if (boundary >= from) break;
          boundary += f.length;
        }
        const skipped = boundary >= from ? boundary - from : stream.length - from;
        expect(r.segments.map((s) => [s.code, s.loss])).toEqual(skipped > 0 ? [['tcp_gap', { notCaptured: 0, skipped, droppedFrames: 0 }]] : []);
        noInternalErrors(dec);
      },
    ), { numRuns: Number(process.env.NET_FUZZ_RUNS ?? 300) });
  });

  it('resync finds no false frames in streams of frames with random field values', () => {
    const arbRich = fc.record({
      op: fc.constantFrom(0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006),
      sub: fc.constantFrom(0, 1, 2, 3, 0xff, 0x10),
      san: fc.integer({ min: 0, max: 0xffffff }),
      client: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      server: fc.constantFrom(0n, 1n, 0x1000n),
      words: fc.integer({ min: 0, max: 30 }),
      fill: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(fc.property(
      fc.array(arbRich, { minLength: 2, maxLength: 25 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }),
      fc.nat(), fc.nat(),
      (specs, sizes, startAt, lostAt) => {
        resetIndex();
        const frames = specs.map((x, i) => {
          const payload = new Uint8Array(4 * x.words);
          for (let j = 0; j < payload.length; j++) payload[j] = (x.fill * (j + 1)) & 0xff;
          return encodeFrame({
            opcode: x.op, sub_opcode: x.sub, src_san: x.san, dst_san: x.san ^ 0xffffff, client_id: x.client,
            server_id: x.server, transaction_id: i + 1, payload,
          });
        });
        const stream = cat(...frames);
        const c = new Conv();
        const segs: Packet[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
          segs.push(c.c(stream.subarray(at, at + n)));
          at += n;
        }
        const first = startAt % segs.length;
        const lost = first + (lostAt % Math.max(1, segs.length - first));
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
        segs.forEach((p, i) => { if (i >= first && i !== lost) dec.packet(p); });
        dec.packet(c.s(undefined, { flags: TCP_ACK }));
        dec.end();
        const sent = new Set(frames.map((f) => f.toString('hex')));
        const whole = r.frames.filter((f) => f.bytes.length >= 32 && f.bytes.length === 32 + 4 * f.bytes.readUInt16BE(29));
        for (const f of whole) expect(sent.has(f.bytes.toString('hex'))).toBe(true);
        noInternalErrors(dec);
      },
    ), { numRuns: Number(process.env.NET_FUZZ_RUNS ?? 300) });
  });

  it('IPv4 fragments in any order with duplicates give the datagram once', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 20 }),
      fc.array(fc.nat(), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 5 }),
      (unit, devices, perm, dups) => {
        resetIndex();
        const frame = encodeFrame({ opcode: 0x8001, sub_opcode: 0, transaction_id: 1, payload: { devices: new Array(devices).fill({}) } });
        const frags = ipv4Fragments(udp(1, PORT, frame), unit * 8, { id: 42 });
        for (const d of dups) frags.push(frags[d % frags.length]!);
        for (let i = 0; i < perm.length && frags.length > 1; i++) {
          const a = perm[i]! % frags.length;
          const b = (a + 1) % frags.length;
          [frags[a], frags[b]] = [frags[b]!, frags[a]!];
        }
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
        for (const f of frags) dec.packet(packet(sll(f), 113));
        expect(r.frames.length).toBeGreaterThanOrEqual(1);
        expect(r.frames[0]!.bytes).toEqual(frame);
        noInternalErrors(dec);
      },
    ), { numRuns: 200 });
  });
});

describe('memory bounds', () => {
  it('holds at most about 1 MiB per direction behind a hole', () => {
    const r = recorder();
    const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
    const c = new Conv();
    for (const p of c.handshake()) dec.packet(p);
    c.c(Buffer.alloc(100)); // lost
    const chunk = Buffer.alloc(1400, 0x41);
    let maxHeld = 0;
    for (let i = 0; i < 2000; i++) {
      dec.packet(c.c(chunk));
      maxHeld = Math.max(maxHeld, dec.tcp.held);
    }
    expect(maxHeld).toBeLessThanOrEqual((1 << 20) + 1400);
    expect(r.frames.length).toBe(0); // no header ever: nothing framed
    dec.packet(c.rst());
    expect(dec.tcp.open).toBe(0);
    noInternalErrors(dec);
  });

  it('keeps only the unconsumed remainder of a stream', () => {
    const r = recorder();
    const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
    const c = new Conv();
    for (const p of c.handshake()) dec.packet(p);
    const frame = encodeFrame({ opcode: 0x8001, sub_opcode: 0, transaction_id: 1, payload: { devices: new Array(50).fill({}) } });
    for (let i = 0; i < 300; i++) {
      dec.packet(c.c(frame.subarray(0, 500)));
      expect(dec.tcp.held).toBe(500);
      dec.packet(c.c(frame.subarray(500)));
      expect(dec.tcp.held).toBe(0);
    }
    expect(r.frames.length).toBe(300);
    dec.packet(c.c(undefined, { flags: TCP_RST }));
    expect(dec.tcp.open).toBe(0);
  });
});
