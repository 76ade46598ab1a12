// The run: check the baseline exchange and measure the target's latency,
// then schedule cases (the deterministic first pass, then random, stateful
// and transport abuse), execute them (pipelined where the oracle allows,
// alone otherwise), hand suspects to the Investigator (investigate.ts) and
// growth to the memory oracle, feed the replies to the state model, log
// every case sent.
//
// The baseline exchange runs every `healthEvery` cases or `healthMs` ms,
// after every transport-abuse case and after suspects. A good check is a
// checkpoint: when the target later dies or stops answering, the suspects
// are the cases since then. Its latency keeps the reply deadline current.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Baseline, NoBaselineError } from './baseline.js';
import { caseExpectations, type FuzzCase, type Transport } from './cases.js';
import { CaseLog } from './caselog.js';
import { nowMs, runCase, type Observation } from './exec.js';
import { Investigator, type Runner, type VerifyOptions, type VerifyResult } from './investigate.js';
import { Lane, type LaneItem, type Suspect } from './lane.js';
import { MB } from './memory.js';
import { MemoryOracle } from './memoryOracle.js';
import type { FuzzOptions } from './options.js';
import { ORACLES, judge, type OracleName, type Verdict } from './oracle.js';
import { Coverage, type CoverageRow } from './coverage.js';
import type { Bug } from './registry.js';
import { Scheduler } from './scheduler.js';
import { StateModel } from './statemodel.js';
import { makeStrategies } from './strategies.js';
import { Target, udpAnswers } from './target.js';

export type { FuzzOptions } from './options.js';
export { combineCases } from './combine.js';
export { NoBaselineError } from './baseline.js';

export interface StrategyStats {
  cases: number;
  failures: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  durationS: number;
  casesPerS: number;
  byOracle: Record<OracleName, number>;
  bugs: Bug[];
  unconfirmed: number;
  duplicates: number;
  skipped: number;
  restarts: number;
  meanRestartMs: number;
  /** Mean restart split: stop (kill and reap), spawn until TCP accepts, until UDP answers. */
  restartParts: { stop: number; tcp: number; udp: number };
  orphans: number;
  retired: string[];
  byStrategy: Map<string, StrategyStats>;
  housekeeping: number;
  coverage: CoverageRow[];
  firstPass: { cases: number; seconds: number | null };
  latency: { medianMs: number; deadlineMs: number };
  states: number;
  stopped: string | null;
  fatal: string | null;
}

export interface Live {
  cases: number;
  elapsedMs: number;
  bugs: number;
  current: string;
  phase: string;
  restarts: number;
}

/** Isolated cases run side by side (each on its own connections). */
const ISOLATED_PARALLEL = 8;

/**
 * Times a case whose verdict a crash beside it wiped out runs again when the
 * crash could not be pinned on a case; a crash pinned on another case (then
 * retired, so it leaves the queue) costs a quarter of one.
 */
const REQUEUE_MAX = 3;

function emptyByOracle(): Record<OracleName, number> {
  return Object.fromEntries(ORACLES.map((o) => [o, 0])) as Record<OracleName, number>;
}

export class Fuzzer implements Runner {
  readonly target: Target;
  readonly baseline: Baseline;
  readonly model = new StateModel();
  private readonly found: Investigator;
  private readonly mem: MemoryOracle | null;
  private readonly sched: Scheduler;
  private readonly lanes: Record<Transport, Lane>;
  private readonly coverage = new Coverage();
  private readonly log: CaseLog | null;
  private recent: FuzzCase[] = [];
  /** Cases to run again (requeue). */
  private again: FuzzCase[] = [];
  private readonly byStrategy = new Map<string, StrategyStats>();
  private casesRun = 0;
  private orphans = 0;
  private started = 0;
  private firstPassEnd: number | null = null;
  private lastHealthAt = 0;
  private casesSinceHealth = 0;
  private stopped: string | null = null;
  private fatalMessage: string | null = null;
  current = '';
  phase = 'fuzzing';
  pristine = false;

