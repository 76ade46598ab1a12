// I/O over time (tshark's `-z io,stat`): frames and frames with an error per
// interval. Intervals are aligned to the epoch (interval k covers
// [k·I, (k+1)·I) ms), so several files' counts add up exactly. With no
// interval asked for, it starts at 1 s and steps up (10 s, 1 min, 10 min,
// 1 h, 1 day) while the capture spans more than MAX_AUTO_INTERVALS of them;
// each step is a whole multiple of the one before, so stepping up is exact.
// Memory: one counter pair per interval that holds a frame.
//
// tshark's `-z io,stat` reads the same counters with its own clock: intervals
// of whole microseconds from the first packet (IoClock), and bytes counted too.

/** The automatic intervals, in ms: each divides the next. */
export const AUTO_STEPS_MS = [1000, 10_000, 60_000, 600_000, 3_600_000, 86_400_000];
export const MAX_AUTO_INTERVALS = 500;

/** Plain data (crosses postMessage): interval, and [index, frames, errors] per interval with frames. */
export interface IoData {
  intervalMs: number;
  auto: boolean;
  rows: [number, number, number][];
}

export interface IoRow {
  /** Start of the interval, epoch ms. */
  startMs: number;
  frames: number;
  errors: number;
}

/**
 * Intervals of `intervalUs` microseconds counted from `originSec`/`originNsec`
 * (tshark's io,stat: from the first packet; times before it fall in the first
 * interval; 0: one interval for everything).
 */
export interface IoClock {
  originSec: number;
  originNsec: number;
  intervalUs: number;
}

export class IoTimeline {
  intervalMs: number;
  readonly auto: boolean;
  private readonly frames = new Map<number, number>();
  private readonly errors = new Map<number, number>();
  private readonly bytes = new Map<number, number>();
  private lo = Infinity;
  private hi = -Infinity;

  /** `intervalMs` null: automatic. With a `clock`, its intervals instead (fixed; `intervalMs` is ignored). */
  constructor(intervalMs: number | null = null, private readonly clock: IoClock | null = null) {
    this.auto = intervalMs === null && clock === null;
    this.intervalMs = intervalMs ?? AUTO_STEPS_MS[0]!;
  }

  /** A frame at capture time (sec, nsec); `error`: it carries an error-severity finding; `bytes`: its length. */
  frame(sec: number, nsec: number, error: boolean, bytes = 0): void {
    const k = this.index(sec, nsec);
    this.frames.set(k, (this.frames.get(k) ?? 0) + 1);
    if (error) this.errors.set(k, (this.errors.get(k) ?? 0) + 1);
    if (bytes) this.bytes.set(k, (this.bytes.get(k) ?? 0) + bytes);
    this.span(k);
  }

  /** Frames and bytes of interval `k` (0 when none). */
  framesAt(k: number): number {
    return this.frames.get(k) ?? 0;
  }

  bytesAt(k: number): number {
    return this.bytes.get(k) ?? 0;
  }

  /** The last interval holding a frame (-1 when none). */
  get lastIndex(): number {
    return this.lo > this.hi ? -1 : this.hi;
  }

  /** A frame counted before got its first error later (a timeout). */
  error(sec: number, nsec: number): void {
    const k = this.index(sec, nsec);
    this.errors.set(k, (this.errors.get(k) ?? 0) + 1);
  }

  data(): IoData {
    return {
      intervalMs: this.intervalMs, auto: this.auto,
      rows: [...this.frames].map(([k, n]) => [k, n, this.errors.get(k) ?? 0]),
    };
  }

  merge(d: IoData): void {
    while (d.intervalMs > this.intervalMs) this.coarsen(this.nextStep());
    for (const [i, f, e] of d.rows) {
      // The interval may step up while rows are added: the ratio is taken each time.
      const j = Math.floor(i / (this.intervalMs / d.intervalMs));
      this.frames.set(j, (this.frames.get(j) ?? 0) + f);
      if (e) this.errors.set(j, (this.errors.get(j) ?? 0) + e);
      this.span(j);
    }
  }

  /** Every interval from the first frame's to the last one's, empty ones included. */
  *rows(): IterableIterator<IoRow> {
    for (let k = this.lo; k <= this.hi; k++) {
      yield { startMs: k * this.intervalMs, frames: this.frames.get(k) ?? 0, errors: this.errors.get(k) ?? 0 };
    }
  }

  get count(): number {
    return this.lo > this.hi ? 0 : this.hi - this.lo + 1;
  }

  private index(sec: number, nsec: number): number {
    const c = this.clock;
    if (c !== null) {
      if (c.intervalUs <= 0) return 0;
      const us = Math.floor(((sec - c.originSec) * 1e9 + (nsec - c.originNsec)) / 1e3);
      return Math.max(0, Math.floor(us / c.intervalUs));
    }
    return Math.floor((sec * 1000 + Math.floor(nsec / 1e6)) / this.intervalMs);
  }

  private span(k: number): void {
    if (k < this.lo) this.lo = k;
    if (k > this.hi) this.hi = k;
    while (this.auto && this.hi - this.lo + 1 > MAX_AUTO_INTERVALS && this.intervalMs < AUTO_STEPS_MS[AUTO_STEPS_MS.length - 1]!) {
      this.coarsen(this.nextStep());
    }
  }

  private nextStep(): number {
    return AUTO_STEPS_MS.find((s) => s > this.intervalMs) ?? this.intervalMs * 2;
  }

  /** Re-buckets everything into intervals of `to` ms (a multiple of the current). */
  private coarsen(to: number): void {
    const k = to / this.intervalMs;
    for (const m of [this.frames, this.errors, this.bytes]) {
      const old = [...m];
      m.clear();
      for (const [i, n] of old) {
        const j = Math.floor(i / k);
        m.set(j, (m.get(j) ?? 0) + n);
      }
    }
    this.intervalMs = to;
    if (this.lo <= this.hi) {
      this.lo = Math.floor(this.lo / k);
      this.hi = Math.floor(this.hi / k);
    }
  }
}
