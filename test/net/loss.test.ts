// Nothing read vanishes silently (issue 13): every path where the TCP layer
// gives bytes up without a frame reports them as a segment event with what was
// lost (bytes not captured, captured bytes skipped, frames dropped), and a
// frame right after a discontinuity is decoded even with a bad checksum.

import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Packet } from '../../src/capture/packet.js';
import { NetDecoder } from '../../src/net/decoder.js';
import type { NetOptions } from '../../src/net/types.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { allocate, cat, query, queryReply, recorder, resetIndex, TCP_ACK, TCP_FIN, txOf } from './build.js';
import { Conv, split } from './tcpconv.js';

const PORT = 7369;

function setup(opts: Partial<NetOptions> = {}) {
  const r = recorder();
  const dec = new NetDecoder({ ports: new Set([PORT]), ...opts }, r.sink);
  const feed = (...ps: (Packet | Packet[])[]): void => {
    for (const p of ps.flat()) dec.packet(p);
  };
  const txs = (): number[] => r.frames.map((f) => txOf(f.bytes));
  const losses = () => r.segments.filter((s) => s.code === 'tcp_gap').map((s) => ({ at: s.packet.index, ...s.loss! }));
  return { r, dec, feed, txs, losses };
}

/** `f` with its checksum byte off by one. */
function badSum(f: Buffer): Buffer {
  const b = Buffer.from(f);
  b[31] = (b[31]! + 1) & 0xff;
  return b;
}

describe('mid-stream starts', () => {
  beforeEach(() => resetIndex());

  it('decodes a first frame with a bad checksum when it fills the first segment (the demo flow exported alone)', () => {
    const { r, feed, txs, losses } = setup();
    const c = new Conv();
    c.handshake(); // not captured
    feed(c.c(badSum(query(1))), c.s(queryReply(1, 0)));
    expect(txs()).toEqual([1, 1]);
    expect(r.frames[0]!.bytes).toEqual(badSum(query(1)));
    expect(losses()).toEqual([]);
  });

  it('decodes it when the next header confirms it, and waits for that header across segments', () => {
    const { feed, txs, losses } = setup();
    const c = new Conv();
    c.handshake();
    const [a, b] = split(query(2), 10);
    feed(c.c(cat(badSum(query(1)), a!)), c.c(b!));
    expect(txs()).toEqual([1, 2]);
    expect(losses()).toEqual([]);
  });

  it('a bad-checksum candidate not confirmed is skipped and reported, not taken', () => {
    const { feed, txs, losses } = setup();
    const c = new Conv();
    c.handshake();
    const junk = Buffer.alloc(7, 0xee);
    const p = c.c(cat(badSum(query(1)), junk, query(2)));
    feed(p, c.c(query(3)));
    expect(txs()).toEqual([2, 3]);
    expect(losses()).toEqual([{ at: p.index, notCaptured: 0, skipped: 32 + 7, droppedFrames: 0 }]);
  });

  it('bytes with no frame boundary at all are reported at the stream\'s end', () => {
    const { r, feed, dec, txs, losses } = setup();
    const c = new Conv();
    c.handshake();
    const p1 = c.c(Buffer.alloc(50, 0x41));
    const last = c.c(Buffer.alloc(30, 0x42));
    feed(p1, last);
    dec.end();
    expect(txs()).toEqual([]);
    expect(losses()).toEqual([{ at: last.index, notCaptured: 0, skipped: 80, droppedFrames: 0 }]);
    expect(r.segments[0]!.message).toBe('80 captured bytes skipped: no VVMP frame starts in them (the capture starts mid-connection)');
  });
});

describe('gaps', () => {
  beforeEach(() => resetIndex());

  it('a frame cut by lost bytes is dropped and the gap says so', () => {
    const { r, feed, txs, losses } = setup();
    const c = new Conv();
    feed(c.handshake());
    const [a, b, d] = split(allocate(2), 40, 4);
    const p1 = c.c(cat(query(1), a!));
    c.c(b!); // lost
    const p3 = c.c(cat(d!, query(3)));
    feed(p1, p3, c.s(undefined, { flags: TCP_ACK }));
    expect(txs()).toEqual([1, 3]);
    expect(losses()).toEqual([{ at: p3.index, notCaptured: 4, skipped: 0, droppedFrames: 1 }]);
    expect(r.segments[0]!.message).toBe('4 bytes before this segment were not captured; the frame they cut is dropped (40 of its bytes were captured)');
  });

  it('lost bytes at the end of a stream (the FIN or the peer\'s ACK shows them) are a gap at the close', () => {
    for (const how of ['fin', 'ack'] as const) {
      resetIndex();
      const { r, feed, txs, losses } = setup();
      const c = new Conv();
      feed(c.handshake(), c.c(query(1)));
      c.c(query(2)); // lost
      if (how === 'ack') feed(c.s(undefined, { flags: TCP_ACK }));
      const fin = c.c(undefined, { flags: TCP_FIN | TCP_ACK });
      feed(fin, c.s(undefined, { flags: TCP_FIN | TCP_ACK }), c.c(undefined, { flags: TCP_ACK }));
      expect(txs()).toEqual([1]);
      expect(losses()).toEqual([{ at: fin.index, notCaptured: 32, skipped: 0, droppedFrames: 0 }]);
      expect(r.segments[0]!.message).toBe('32 bytes at the end of the stream were not captured');
    }
  });

  it('a clean close reports nothing (the FIN\'s own sequence number is no loss)', () => {
    const { feed, txs, r } = setup();
    const c = new Conv();
    feed(c.handshake(), c.c(query(1)), c.s(queryReply(1, 0)), c.close());
    expect(txs()).toEqual([1, 1]);
    expect(r.segments).toEqual([]);
  });
});