  constructor(readonly opts: FuzzOptions) {
    this.target = new Target(opts.host, opts.port, opts.spawn);
    this.baseline = new Baseline(opts.host, opts.port, opts.timeoutMs, 150, opts.timeoutFixed);
    this.found = new Investigator(this);
    this.sched = new Scheduler(
      makeStrategies({ seed: opts.seed, transport: opts.transport, maxPayload: opts.maxPayload, seeds: opts.seeds, only: opts.strategies, model: this.model }),
      (c) => this.dropped(c),
    );
    this.lanes = {
      tcp: new Lane('tcp', opts.host, opts.port, opts.timeoutMs),
      udp: new Lane('udp', opts.host, opts.port, opts.timeoutMs),
    };
    this.mem = opts.spawn && opts.memory ? new MemoryOracle(this, this.found, opts.memory) : null;
    this.log = opts.caseLog ? new CaseLog(opts.outDir) : null;
  }

  get strategyCount(): number {
    return this.sched.strategies.length;
  }

  /** Ends the run after the current batch (Ctrl-C); the report is still written. */
  stop(reason: string): void {
    this.stopped ??= reason;
  }

  fatal(message: string): void {
    this.fatalMessage ??= message;
    this.stopped ??= message;
  }

  retireStrategy(name: string): void {
    if (!this.sched.isRetired(name)) this.event(`retiring ${name}: its sequence is a known bug`, 'debug');
    this.sched.retire(name);
  }

  /** A case that would only re-trigger a known bug: a retired trigger, or a walk from an avoided state. */
  private dropped(c: FuzzCase): boolean {
    return this.found.registry.isRetired(c) || (c.from !== undefined && this.model.isAvoided(c.from));
  }

  avoidState(state: string): void {
    this.event(`walks from "${state}" re-trigger a known crash: avoided`, 'debug');
    this.model.avoid(state);
  }

  live(): Live {
    return { cases: this.casesRun, elapsedMs: nowMs() - this.started, bugs: this.found.bugs.length, current: this.current, phase: this.phase, restarts: this.target.restarts };
  }

  event(line: string, level: 'info' | 'debug' = 'info'): void {
    this.opts.onEvent?.(line, level);
  }

  private stats(s: string): StrategyStats {
    let st = this.byStrategy.get(s);
    if (!st) this.byStrategy.set(s, (st = { cases: 0, failures: 0 }));
    return st;
  }

  private budgetLeft(): boolean {
    if (this.stopped) return false;
    if (this.opts.maxCases !== null && this.casesRun >= this.opts.maxCases) return false;
    if (this.opts.durationS !== null && nowMs() - this.started >= this.opts.durationS * 1000) return false;
    return true;
  }

  private get deadlineMs(): number {
    return this.baseline.replyDeadlineMs();
  }

  // ---- the target -----------------------------------------------------------------------

  async restart(why: string): Promise<void> {
    this.event(`restarting the target (${why})`, 'debug');
    this.lanes.tcp.close();
    this.lanes.udp.close();
    await this.target.restart();
    this.pristine = true;
    this.mem?.watch.reset(nowMs());
  }

  async ensureAlive(): Promise<void> {
    if (this.target.spawned && !this.target.alive) await this.restart('it exited');
  }

