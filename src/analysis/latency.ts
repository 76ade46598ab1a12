// Request → reply latencies, exact and in bounded memory. The analysis rounds
// every latency to whole microseconds, so a count per microsecond value holds
// each sample exactly: percentiles are true nearest-rank values, and memory
// follows the largest latency seen (dense up to ~1 s), not the number of
// replies. The few samples outside that range (late replies to timed-out
// requests, timestamps going backwards) are kept one by one.

import type { RtSummary } from './rtHistogram.js';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Latencies from 0 to this many µs (~1.05 s) are counted in an array indexed by µs. */
const DENSE_LIMIT = 1 << 20;
const MIN_DENSE = 1024;

/** A histogram in plain arrays: crosses postMessage (both buffers transferable). */
export interface LatencyData {
  counts: Float64Array;
  rare: Float64Array;
}

export class LatencyHistogram {
  /** counts[µs] = samples of that latency. */
  private counts = new Float64Array(0);
  /** Samples outside the dense range, in µs, unsorted. */
  private rare = new Float64Array(0);
  private rareN = 0;
  n = 0;

  static from(d: LatencyData): LatencyHistogram {
    const h = new LatencyHistogram();
    h.merge(d);
    return h;
  }

  /** One latency in whole microseconds. */
  add(us: number): void {
    this.n++;
    if (us >= 0 && us < DENSE_LIMIT && Number.isInteger(us)) {
      if (us >= this.counts.length) this.growDense(us + 1);
      this.counts[us]!++;
    } else {
      this.addRare(us);
    }
  }

  merge(d: LatencyData): void {
    if (d.counts.length > this.counts.length) this.growDense(d.counts.length);
    for (let i = 0; i < d.counts.length; i++) {
      const c = d.counts[i]!;
      if (c !== 0) {
        this.counts[i]! += c;
        this.n += c;
      }
    }
    for (const us of d.rare) {
      this.addRare(us);
      this.n++;
    }
  }

  /** The samples as plain arrays of exactly their size. */
  data(): LatencyData {
    let top = this.counts.length;
    while (top > 0 && this.counts[top - 1] === 0) top--;
    return { counts: this.counts.slice(0, top), rare: this.rare.slice(0, this.rareN) };
  }

  /** Nearest-rank p50/p90/p99 and the maximum, in milliseconds; null without samples. */
  percentiles(): Percentiles | null {
    if (this.n === 0) return null;
    const rare = this.rare.slice(0, this.rareN).sort();
    let below = 0; // rare samples under the dense range (negative), sorted first
    while (below < rare.length && rare[below]! < 0) below++;
    const ranks = [50, 90, 99].map((p) => Math.max(1, Math.ceil((p / 100) * this.n)));
    const found: number[] = [];
    let seen = 0;
    let next = 0;
    const take = (value: number, count: number): void => {
      seen += count;
      while (next < ranks.length && ranks[next]! <= seen) {
        found.push(value);
        next++;
      }
    };
    for (let i = 0; i < below; i++) take(rare[i]!, 1);
    for (let us = 0; us < this.counts.length && next < ranks.length; us++) {
      const c = this.counts[us]!;
      if (c !== 0) take(us, c);
    }
    for (let i = below; i < rare.length && next < ranks.length; i++) take(rare[i]!, 1);
    let max: number;
    if (rare.length > below) max = rare[rare.length - 1]!;
    else {
      let top = this.counts.length - 1;
      while (top >= 0 && this.counts[top] === 0) top--;
      max = top >= 0 ? top : rare[below - 1]!;
    }
    return { p50: found[0]! / 1e3, p90: found[1]! / 1e3, p99: found[2]! / 1e3, max: max / 1e3 };
  }

  /** Count, min, average (to the µs), percentiles and max, in milliseconds; null without samples. */
  summary(): RtSummary | null {
    const pct = this.percentiles();
    if (pct === null) return null;
    let sum = 0;
    let min = Infinity;
    for (let us = 0; us < this.counts.length; us++) {
      const c = this.counts[us]!;
      if (c === 0) continue;
      if (us < min) min = us;
      sum += us * c;
    }
    for (let i = 0; i < this.rareN; i++) {
      const us = this.rare[i]!;
      sum += us;
      if (us < min) min = us;
    }
    return { count: this.n, min: min / 1e3, avg: Math.round(sum / this.n) / 1e3, ...pct };
  }

  private growDense(size: number): void {
    let cap = Math.max(MIN_DENSE, this.counts.length);
    while (cap < size) cap *= 2;
    const bigger = new Float64Array(Math.min(DENSE_LIMIT, cap));
    bigger.set(this.counts);
    this.counts = bigger;
  }

  private addRare(us: number): void {
    if (this.rareN === this.rare.length) {
      const bigger = new Float64Array(Math.max(16, this.rare.length * 2));
      bigger.set(this.rare);
      this.rare = bigger;
    }
    this.rare[this.rareN++] = us;
  }
}

/** Latencies per request opcode. */
/** Opcodes below this have their histogram in an array as well as in the Map. */
const SMALL_OPCODES = 64;

export class LatencyStats {
  private readonly byOpcode = new Map<number, LatencyHistogram>();
  private readonly small: (LatencyHistogram | undefined)[] = new Array<LatencyHistogram | undefined>(SMALL_OPCODES).fill(undefined);

  /** One reply's latency in whole microseconds. */
  add(opcode: number, us: number): void {
    this.histogram(opcode).add(us);
  }

  /** Another capture's samples for `opcode` (merged stats of several files). */
  merge(opcode: number, d: LatencyData): void {
    this.histogram(opcode).merge(d);
  }

  /** Every opcode's samples, for another thread. */
  data(): [number, LatencyData][] {
    return [...this.byOpcode].map(([op, h]) => [op, h.data()]);
  }

  /** Percentiles over every opcode. */
  overall(): Percentiles | null {
    const all = new LatencyHistogram();
    for (const h of this.byOpcode.values()) all.merge(h.data());
    return all.percentiles();
  }

  /** Per opcode: count, min, avg, p50/p90/p99, max (exact). */
  summaries(): Map<number, RtSummary> {
    const out = new Map<number, RtSummary>();
    for (const [op, h] of [...this.byOpcode].sort((a, b) => a[0] - b[0])) {
      const s = h.summary();
      if (s) out.set(op, s);
    }
    return out;
  }

  perOpcode(): Map<number, { count: number; pct: Percentiles }> {
    const out = new Map<number, { count: number; pct: Percentiles }>();
    for (const [op, h] of [...this.byOpcode].sort((a, b) => a[0] - b[0])) {
      const pct = h.percentiles();
      if (pct) out.set(op, { count: h.n, pct });
    }
    return out;
  }

  private histogram(opcode: number): LatencyHistogram {
    // Opcodes are small numbers: an array finds the histogram per reply without hashing.
    if (opcode >= 0 && opcode < SMALL_OPCODES) {
      const h = this.small[opcode];
      if (h !== undefined) return h;
    }
    let h = this.byOpcode.get(opcode);
    if (!h) this.byOpcode.set(opcode, (h = new LatencyHistogram()));
    if (opcode >= 0 && opcode < SMALL_OPCODES) this.small[opcode] = h;
    return h;
  }
}
