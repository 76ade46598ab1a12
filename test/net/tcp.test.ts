import { beforeEach, describe, expect, it } from 'vitest';
import type { Packet } from '../../src/capture/packet.js';
import { NetDecoder } from '../../src/net/decoder.js';
import type { NetOptions } from '../../src/net/types.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { allocate, cat, query, queryReply, recorder, resetIndex, TCP_ACK, TCP_FIN, TCP_SYN, txOf } from './build.js';
import { Conv, split } from './tcpconv.js';

const PORT = 7369;

function setup(opts: Partial<NetOptions> = {}) {
  const r = recorder();
  const dec = new NetDecoder({ ports: new Set([PORT]), ...opts }, r.sink);
  const feed = (...ps: (Packet | Packet[])[]): void => {
    for (const p of ps.flat()) dec.packet(p);
  };
  const txs = (): number[] => r.frames.map((f) => txOf(f.bytes));
  const codes = (): string[] => r.segments.map((s) => `${s.code}@${s.packet.index}`);
  return { r, dec, feed, txs, codes };
}

describe('TCP framing', () => {
  beforeEach(() => resetIndex());

  it('cuts many frames out of one segment, in stream order', () => {
    const { r, dec, feed, txs } = setup();
    const c = new Conv();
    feed(c.handshake());
    const p = c.c(cat(query(1), allocate(2), queryReply(3, 4), query(4)));
    feed(p);
    expect(txs()).toEqual([1, 2, 3, 4]);
    expect(r.frames.every((f) => f.packet === p)).toBe(true);
    expect(r.frames[2]!.bytes).toEqual(queryReply(3, 4));
    expect(r.frames[0]!.src).toEqual({ ip: '10.0.0.1', port: 40000, text: '10.0.0.1:40000' });
    expect(r.frames[0]!.dst).toEqual({ ip: '10.0.0.2', port: PORT, text: `10.0.0.2:${PORT}` });
    expect(r.frames[0]!.flowKey).toBe('tcp 10.0.0.1:40000 10.0.0.2:7369');
    expect(r.frames[0]!.transport).toBe('tcp');
    expect(r.segments).toEqual([]);
    feed(c.close());
    expect(dec.tcp.open).toBe(0);
    expect(dec.counters.undecoded.size).toBe(0);
  });

  it('joins a frame split over many segments, 1-byte segments too', () => {
    const { r, feed } = setup();
    const c = new Conv();
    feed(c.handshake());
    const big = queryReply(7, 10); // 232 bytes
    const pkts = [...big].map((b) => c.c(Uint8Array.of(b)));
    feed(pkts);
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(big);
    expect(r.frames[0]!.packet).toBe(pkts[pkts.length - 1]);
  });

  it('attributes each frame to the segment holding its last byte, across odd splits', () => {
    const { r, feed, txs } = setup();
    const c = new Conv();
    feed(c.handshake());
    const frames = [query(1), queryReply(2, 3), allocate(3), query(4), queryReply(5, 1)];
    const stream = cat(...frames);
    const parts = split(stream, 5, 40, 3, 90, 1, 1, 30, 60);
    const pkts = parts.map((b) => c.c(b));
    feed(pkts);
    expect(txs()).toEqual([1, 2, 3, 4, 5]);
    const ends: number[] = [];
    let at = 0;
    for (const f of frames) ends.push((at += f.length) - 1);
    const partOf = (byte: number) => {
      let acc = 0;
      for (let i = 0; i < parts.length; i++) if (byte < (acc += parts[i]!.length)) return i;
      return -1;
    };
    expect(r.frames.map((f) => f.packet)).toEqual(ends.map((e) => pkts[partOf(e)]));
    r.frames.forEach((f, i) => expect(f.bytes).toEqual(frames[i]));
  });

  it('delivers out-of-order segments once the hole fills', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const [a, b, d] = split(cat(query(1), allocate(2), query(3)), 40, 40);
    const start = c.cseq;
    const p2 = c.c(b!, { seq: start + 40 });
    const p3 = c.c(d!, { seq: start + 80 });
    feed(p2, p3);
    expect(r.frames.length).toBe(0);
    const p1 = c.c(a!, { seq: start });
    feed(p1);
    expect(txs()).toEqual([1, 2, 3]);
    expect(r.frames.every((f) => f.packet === p1)).toBe(true);
    expect(codes()).toEqual([]);
  });

  it('reports an exact retransmission once and emits no duplicate frame', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const seq = c.cseq;
    const p1 = c.c(cat(query(1), query(2)));
    const p2 = c.c(cat(query(1), query(2)), { seq });
    feed(p1, p2);
    expect(txs()).toEqual([1, 2]);
    expect(codes()).toEqual([`tcp_retransmission@${p2.index}`]);
  });

  it('keeps only the new bytes of a partial overlap', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const stream = cat(query(1), allocate(2), query(3));
    const seq = c.cseq;
    const p1 = c.c(stream.subarray(0, 40), { seq });
    const p2 = c.c(stream.subarray(20, 90), { seq: seq + 20 });
    const p3 = c.c(stream.subarray(90), { seq: seq + 90 });
    feed(p1, p2, p3);
    expect(txs()).toEqual([1, 2, 3]);
    expect(r.frames[1]!.bytes).toEqual(allocate(2));
    expect(codes()).toEqual([`tcp_retransmission@${p2.index}`]);
  });

  it('reports a retransmission of queued out-of-order bytes', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const seq = c.cseq;
    const p2 = c.c(query(2), { seq: seq + 32 });
    const p2again = c.c(query(2), { seq: seq + 32 });
    const p1 = c.c(query(1), { seq });
    feed(p2, p2again, p1);
    expect(txs()).toEqual([1, 2]);
    expect(codes()).toEqual([`tcp_retransmission@${p2again.index}`]);
  });

  it('gives up a hole when the other side ACKs past it: tcp_gap, resync, later frames', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const p1 = c.c(query(1));
    c.c(allocate(2)); // lost by the capture
    const p3 = c.c(query(3));
    const p4 = c.c(query(4));
    feed(p1, p3, p4);
    expect(txs()).toEqual([1]);
    const ack = c.s(undefined, { flags: TCP_ACK });
    feed(ack);
    expect(txs()).toEqual([1, 3, 4]);
    expect(codes()).toEqual([`tcp_gap@${p3.index}`]);
    expect(r.segments[0]!.message).toContain('52 bytes');
    expect(r.frames[1]!.packet).toBe(ack);
    const p5 = c.c(query(5));
    feed(p5);
    expect(txs()).toEqual([1, 3, 4, 5]);
  });

  it('does not call an ACK seen before its data a gap', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const seq = c.cseq;
    const p1 = c.c(query(1));
    feed(c.s(undefined, { ack: seq + 32 }), p1);
    expect(txs()).toEqual([1]);
    expect(codes()).toEqual([]);
  });

  it('drops a frame cut by a gap and resyncs on the next header (header lost)', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const [a, b] = split(allocate(2), 20);
    const p1 = c.c(cat(query(1), a!));
    c.c(b!); // lost: the header's end and the payload of frame 2
    const p3 = c.c(cat(queryReply(3, 2), query(4)));
    feed(p1, p3);
    feed(c.close());
    expect(txs()).toEqual([1, 3, 4]);
    expect(codes()).toEqual([`tcp_gap@${p3.index}`]);
  });

  it('after a gap inside a frame whose header was seen, frames on at its declared end', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    // The lost bytes hold the middle of frame 2; the bytes after them start with its tail,
    // which holds a false header that the resync scan would otherwise take.
    const fake = query(99);
    const f2 = encodeFrame({ opcode: 0x0001 | 0x8000, sub_opcode: 0, transaction_id: 2, payload: new Uint8Array(cat(new Uint8Array(40), fake, new Uint8Array(8))) });
    const [x, y, z] = split(f2, 50, 10);
    const p1 = c.c(cat(query(1), x!));
    c.c(y!);
    const p3 = c.c(cat(z!, query(3)));
    feed(p1, p3, c.close());
    expect(txs()).toEqual([1, 3]);
    expect(codes()).toEqual([`tcp_gap@${p3.index}`]);
  });

  it('starts mid-connection and mid-frame: the first whole header is found', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    c.c(allocate(1).subarray(0, 30)); // before the capture
    const p1 = c.c(cat(allocate(1).subarray(30), query(2)));
    const p2 = c.c(allocate(3));
    feed(p1, p2);
    expect(txs()).toEqual([2, 3]);
    expect(r.frames[0]!.packet).toBe(p1);
    // The 22 bytes before the first header are not silently gone.
    expect(codes()).toEqual([`tcp_gap@${p1.index}`]);
    expect(r.segments[0]!.loss).toEqual({ notCaptured: 0, skipped: allocate(1).length - 30, droppedFrames: 0 });
    expect(r.segments[0]!.message).toBe(`${allocate(1).length - 30} captured bytes skipped: no VVMP frame starts in them (the capture starts mid-connection)`);
  });

  it('starts mid-connection at a frame boundary with a partial first frame', () => {
    const { feed, txs } = setup();
    const c = new Conv();
    const [a, b] = split(queryReply(1, 3), 40);
    feed(c.c(a!), c.c(cat(b!, query(2))));
    expect(txs()).toEqual([1, 2]);
  });

  it('flushes a short remainder at FIN, and a truncated one', () => {
    const { r, dec, feed } = setup();
    const c = new Conv();
    feed(c.handshake());
    feed(c.c(cat(query(1), query(2).subarray(0, 10))));
    const fin = c.c(undefined, { flags: TCP_FIN | TCP_ACK });
    feed(fin);
    expect(r.frames.map((f) => f.bytes.length)).toEqual([32, 10]);
    expect(r.frames[1]!.packet).toBe(fin);
    feed(c.s(allocate(3).subarray(0, 40)));
    const sfin = c.s(undefined, { flags: TCP_FIN | TCP_ACK });
    feed(sfin);
    expect(r.frames.map((f) => f.bytes.length)).toEqual([32, 10, 40]);
    expect(r.frames[2]!.bytes).toEqual(allocate(3).subarray(0, 40));
    expect(r.frames[2]!.src.port).toBe(PORT);
    expect(dec.tcp.open).toBe(0);
  });

  it('flushes both directions at RST and forgets the connection', () => {
    const { r, dec, feed } = setup();
    const c = new Conv();
    feed(c.handshake());
    feed(c.c(query(1).subarray(0, 20)), c.s(allocate(1).subarray(0, 45)));
    expect(dec.tcp.open).toBe(1);
    expect(dec.tcp.held).toBe(65);
    const rst = c.rst();
    feed(rst);
    expect(r.frames.map((f) => [f.bytes.length, f.packet.index])).toEqual([[20, rst.index], [45, rst.index]]);
    expect(dec.tcp.open).toBe(0);
  });

  it('flushes open streams at end(), attributed to the last packet holding their bytes', () => {
    const { r, dec, feed } = setup();
    const c = new Conv();
    feed(c.handshake());
    const p1 = c.c(allocate(1).subarray(0, 40));
    const later = c.s(query(9));
    feed(p1, later);
    p1.data.fill(0); // the reader reuses its buffers
    dec.end();
    expect(r.frames.map((f) => f.bytes.length)).toEqual([32, 40]);
    expect(r.frames[1]!.bytes).toEqual(allocate(1).subarray(0, 40));
    expect(r.frames[1]!.packet.index).toBe(p1.index);
    // Number and time only: nothing downstream reads a flushed frame's packet bytes.
    expect(r.frames[1]!.packet.data.length).toBe(0);
  });

  it('gives up holes at end() and still emits the queued frames', () => {
    const { feed, dec, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    feed(c.c(query(1)));
    c.c(query(2));
    const p3 = c.c(query(3));
    feed(p3);
    dec.end();
    expect(txs()).toEqual([1, 3]);
    expect(codes()).toEqual([`tcp_gap@${p3.index}`]);
  });

  it('gives up a hole when more than 256 segments wait behind it', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    c.c(query(0)); // lost
    const pkts = Array.from({ length: 257 }, (_, i) => c.c(query(i + 1)));
    feed(pkts.slice(0, 256));
    expect(txs()).toEqual([]);
    feed(pkts[256]!);
    expect(txs().length).toBe(257);
    expect(codes()).toEqual([`tcp_gap@${pkts[0]!.index}`]);
  });

  it('emits a snaplen-cut frame with its present bytes and frames on after its declared end', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const big = queryReply(2, 10); // 232 bytes
    const [head, tail] = split(big, 60);
    const p1 = c.c(cat(query(1), head!), { snapPayload: 32 + 40 }); // 20 bytes of frame 2 cut
    const p2 = c.c(cat(tail!, query(3)));
    feed(p1, p2);
    expect(txs()).toEqual([1, 2, 3]);
    expect(r.frames[1]!.bytes).toEqual(big.subarray(0, 40));
    expect(r.frames[1]!.packet).toBe(p1);
    expect(codes()).toEqual([]);
  });

  it('after a snaplen cut that hides frame starts, resyncs at the next header', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake());
    const p1 = c.c(cat(query(1), allocate(2), query(3), query(4)), { snapPayload: 32 + 10 });
    const p2 = c.c(cat(query(5), allocate(6)));
    feed(p1, p2);
    expect(txs()).toEqual([1, -1, 5, 6]);
    expect(r.frames[1]!.bytes.length).toBe(10); // frame 2: a short frame
    expect(codes()).toEqual([]);
  });

  it('desyncs on a frame over the payload limit: header only, then nothing more that way', () => {
    const { r, feed, txs } = setup({ maxPayload: 1024 });
    const c = new Conv();
    feed(c.handshake());
    const huge = encodeFrame({ opcode: 0x0002, sub_opcode: 1, transaction_id: 2, payload: new Uint8Array(2000) });
    feed(c.c(cat(query(1), huge.subarray(0, 100))), c.c(cat(huge.subarray(100), query(3))));
    feed(c.s(queryReply(1, 0)));
    feed(c.c(query(4)));
    expect(txs()).toEqual([1, 2, 1]);
    expect(r.frames[1]!.desync).toBe(true);
    expect(r.frames[1]!.bytes).toEqual(huge.subarray(0, 32));
    expect(r.frames[0]!.desync).toBeUndefined();
    expect(r.frames[2]!.src.port).toBe(PORT);
  });

  it('desyncs when the oversize header spans segments', () => {
    const { r, feed, txs } = setup({ maxPayload: 1024 });
    const c = new Conv();
    feed(c.handshake());
    const huge = encodeFrame({ opcode: 0x0002, sub_opcode: 1, transaction_id: 2, payload: new Uint8Array(2000) });
    feed(c.c(huge.subarray(0, 20)), c.c(huge.subarray(20, 40)));
    expect(txs()).toEqual([2]);
    expect(r.frames[0]!.desync).toBe(true);
    expect(r.frames[0]!.bytes).toEqual(huge.subarray(0, 32));
  });

  it('accepts a payload exactly at the limit, desyncs one word above it', () => {
    const { r, feed } = setup({ maxPayload: 400 });
    const c = new Conv();
    feed(c.handshake());
    const atLimit = encodeFrame({ opcode: 0x8001, sub_opcode: 0, transaction_id: 1, payload: { devices: new Array(20).fill({}) } });
    const over = encodeFrame({ opcode: 0x0002, sub_opcode: 1, transaction_id: 2, payload: new Uint8Array(404) });
    feed(c.c(cat(atLimit, over)));
    expect(r.frames.map((f) => [f.bytes.length, f.desync ?? false])).toEqual([[432, false], [32, true]]);
  });

  it('takes data carried on the SYN', () => {
    const { feed, txs } = setup();
    const c = new Conv();
    feed(c.c(query(1), { flags: TCP_SYN }), c.s(undefined, { flags: TCP_SYN | TCP_ACK }), c.c(query(2)));
    expect(txs()).toEqual([1, 2]);
  });

  it('a FIN past a hole gives the hole up: tcp_gap on the segment after it', () => {
    const { r, feed, txs, codes } = setup();
    const c = new Conv();
    feed(c.handshake(), c.c(query(1)));
    c.c(allocate(2).subarray(0, 40)); // lost
    const p3 = c.c(cat(allocate(2).subarray(40), query(3)));
    const fin = c.c(query(4), { flags: TCP_FIN | TCP_ACK });
    feed(p3, fin);
    expect(txs()).toEqual([1, 3, 4]);
    // The gap on the segment after it; then the rest of the Allocate whose header was lost, skipped.
    expect(codes()).toEqual([`tcp_gap@${p3.index}`, `tcp_gap@${fin.index}`]);
    expect(r.segments.map((s) => s.loss)).toEqual([
      { notCaptured: 40, skipped: 0, droppedFrames: 0 },
      { notCaptured: 0, skipped: allocate(2).length - 40, droppedFrames: 0 }]);
    expect(r.frames[2]!.packet).toBe(fin);
  });

  it('passes on errors the sink throws instead of counting them', () => {
    const dec = new NetDecoder({ ports: new Set([PORT]) }, {
      frame: () => {
        throw new Error('sink failed');
      },
      segment: () => {},
    });
    const c = new Conv();
    for (const p of c.handshake()) dec.packet(p);
    expect(() => dec.packet(c.c(query(1)))).toThrow('sink failed');
    expect(dec.counters.undecoded.size).toBe(0);
  });

  it('follows sequence numbers across the 2^32 wrap', () => {
    const { feed, txs, codes } = setup();
    const c = new Conv(undefined, undefined, 0xffffffff - 50, 0xfffffff0);
    feed(c.handshake());
    const stream = cat(query(1), allocate(2), query(3), queryReply(4, 2));
    const seq = c.cseq;
    const parts = split(stream, 30, 30, 30, 30);
    let at = 0;
    const pkts = parts.map((b) => {
      const p = c.c(b, { seq: (seq + at) >>> 0 });
      at += b.length;
      return p;
    });
    feed(pkts[0]!, pkts[2]!, pkts[1]!, pkts[4]!, pkts[3]!, pkts[3]!);
    feed(c.s(queryReply(1, 1)));
    expect(txs()).toEqual([1, 2, 3, 4, 1]);
    expect(codes()).toEqual([`tcp_retransmission@${pkts[3]!.index}`]);
  });

  it('starts a new connection on a new SYN after FIN/FIN and after RST (port reuse)', () => {
    const { dec, feed, txs, codes } = setup();
    const c1 = new Conv(undefined, undefined, 5000, 6000);
    feed(c1.handshake());
    const last = c1.c(cat(query(1), query(2)));
    feed(last, c1.close());
    // A retransmission after the close is one, not new frames.
    const again = c1.c(cat(query(1), query(2)), { seq: c1.cseq - 65 });
    feed(again);
    const c2 = new Conv(undefined, undefined, 1, 2);
    feed(c2.handshake(), c2.c(query(3)), c2.rst(false));
    const c3 = new Conv(undefined, undefined, 777, 888);
    feed(c3.handshake(), c3.c(query(4)), c3.s(queryReply(4, 0)));
    // A new SYN while the old connection is open (its close not captured).
    const c4 = new Conv(undefined, undefined, 99999, 1234);
    feed(c4.handshake(), c4.c(query(5)));
    expect(txs()).toEqual([1, 2, 3, 4, 4, 5]);
    expect(codes()).toEqual([`tcp_retransmission@${again.index}`]);
    expect(dec.tcp.open).toBe(1);
  });

  it('a retransmitted SYN does not restart the connection', () => {
    const { feed, txs } = setup();
    const c = new Conv();
    const syn = c.c(undefined, { flags: TCP_SYN, ack: 0 });
    const syn2 = c.c(undefined, { flags: TCP_SYN, ack: 0, seq: c.cseq - 1 });
    feed(syn, syn2, c.s(undefined, { flags: TCP_SYN | TCP_ACK }), c.c(cat(query(1), allocate(2).subarray(0, 20))), syn2);
    feed(c.c(allocate(2).subarray(20)));
    expect(txs()).toEqual([1, 2]);
  });

  it('reassembles over IPv6', () => {
    const { r, feed, txs } = setup();
    const c = new Conv({ ip: 'fd00::1', port: 40000 }, { ip: 'fd00::2', port: PORT }, 1, 2, true);
    feed(c.handshake(), c.c(query(1).subarray(0, 5)), c.c(cat(query(1).subarray(5), query(2))));
    expect(txs()).toEqual([1, 2]);
    expect(r.frames[0]!.flowKey).toBe('tcp [fd00::1]:40000 [fd00::2]:7369');
  });

  it('ignores connections on other ports without keeping state', () => {
    const { r, dec, feed } = setup();
    const c = new Conv(undefined, { ip: '10.0.0.2', port: 80 });
    feed(c.handshake(), c.c(cat(query(1), query(2))));
    expect(r.frames.length).toBe(0);
    expect(dec.tcp.open).toBe(0);
  });
});