  /** Runs one case alone on fresh connections and judges it. */
  async verify(c: FuzzCase, o: VerifyOptions = {}): Promise<VerifyResult> {
    await this.ensureAlive();
    this.pristine = false;
    const obs = await runCase(c, {
      host: this.opts.host, port: this.opts.port, timeoutMs: this.deadlineMs, maxPayload: this.opts.maxPayload,
      settleMs: o.settleMs, record: o.record,
    });
    this.observe(c, obs);
    const crash = async (wait: number): Promise<Verdict | null> => {
      if (!this.target.spawned) return null;
      if (!this.target.exited && wait > 0) await this.target.waitExit(wait);
      const ex = this.target.exited;
      return ex ? { oracle: 'crash', detail: `target ${ex.text}` } : null;
    };
    const broke = obs.conns.some((s) => s.refused || (s.closed && !s.ownClose));
    let v = judge(c, obs, this.deadlineMs);
    // a dropped connection or a missing reply may be the target dying (its exit
    // is seen within milliseconds; the wait ends then); a reply that came is not
    const dying = broke ? 1000 : v && (v.oracle === 'hang' || v.oracle === 'reset') ? 150 : v ? 30 : 0;
    v = (await crash(dying)) ?? v;
    // an ICMP port unreachable on UDP while the port answers a Query right after: a transient, not this case's doing
    if (v?.oracle === 'reset' && obs.conns.some((s) => s.transport === 'udp' && s.closed?.kind === 'refused')
      && (await udpAnswers(this.opts.host, this.opts.port, this.deadlineMs))) v = null;
    if ((!v || v.oracle === 'reset') && (o.probe || c.health)) {
      const h = await this.baseline.probe();
      if (!h.ok) {
        v = (await crash(1000)) ?? v ?? { oracle: 'health', detail: h.detail };
      }
    }
    return { v, obs, transcript: obs.transcript };
  }

  private observe(c: FuzzCase, obs: Observation): void {
    const byStep = new Map<number, (typeof obs.results)[number]['reply']>();
    for (const p of obs.results) if (p.reply && !byStep.has(p.step)) byStep.set(p.step, p.reply);
    this.model.observe(c, (i) => byStep.get(i) ?? null);
  }

  // ---- the run ----------------------------------------------------------------------------

  private note(c: FuzzCase): void {
    this.casesRun++;
    c.seq = this.casesRun;
    this.stats(c.strategy).cases++;
    this.current = c.strategy;
    this.recent.push(c);
    this.coverage.add(c);
    this.log?.add(c);
    this.mem?.note(c);
  }

  /** The baseline exchange; false (and the culprit searched) when it failed. */
  private async health(): Promise<boolean> {
    const h = await this.baseline.probe();
    this.lastHealthAt = nowMs();
    this.casesSinceHealth = 0;
    for (const l of Object.values(this.lanes)) l.timeoutMs = this.deadlineMs;
    if (h.ok) {
      this.recent = this.recent.slice(-8);
      return true;
    }
    const suspects = this.recent;
    this.recent = [];
    const pinned = this.target.spawned && (this.target.exited || (await this.target.waitExit(300)))
      ? await this.found.findCulprit('crash', `target ${this.target.exited!.text}`, suspects)
      : await this.found.findCulprit('health', h.detail, suspects);
    // what the restart wiped out (a poisoned state, another bug's effect) gets its chance again
    this.requeue(suspects, pinned);
    return false;
  }

  /** The target died: its culprit searched, the cases since the last good check run again. True when the culprit was pinned. */
  private async targetDown(first: FuzzCase[] = []): Promise<boolean> {
    const ex = this.target.exited;
    const suspects = this.recent;
    this.recent = [];
    const pinned = await this.found.findCulprit('crash', ex ? `target ${ex.text}` : 'target stopped accepting connections', suspects, first);
    this.requeue(suspects, pinned);
    return pinned;
  }

  private rss(): number | null {
    return this.mem ? this.target.rss() : null;
  }

  /**
   * The cases that ran beside one that crashed the target lost their verdict:
   * they run again (the culprit's trigger is retired by now, or it crashes
   * again and is found again). A batch run again can be hit by another crash
   * in it: up to REQUEUE_MAX times, so one rare value (a txid 0xFFFFFFFF
   * beside two crash-prone cases) is not lost to its neighbours.
   */
  private requeue(cases: FuzzCase[], pinned = false): void {
    for (const c of cases) {
      if (this.again.includes(c) || this.sched.isRetired(c.strategy) || this.dropped(c)) continue;
      // a crash pinned on another case (now retired) does not count against this one
      const n = (c.requeued ?? 0) + (pinned ? 0.25 : 1);
      if (n > REQUEUE_MAX) continue;
      c.requeued = n;
      c.retried = true;
      c.rerun = true;
      this.again.push(c);
    }
  }

