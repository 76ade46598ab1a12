// The memory oracle (spawned targets only). RSS of the target's process tree
// is sampled every `sampleMs`. The rule, chosen to ignore start-up, JIT
// warm-up and the garbage collector's sawtooth:
//
//   * the first `warmupMs` after each (re)start are ignored;
//   * time after that is cut into windows of `windowMs`; each window's
//     *minimum* RSS is its low-water mark (garbage waiting for the collector
//     does not count, memory that stays does);
//   * the baseline is the first window's low-water mark;
//   * `memory` is flagged when the last `windows` low-water marks are
//     non-decreasing (each at least the previous one minus `toleranceMb`: a
//     monotonic trend) and the newest one is `thresholdMb` or more above the
//     baseline.
//
// Attribution: RSS is also read before and after each isolated case and each
// pipelined batch; the growth is credited to the strategies that ran (split
// by case count), across restarts. When the rule fires — or one strategy's
// credit alone shows a leak (MemoryCredit.suspects) — the strategies with the
// most credit are replayed alone on a freshly restarted target (Fuzzer.
// probeMemory: one case repeated up to 200 times or 2 s) and the first whose
// replays make the RSS grow by the threshold is reported. A leak too slow to
// show within such a probe is counted as unconfirmed, not reported.

export interface MemoryRule {
  thresholdMb: number;
  sampleMs: number;
  warmupMs: number;
  windowMs: number;
  windows: number;
  toleranceMb: number;
}

export const DEFAULT_MEMORY_RULE: MemoryRule = {
  thresholdMb: 64,
  sampleMs: 50,
  warmupMs: 1000,
  windowMs: 250,
  windows: 4,
  toleranceMb: 2,
};

const MB = 1024 * 1024;

export interface MemoryFlag {
  baselineMb: number;
  currentMb: number;
  growthMb: number;
  detail: string;
}

export class MemoryWatch {
  private t0 = 0;
  private mins: number[] = [];
  private bucketOf = -1;
  samples = 0;
  peak = 0;

  constructor(readonly rule: MemoryRule) {}

  reset(t0: number): void {
    this.t0 = t0;
    this.mins = [];
    this.bucketOf = -1;
    this.samples = 0;
    this.peak = 0;
  }

  add(t: number, rss: number): void {
    this.samples++;
    this.peak = Math.max(this.peak, rss);
    const since = t - this.t0 - this.rule.warmupMs;
    if (since < 0) return;
    const b = Math.floor(since / this.rule.windowMs);
    if (b !== this.bucketOf) {
      // a new window; windows without samples (a long pause) just do not exist
      this.mins.push(rss);
      this.bucketOf = b;
    } else {
      const last = this.mins.length - 1;
      this.mins[last] = Math.min(this.mins[last]!, rss);
    }
  }

  /** Low-water marks of the complete windows (the last one is still filling). */
  lowWater(): number[] {
    return this.mins.slice(0, -1);
  }

  check(): MemoryFlag | null {
    const lw = this.lowWater();
    const k = this.rule.windows;
    if (lw.length < k + 1) return null;
    const base = lw[0]!;
    const tail = lw.slice(-k);
    const tol = this.rule.toleranceMb * MB;
    for (let i = 1; i < tail.length; i++) if (tail[i]! < tail[i - 1]! - tol) return null;
    const cur = tail[tail.length - 1]!;
    const growth = cur - base;
    if (growth < this.rule.thresholdMb * MB) return null;
    return {
      baselineMb: base / MB,
      currentMb: cur / MB,
      growthMb: growth / MB,
      detail: `resident memory grew from ${(base / MB).toFixed(1)} MB to ${(cur / MB).toFixed(1)} MB (+${(growth / MB).toFixed(1)} MB, `
        + `low-water marks of the last ${k} windows of ${this.rule.windowMs} ms rising)`,
    };
  }
}

/**
 * Growth credited to strategies, kept across restarts: each strategy that ran
 * in a measured group (an isolated case, a handful run side by side, a
 * pipelined batch) is credited the group's whole growth once. A leaking
 * strategy then averages its leak per run, the others only what they shared
 * groups with it. A strategy with `minRuns` runs, `thresholdMb` of credit in
 * total and at least `perRunMb` per run on average is a leak suspect even when
 * restarts keep the windowed rule from firing; suspects are ranked by their
 * average and confirmed only by replaying them alone (Fuzzer.probeMemory).
 */
export class MemoryCredit {
  private readonly credit = new Map<string, { bytes: number; runs: number }>();

  add(strategies: readonly string[], deltaBytes: number): void {
    const gain = Math.max(0, deltaBytes);
    for (const s of new Set(strategies)) {
      const c = this.credit.get(s);
      if (c) {
        c.bytes += gain;
        c.runs++;
      } else this.credit.set(s, { bytes: gain, runs: 1 });
    }
  }

  /** Strategies by average credit per run, highest first. */
  ranking(): Array<[string, number]> {
    return [...this.credit.entries()].map(([s, c]) => [s, c.bytes / c.runs] as [string, number]).sort((a, b) => b[1] - a[1]);
  }

  /** Strategies that look like leaks by their credit alone, by average. */
  suspects(thresholdMb: number, perRunMb = 0.25, minRuns = 5): string[] {
    const out: Array<[string, number]> = [];
    for (const [s, c] of this.credit) {
      if (c.runs >= minRuns && c.bytes >= thresholdMb * MB && c.bytes / c.runs >= perRunMb * MB) out.push([s, c.bytes / c.runs]);
    }
    return out.sort((a, b) => b[1] - a[1]).map(([s]) => s);
  }

  forget(strategy: string): void {
    this.credit.delete(strategy);
  }

  clear(): void {
    this.credit.clear();
  }
}

export { MB };
