// Community ID v1 (https://github.com/corelight/community-id-spec): the flow
// hash Zeek, Suricata and Arkime write, so vvmp's flow rows join with theirs.
// sha1(seed:u16 BE | src addr | dst addr | proto:u8 | 0:u8 | src port:u16 BE |
// dst port:u16 BE), base64, prefixed "1:"; the endpoints are ordered so both
// directions hash alike (the smaller address, or on a tie the smaller port, first).

import { createHash } from 'node:crypto';
import { PROTO_TCP, PROTO_UDP } from '../../net/ip.js';
import type { Transport } from '../../net/types.js';

/** An address text (dotted IPv4 or IPv6, compressed or not) as its network bytes. */
export function addressBytes(ip: string): Buffer {
  if (!ip.includes(':')) {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255 && Number.isInteger(p)))) {
      throw new Error(`not an IPv4 address: ${ip}`);
    }
    return Buffer.from(parts);
  }
  let text = ip;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = addressBytes(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  if (tail === undefined ? h.length !== 8 : h.length + t.length > 7) throw new Error(`not an IPv6 address: ${ip}`);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => {
    if (!(g >= 0 && g <= 0xffff)) throw new Error(`not an IPv6 address: ${ip}`);
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

export function protocolNumber(t: Transport): number {
  return t === 'tcp' ? PROTO_TCP : PROTO_UDP;
}

/** Community ID v1 of a flow between two endpoints (direction does not matter). */
export function communityId(proto: number, srcIp: string, srcPort: number, dstIp: string, dstPort: number, seed = 0): string {
  let a = addressBytes(srcIp);
  let b = addressBytes(dstIp);
  let pa = srcPort;
  let pb = dstPort;
  const order = Buffer.compare(a, b);
  if (order > 0 || (order === 0 && pa > pb)) {
    [a, b] = [b, a];
    [pa, pb] = [pb, pa];
  }
  const head = Buffer.from([seed >> 8, seed & 0xff]);
  const tail = Buffer.from([proto, 0, pa >> 8, pa & 0xff, pb >> 8, pb & 0xff]);
  return '1:' + createHash('sha1').update(head).update(a).update(b).update(tail).digest('base64');
}

/** `1.2.3.4:5` / `[::1]:5` → address and port. */
export function splitEndpoint(text: string): { ip: string; port: number } {
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at);
  return { ip: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(text.slice(at + 1)) };
}