  /** True while the batch being run is cases run again (a health check follows it). */
  private rerunBatch = false;

  private nextBatch(): FuzzCase[] {
    // cases run again skip what was retired since they were queued (another crasher beside them)
    const batch: FuzzCase[] = [];
    while (this.again.length && batch.length < this.opts.batch) {
      const c = this.again.shift()!;
      if (this.sched.isRetired(c.strategy) || this.dropped(c)) this.sched.skipped++;
      else batch.push(c);
    }
    this.rerunBatch = batch.length > 0;
    if (batch.length) return batch;
    const wasFirst = this.sched.inFirstPass;
    while (batch.length < this.opts.batch) {
      if (this.opts.maxCases !== null && this.casesRun + batch.length >= this.opts.maxCases) break;
      const c = this.sched.next();
      if (!c) break;
      batch.push(c);
      if (wasFirst && !this.sched.inFirstPass) break;
    }
    return batch;
  }

  /** Pipelined cases, TCP and UDP lanes side by side. */
  private async runLanes(items: Record<Transport, LaneItem[]>, isolated: FuzzCase[]): Promise<void> {
    const all = [...items.tcp, ...items.udp];
    for (const it of all) {
      if (it.c.rerun) this.recent.push(it.c);
      else this.note(it.c);
    }
    if (all.length === 0) return;
    this.pristine = false;
    const before = this.rss();
    const [rt, ru] = await Promise.all([this.lanes.tcp.run(items.tcp), this.lanes.udp.run(items.udp)]);
    const after = this.rss();
    if (before !== null && after !== null) this.mem!.credited(all.map((x) => x.c.strategy), after - before);
    for (const a of [...rt.answered, ...ru.answered]) this.model.observe(a.c, () => a.reply);
    this.orphans += rt.orphans + ru.orphans;
    this.casesSinceHealth += all.length;
    const suspects: Suspect[] = [...rt.suspects, ...ru.suspects];
    if (this.target.spawned && (this.target.exited || ((rt.broken || ru.broken || suspects.length > 0) && (await this.target.waitExit(300))))) {
      // the first case of each lane left without its reply is the likely culprit
      const first = [rt, ru].map((r) => r.suspects.map((s) => s.c).sort((a, b) => a.seq - b.seq)[0]).filter((c): c is FuzzCase => !!c);
      const pinned = await this.targetDown(first);
      this.requeue(all.map((x) => x.c), pinned);
      return;
    }
    for (const c of [...rt.rerun, ...ru.rerun]) {
      c.rerun = true;
      isolated.unshift(c);
    }
    if (suspects.length > 8 && !(await this.health())) return;
    // one case that stalls a lane's connection leaves every case after it
    // unanswered: the first is investigated, the others run once more
    const hangs = suspects.filter((s) => s.hint === 'hang' && !s.c.retried).sort((a, b) => a.c.seq - b.c.seq);
    const later = new Set(hangs.slice(1).map((s) => s.c));
    this.requeue([...later]);
    for (const s of suspects) {
      if (this.stopped) break;
      if (later.has(s.c)) continue;
      await this.found.investigate(s.c, s.hint, s.detail);
    }
  }

