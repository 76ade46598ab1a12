// The fuzzer's own pseudo-random numbers: mulberry32 seeded through a string
// hash, so that `--seed N` makes a run deterministic and every strategy has
// an independent stream (skipping one strategy does not shift the others).
// Math.random is never used by the fuzzer.

/** FNV-1a over the UTF-16 code units of `text`, mixed with `seed`. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32)
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream for `label`, derived from `seed` only (independent of any other stream's use). */
  static forLabel(seed: number, label: string): Rng {
    return new Rng(hash32(label, seed));
  }

  /** Next 32-bit unsigned value (mulberry32). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (n <= 0) return 0;
    if (n <= 0x100000000) return Math.floor((this.next() / 0x100000000) * n);
    return Math.floor(((this.next() * 0x100000000 + this.next()) / 2 ** 64) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** An unsigned value of `width` bytes (bigint for 8). */
  uint(width: number): bigint {
    let v = 0n;
    for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(this.next() & 0xff);
    return v;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}
