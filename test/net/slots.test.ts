// No object per frame: the network layers refill one FrameEvent per transport
// (valid during the sink call only; keepers copy, see net/types.ts).

import { beforeEach, describe, expect, it } from 'vitest';
import { NetDecoder } from '../../src/net/decoder.js';
import type { FrameEvent } from '../../src/net/types.js';
import { cat, eth, ipv4, packet, query, queryReply, resetIndex, udp } from './build.js';
import { Conv } from './tcpconv.js';

describe('FrameEvent slots', () => {
  beforeEach(() => resetIndex());

  it('hands on one refilled event per transport, each call with its own frame\'s values', () => {
    const events: FrameEvent[] = [];
    const seen: string[] = [];
    const dec = new NetDecoder({ ports: new Set([7369]) }, {
      frame: (e) => {
        events.push(e);
        seen.push(`${e.transport} ${e.src.port}>${e.dst.port} ${e.data.length} p${e.packet.index} s${e.stream} f${e.flow} ${e.firstPacket ?? '-'} ${e.desync ?? '-'}`);
      },
      segment: () => {},
    });
    dec.packet(packet(eth(ipv4(udp(40000, 7369, query(1)), { src: '10.0.0.1', dst: '10.0.0.2' })))); // 1
    dec.packet(packet(eth(ipv4(udp(7369, 40001, queryReply(1, 1)), { src: '10.0.0.2', dst: '10.0.0.3' })))); // 2
    const c = new Conv();
    for (const p of c.handshake()) dec.packet(p); // 3-5
    const r = queryReply(2, 3);
    dec.packet(c.c(cat(query(2), r.subarray(0, 40)))); // 6: one frame and the start of the next
    dec.packet(c.c(r.subarray(40))); // 7: completes it
    expect(seen).toEqual([
      'udp 40000>7369 32 p1 s0 f0 - -',
      'udp 7369>40001 52 p2 s1 f1 - -',
      'tcp 40000>7369 32 p6 s0 f2 - -',
      'tcp 40000>7369 92 p7 s0 f2 6 -',
    ]);
    expect(events[0]).toBe(events[1]);
    expect(events[2]).toBe(events[3]);
  });
});