describe('desync', () => {
  beforeEach(() => resetIndex());

  it('the bytes after a tcp_desync frame are counted and reported once, at the close', () => {
    const { r, feed, txs, losses } = setup({ maxPayload: 1024 });
    const c = new Conv();
    feed(c.handshake());
    const huge = encodeFrame({ opcode: 0x0002, sub_opcode: 1, transaction_id: 2, payload: new Uint8Array(2000) });
    feed(c.c(cat(query(1), huge.subarray(0, 100))), c.c(cat(huge.subarray(100), query(3))));
    const fin = c.c(undefined, { flags: TCP_FIN | TCP_ACK });
    feed(fin);
    expect(txs()).toEqual([1, 2]);
    expect(losses()).toEqual([{ at: fin.index, notCaptured: 0, skipped: huge.length - 32 + 32, droppedFrames: 0 }]);
    expect(r.segments[0]!.message).toMatch(/^2032 captured bytes skipped: no VVMP frame starts in them \(they follow a tcp_desync frame\)$/);
  });
});

describe('accounting (property)', () => {
  beforeEach(() => resetIndex());

  it('every byte of a stream is in a frame, or reported not captured, skipped, or in a dropped frame', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 8 }),
      fc.nat(), fc.array(fc.nat(), { maxLength: 3 }), fc.boolean(),
      (kinds, sizes, startAt, lost, synSeen) => {
        resetIndex();
        const frames = kinds.map((k, i) => (k === 0 ? query(i + 1) : k === 1 ? allocate(i + 1) : k === 2 ? queryReply(i + 1, 2) : badSum(query(i + 1))));
        const stream = cat(...frames);
        const c = new Conv();
        const r = recorder();
        const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
        const hs = c.handshake();
        if (synSeen) for (const p of hs) dec.packet(p);
        const segs: { p: Packet; len: number }[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
          segs.push({ p: c.c(stream.subarray(at, at + n)), len: n });
          at += n;
        }
        const first = synSeen ? 0 : startAt % segs.length;
        const gone = new Set(lost.map((l) => first + (l % (segs.length - first))));
        segs.forEach((s, i) => { if (i >= first && !gone.has(i)) dec.packet(s.p); });
        dec.packet(c.c(undefined, { flags: TCP_FIN | TCP_ACK }));
        dec.end();
        // Without the SYN the stream starts at its first captured segment: losses before it are unknowable.
        let start = first;
        while (!synSeen && start < segs.length && gone.has(start)) start++;
        const seen = segs.slice(start).reduce((n, s) => n + s.len, 0);
        const framed = r.frames.reduce((n, f) => n + f.bytes.length, 0);
        const gaps = r.segments.filter((s) => s.code === 'tcp_gap');
        const notCaptured = gaps.reduce((n, s) => n + s.loss!.notCaptured, 0);
        const skipped = gaps.reduce((n, s) => n + s.loss!.skipped, 0);
        const lostBytes = [...gone].filter((i) => i >= start).reduce((n, i) => n + segs[i]!.len, 0);
        expect(notCaptured).toBe(lostBytes);
        // What was captured but is in no frame: skipped, or belongs to a dropped frame (which the gap names).
        const dropped = gaps.reduce((n, s) => n + s.loss!.droppedFrames, 0);
        const unframed = seen - lostBytes - framed;
        expect(unframed).toBeGreaterThanOrEqual(skipped);
        if (unframed > skipped) expect(dropped).toBeGreaterThan(0);
        if (dropped === 0) expect(unframed).toBe(skipped);
        expect(dec.counters.undecoded.get('internal error')).toBeUndefined();
      },
    ), { numRuns: Number(process.env.NET_FUZZ_RUNS ?? 300) });
  });
});
