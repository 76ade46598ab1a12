// The memory oracle across restarts. Resident memory of the spawned target is
// sampled all the time (memory.ts: the windowed rule, reset at each restart)
// and read around every batch and isolated group: the growth is credited to
// the case kinds (strategies) that ran, and the credit is kept across
// restarts, so a leak on a target that crashes every few seconds still adds
// up. A suspect kind is confirmed by repeating one of its cases alone on a
// freshly restarted target; it is reported with the growth per case.
//
// A leak is known by where it keeps memory: the request after whose reply
// the target's memory jumps, and how much it keeps there (one more run of
// the leaking case with the memory read after every step). Growth per case
// alone cannot tell one leak reached through another kind's cases (one in
// four of them trigger it, or two, depending on the mutations) from a new one.

import type { FuzzCase } from './cases.js';
import { caseTriggers, isSubsequence, opcodeName } from './triggers.js';
import { combineCases } from './combine.js';
import { nowMs, runCase, sleep } from './exec.js';
import type { Investigator, Runner } from './investigate.js';
import { MB, MemoryCredit, MemoryWatch, type MemoryRule } from './memory.js';
import type { Verdict } from './oracle.js';

export interface MemoryProbe {
  grew: boolean;
  growthMb: number;
  reps: number;
  baseMb: number;
  afterMb: number;
}

/** Where a leak keeps memory: after which request, and how much each time. */
export interface LeakSite {
  /** Opcode name of the step after which memory grows (`Statistics`), or `case` when no step stands out. */
  at: string;
  /** MB kept each time that step runs (or per run of the case). */
  mb: number;
}

/** The same leak: kept at the same request, within a quarter of the same size. */
export function sameLeak(a: LeakSite, b: LeakSite): boolean {
  return a.at === b.at && Math.abs(a.mb - b.mb) <= 0.25 * Math.max(a.mb, b.mb);
}

export class MemoryOracle {
  readonly watch: MemoryWatch;
  readonly credit = new MemoryCredit();
  /** Probes per kind: a kind is probed at most twice a run. */
  private readonly probes = new Map<string, number>();
  /** A few cases of each kind, to repeat when it is suspected. */
  private readonly samples = new Map<string, FuzzCase[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly run: Runner, private readonly found: Investigator, readonly rule: MemoryRule) {
    this.watch = new MemoryWatch(rule);
  }

