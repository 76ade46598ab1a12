import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_PENDING_DATAGRAMS, NetDecoder } from '../../src/net/decoder.js';
import {
  allocate, cat, eth, ext6, frag6Header, ipv4, ipv4Fragments, ipv6, ipv6Fragments, packet, query, queryReply,
  recorder, resetIndex, tcp, txOf, udp,
} from './build.js';

const PORT = 7369;
const ports = new Set([PORT]);

function setup() {
  const r = recorder();
  const dec = new NetDecoder({ ports }, r.sink);
  return { r, dec, feed: (...bufs: Buffer[]) => bufs.map((b) => { const p = packet(b); dec.packet(p); return p; }) };
}

describe('IPv4', () => {
  beforeEach(() => resetIndex());

  it('trims Ethernet padding to the total length', () => {
    const { r, dec, feed } = setup();
    const frame = query(5);
    feed(cat(eth(ipv4(udp(1234, PORT, frame))), Buffer.alloc(20, 0xee)));
    expect(r.frames[0]!.bytes).toEqual(frame);
    expect(dec.counters.undecoded.size).toBe(0);
  });

  it('accepts IP options and hands on what a snaplen left of a long datagram', () => {
    const { r, dec } = setup();
    const frame = queryReply(1, 10);
    const data = eth(ipv4(udp(1234, PORT, frame), { options: [1, 1, 1, 1] }));
    const p = packet(data, 1, 14 + 24 + 8 + 100);
    dec.packet(p);
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(frame.subarray(0, 100));
  });

  it('takes a total length of 0 (segmentation offload) as the captured length', () => {
    const { r, dec, feed } = setup();
    feed(eth(ipv4(udp(1234, PORT, query(8)), { totalLength: 0 })));
    expect(r.frames.map((f) => txOf(f.bytes))).toEqual([8]);
    expect(dec.counters.undecoded.size).toBe(0);
  });

  it('rejects bad headers without throwing', () => {
    const { r, dec, feed } = setup();
    const good = ipv4(udp(1, PORT, query(1)));
    const badHl = Buffer.from(good); badHl[0] = 0x44;
    const badTotal = Buffer.from(good); badTotal.writeUInt16BE(10, 2);
    feed(eth(badHl), eth(badTotal), eth(good.subarray(0, 15)), eth(ipv4([], { proto: 1 })));
    expect(r.frames.length).toBe(0);
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({
      'IPv4 bad header length': 1, 'IPv4 bad total length': 1, 'IPv4 header truncated': 1, 'IP protocol 1': 1,
    });
  });

  const transport = () => udp(40000, PORT, queryReply(9, 12)); // 8 + 272 bytes

  it('reassembles fragments in order; the frame belongs to the last fragment', () => {
    const { r, dec, feed } = setup();
    const frags = ipv4Fragments(transport(), 64, { id: 77 });
    expect(frags.length).toBe(5);
    const pkts = feed(...frags.map((f) => eth(f)));
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(queryReply(9, 12));
    expect(r.frames[0]!.packet).toBe(pkts[4]);
    expect(dec.counters.undecoded.size).toBe(0);
  });

  it('reassembles fragments out of order and duplicated', () => {
    const { r, dec, feed } = setup();
    const f = ipv4Fragments(transport(), 64, { id: 78 });
    const pkts = feed(...[f[3]!, f[0]!, f[4]!, f[0]!, f[2]!, f[3]!, f[1]!].map((x) => eth(x)));
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(queryReply(9, 12));
    expect(r.frames[0]!.packet).toBe(pkts[6]);
    // Duplicates after completion start a new datagram that never completes.
    feed(eth(f[2]!));
    dec.end();
    expect(r.frames.length).toBe(1);
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({ 'IPv4 fragment incomplete': 1 });
  });

  it('keeps the first bytes where fragments overlap', () => {
    const { r, feed } = setup();
    const t = transport();
    const a = ipv4(t.subarray(0, 96), { id: 5, mf: true, fragOffset: 0 });
    const bad = Buffer.from(t.subarray(64, 160)).fill(0x55);
    const b = ipv4(bad, { id: 5, mf: true, fragOffset: 64 }); // overlaps a by 32 bytes, wrong content
    const c = ipv4(t.subarray(96), { id: 5, mf: false, fragOffset: 96 });
    feed(eth(a), eth(c), eth(b));
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(queryReply(9, 12)); // b added nothing new
  });

  it('emits nothing for a datagram missing a fragment, and counts its packets', () => {
    const { r, dec, feed } = setup();
    const f = ipv4Fragments(transport(), 64, { id: 79 });
    feed(eth(f[0]!), eth(f[1]!), eth(f[3]!), eth(f[4]!));
    expect(r.frames.length).toBe(0);
    dec.end();
    expect(r.frames.length).toBe(0);
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({ 'IPv4 fragment incomplete': 4 });
  });

  it('keeps fragments of different datagrams apart and bounds the pending ones', () => {
    const { r, dec, feed } = setup();
    const a = ipv4Fragments(udp(1, PORT, query(1)), 16, { id: 1 });
    const b = ipv4Fragments(udp(1, PORT, query(2)), 16, { id: 2 });
    feed(eth(a[0]!), eth(b[0]!), eth(b[1]!), eth(a[1]!), eth(b[2]!), eth(a[2]!));
    expect(r.frames.map((f) => txOf(f.bytes))).toEqual([2, 1]);
    for (let id = 100; id < 100 + MAX_PENDING_DATAGRAMS + 10; id++) {
      feed(eth(ipv4Fragments(udp(1, PORT, query(id)), 16, { id })[0]!));
    }
    expect(dec.counters.undecoded.get('IPv4 fragment evicted')).toBe(10);
    dec.end();
    expect(dec.counters.undecoded.get('IPv4 fragment incomplete')).toBe(MAX_PENDING_DATAGRAMS);
  });

  it('drops datagrams that would exceed 64 KiB', () => {
    const { r, dec, feed } = setup();
    feed(eth(ipv4(Buffer.alloc(64), { id: 3, mf: true, fragOffset: 65528 })));
    expect(r.frames.length).toBe(0);
    expect(dec.counters.undecoded.get('IPv4 fragment oversize')).toBe(1);
  });

  it('reassembles TCP segments carried in fragments', () => {
    const { r, feed } = setup();
    const seg = tcp({ sport: 40000, dport: PORT, seq: 100, ack: 1 }, cat(query(1), allocate(2)));
    feed(...ipv4Fragments(seg, 40, { proto: 6, id: 9 }).map((f) => eth(f)));
    // Mid-connection start: the stream's first header is found by the resync scan.
    expect(r.frames.map((f) => txOf(f.bytes))).toEqual([1, 2]);
  });
});

