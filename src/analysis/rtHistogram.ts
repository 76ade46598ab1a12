// Response times in bounded memory, for tables with many rows (per client,
// per server). Values are whole microseconds: below 256 µs each value has its
// own bucket; above, 128 buckets per power of two, so a percentile is within
// 1/128 (0.8 %) of the exact value, and a histogram holds at most a few
// thousand counters whatever the number of samples. Count, min, max and the
// sum (hence the average) are exact. Merging two histograms is exact (bucket
// counts add up), so several files give the same result in any grouping.

/** Values below this many µs are counted exactly. */
const EXACT = 256;
/** Buckets per power of two above EXACT. */
const SUB = 128;
const SUB_BITS = 7;
const EXACT_BITS = 8;

/** Bucket of a value in whole µs (negative values, from clocks going back, count as 0). */
export function bucketOf(us: number): number {
  if (us < EXACT) return us < 0 ? 0 : us;
  if (us < 2 ** 31 && (us | 0) === us) {
    // Whole µs within 31 bits (every real latency): the exponent from the leading zeros, no floating-point log.
    const e = 31 - Math.clz32(us);
    return EXACT + (e - EXACT_BITS) * SUB + (us >>> (e - SUB_BITS)) - SUB;
  }
  const e = Math.floor(Math.log2(us));
  const sub = Math.floor(us / 2 ** (e - SUB_BITS)) - SUB;
  return EXACT + (e - EXACT_BITS) * SUB + sub;
}

/** The largest value a bucket holds. */
export function bucketTop(b: number): number {
  if (b < EXACT) return b;
  const e = Math.floor((b - EXACT) / SUB) + EXACT_BITS;
  const sub = (b - EXACT) % SUB;
  return (SUB + sub + 1) * 2 ** (e - SUB_BITS) - 1;
}

/** Plain data of a histogram: crosses postMessage. */
export interface RtData {
  counts: Float64Array;
  n: number;
  sum: number;
  min: number;
  max: number;
}

/** count, min, avg, p50, p90, p99, max in milliseconds. */
export interface RtSummary {
  count: number;
  min: number;
  avg: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Distinct buckets kept in a Map before the counts become an array. */
const SPARSE_MAX = 48;

/**
 * Most rows of a per-client table see few samples: their buckets sit in a
 * small Map, and only a histogram with many distinct buckets gets an array
 * (a plain JS array: on the V8 heap, so thousands of them do not add up
 * external memory that forces collections).
 */
export class RtHistogram {
  private sparse: Map<number, number> | null = new Map();
  private dense: number[] = [];
  n = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  add(us: number): void {
    this.count(bucketOf(us), 1);
    this.n++;
    this.sum += us;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
  }

  merge(d: RtData): void {
    if (d.n === 0) return;
    for (let i = 0; i < d.counts.length; i++) if (d.counts[i] !== 0) this.count(i, d.counts[i]!);
    this.n += d.n;
    this.sum += d.sum;
    if (d.min < this.min) this.min = d.min;
    if (d.max > this.max) this.max = d.max;
  }

  data(): RtData {
    const counts = new Float64Array(this.top());
    this.forEach((b, c) => (counts[b] = c));
    return { counts, n: this.n, sum: this.sum, min: this.min, max: this.max };
  }

  private count(b: number, c: number): void {
    const s = this.sparse;
    if (s !== null) {
      s.set(b, (s.get(b) ?? 0) + c);
      if (s.size <= SPARSE_MAX) return;
      this.sparse = null;
      for (const [k, v] of s) this.bump(k, v);
      return;
    }
    this.bump(b, c);
  }

  private bump(b: number, c: number): void {
    const d = this.dense;
    while (d.length <= b) d.push(0);
    d[b]! += c;
  }

  /** One past the highest bucket holding samples. */
  private top(): number {
    if (this.sparse !== null) {
      let t = 0;
      for (const k of this.sparse.keys()) if (k + 1 > t) t = k + 1;
      return t;
    }
    let t = this.dense.length;
    while (t > 0 && this.dense[t - 1] === 0) t--;
    return t;
  }

  /** Buckets with samples, in ascending order. */
  private forEach(fn: (bucket: number, count: number) => void): void {
    if (this.sparse !== null) {
      for (const k of [...this.sparse.keys()].sort((a, b) => a - b)) fn(k, this.sparse.get(k)!);
      return;
    }
    const d = this.dense;
    for (let b = 0; b < d.length; b++) if (d[b] !== 0) fn(b, d[b]!);
  }

  /** Nearest-rank percentiles (a bucket's largest value, never above the maximum); null without samples. */
  summary(): RtSummary | null {
    if (this.n === 0) return null;
    const ranks = [50, 90, 99].map((p) => Math.max(1, Math.ceil((p / 100) * this.n)));
    const found: number[] = [];
    let seen = 0;
    this.forEach((b, c) => {
      seen += c;
      while (found.length < ranks.length && ranks[found.length]! <= seen) found.push(Math.min(bucketTop(b), this.max));
    });
    const ms = (us: number): number => us / 1e3;
    return {
      count: this.n, min: ms(this.min), avg: Math.round(this.sum / this.n) / 1e3,
      p50: ms(found[0]!), p90: ms(found[1]!), p99: ms(found[2]!), max: ms(this.max),
    };
  }
}

/** Rows kept per table (clients, servers); the rest are counted together as "other". */
export const MAX_TABLE_ROWS = 1000;

/**
 * Response-time histograms by an id (client or server), at most
 * MAX_TABLE_ROWS ids, the first ones seen; samples of later ids go to one
 * `other` histogram (memory stays bounded whatever the capture holds).
 */
export class RtTable {
  readonly rows = new Map<bigint, RtHistogram>();
  readonly other = new RtHistogram();

  constructor(private readonly cap = MAX_TABLE_ROWS) {}

  add(id: bigint, us: number): void {
    const h = this.row(id);
    if (h) h.add(us);
    else this.other.add(us);
  }

  merge(id: bigint, d: RtData): void {
    const h = this.row(id);
    if (h) h.merge(d);
    else this.other.merge(d);
  }

  data(): { rows: [bigint, RtData][]; other: RtData } {
    return { rows: [...this.rows].map(([id, h]) => [id, h.data()]), other: this.other.data() };
  }

  mergeAll(d: { rows: [bigint, RtData][]; other: RtData }): void {
    for (const [id, r] of d.rows) this.merge(id, r);
    this.other.merge(d.other);
  }

  /** Rows by id, ascending. */
  sorted(): [bigint, RtHistogram][] {
    return [...this.rows].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  private row(id: bigint): RtHistogram | null {
    let h = this.rows.get(id);
    if (h) return h;
    if (this.rows.size >= this.cap) return null;
    this.rows.set(id, (h = new RtHistogram()));
    return h;
  }
}

/** Counts by an id, at most MAX_TABLE_ROWS ids; later ids are counted together as `other`. */
export class CountTable<K> {
  readonly rows = new Map<K, number>();
  other = 0;

  constructor(private readonly cap = MAX_TABLE_ROWS) {}

  add(key: K, n = 1): void {
    const v = this.rows.get(key);
    if (v !== undefined) this.rows.set(key, v + n);
    else if (this.rows.size < this.cap) this.rows.set(key, n);
    else this.other += n;
  }
}
