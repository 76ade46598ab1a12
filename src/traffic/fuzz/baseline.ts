// The ordinary baseline exchange (a valid Query on a fresh TCP connection,
// answered OK with whole device records) checked before the run and all
// through it, and the target's own latency measured from it.
//
// A target that never answers the baseline is an error ("no VVMP reply from
// HOST:PORT in N s"), not a finding. A reply is due within a deadline derived
// from the measured latency (not a fixed timeout): 20 × the median and 4 ×
// the slowest of the recent baseline replies, at least `floorMs`, at most
// `--timeout`.

import { healthCheck, nowMs, sleep, type Health } from './exec.js';

export class NoBaselineError extends Error {}

export interface Probe extends Health {
  ms: number;
}

export class Baseline {
  /** Latencies of the recent good baseline exchanges, ms. */
  private readonly recent: number[] = [];
  /** A good baseline reply was seen at least once. */
  answered = false;

  constructor(
    readonly host: string,
    readonly port: number,
    /** Upper bound of the reply deadline (--timeout). */
    readonly maxMs: number,
    /** Lower bound: scheduling noise on a loaded machine. */
    readonly floorMs = 150,
    /** --timeout was given: use it as is. */
    readonly fixed = false,
  ) {}

  async probe(timeoutMs = this.replyDeadlineMs()): Promise<Probe> {
    const t0 = nowMs();
    const h = await healthCheck(this.host, this.port, timeoutMs);
    const ms = nowMs() - t0;
    if (h.ok) {
      this.answered = true;
      this.recent.push(ms);
      if (this.recent.length > 32) this.recent.shift();
    }
    return { ...h, ms };
  }

  /**
   * Before the run: the target must answer the baseline within `seconds`;
   * then 20 exchanges measure its latency. Throws NoBaselineError otherwise.
   */
  async establish(seconds: number): Promise<void> {
    const end = nowMs() + seconds * 1000;
    let last: Probe | null = null;
    while (nowMs() < end) {
      last = await this.probe(Math.max(200, Math.min(this.maxMs, end - nowMs())));
      if (last.ok) break;
      await sleep(100);
    }
    if (!last?.ok) {
      const why = last && !/no reply within/.test(last.detail) ? ` (${last.detail.replace(/^health Query:? ?/, '')})` : '';
      throw new NoBaselineError(`no VVMP reply from ${this.host}:${this.port} in ${seconds} s${why}`);
    }
    for (let i = 0; i < 19; i++) await this.probe(this.maxMs);
  }

  /** The slowest recent baseline exchange, ms. */
  get slowestMs(): number {
    return this.recent.length ? Math.max(...this.recent) : 0;
  }

  get medianMs(): number {
    if (!this.recent.length) return 0;
    const s = [...this.recent].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  }

  /** How long to wait for a due reply before calling it a hang. */
  replyDeadlineMs(): number {
    if (this.fixed || !this.recent.length) return this.maxMs;
    return Math.round(Math.min(this.maxMs, Math.max(this.floorMs, 20 * this.medianMs, 4 * this.slowestMs)));
  }
}
