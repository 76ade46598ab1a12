// Byte builders for network-layer tests: link framings, IPv4 (+fragments), IPv6, UDP, TCP, VVMP frames.

import type { Packet } from '../../src/capture/packet.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import type { FrameEvent, NetSink, SegmentEvent } from '../../src/net/types.js';

export type Bytes = Uint8Array | number[];

export function cat(...parts: Bytes[]): Buffer {
  return Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
}

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function ip4(text: string): number[] {
  return text.split('.').map(Number);
}

/** IPv6 text (with :: and an optional dotted tail) to 16 bytes. */
export function ip6(text: string): number[] {
  let t = text;
  const tail: number[] = [];
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (m) {
    const b = ip4(m[1]!);
    t = t.slice(0, -m[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, rest] = t.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const rs = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? hs : [...hs, ...new Array(8 - hs.length - rs.length).fill('0'), ...rs];
  return [...groups.flatMap((g) => u16(parseInt(g, 16))), ...tail];
}

// ---- link layers ----------------------------------------------------------

export const MAC_A = [0x02, 0, 0, 0, 0, 0xa];
export const MAC_B = [0x02, 0, 0, 0, 0, 0xb];

/** Ethernet II; `vlans` are [tpid, vid] tags outermost first. */
export function eth(payload: Bytes, type = 0x0800, vlans: [number, number][] = []): Buffer {
  const tags: number[] = [];
  let first = type;
  if (vlans.length > 0) {
    first = vlans[0]![0];
    for (let i = 0; i < vlans.length; i++) {
      const next = i + 1 < vlans.length ? vlans[i + 1]![0] : type;
      tags.push(...u16(vlans[i]![1] & 0xfff), ...u16(next));
    }
  }
  return cat(MAC_B, MAC_A, u16(first), tags, payload);
}

export function ethType(payload: Bytes): number {
  const v = (payload instanceof Uint8Array ? payload[0]! : payload[0]!) >> 4;
  return v === 6 ? 0x86dd : 0x0800;
}

/** Linux cooked v1 (16 bytes). */
export function sll(payload: Bytes, proto = 0x0800): Buffer {
  return cat(u16(0), u16(1), u16(6), MAC_A, [0, 0], u16(proto), payload);
}

/** Linux cooked v2 (20 bytes). */
export function sll2(payload: Bytes, proto = 0x0800): Buffer {
  return cat(u16(proto), u16(0), u32(1), u16(1), [0], [6], MAC_A, [0, 0], payload);
}

/** BSD NULL: 4-byte address family in host order (little- or big-endian). */
export function nullLink(payload: Bytes, af: number, littleEndian = true): Buffer {
  const h = Buffer.alloc(4);
  if (littleEndian) h.writeUInt32LE(af);
  else h.writeUInt32BE(af);
  return cat(h, payload);
}

/** OpenBSD LOOP: address family in network order. */
export function loopLink(payload: Bytes, af: number): Buffer {
  return cat(u32(af), payload);
}

// ---- IP ---------------------------------------------------------------------

export function ipChecksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Spec {
  src?: string;
  dst?: string;
  proto?: number;
  id?: number;
  ttl?: number;
  /** More-fragments flag. */
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  /** IP options (multiple of 4 bytes). */
  options?: Bytes;
  /** Total length field override. */
  totalLength?: number;
}

export function ipv4(payload: Bytes, s: Ipv4Spec = {}): Buffer {
  const opts = s.options ? cat(s.options) : Buffer.alloc(0);
  const hl = 20 + opts.length;
  const body = cat(payload);
  const h = Buffer.alloc(hl);
  h[0] = 0x40 | (hl / 4);
  h.writeUInt16BE(s.totalLength ?? hl + body.length, 2);
  h.writeUInt16BE(s.id ?? 1, 4);
  h.writeUInt16BE(((s.mf ? 1 : 0) << 13) | ((s.fragOffset ?? 0) / 8), 6);
  h[8] = s.ttl ?? 64;
  h[9] = s.proto ?? 17;
  Buffer.from(ip4(s.src ?? '10.0.0.1')).copy(h, 12);
  Buffer.from(ip4(s.dst ?? '10.0.0.2')).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(ipChecksum(h, 0, hl), 10);
  return cat(h, body);
}

/** Splits a transport payload into IPv4 fragments of at most `size` bytes (multiple of 8 except the last). */
export function ipv4Fragments(transport: Bytes, size: number, s: Ipv4Spec = {}): Buffer[] {
  const all = cat(transport);
  const out: Buffer[] = [];
  for (let off = 0; off < all.length; off += size) {
    const part = all.subarray(off, Math.min(all.length, off + size));
    out.push(ipv4(part, { ...s, fragOffset: off, mf: off + size < all.length }));
  }
  return out;
}

export interface Ipv6Spec {
  src?: string;
  dst?: string;
  nh?: number;
  hopLimit?: number;
  payloadLength?: number;
}

/** IPv6 with `payload` after the fixed header; `nh` names what follows (default 17). */
export function ipv6(payload: Bytes, s: Ipv6Spec = {}): Buffer {
  const body = cat(payload);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(s.payloadLength ?? body.length, 4);
  h[6] = s.nh ?? 17;
  h[7] = s.hopLimit ?? 64;
  Buffer.from(ip6(s.src ?? 'fd00::1')).copy(h, 8);
  Buffer.from(ip6(s.dst ?? 'fd00::2')).copy(h, 24);
  return cat(h, body);
}

/** A generic 8-byte-unit extension header (hop-by-hop, routing, destination options). */
export function ext6(next: number, body: Bytes = [0, 0, 0, 0, 0, 0]): Buffer {
  const b = cat(body);
  const total = 2 + b.length;
  const padded = Math.ceil(total / 8) * 8;
  const out = Buffer.alloc(padded);
  out[0] = next;
  out[1] = padded / 8 - 1;
  b.copy(out, 2);
  return out;
}

export function frag6Header(next: number, offset: number, more: boolean, id: number): Buffer {
  return cat([next, 0], u16(offset | (more ? 1 : 0)), u32(id));
}

/** IPv6 fragments of `transport` (protocol `proto`), each carrying at most `size` bytes. */
export function ipv6Fragments(transport: Bytes, size: number, proto = 17, id = 7, s: Ipv6Spec = {}): Buffer[] {
  const all = cat(transport);
  const out: Buffer[] = [];
  for (let off = 0; off < all.length; off += size) {
    const part = all.subarray(off, Math.min(all.length, off + size));
    out.push(ipv6(cat(frag6Header(proto, off, off + size < all.length, id), part), { ...s, nh: 44 }));
  }
  return out;
}

// ---- transport ---------------------------------------------------------------

export function udp(sport: number, dport: number, payload: Bytes, length?: number): Buffer {
  const body = cat(payload);
  return cat(u16(sport), u16(dport), u16(length ?? 8 + body.length), u16(0), body);
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpSpec {
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: number;
  options?: Bytes;
}

export function tcp(s: TcpSpec, payload: Bytes = []): Buffer {
  const opts = s.options ? cat(s.options) : Buffer.alloc(0);
  const hl = 20 + opts.length;
  const h = Buffer.alloc(hl);
  h.writeUInt16BE(s.sport, 0);
  h.writeUInt16BE(s.dport, 2);
  h.writeUInt32BE(s.seq >>> 0, 4);
  h.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  h[12] = (hl / 4) << 4;
  h[13] = s.flags ?? (s.ack !== undefined ? TCP_ACK | TCP_PSH : TCP_PSH);
  h.writeUInt16BE(65535, 14);
  opts.copy(h, 20);
  return cat(h, payload);
}

// ---- packets ------------------------------------------------------------------

let nextIndex = 1;

export function resetIndex(): void {
  nextIndex = 1;
}

/** A captured packet; `snap` cuts the captured bytes (origLen keeps the wire length). */
export function packet(data: Buffer, linkType = 1, snap?: number): Packet {
  const index = nextIndex++;
  const cut = snap !== undefined && snap < data.length ? data.subarray(0, snap) : data;
  return {
    index, tsSec: 1700000000 + index, tsNsec: 0, tsDigits: 6, linkType,
    data: Buffer.from(cut), origLen: data.length, interfaceId: 0, fileOffset: 0,
  };
}

// ---- VVMP frames ----------------------------------------------------------------

/** A Query request (32 bytes) whose transaction_id is `tx`. */
export function query(tx: number): Buffer {
  return encodeFrame({ opcode: 0x0001, sub_opcode: 0x01, transaction_id: tx, client_id: 0x1122n });
}

/** An Allocate request (52 bytes) whose transaction_id is `tx`. */
export function allocate(tx: number): Buffer {
  return encodeFrame({ opcode: 0x0002, sub_opcode: 0x01, transaction_id: tx, payload: { capacity_kb: 1024 + tx } });
}

/** An OK Query reply carrying `n` device records (32 + 20n bytes). */
export function queryReply(tx: number, n: number): Buffer {
  return encodeFrame({ opcode: 0x8001, sub_opcode: 0, transaction_id: tx, payload: { devices: new Array(n).fill({}) } });
}

/** transaction_id of a frame's bytes (or -1 when the header is not all there). */
export function txOf(b: Uint8Array): number {
  return b.length >= 28 ? Buffer.from(b.buffer, b.byteOffset, b.length).readUInt32BE(24) : -1;
}

// ---- a recording sink ---------------------------------------------------------------

export interface Recorded {
  frames: (FrameEvent & { bytes: Buffer })[];
  segments: SegmentEvent[];
  sink: NetSink;
}

/** A sink that keeps copies of the frame bytes (views are valid only during the call). */
export function recorder(): Recorded {
  const r: Recorded = {
    frames: [],
    segments: [],
    sink: {
      frame: (e) => r.frames.push({ ...e, bytes: Buffer.from(e.data) }),
      segment: (e) => r.segments.push(e),
    },
  };
  return r;
}
