import { beforeEach, describe, expect, it } from 'vitest';
import { NetDecoder } from '../../src/net/decoder.js';
import {
  eth, ipv4, ipv6, loopLink, nullLink, packet, query, recorder, resetIndex, sll, sll2, udp,
} from './build.js';

const PORT = 7369;
const ports = new Set([PORT]);

function decodeOne(data: Buffer, linkType: number) {
  const r = recorder();
  const dec = new NetDecoder({ ports }, r.sink);
  dec.packet(packet(data, linkType));
  dec.end();
  return { r, dec };
}

const dgram4 = () => ipv4(udp(40000, PORT, query(1)), { src: '192.168.1.1', dst: '192.168.1.2' });
const dgram6 = () => ipv6(udp(40000, PORT, query(2)), { src: 'fd00::a', dst: 'fd00::b' });

describe('link layers', () => {
  beforeEach(() => resetIndex());

  const cases: [string, () => Buffer, number, string][] = [
    ['Ethernet IPv4', () => eth(dgram4()), 1, '192.168.1.1'],
    ['Ethernet IPv6', () => eth(dgram6(), 0x86dd), 1, 'fd00::a'],
    ['802.1Q', () => eth(dgram4(), 0x0800, [[0x8100, 10]]), 1, '192.168.1.1'],
    ['QinQ 802.1ad + 802.1Q', () => eth(dgram6(), 0x86dd, [[0x88a8, 100], [0x8100, 10]]), 1, 'fd00::a'],
    ['QinQ 0x9100 + 802.1Q', () => eth(dgram4(), 0x0800, [[0x9100, 100], [0x8100, 10]]), 1, '192.168.1.1'],
    ['Ethernet 802.3 + SNAP', () => {
      const snap = Buffer.concat([Buffer.from([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]), dgram4()]);
      return eth(snap, snap.length);
    }, 1, '192.168.1.1'],
    ['NULL little-endian AF_INET', () => nullLink(dgram4(), 2, true), 0, '192.168.1.1'],
    ['NULL big-endian AF_INET', () => nullLink(dgram4(), 2, false), 0, '192.168.1.1'],
    ['NULL AF_INET6 24', () => nullLink(dgram6(), 24, true), 0, 'fd00::a'],
    ['NULL AF_INET6 28', () => nullLink(dgram6(), 28, false), 0, 'fd00::a'],
    ['NULL AF_INET6 30', () => nullLink(dgram6(), 30, true), 0, 'fd00::a'],
    ['LOOP AF_INET', () => loopLink(dgram4(), 2), 108, '192.168.1.1'],
    ['LOOP AF_INET6', () => loopLink(dgram6(), 24), 108, 'fd00::a'],
    ['LINUX_SLL', () => sll(dgram4()), 113, '192.168.1.1'],
    ['LINUX_SLL IPv6', () => sll(dgram6(), 0x86dd), 113, 'fd00::a'],
    ['LINUX_SLL2', () => sll2(dgram4()), 276, '192.168.1.1'],
    ['LINUX_SLL2 IPv6', () => sll2(dgram6(), 0x86dd), 276, 'fd00::a'],
    ['RAW IPv4', () => dgram4(), 101, '192.168.1.1'],
    ['RAW IPv6', () => dgram6(), 101, 'fd00::a'],
    ['RAW (12)', () => dgram4(), 12, '192.168.1.1'],
    ['RAW (14)', () => dgram6(), 14, 'fd00::a'],
    ['IPV4', () => dgram4(), 228, '192.168.1.1'],
    ['IPV6', () => dgram6(), 229, 'fd00::a'],
  ];
  for (const [name, build, lt, src] of cases) {
    it(`decodes ${name}`, () => {
      const { r, dec } = decodeOne(build(), lt);
      expect(r.frames.length).toBe(1);
      expect(r.frames[0]!.src.ip).toBe(src);
      expect(r.frames[0]!.transport).toBe('udp');
      expect(dec.counters.undecoded.size).toBe(0);
      expect(dec.counters.packets).toBe(1);
    });
  }

  it('counts unsupported link types and non-IP payloads', () => {
    const r = recorder();
    const dec = new NetDecoder({ ports }, r.sink);
    dec.packet(packet(dgram4(), 105));
    dec.packet(packet(dgram4(), 105));
    dec.packet(packet(eth(Buffer.alloc(28), 0x0806), 1)); // ARP
    dec.packet(packet(nullLink(dgram4(), 7), 0));
    dec.packet(packet(Buffer.from([0x50, 1, 2]), 101));
    dec.packet(packet(Buffer.alloc(5), 1));
    dec.packet(packet(dgram6(), 228)); // IPv6 bytes on the IPv4 link type
    expect(r.frames.length).toBe(0);
    expect(Object.fromEntries(dec.counters.undecoded)).toEqual({
      'link type 105': 2, 'not IP': 3, 'link header truncated': 1, 'IPv4 bad version': 1,
    });
    expect(dec.counters.packets).toBe(7);
  });
});
