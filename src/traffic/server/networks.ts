// Network address sets (CIDR lists) for the security domain: which client
// networks a domain admits and which networks may send Announces.

import net from 'node:net';

/** An address as the server compares it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as plain IPv4, lower case. */
export function normalizeAddress(addr: string): string {
  // Fast path: a plain IPv4 address as sockets report it.
  const c = addr.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39 && addr.indexOf(':') < 0) return addr;
  const a = addr.trim().toLowerCase();
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) return a.slice(7);
  if (a === 'localhost') return '127.0.0.1';
  return a;
}

/** An address as 16 bytes (IPv4 as IPv4-mapped IPv6), or null when it is not an IP address. */
function toBytes(addr: string): Uint8Array | null {
  const a = normalizeAddress(addr);
  if (net.isIPv4(a)) {
    const b = new Uint8Array(16);
    b[10] = 0xff;
    b[11] = 0xff;
    a.split('.').forEach((x, i) => (b[12 + i] = Number(x)));
    return b;
  }
  if (!net.isIPv6(a)) return null;
  const [head, tail] = a.includes('::') ? a.split('::') as [string, string] : [a, null];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').flatMap((g) => {
    if (net.isIPv4(g)) {
      const q = g.split('.').map(Number);
      return [(q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!];
    }
    return [parseInt(g, 16)];
  }));
  const h = parse(head);
  const t = tail === null ? [] : parse(tail);
  const groups = tail === null ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (groups.length !== 8) return null;
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return b;
}

interface Cidr {
  text: string;
  bytes: Uint8Array;
  /** Prefix length over the 128-bit form. */
  bits: number;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address; throws a one-line reason. */
export function parseCidr(text: string): Cidr {
  const [addr, len, extra] = text.trim().split('/');
  if (extra !== undefined || !addr) throw new Error(`"${text}" is not an address or network (a.b.c.d/n, x::y/n)`);
  const bytes = toBytes(addr);
  if (!bytes) throw new Error(`"${text}": "${addr}" is not an IP address`);
  const v4 = net.isIPv4(normalizeAddress(addr));
  const max = v4 ? 32 : 128;
  const n = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? String(max)) || n > max) throw new Error(`"${text}": prefix length must be 0..${max}`);
  return { text: text.trim(), bytes, bits: v4 ? 96 + n : n };
}

export class NetworkSet {
  private readonly cidrs: Cidr[];
  /** Verdicts of recently seen addresses (the hot path sees few distinct ones). */
  private readonly seen = new Map<string, boolean>();

  constructor(readonly texts: readonly string[]) {
    this.cidrs = texts.map(parseCidr);
  }

  /** The address lies in one of the networks. */
  has(addr: string): boolean {
    let v = this.seen.get(addr);
    if (v === undefined) {
      v = this.lookup(addr);
      if (this.seen.size >= 4096) this.seen.clear();
      this.seen.set(addr, v);
    }
    return v;
  }

  private lookup(addr: string): boolean {
    const b = toBytes(addr);
    if (!b) return false;
    for (const c of this.cidrs) {
      let bits = c.bits;
      let i = 0;
      for (; bits >= 8; i++, bits -= 8) if (b[i] !== c.bytes[i]) break;
      if (bits >= 8) continue;
      if (bits === 0) return true;
      const mask = (0xff << (8 - bits)) & 0xff;
      if ((b[i]! & mask) === (c.bytes[i]! & mask)) return true;
    }
    return false;
  }
}

/** The loopback networks: the default domain of a server on one host. */
export const LOOPBACK_NETWORKS: readonly string[] = ['127.0.0.0/8', '::1/128'];
