// Minimal Ethernet / IPv4 / UDP / TCP framing for generated captures (the
// benchmark generator and the dissector tests). Correct headers: IPv4 header
// checksum, UDP and TCP checksums over the pseudo-header, TCP sequence numbers
// kept by TcpConnection. One Buffer per packet, nothing else retained.

export interface Ep {
  /** IPv4 address as an unsigned 32-bit number (see ip4). */
  ip: number;
  port: number;
}

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

const ETH_LEN = 14;
const IP_LEN = 20;
const UDP_LEN = 8;
const TCP_LEN = 20;

/** "10.0.0.1" → 0x0a000001. */
export function ip4(text: string): number {
  const p = text.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${text}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function ip4Text(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** One's-complement sum of 16-bit big-endian words of b[start, end), added to `sum` (not folded). */
function sum16(b: Uint8Array, start: number, end: number, sum: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** MAC address of a host: 02:00 + its IPv4 address (locally administered). */
function putMac(b: Buffer, at: number, ip: number): void {
  b[at] = 0x02;
  b[at + 1] = 0x00;
  b.writeUInt32BE(ip, at + 2);
}

/**
 * Ethernet + IPv4 around a transport header of `l4Len` bytes plus payload; the
 * caller fills the transport header at offset 34. Returns the packet.
 */
function ipPacket(src: number, dst: number, proto: number, l4Len: number, payload: Uint8Array, ipId: number): Buffer {
  const total = IP_LEN + l4Len + payload.length;
  if (total > 65535) throw new RangeError(`IPv4 datagram of ${total} bytes`);
  const b = Buffer.allocUnsafe(ETH_LEN + total);
  putMac(b, 0, dst);
  putMac(b, 6, src);
  b.writeUInt16BE(0x0800, 12);
  const o = ETH_LEN;
  b[o] = 0x45;
  b[o + 1] = 0;
  b.writeUInt16BE(total, o + 2);
  b.writeUInt16BE(ipId & 0xffff, o + 4);
  b.writeUInt16BE(0x4000, o + 6); // DF, offset 0
  b[o + 8] = 64;
  b[o + 9] = proto;
  b.writeUInt16BE(0, o + 10);
  b.writeUInt32BE(src, o + 12);
  b.writeUInt32BE(dst, o + 16);
  b.writeUInt16BE(fold(sum16(b, o, o + IP_LEN, 0)), o + 10);
  b.set(payload, o + IP_LEN + l4Len);
  return b;
}

/** Transport checksum over the IPv4 pseudo-header and the segment at `at`. */
function l4Checksum(b: Buffer, at: number, src: number, dst: number, proto: number): number {
  const len = b.length - at;
  let s = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
  s = sum16(b, at, b.length, s);
  return fold(s);
}

/** An Ethernet/IPv4/UDP packet carrying `payload`. */
export function udpPacket(src: Ep, dst: Ep, payload: Uint8Array, ipId = 0): Buffer {
  const b = ipPacket(src.ip, dst.ip, IPPROTO_UDP, UDP_LEN, payload, ipId);
  const o = ETH_LEN + IP_LEN;
  b.writeUInt16BE(src.port, o);
  b.writeUInt16BE(dst.port, o + 2);
  b.writeUInt16BE(UDP_LEN + payload.length, o + 4);
  b.writeUInt16BE(0, o + 6);
  const c = l4Checksum(b, o, src.ip, dst.ip, IPPROTO_UDP);
  b.writeUInt16BE(c === 0 ? 0xffff : c, o + 6);
  return b;
}

/** An Ethernet/IPv4/TCP packet (no options). */
export function tcpPacket(src: Ep, dst: Ep, seq: number, ack: number, flags: number, payload: Uint8Array, ipId = 0): Buffer {
  const b = ipPacket(src.ip, dst.ip, IPPROTO_TCP, TCP_LEN, payload, ipId);
  const o = ETH_LEN + IP_LEN;
  b.writeUInt16BE(src.port, o);
  b.writeUInt16BE(dst.port, o + 2);
  b.writeUInt32BE(seq >>> 0, o + 4);
  b.writeUInt32BE(flags & TCP_ACK ? ack >>> 0 : 0, o + 8);
  b[o + 12] = (TCP_LEN / 4) << 4;
  b[o + 13] = flags;
  b.writeUInt16BE(65535, o + 14); // window
  b.writeUInt16BE(0, o + 16);
  b.writeUInt16BE(0, o + 18); // urgent pointer
  b.writeUInt16BE(l4Checksum(b, o, src.ip, dst.ip, IPPROTO_TCP), o + 16);
  return b;
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