describe('IPv6', () => {
  beforeEach(() => resetIndex());

  it('skips extension headers to UDP', () => {
    const { r, dec, feed } = setup();
    const body = cat(ext6(60), ext6(17, new Array(12).fill(0)), udp(1, PORT, query(3)));
    feed(eth(ipv6(body, { nh: 0 }), 0x86dd));
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(query(3));
    expect(r.frames[0]!.src).toEqual({ ip: 'fd00::1', port: 1, text: '[fd00::1]:1' });
    expect(r.frames[0]!.flowKey).toBe('udp [fd00::1]:1 [fd00::2]:7369');
    expect(dec.counters.undecoded.size).toBe(0);
  });

  it('treats an atomic fragment header as a plain header', () => {
    const { r, feed } = setup();
    feed(eth(ipv6(cat(frag6Header(17, 0, false, 1), udp(1, PORT, query(4))), { nh: 44 }), 0x86dd));
    expect(r.frames.map((f) => txOf(f.bytes))).toEqual([4]);
  });

  it('reassembles fragments', () => {
    const { r, dec, feed } = setup();
    const t = udp(40000, PORT, queryReply(9, 12));
    const f = ipv6Fragments(t, 64);
    const pkts = feed(...[f[2]!, f[0]!, f[4]!, f[1]!, f[3]!].map((x) => eth(x, 0x86dd)));
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.bytes).toEqual(queryReply(9, 12));
    expect(r.frames[0]!.packet).toBe(pkts[4]);
    feed(eth(f[0]!, 0x86dd));
    dec.end();
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({ 'IPv6 fragment incomplete': 1 });
  });

  it('counts truncated extension headers and other protocols', () => {
    const { r, dec, feed } = setup();
    feed(eth(ipv6([0, 0, 0], { nh: 0 }), 0x86dd), eth(ipv6([], { nh: 59 }), 0x86dd), eth(ipv6([1, 2, 3, 4], { nh: 58 }), 0x86dd));
    expect(r.frames.length).toBe(0);
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({
      'IPv6 extension header truncated': 1, 'IP protocol 59': 1, 'IP protocol 58': 1,
    });
  });
});