  start(now: number): void {
    this.watch.reset(now);
    if (this.timer) return;
    this.timer = setInterval(() => {
      const r = this.run.target.rss();
      if (r !== null) this.watch.add(nowMs(), r);
    }, this.rule.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Opcode sequences of the cases that confirmed a leak. */
  private readonly leakSteps: string[][] = [];
  /** Where each leak reported keeps memory, and the kinds found to repeat one of them. */
  private readonly leaks: LeakSite[] = [];
  private readonly aliases = new Set<string>();

  private replaysKnownLeak(c: FuzzCase): boolean {
    const seq = caseTriggers(c).sequence;
    return this.leakSteps.some((k) => isSubsequence(k, seq));
  }

  /** Keeps up to 4 cases of each kind (the newest ones: the first pass's early cases are rarely the leaking ones). */
  note(c: FuzzCase): void {
    let l = this.samples.get(c.strategy);
    if (!l) this.samples.set(c.strategy, (l = []));
    l.push(c);
    if (l.length > 4) l.shift();
  }

  /** Growth (bytes) seen while `kinds` ran. */
  credited(kinds: string[], growth: number): void {
    this.credit.add(kinds, growth);
  }

  /** Repeats `c` on a fresh target and measures the resident memory growth. */
  async probe(c: FuzzCase, maxReps: number, maxMs: number): Promise<MemoryProbe> {
    const o = this.run.opts;
    await this.run.restart('measuring memory');
    await sleep(300);
    const low = async () => {
      let m = Infinity;
      for (let i = 0; i < 3; i++) {
        m = Math.min(m, this.run.target.rss() ?? Infinity);
        await sleep(50);
      }
      return m;
    };
    const base = await low();
    const t0 = Date.now();
    let reps = 0;
    const threshold = this.rule.thresholdMb;
    while (reps < maxReps && Date.now() - t0 < maxMs && this.run.target.alive) {
      await runCase(c, { host: o.host, port: o.port, timeoutMs: this.run.baseline.replyDeadlineMs(), maxPayload: o.maxPayload });
      reps++;
      if (reps % 10 === 0) {
        const grown = (this.run.target.rss() ?? 0) - base;
        if (grown >= threshold * 1.5 * MB) break;
        // nothing to speak of after 40 runs: not this one
        if (reps >= 40 && reps < maxReps && grown < threshold * 0.1 * MB && maxReps <= 200) break;
      }
    }
    await sleep(200);
    const after = await low();
    const growth = (after - base) / MB;
    return { grew: this.run.target.alive && growth >= threshold, growthMb: growth, reps, baseMb: base / MB, afterMb: after / MB };
  }

  /**
   * Where `c` keeps memory: runs it a few times on a fresh target, reading the target's memory
   * after every step, and names the step that grows it most (when that is a real share of the
   * growth). `perRun` (MB) is the growth of one run the probe measured, for when no step stands out.
   */
  async site(c: FuzzCase, perRun: number): Promise<LeakSite> {
    const o = this.run.opts;
    await this.run.restart('locating the leak');
    await sleep(200);
    // per step, not per opcode: a combined case may hold the leaking request several times
    const grown = new Float64Array(c.steps.length);
    const runs = 3;
    let ran = 0;
    for (let k = 0; k < runs && this.run.target.alive; k++) {
      let last = this.run.target.rss() ?? 0;
      await runCase(c, {
        host: o.host, port: o.port, timeoutMs: this.run.baseline.replyDeadlineMs(), maxPayload: o.maxPayload,
        afterStep: (i) => {
          const now = this.run.target.rss() ?? last;
          grown[i]! += now - last;
          last = now;
        },
      });
      ran++;
    }
    let best = 0;
    for (let i = 1; i < grown.length; i++) if (grown[i]! > grown[best]!) best = i;
    if (ran > 0 && grown.length > 0) {
      const mb = grown[best]! / MB / ran;
      if (mb >= 0.5 * perRun || mb >= this.rule.thresholdMb / 8) return { at: opcodeName(c.steps[best]!.frame), mb };
    }
    return { at: 'case', mb: perRun };
  }

  /** After a batch: is memory growing, and which kind does it? */
  async check(): Promise<void> {
    const flag = this.watch.check();
    const known = new Set(this.found.bugs.filter((b) => b.cause.oracle === 'memory').map((b) => b.kind));
    for (const a of this.aliases) known.add(a);
    const leaky = this.credit.suspects(this.rule.thresholdMb).filter((s) => !known.has(s));
    if (!flag && leaky.length === 0) return;
    this.run.phase = 'attributing memory growth';
    const why = flag ? flag.detail : `resident memory kept growing after the cases of ${leaky.slice(0, 3).join(', ')}`;
    this.run.event(`memory: ${why}`, 'debug');
    const ranked = this.credit.ranking().map(([s]) => s).filter((s) => !known.has(s));
    const candidates = [...new Set([...leaky, ...ranked])].filter((s) => (this.probes.get(s) ?? 0) < 2).slice(0, 3);
    let done = false;
    for (const s of candidates) {
      // cases that replay a known leak's steps (a walk through a double Free) grow by that leak, not a new one
      const recorded = (this.samples.get(s) ?? []).filter((x) => !this.replaysKnownLeak(x));
      if (recorded.length === 0) {
        this.credit.forget(s);
        continue;
      }
      this.probes.set(s, (this.probes.get(s) ?? 0) + 1);
      // the recorded cases in turn, as one sequence, repeated
      const c = recorded.length === 1 ? recorded[0]! : combineCases(recorded, this.run.opts.maxPayload);
      let best = await this.probe(c, 200, 3000);
      this.credit.forget(s);
      if (!best.grew) continue;
      let leaking = recorded;
      if (recorded.length > 1) {
        // Which recorded case leaks: a kind's cases differ (random mutations), and one leak
        // reached through another kind must be told apart from a new leak by what it keeps.
        for (const x of recorded) {
          const alone = await this.probe(x, 200, 3000);
          if (alone.grew && alone.growthMb / alone.reps > best.growthMb / (best.reps * leaking.length)) {
            best = alone;
            leaking = [x];
          }
        }
      }
      const perCase = best.growthMb / (best.reps * leaking.length);
      const saved = leaking.length === 1 ? leaking[0]! : c;
      const site = await this.site(saved, best.growthMb / best.reps);
      // the same leak as one already reported, reached through this kind's cases: not a second bug
      const same = this.leaks.find((k) => sameLeak(k, site));
      if (same !== undefined) {
        this.aliases.add(s);
        for (const x of leaking) {
          const seq = caseTriggers(x).sequence;
          if (seq.length > 1) this.leakSteps.push(seq);
        }
        this.run.event(`memory: ${s} cases keep ${site.mb.toFixed(1)} MB at ${site.at}, as a leak already reported (${same.mb.toFixed(1)} MB at ${same.at}): the same bug`, 'debug');
        done = true;
        break;
      }
      const reps = Math.min(4000, Math.max(best.reps, Math.ceil(best.reps * 1.5)));
      this.leaks.push(site);
      const detail = `resident memory grew ${best.baseMb.toFixed(1)} → ${best.afterMb.toFixed(1)} MB (+${best.growthMb.toFixed(1)} MB, `
        + `${perCase >= 0.1 ? perCase.toFixed(1) : perCase.toFixed(3)} MB per case) over ${best.reps * leaking.length} ${s} cases repeated alone on a fresh target`
        + `${site.at !== 'case' ? `; ${site.mb >= 0.1 ? site.mb.toFixed(1) : site.mb.toFixed(3)} MB kept at each ${site.at}` : ''}`
        + `${flag ? ` (noticed during the run: ${flag.detail})` : ''}`;
      const v: Verdict = { oracle: 'memory', detail };
      for (const x of leaking) {
        const seq = caseTriggers(x).sequence;
        if (seq.length > 1) this.leakSteps.push(seq);
      }
      const r = await this.run.verify(saved, { record: true });
      this.found.save(saved, v, { v, obs: r.obs, transcript: r.transcript }, null, {
        signature: `memory|${s}`, cause: { oracle: 'memory', qualifier: `${site.mb.toFixed(1)} MB kept at ${site.at}` }, fields: [], sequence: [],
        repeat: reps, memoryThresholdMb: this.rule.thresholdMb,
      }).kind = s;
      done = true;
      break;
    }
    if (!done) {
      this.found.unconfirmed++;
      this.run.event('unconfirmed memory growth: no single case kind reproduced it', 'debug');
    }
    await this.run.restart('freeing the memory');
    this.run.phase = 'fuzzing';
  }
}
