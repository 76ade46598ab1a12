// IP address and network literals for ip.addr / ip.src / ip.dst.

export interface IpValue {
  family: 4 | 6;
  n: bigint;
  /** IPv4 as a number (fast path); NaN for IPv6. */
  num: number;
}

export interface IpNet extends IpValue {
  /** Prefix length; 32 or 128 for a single address. */
  prefix: number;
}

function parseV4(s: string): bigint | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let n = 0n;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return null;
    n = (n << 8n) | BigInt(b);
  }
  return n;
}

function parseV6(text: string): bigint | null {
  const s = text.replace(/%.*$/, ''); // zone id
  if (!/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  let all: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null;
    all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    all = head;
  }
  let n = 0n;
  for (const g of all) n = (n << 16n) | BigInt(g);
  return n;
}

/** Parses dotted IPv4 or IPv6 text; null when it is neither. */
export function parseIp(s: string): IpValue | null {
  const v4 = parseV4(s);
  if (v4 !== null) return { family: 4, n: v4, num: Number(v4) };
  if (!s.includes(':')) return null;
  const v6 = parseV6(s);
  return v6 === null ? null : { family: 6, n: v6, num: NaN };
}

/** `addr` or `addr/prefix`; null when malformed. Host bits of a network are ignored (10.1.2.3/8 = 10.0.0.0/8). */
export function parseIpNet(s: string): IpNet | null {
  const slash = s.lastIndexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return null;
  const bits = addr.family === 4 ? 32 : 128;
  if (slash < 0) return { ...addr, prefix: bits };
  const ptext = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(ptext)) return null;
  const prefix = Number(ptext);
  if (prefix > bits) return null;
  const shift = BigInt(bits - prefix);
  const n = (addr.n >> shift) << shift;
  return { family: addr.family, n, num: addr.family === 4 ? Number(n) : NaN, prefix };
}

const cache = new Map<string, IpValue | null>();
const CACHE_LIMIT = 65536;

/** parseIp memoised: endpoint texts repeat across frames. */
export function ipValue(s: string): IpValue | null {
  let v = cache.get(s);
  if (v === undefined) {
    v = parseIp(s);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(s, v);
  }
  return v;
}

/** A test for endpoint text: in the network (or equal to the address). */
export function ipNetTest(net: IpNet): (text: string) => boolean {
  const bits = net.family === 4 ? 32 : 128;
  if (net.prefix === bits && net.family === 4) {
    // Endpoints carry canonical dotted IPv4: a string compare suffices.
    const text = [24n, 16n, 8n, 0n].map((s) => String((net.n >> s) & 0xffn)).join('.');
    return (t) => t === text;
  }
  if (net.family === 4) {
    const div = 2 ** (32 - net.prefix);
    const want = Math.floor(net.num / div);
    return (t) => {
      const v = ipValue(t);
      return v !== null && v.family === 4 && Math.floor(v.num / div) === want;
    };
  }
  const shift = BigInt(bits - net.prefix);
  const want = net.n >> shift;
  return (t) => {
    const v = ipValue(t);
    return v !== null && v.family === net.family && v.n >> shift === want;
  };
}

/** A test for endpoint text: within lo..hi (same family, inclusive). */
export function ipRangeTest(lo: IpValue, hi: IpValue): (text: string) => boolean {
  return (t) => {
    const v = ipValue(t);
    return v !== null && v.family === lo.family && v.n >= lo.n && v.n <= hi.n;
  };
}