  /** Isolated cases: up to ISOLATED_PARALLEL at a time on their own connections; transport abuse alone. */
  private async runIsolated(isolated: FuzzCase[]): Promise<void> {
    for (let k = 0; k < isolated.length && this.budgetLeft();) {
      const group: FuzzCase[] = [];
      while (k < isolated.length && group.length < ISOLATED_PARALLEL) {
        const c = isolated[k]!;
        // retired since it was scheduled (a bug found earlier in this batch)
        if (!c.rerun && (this.sched.isRetired(c.strategy) || this.dropped(c))) {
          this.sched.skipped++;
          k++;
          continue;
        }
        if (c.health && group.length > 0) break;
        group.push(c);
        k++;
        if (c.health) break;
      }
      if (this.target.spawned && !this.target.alive) await this.targetDown();
      for (const c of group) {
        if (c.rerun) this.recent.push(c);
        else this.note(c);
      }
      this.casesSinceHealth += group.length;
      this.pristine = false;
      const rb = this.rss();
      const runs = await Promise.all(group.map((c) => runCase(c, {
        host: this.opts.host, port: this.opts.port, timeoutMs: this.deadlineMs, maxPayload: this.opts.maxPayload,
      })));
      const ra = this.rss();
      if (rb !== null && ra !== null) this.mem!.credited(group.map((c) => c.strategy), ra - rb);
      group.forEach((c, g) => this.observe(c, runs[g]!));
      const broke = runs.some((o) => o.conns.some((s) => s.refused || (s.closed && !s.ownClose)));
      if (this.target.spawned && broke && !this.target.exited) await this.target.waitExit(300);
      if (this.target.spawned && this.target.exited) {
        const pinned = await this.targetDown(group);
        this.requeue(group, pinned);
        continue;
      }
      for (let g = 0; g < group.length && !this.stopped; g++) {
        const c = group[g]!;
        const v = judge(c, runs[g]!, this.deadlineMs);
        if (v) {
          if (v.oracle === 'reset' && this.target.spawned && (await this.target.waitExit(300))) {
            await this.targetDown([c]);
            break;
          }
          await this.found.investigate(c, v.oracle);
        }
        if (c.health && !(await this.health())) break;
      }
    }
  }

  async run(): Promise<FuzzReport> {
    const lag = process.env.VVMP_FUZZ_DEBUG ? monitorEventLoopDelay({ resolution: 10 }) : null;
    lag?.enable();
    try {
      if (this.target.spawned) await this.target.start();
      await this.baseline.establish(this.opts.baselineS);
      for (const l of Object.values(this.lanes)) l.timeoutMs = this.deadlineMs;
      this.event(`baseline: median ${this.baseline.medianMs.toFixed(1)} ms, slowest ${this.baseline.slowestMs.toFixed(1)} ms; a reply is due within ${this.deadlineMs} ms`, 'debug');
      this.started = nowMs();
      this.mem?.start(nowMs());
      this.lastHealthAt = nowMs();
      while (this.budgetLeft()) {
        if (this.target.spawned && !this.target.alive) await this.targetDown();
        const batch = this.nextBatch();
        if (batch.length === 0) {
          // every list used up: one last baseline check catches what the last cases did
          if (!(await this.health()) && this.again.length > 0 && this.budgetLeft()) continue;
          break;
        }
        const lane: Record<Transport, LaneItem[]> = { tcp: [], udp: [] };
        const isolated: FuzzCase[] = [];
        for (const c of batch) {
          const ex = caseExpectations(c, this.opts.maxPayload);
          if (ex.pipelinable) lane[c.conns[0]!].push({ c, exp: ex.perStep[0]![0]! });
          else isolated.push(c);
        }
        await this.runLanes(lane, isolated);
        if (!this.stopped) await this.runIsolated(isolated);
        if (this.firstPassEnd === null && !this.sched.inFirstPass) {
          this.firstPassEnd = nowMs();
          this.event(`first pass done: ${this.sched.firstPassCases} cases in ${((this.firstPassEnd - this.started) / 1000).toFixed(1)} s`, 'debug');
        }
        if (this.stopped) break;
        // a batch run again after a crash is checked at once: a state it poisoned
        // (a later Query answered wrong) is seen before anything else can crash the target
        if (this.rerunBatch || this.casesSinceHealth >= this.opts.healthEvery || nowMs() - this.lastHealthAt >= this.opts.healthMs) await this.health();
        if (this.mem && !this.stopped) await this.mem.check();
      }
    } catch (e) {
      if (!(e instanceof NoBaselineError)) throw e;
      this.fatal(e.message);
    } finally {
      this.lanes.tcp.close();
      this.lanes.udp.close();
      this.mem?.stop();
      if (this.target.spawned) await this.target.stop('SIGTERM');
      await this.log?.close();
    }
    if (this.started === 0) this.started = nowMs();
    if (lag) this.event(`event loop delay: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms`, 'debug');
    if (this.mem) this.event(`memory: ${this.mem.watch.samples} samples, peak ${(this.mem.watch.peak / MB).toFixed(0)} MB`, 'debug');
    return this.report();
  }

