// Ethernet / IPv4 / UDP / TCP packets for generated captures (the benchmark
// generator and the dissector tests), built by the one packet builder
// (src/net/build.ts); TCP sequence numbers kept by TcpConnection. One Buffer
// per packet, nothing else retained.

import {
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, tcpPacket as buildTcp, udpPacket as buildUdp, type Hosts,
} from '../src/net/build.js';

export interface Ep {
  /** IPv4 address as an unsigned 32-bit number (see ip4). */
  ip: number;
  port: number;
}

export { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, ip4 } from '../src/net/build.js';

export function ip4Text(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** The hosts of a packet: each MAC address is 02:00 + its IPv4 address (locally administered). */
function hosts(src: Ep, dst: Ep): Hosts {
  return { srcMac: src.ip, dstMac: dst.ip, src: src.ip, dst: dst.ip };
}

/** An Ethernet/IPv4/UDP packet carrying `payload`. */
export function udpPacket(src: Ep, dst: Ep, payload: Uint8Array, ipId = 0): Buffer {
  return buildUdp(hosts(src, dst), src.port, dst.port, payload, ipId);
}

/** An Ethernet/IPv4/TCP packet (no options). */
export function tcpPacket(src: Ep, dst: Ep, seq: number, ack: number, flags: number, payload: Uint8Array, ipId = 0): Buffer {
  return buildTcp(hosts(src, dst), src.port, dst.port, seq, ack, flags, payload, ipId);
}

/**
 * One TCP connection with its sequence numbers. Every method returns the
 * packets to write, in order; `data` segments carry ACK|PSH.
 */
export class TcpConnection {
  /** Next sequence number of each side: [client, server]. */
  private readonly next: [number, number];
  private ipId: number;

  constructor(
    readonly client: Ep,
    readonly server: Ep,
    isnClient = 1000,
    isnServer = 5000,
  ) {
    this.next = [isnClient >>> 0, isnServer >>> 0];
    this.ipId = (isnClient ^ isnServer) & 0xffff;
  }

  private ep(side: 0 | 1): [Ep, Ep] {
    return side === 0 ? [this.client, this.server] : [this.server, this.client];
  }

  private pkt(side: 0 | 1, flags: number, payload: Uint8Array): Buffer {
    const [s, d] = this.ep(side);
    this.ipId = (this.ipId + 1) & 0xffff;
    const b = tcpPacket(s, d, this.next[side], this.next[1 - side]!, flags, payload, this.ipId);
    let adv = payload.length;
    if (flags & (TCP_SYN | TCP_FIN)) adv += 1;
    this.next[side] = (this.next[side] + adv) >>> 0;
    return b;
  }

  /** SYN, SYN/ACK, ACK. */
  open(): Buffer[] {
    const empty = new Uint8Array(0);
    return [this.pkt(0, TCP_SYN, empty), this.pkt(1, TCP_SYN | TCP_ACK, empty), this.pkt(0, TCP_ACK, empty)];
  }

  /** One data segment from `side` (0 client, 1 server). */
  data(side: 0 | 1, payload: Uint8Array): Buffer {
    return this.pkt(side, TCP_ACK | TCP_PSH, payload);
  }

  /** FIN from the client, FIN/ACK from the server, last ACK. */
  close(): Buffer[] {
    const empty = new Uint8Array(0);
    return [this.pkt(0, TCP_FIN | TCP_ACK, empty), this.pkt(1, TCP_FIN | TCP_ACK, empty), this.pkt(0, TCP_ACK, empty)];
  }
}
