// Building packets: Ethernet + IPv4/IPv6 + UDP/TCP headers around a payload,
// with correct IPv4 header, UDP and TCP checksums (pseudo-header included).
// The one packet builder, for everything that makes captures rather than
// reading them: the bench generator, the fuzzer's exchange.pcapng and the
// replay's synthetic recording (the capture writer then writes the packets).
// One Buffer per packet, written in place.

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export const ETH_HEADER = 14;
export const IPV4_HEADER = 20;
export const IPV6_HEADER = 40;
export const UDP_HEADER = 8;
export const TCP_HEADER = 20;

const TTL = 64;
const TCP_WINDOW = 65535;
/** IPv4 flags/fragment word: Don't Fragment, offset 0. */
const IPV4_DF = 0x4000;

/** An IP address: a number is IPv4 (unsigned 32 bits); bytes are IPv4 (4) or IPv6 (16). */
export type IpAddress = number | Uint8Array;
/** A MAC address: 6 bytes, or a number n for the locally administered 02:00 + n (32 bits). */
export type MacAddress = number | Uint8Array;

/** Both ends of a packet below the transport layer. */
export interface Hosts {
  srcMac: MacAddress;
  dstMac: MacAddress;
  src: IpAddress;
  dst: IpAddress;
}

/** "10.0.0.1" → 0x0a000001. */
export function ip4(text: string): number {
  const p = text.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${text}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** An IPv4 or IPv6 address in text (`::ffff:1.2.3.4` stays IPv6, a zone `%lo` is dropped) → its bytes. */
export function ipBytes(text: string): Uint8Array {
  const s = text.replace(/%.*$/, '');
  if (!s.includes(':')) {
    const v = ip4(s);
    return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  const out = new Uint8Array(16);
  let body = s;
  let tail: Uint8Array | null = null;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (v4) {
    tail = ipBytes(v4[1]!);
    body = body.slice(0, body.length - v4[1]!.length) + '0:0';
  }
  const [head, rest] = body.includes('::') ? (body.split('::') as [string, string]) : [body, null];
  const h = head ? head.split(':') : [];
  const r = rest !== null && rest !== '' ? rest.split(':') : [];
  const groups = rest === null ? h : [...h, ...new Array<string>(Math.max(0, 8 - h.length - r.length)).fill('0'), ...r];
  groups.slice(0, 8).forEach((g, i) => {
    const v = parseInt(g || '0', 16) & 0xffff;
    out[i * 2] = v >>> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

function isV6(a: IpAddress): boolean {
  return typeof a !== 'number' && a.length === 16;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function putMac(b: Uint8Array, at: number, mac: MacAddress): void {
  if (typeof mac === 'number') {
    b[at] = 0x02;
    b[at + 1] = 0x00;
    put32(b, at + 2, mac);
  } else {
    b.set(mac.subarray(0, 6), at);
  }
}

function putIp(b: Uint8Array, at: number, ip: IpAddress): void {
  if (typeof ip === 'number') put32(b, at, ip);
  else b.set(ip, at);
}

/** One's-complement sum of the 16-bit big-endian words of b[start, end), added to `sum` (not folded). */
function sum16(b: Uint8Array, start: number, end: number, sum: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

function sumIp(ip: IpAddress, sum: number): number {
  return typeof ip === 'number' ? sum + (ip >>> 16) + (ip & 0xffff) : sum16(ip, 0, ip.length, sum);
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/**
 * Ethernet + IP around a transport header of `l4Len` bytes plus `payload`;
 * the caller fills the transport header at the returned offset. `ipId` is
 * the IPv4 identification (unused for IPv6).
 */
function ipPacket(h: Hosts, proto: number, l4Len: number, payload: Uint8Array, ipId: number): { b: Buffer; l4: number } {
  const v6 = isV6(h.src);
  if (v6 !== isV6(h.dst)) throw new Error('packet builder: both ends must be of the same IP version');
  const ipLen = v6 ? IPV6_HEADER : IPV4_HEADER;
  const segment = l4Len + payload.length;
  if (segment + (v6 ? 0 : ipLen) > 65535) throw new RangeError(`IP datagram of ${segment + ipLen} bytes`);
  const b = Buffer.allocUnsafe(ETH_HEADER + ipLen + segment);
  putMac(b, 0, h.dstMac);
  putMac(b, 6, h.srcMac);
  put16(b, 12, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
  const o = ETH_HEADER;
  if (v6) {
    put32(b, o, 0x60000000); // version 6, no traffic class or flow label
    put16(b, o + 4, segment);
    b[o + 6] = proto;
    b[o + 7] = TTL;
    putIp(b, o + 8, h.src);
    putIp(b, o + 24, h.dst);
  } else {
    b[o] = 0x45;
    b[o + 1] = 0;
    put16(b, o + 2, ipLen + segment);
    put16(b, o + 4, ipId & 0xffff);
    put16(b, o + 6, IPV4_DF);
    b[o + 8] = TTL;
    b[o + 9] = proto;
    put16(b, o + 10, 0);
    putIp(b, o + 12, h.src);
    putIp(b, o + 16, h.dst);
    put16(b, o + 10, fold(sum16(b, o, o + IPV4_HEADER, 0)));
  }
  const l4 = o + ipLen;
  b.set(payload, l4 + l4Len);
  return { b, l4 };
}

/** Transport checksum over the pseudo-header and the segment from `at` to the packet's end. */
function l4Checksum(b: Buffer, at: number, h: Hosts, proto: number): number {
  const s = sumIp(h.dst, sumIp(h.src, proto + (b.length - at)));
  return fold(sum16(b, at, b.length, s));
}

/** An Ethernet/IP/UDP packet carrying `payload`. */
export function udpPacket(h: Hosts, srcPort: number, dstPort: number, payload: Uint8Array, ipId = 0): Buffer {
  const { b, l4: o } = ipPacket(h, IPPROTO_UDP, UDP_HEADER, payload, ipId);
  put16(b, o, srcPort);
  put16(b, o + 2, dstPort);
  put16(b, o + 4, (UDP_HEADER + payload.length) & 0xffff);
  put16(b, o + 6, 0);
  const c = l4Checksum(b, o, h, IPPROTO_UDP);
  put16(b, o + 6, c === 0 ? 0xffff : c); // 0 means "no checksum" in UDP
  return b;
}

/** An Ethernet/IP/TCP segment (no options). The acknowledgement number is written only with ACK set. */
export function tcpPacket(
  h: Hosts, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, payload: Uint8Array, ipId = 0,
): Buffer {
  const { b, l4: o } = ipPacket(h, IPPROTO_TCP, TCP_HEADER, payload, ipId);
  put16(b, o, srcPort);
  put16(b, o + 2, dstPort);
  put32(b, o + 4, seq >>> 0);
  put32(b, o + 8, flags & TCP_ACK ? ack >>> 0 : 0);
  b[o + 12] = (TCP_HEADER / 4) << 4;
  b[o + 13] = flags;
  put16(b, o + 14, TCP_WINDOW);
  put16(b, o + 16, 0);
  put16(b, o + 18, 0); // urgent pointer
  put16(b, o + 16, l4Checksum(b, o, h, IPPROTO_TCP));
  return b;
}