describe('TCP heuristic', () => {
  beforeEach(() => resetIndex());

  it('finds VVMP on port 5555, in both directions', () => {
    const { r, feed, txs } = setup({ heuristic: true });
    const c = new Conv(undefined, { ip: '10.0.0.2', port: 5555 });
    feed(c.handshake());
    const [a, b] = split(allocate(1), 20);
    feed(c.c(a!), c.c(cat(b!, query(2))));
    feed(c.s(cat(queryReply(1, 2), queryReply(2, 0))));
    expect(txs()).toEqual([1, 2, 1, 2]);
    expect(r.frames[2]!.src.port).toBe(5555);
  });

  it('a direction found VVMP brings in the other direction', () => {
    const { feed, txs } = setup({ heuristic: true });
    const c = new Conv(undefined, { ip: '10.0.0.2', port: 5555 });
    feed(c.handshake());
    // The server speaks first with a frame whose checksum cannot be judged yet.
    const [a, b] = split(queryReply(1, 3), 40);
    feed(c.s(a!), c.c(query(1)), c.s(b!));
    expect(txs()).toEqual([1, 1]);
  });

  it('does not take random data for VVMP, and keeps no buffers for it', () => {
    const { r, dec, feed } = setup({ heuristic: true });
    const c = new Conv(undefined, { ip: '10.0.0.2', port: 5556 });
    feed(c.handshake());
    let x = 12345;
    const noise = Buffer.from(Array.from({ length: 4000 }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    for (let i = 0; i < noise.length; i += 500) feed(c.c(noise.subarray(i, i + 500)), c.s(noise.subarray(i, i + 100)));
    // A frame later in a stream that started with other data is not looked for.
    feed(c.c(query(1)));
    expect(r.frames.length).toBe(0);
    expect(dec.tcp.held).toBe(0);
  });

  it('without the heuristic, port 5555 is not decoded', () => {
    const { r, feed } = setup();
    const c = new Conv(undefined, { ip: '10.0.0.2', port: 5555 });
    feed(c.handshake(), c.c(query(1)));
    expect(r.frames.length).toBe(0);
  });

  it('mid-connection heuristic start at a frame boundary', () => {
    const { feed, txs } = setup({ heuristic: true });
    const c = new Conv(undefined, { ip: '10.0.0.2', port: 5555 });
    feed(c.c(cat(query(1), query(2))), c.s(queryReply(1, 1)));
    expect(txs()).toEqual([1, 2, 1]);
  });
});
