import { beforeEach, describe, expect, it } from 'vitest';
import { NetDecoder } from '../../src/net/decoder.js';
import { cat, eth, ipv4, packet, query, queryReply, recorder, resetIndex, udp } from './build.js';

const PORT = 7369;

describe('UDP', () => {
  beforeEach(() => resetIndex());

  it('emits one frame per datagram on a VVMP port, either direction, extra bytes included', () => {
    const r = recorder();
    const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
    const q = query(1);
    const reply = queryReply(1, 2);
    const p1 = packet(eth(ipv4(udp(40000, PORT, q), { src: '10.0.0.1', dst: '10.0.0.2' })));
    const p2 = packet(eth(ipv4(udp(PORT, 40000, cat(reply, [1, 2, 3])), { src: '10.0.0.2', dst: '10.0.0.1' })));
    const p3 = packet(eth(ipv4(udp(40000, PORT, q.subarray(0, 10)))));
    const p4 = packet(eth(ipv4(udp(40000, PORT, []))));
    for (const p of [p1, p2, p3, p4]) dec.packet(p);
    expect(r.frames.map((f) => f.bytes.length)).toEqual([32, 75, 10, 0]);
    expect(r.frames[0]!.packet).toBe(p1);
    expect(r.frames[1]!.bytes).toEqual(cat(reply, [1, 2, 3]));
    expect(r.frames[0]!.src).toEqual({ ip: '10.0.0.1', port: 40000, text: '10.0.0.1:40000' });
    expect(r.frames[1]!.dst).toEqual({ ip: '10.0.0.1', port: 40000, text: '10.0.0.1:40000' });
    expect(r.frames[0]!.flowKey).toBe('udp 10.0.0.1:40000 10.0.0.2:7369');
    expect(r.frames[1]!.flowKey).toBe(r.frames[0]!.flowKey);
    expect(r.frames.every((f) => f.transport === 'udp' && f.desync === undefined)).toBe(true);
    expect(r.segments.length).toBe(0);
  });

  it('trims to the UDP length, hands on a snaplen-cut datagram, and counts bad lengths', () => {
    const r = recorder();
    const dec = new NetDecoder({ ports: new Set([PORT]) }, r.sink);
    const q = queryReply(2, 5);
    dec.packet(packet(eth(ipv4(udp(1, PORT, cat(q, [9, 9, 9, 9]), 8 + q.length)))));
    dec.packet(packet(eth(ipv4(udp(1, PORT, q))), 1, 14 + 20 + 8 + 40));
    dec.packet(packet(eth(ipv4(udp(1, PORT, q, 4)))));
    dec.packet(packet(eth(ipv4([1, 2, 3]))));
    expect(r.frames.map((f) => f.bytes.length)).toEqual([q.length, 40]);
    expect(r.frames[0]!.bytes).toEqual(q);
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({ 'UDP bad length': 1, 'UDP header truncated': 1 });
  });

  it('ignores other ports; the heuristic finds VVMP elsewhere but not in random data', () => {
    const frames = [query(1), queryReply(2, 3)];
    const noise = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff));
    const build = () => [
      packet(eth(ipv4(udp(40000, 5555, frames[0]!)))),
      packet(eth(ipv4(udp(5555, 40000, frames[1]!)))),
      packet(eth(ipv4(udp(40001, 5556, noise)))),
      packet(eth(ipv4(udp(40001, 5556, Buffer.concat([frames[0]!.subarray(0, 31), Buffer.alloc(1, frames[0]![31]! + 1)]))))),
    ];
    const plain = recorder();
    const d1 = new NetDecoder({ ports: new Set([PORT]) }, plain.sink);
    for (const p of build()) d1.packet(p);
    expect(plain.frames.length).toBe(0);

    const heur = recorder();
    const d2 = new NetDecoder({ ports: new Set([PORT]), heuristic: true }, heur.sink);
    for (const p of build()) d2.packet(p);
    expect(heur.frames.map((f) => f.bytes)).toEqual(frames);
  });
});