  private report(): FuzzReport {
    const durationS = (nowMs() - this.started) / 1000;
    const byOracle = emptyByOracle();
    for (const b of this.found.bugs) {
      byOracle[b.cause.oracle]++;
      this.stats(b.strategy).failures++;
    }
    if (this.casesRun > 0) {
      try {
        this.model.write(this.opts.outDir);
      } catch {
        // --out was checked before the run; a disk that filled up since loses only the graph
      }
    }
    return {
      seed: this.opts.seed,
      cases: this.casesRun,
      durationS,
      casesPerS: durationS > 0 ? this.casesRun / durationS : 0,
      byOracle,
      bugs: [...this.found.bugs],
      unconfirmed: this.found.unconfirmed,
      duplicates: this.found.duplicates,
      skipped: this.sched.skipped,
      restarts: this.target.restarts,
      meanRestartMs: this.target.meanRestartMs,
      restartParts: this.target.meanRestartParts,
      orphans: this.orphans,
      retired: this.sched.strategies.map((s) => s.name).filter((n) => this.sched.isRetired(n)),
      byStrategy: this.byStrategy,
      housekeeping: this.lanes.tcp.housekeepingFrees + this.lanes.udp.housekeepingFrees,
      coverage: this.coverage.rows(),
      firstPass: { cases: this.sched.firstPassCases, seconds: this.firstPassEnd === null ? null : (this.firstPassEnd - this.started) / 1000 },
      latency: { medianMs: this.baseline.medianMs, deadlineMs: this.deadlineMs },
      states: this.model.states.size,
      stopped: this.stopped,
      fatal: this.fatalMessage,
    };
  }

  /** Runs one saved case (vvmp fuzz --reproduce). */
  async reproduceCase(c: FuzzCase, oracle: OracleName, memoryThresholdMb: number | undefined): Promise<Verdict | null> {
    if (this.target.spawned) await this.target.start();
    try {
      await this.baseline.establish(this.opts.baselineS);
      if (oracle === 'memory') {
        const probe = new MemoryOracle(this, this.found, { ...this.opts.memory!, thresholdMb: memoryThresholdMb ?? this.opts.memory?.thresholdMb ?? 64 });
        const p = await probe.probe(c, c.repeat ?? 200, 30_000);
        return p.grew
          ? { oracle: 'memory', detail: `resident memory grew ${p.baseMb.toFixed(1)} → ${p.afterMb.toFixed(1)} MB (+${p.growthMb.toFixed(1)} MB) over ${p.reps} runs` }
          : null;
      }
      const r = await this.verify(c, { settleMs: 100, probe: oracle === 'crash' || oracle === 'health' || !!c.health });
      let v = r.v;
      if (v && v.oracle === 'hang') {
        const p = await this.baseline.probe();
        v = { ...v, scope: p.ok ? 'per-connection' : 'whole server' };
      }
      return v;
    } finally {
      if (this.target.spawned) await this.target.stop('SIGTERM');
    }
  }
}
