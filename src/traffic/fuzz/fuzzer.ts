// The run: schedule cases, execute them (pipelined where the oracle allows,
// alone otherwise), turn suspects into confirmed failures, minimise, save.
//
// Health checks (a valid Query on a fresh TCP connection) run every
// `healthEvery` cases or `healthMs` ms, after every transport-abuse case,
// and after suspected failures — not after every case. A good check is a
// checkpoint: when the target later dies or turns unhealthy, the suspects are
// the cases since the last checkpoint, replayed in order on a freshly
// restarted target with a probe after each until the failure shows again.
//
// Every reported failure was reproduced alone, minimised, and confirmed once
// more on a freshly restarted target (with --spawn) while its exchange was
// recorded. Failures already reported for the same strategy and oracle are
// counted as duplicates; a strategy that crashed or hung the target
// `crashThreshold` times is retired (boofuzz's crash threshold).

import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { caseExpectations, cloneCase, type FuzzCase, type Step, type Transport } from './cases.js';
import { healthCheck, nowMs, runCase, sleep, type Observation, type TranscriptEvent } from './exec.js';
import { hex } from './frames.js';
import { Lane, type LaneItem, type Suspect } from './lane.js';
import { MB, MemoryCredit, MemoryWatch, type MemoryRule } from './memory.js';
import { minimizeCase, type MinimizeResult } from './minimize.js';
import { opcodeDef } from '../../protocol/fields.js';
import { ORACLES, judge, type OracleName, type Verdict } from './oracle.js';
import { failureId, nextFailureNumber, saveFailure, type VerdictJson } from './store.js';
import { Scheduler } from './scheduler.js';
import { makeStrategies, type TransportMode } from './strategies.js';
import { Target } from './target.js';

export interface FuzzOptions {
  host: string;
  port: number;
  spawn: string | null;
  seed: number;
  maxCases: number | null;
  durationS: number | null;
  timeoutMs: number;
  transport: TransportMode;
  maxPayload: number;
  outDir: string;
  seeds: Buffer[];
  batch: number;
  healthEvery: number;
  healthMs: number;
  memory: MemoryRule | null;
  crashThreshold: number;
  /** Failures saved per signature (oracle + opcode, or crash exit + stderr line); the rest are duplicates. */
  maxPerSignature: number;
  minimize: boolean;
  minimizeRuns: number;
  minimizeMs: number;
  /** Events for the live display: 'info' (failures, retirements, memory) and 'debug' (restarts, suspects). */
  onEvent?: (line: string, level: 'info' | 'debug') => void;
}

export interface FailureRecord {
  id: string;
  oracle: OracleName;
  strategy: string;
  detail: string;
  case: string;
  seq: number;
  duplicates: number;
}

export interface StrategyStats {
  cases: number;
  failures: number;
  duplicates: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  durationS: number;
  casesPerS: number;
  byOracle: Record<OracleName, number>;
  failures: FailureRecord[];
  unconfirmed: number;
  duplicates: number;
  restarts: number;
  orphans: number;
  retired: string[];
  byStrategy: Map<string, StrategyStats>;
  housekeeping: number;
}

export interface Live {
  cases: number;
  elapsedMs: number;
  byOracle: Record<OracleName, number>;
  current: string;
  phase: string;
  restarts: number;
}

/** Isolated cases run side by side (each on its own connections). */
const ISOLATED_PARALLEL = 8;

function emptyByOracle(): Record<OracleName, number> {
  return Object.fromEntries(ORACLES.map((o) => [o, 0])) as Record<OracleName, number>;
}

interface VerifyResult {
  v: Verdict | null;
  obs: Observation | null;
  transcript: TranscriptEvent[];
}

/** Joins cases into one sequence, in order (pipelined cases of a transport share one connection, as they did). */
export function combineCases(cases: readonly FuzzCase[], maxPayload: number): FuzzCase {
  const conns: Transport[] = [];
  const steps: Step[] = [];
  const shared = new Map<Transport, number>();
  for (const c of cases) {
    const ex = caseExpectations(c, maxPayload);
    const map = new Map<number, number>();
    const offset = steps.length;
    for (let i = 0; i < c.conns.length; i++) {
      const t = c.conns[i]!;
      if (ex.pipelinable) {
        if (!shared.has(t)) {
          shared.set(t, conns.length);
          conns.push(t);
        }
        map.set(i, shared.get(t)!);
      } else {
        map.set(i, conns.length);
        conns.push(t);
      }
    }
    for (const s of c.steps) {
      steps.push({
        ...s, conn: map.get(s.conn)!, frame: Buffer.from(s.frame), base: s.base ? Buffer.from(s.base) : undefined,
        bind: s.bind?.map((b) => ({ ...b, from: b.from + offset })),
      });
    }
  }
  const last = cases[cases.length - 1]!;
  return {
    seq: last.seq, strategy: last.strategy, conns, steps,
    desc: cases.length === 1 ? last.desc : `sequence of ${cases.length} cases ending with: ${last.desc}`,
  };
}

export class Fuzzer {
  readonly target: Target;
  private readonly sched: Scheduler;
  private readonly infinite: Set<string>;
  private readonly lanes: Record<Transport, Lane>;
  private recent: FuzzCase[] = [];
  private readonly reported = new Map<string, FailureRecord>();
  private readonly bySignature = new Map<string, FailureRecord[]>();
  private readonly troubles = new Map<string, number>();
  private readonly failures: FailureRecord[] = [];
  private readonly byStrategy = new Map<string, StrategyStats>();
  private readonly lastCases = new Map<string, FuzzCase[]>();
  private readonly mem: MemoryWatch | null;
  private readonly credit = new MemoryCredit();
  /** Memory probes per strategy: a strategy is probed at most twice a run. */
  private readonly memoryProbes = new Map<string, number>();
  private memTimer: NodeJS.Timeout | null = null;
  private casesRun = 0;
  private unconfirmed = 0;
  private duplicates = 0;
  private orphans = 0;
  private nextNo: number;
  private started = 0;
  private lastHealthAt = 0;
  private casesSinceHealth = 0;
  private stopped: string | null = null;
  current = '';
  phase = 'fuzzing';
  /** The target was (re)started and nothing has been sent to it since. */
  private pristine = false;

  constructor(readonly opts: FuzzOptions) {
    this.target = new Target(opts.host, opts.port, opts.spawn);
    this.sched = new Scheduler(makeStrategies({ seed: opts.seed, transport: opts.transport, maxPayload: opts.maxPayload, seeds: opts.seeds }));
    this.infinite = new Set(this.sched.strategies.filter((x) => x.random).map((x) => x.name));
    this.lanes = {
      tcp: new Lane('tcp', opts.host, opts.port, opts.timeoutMs),
      udp: new Lane('udp', opts.host, opts.port, opts.timeoutMs),
    };
    this.mem = opts.spawn && opts.memory ? new MemoryWatch(opts.memory) : null;
    this.nextNo = nextFailureNumber(opts.outDir);
  }

  /** Ends the run after the current batch (Ctrl-C); the report is still written. */
  stop(reason: string): void {
    this.stopped ??= reason;
  }

  live(): Live {
    const byOracle = emptyByOracle();
    for (const f of this.failures) byOracle[f.oracle]++;
    return { cases: this.casesRun, elapsedMs: nowMs() - this.started, byOracle, current: this.current, phase: this.phase, restarts: this.target.restarts };
  }

  private event(line: string, level: 'info' | 'debug' = 'info'): void {
    this.opts.onEvent?.(line, level);
  }

  private get targetText(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  private stats(s: string): StrategyStats {
    let st = this.byStrategy.get(s);
    if (!st) this.byStrategy.set(s, (st = { cases: 0, failures: 0, duplicates: 0 }));
    return st;
  }

  private budgetLeft(): boolean {
    if (this.stopped) return false;
    if (this.opts.maxCases !== null && this.casesRun >= this.opts.maxCases) return false;
    if (this.opts.durationS !== null && nowMs() - this.started >= this.opts.durationS * 1000) return false;
    return true;
  }

  // ---- the target -----------------------------------------------------------------------

  private rss(): number | null {
    return this.mem ? this.target.rss() : null;
  }

  private startMemory(): void {
    if (!this.mem) return;
    this.mem.reset(nowMs());
    if (this.memTimer) return;
    this.memTimer = setInterval(() => {
      const r = this.target.rss();
      if (r !== null) this.mem!.add(nowMs(), r);
    }, this.mem.rule.sampleMs);
    this.memTimer.unref();
  }

  private async restart(why: string): Promise<void> {
    this.event(`restarting the target (${why})`, 'debug');
    this.lanes.tcp.close();
    this.lanes.udp.close();
    await this.target.restart();
    this.pristine = true;
    this.mem?.reset(nowMs());
  }

  private async ensureAlive(): Promise<void> {
    if (this.target.spawned && !this.target.alive) await this.restart('it exited');
  }

  // ---- running one case alone ---------------------------------------------------------------

  private async verify(c: FuzzCase, o: { record?: boolean; settleMs?: number; probe?: boolean } = {}): Promise<VerifyResult> {
    await this.ensureAlive();
    this.pristine = false;
    const obs = await runCase(c, {
      host: this.opts.host, port: this.opts.port, timeoutMs: this.opts.timeoutMs, maxPayload: this.opts.maxPayload,
      settleMs: o.settleMs, record: o.record,
    });
    const crash = async (wait: number): Promise<Verdict | null> => {
      if (!this.target.spawned) return null;
      if (!this.target.exited && wait > 0) await this.target.waitExit(wait);
      const ex = this.target.exited;
      return ex ? { oracle: 'crash', detail: `target ${ex.text}` } : null;
    };
    const broke = obs.conns.some((s) => s.refused || (s.closed && !s.ownClose));
    let v = (await crash(broke ? 300 : 0)) ?? judge(c, obs, this.opts.timeoutMs);
    if ((!v || v.oracle === 'reset') && (o.probe || c.health)) {
      const h = await healthCheck(this.opts.host, this.opts.port, this.opts.timeoutMs);
      if (!h.ok) {
        v = (await crash(300)) ?? v ?? (h.refused && !this.target.spawned
          ? { oracle: 'reset', detail: `${h.detail} after the case (target down?)` }
          : { oracle: 'health', detail: h.detail });
      }
    }
    return { v, obs, transcript: obs.transcript };
  }

  private async stillFails(c: FuzzCase, oracle: OracleName): Promise<boolean> {
    // a broken-health target stays broken: judge each candidate on a fresh one
    if (oracle === 'health' && this.target.spawned && !this.pristine) await this.restart('minimising a health failure');
    const r = await this.verify(c, { settleMs: oracle === 'crash' ? 20 : 0, probe: oracle === 'crash' || oracle === 'health' });
    return r.v?.oracle === oracle;
  }

  private async confirmFresh(c: FuzzCase, oracle: OracleName): Promise<VerifyResult | null> {
    if (this.target.spawned && !this.pristine) await this.restart('confirming a failure on a fresh target');
    const r = await this.verify(c, { record: true, settleMs: 100, probe: oracle === 'crash' || oracle === 'health' });
    return r.v?.oracle === oracle ? r : null;
  }

  // ---- failures ---------------------------------------------------------------------------

  private key(strategy: string, oracle: OracleName): string {
    return `${strategy}|${oracle}`;
  }

  private duplicate(strategy: string, oracle: OracleName): boolean {
    const f = this.reported.get(this.key(strategy, oracle));
    if (!f) return false;
    f.duplicates++;
    this.duplicates++;
    this.stats(strategy).duplicates++;
    this.trouble(strategy, oracle);
    return true;
  }

  /** Crashes and hangs cost restarts and timeouts: a strategy that caused enough of them is retired. */
  private trouble(strategy: string, oracle: OracleName): void {
    if (oracle !== 'crash' && oracle !== 'hang' && oracle !== 'memory') return;
    const n = (this.troubles.get(strategy) ?? 0) + 1;
    this.troubles.set(strategy, n);
    // random strategies keep finding new things: they get more room than enumerated lists
    const limit = this.infinite.has(strategy) ? this.opts.crashThreshold * 5 : this.opts.crashThreshold;
    if (oracle === 'memory' || n >= limit) {
      if (!this.sched.isRetired(strategy)) this.event(`retiring ${strategy} (${n} ${oracle === 'memory' ? 'memory failure' : 'crashes/hangs'})`);
      this.sched.retire(strategy);
    }
  }

  private async report(c: FuzzCase, v: Verdict, r: VerifyResult, min: MinimizeResult | null, extra: { repeat?: number; memoryThresholdMb?: number; unconfirmed?: boolean } = {}): Promise<FailureRecord> {
    const id = failureId(this.nextNo++);
    const dir = join(this.opts.outDir, id);
    const rec: FailureRecord = { id, oracle: v.oracle, strategy: c.strategy, detail: v.detail, case: dir, seq: c.seq, duplicates: 0 };
    const saved = cloneCase(c);
    if (extra.repeat) saved.repeat = extra.repeat;
    const replies = r.transcript.filter((e) => e.type === 'in' && e.bytes).map((e) => hex(e.bytes!));
    const verdict: VerdictJson = {
      oracle: v.oracle, detail: v.detail, strategy: c.strategy, confirmed: !extra.unconfirmed, fresh_target: this.target.spawned && !extra.unconfirmed,
      stderr_tail: v.oracle === 'crash' ? (this.target.exited?.stderr ?? this.target.stderrTail()) : this.target.stderrTail(),
      minimized: min ? {
        frames_before: min.framesBefore, frames_after: min.framesAfter, changed_bytes_before: min.bytesBefore,
        changed_bytes_after: min.bytesAfter, runs: min.tests,
      } : null,
      replies: replies.slice(0, 64),
      duplicates: 0,
    };
    saveFailure({
      dir, c: saved, seed: this.opts.seed, target: this.targetText, timeoutMs: this.opts.timeoutMs, maxPayload: this.opts.maxPayload,
      verdict, transcript: r.transcript, memoryThresholdMb: extra.memoryThresholdMb,
    });
    this.reported.set(this.key(c.strategy, v.oracle), rec);
    this.failures.push(rec);
    this.stats(c.strategy).failures++;
    this.trouble(c.strategy, v.oracle);
    this.event(`${id} ${v.oracle} ${c.strategy} (case ${c.seq}): ${v.detail}`);
    return rec;
  }

  /**
   * What makes two failures "the same" across strategies: the oracle and the
   * request opcode it showed on; for crashes the exit and the last stderr line
   * with numbers blanked. At most `maxPerSignature` failures of one signature
   * are saved, the rest count as duplicates of the first.
   */
  private signature(c: FuzzCase, v: Verdict): string {
    if (v.oracle === 'memory') return `memory|${c.strategy}`;
    if (v.oracle === 'crash') {
      const tail = (this.target.exited?.stderr ?? []).filter((l) => /\S/.test(l) && !/^\s*(\d+:|at |Node\.js v)/.test(l)).pop() ?? '';
      return `crash|${v.detail}|${tail.replace(/0x[0-9a-f]+|\d+/gi, '#')}`;
    }
    const op = v.opcode ?? null;
    return `${v.oracle}|${op === null ? '' : (opcodeDef(op)?.name ?? 'unknown opcode')}`;
  }

  /** A confirmed-alone failure: minimise, confirm on a fresh target, save. */
  private async confirmAndReport(c: FuzzCase, v: Verdict): Promise<void> {
    if (this.duplicate(c.strategy, v.oracle)) {
      await this.ensureAlive();
      return;
    }
    const sig = this.signature(c, v);
    const same = this.bySignature.get(sig);
    if (same && same.length >= this.opts.maxPerSignature) {
      same[0]!.duplicates++;
      this.duplicates++;
      this.stats(c.strategy).duplicates++;
      this.trouble(c.strategy, v.oracle);
      await this.ensureAlive();
      return;
    }
    this.phase = `minimising ${v.oracle}`;
    let best = c;
    let min: MinimizeResult | null = null;
    if (this.opts.minimize) {
      min = await minimizeCase(c, (cand) => this.stillFails(cand, v.oracle), {
        tests: this.opts.minimizeRuns, deadline: Date.now() + this.opts.minimizeMs,
      });
      best = min.c;
    }
    this.phase = `confirming ${v.oracle}`;
    let fin = await this.confirmFresh(best, v.oracle);
    if (!fin && best !== c) {
      best = c;
      min = null;
      fin = await this.confirmFresh(c, v.oracle);
    }
    if (!fin) {
      this.unconfirmed++;
      this.event(`unconfirmed ${v.oracle} from ${c.strategy}: did not show again on a fresh target`);
    } else {
      const rec = await this.report(best, fin.v!, fin, min);
      const list = this.bySignature.get(sig);
      if (list) list.push(rec);
      else this.bySignature.set(sig, [rec]);
    }
    this.phase = 'fuzzing';
    await this.ensureAlive();
  }

  /** A suspect from a batch or an isolated run: reproduce it alone first. */
  private async investigate(c: FuzzCase, hint: OracleName, detail = ''): Promise<void> {
    if (hint !== 'hang' && hint !== 'reset' && this.duplicate(c.strategy, hint)) return;
    this.event(`suspect ${hint} ${c.strategy} #${c.seq}: ${c.desc} ${detail}`, 'debug');
    this.phase = `checking a ${hint} suspect`;
    let r = await this.verify(c, { settleMs: 5 });
    if (!r.v && this.target.spawned) {
      await this.restart(`re-checking a ${hint} suspect`);
      r = await this.verify(c, { settleMs: 5 });
    }
    this.phase = 'fuzzing';
    if (!r.v) {
      this.unconfirmed++;
      this.event(`unconfirmed ${hint} suspect from ${c.strategy} (case ${c.seq}): it did not fail alone`, 'debug');
      return;
    }
    if (!this.target.spawned && (r.v.oracle === 'reset' || r.v.oracle === 'hang')) {
      // is it the case, or is the whole target gone?
      const h = await healthCheck(this.opts.host, this.opts.port, this.opts.timeoutMs);
      if (!h.ok) return this.findCulprit('crash', `target stopped answering (${h.detail})`);
    }
    await this.confirmAndReport(c, r.v);
  }

  /**
   * The target died or turned unhealthy: replay the cases since the last good
   * health check in order on a fresh target, probing after each.
   */
  private async findCulprit(kind: 'crash' | 'health', why: string): Promise<void> {
    const suspects = this.recent;
    this.recent = [];
    if (!this.target.spawned) {
      // Without --spawn nothing can be restarted: the run ends, and the last
      // case takes the blame (saved as not confirmed).
      this.event(`${why}: the run stops (without --spawn the target cannot be restarted)`);
      const last = suspects[suspects.length - 1];
      if (last) {
        const v: Verdict = { oracle: kind === 'crash' ? 'reset' : 'health', detail: `${why} after ${last.desc}` };
        await this.report(combineCases([last], this.opts.maxPayload), v, { v, obs: null, transcript: [] }, null, { unconfirmed: true });
      }
      this.stopped = why;
      return;
    }
    this.event(`${why}: replaying ${suspects.length} recent case(s) on a fresh target`);
    this.phase = `finding the ${kind} culprit`;
    await this.restart(why);
    // newest first: the case that broke it is usually among the last ones
    let at = -1;
    let found: Verdict | null = null;
    for (let i = suspects.length - 1; i >= 0; i--) {
      const r = await this.verify(suspects[i]!, { probe: true });
      if (r.v && (r.v.oracle === 'crash' || r.v.oracle === 'health' || r.v.oracle === 'reset')) {
        at = i;
        found = r.v;
        break;
      }
      if (!this.target.alive) await this.ensureAlive();
    }
    this.phase = 'fuzzing';
    if (at < 0 || !found) {
      // maybe only the order matters: the whole run of suspects as one sequence
      if (suspects.length > 1 && suspects.length <= 64) {
        const seq = combineCases(suspects, this.opts.maxPayload);
        await this.restart('checking the suspects as one sequence');
        const again = await this.verify(seq, { settleMs: 20, probe: true });
        if (again.v && (again.v.oracle === 'crash' || again.v.oracle === 'health')) return this.confirmAndReport(seq, again.v);
      }
      this.unconfirmed++;
      this.event(`unconfirmed ${kind}: no replay of the ${suspects.length} suspect(s) reproduced it`);
      await this.ensureAlive();
      return;
    }
    const culprit = suspects[at]!;
    if (this.duplicate(culprit.strategy, found.oracle)) {
      await this.ensureAlive();
      return;
    }
    // confirmAndReport minimises and confirms it alone on a fresh target
    await this.confirmAndReport(culprit, found);
  }

  // ---- memory ----------------------------------------------------------------------------

  /** Repeats a case on a fresh target and measures the RSS growth. */
  async probeMemory(c: FuzzCase, thresholdMb: number, maxReps: number, maxMs: number): Promise<{ grew: boolean; growthMb: number; reps: number; baseMb: number; afterMb: number }> {
    await this.restart('measuring memory');
    await sleep(300);
    const low = async () => {
      let m = Infinity;
      for (let i = 0; i < 3; i++) {
        m = Math.min(m, this.target.rss() ?? Infinity);
        await sleep(50);
      }
      return m;
    };
    const base = await low();
    const t0 = Date.now();
    let reps = 0;
    while (reps < maxReps && Date.now() - t0 < maxMs && this.target.alive) {
      await runCase(c, { host: this.opts.host, port: this.opts.port, timeoutMs: this.opts.timeoutMs, maxPayload: this.opts.maxPayload });
      reps++;
      if (reps % 10 === 0) {
        const grown = (this.target.rss() ?? 0) - base;
        if (grown >= thresholdMb * 1.5 * MB) break;
        // nothing to speak of after 40 runs: not this one (a leak that slow is left to longer probes)
        if (reps >= 40 && reps < maxReps && grown < thresholdMb * 0.1 * MB && maxReps <= 200) break;
      }
    }
    await sleep(200);
    const after = await low();
    const growth = (after - base) / MB;
    return { grew: this.target.alive && growth >= thresholdMb, growthMb: growth, reps, baseMb: base / MB, afterMb: after / MB };
  }

  private async checkMemory(): Promise<void> {
    if (!this.mem || !this.opts.memory) return;
    const rule = this.opts.memory;
    const flag = this.mem.check();
    const leaky = this.credit.suspects(rule.thresholdMb).filter((s) => !this.reported.has(this.key(s, 'memory')));
    if (!flag && leaky.length === 0) return;
    this.phase = 'attributing memory growth';
    const why = flag ? flag.detail : `resident memory kept growing after the cases of ${leaky.slice(0, 3).join(', ')}`;
    this.event(`memory: ${why}`);
    const ranked = this.credit.ranking().map(([s]) => s).filter((s) => !this.reported.has(this.key(s, 'memory')));
    const candidates = [...new Set([...leaky, ...ranked])].filter((s) => (this.memoryProbes.get(s) ?? 0) < 2).slice(0, 3);
    let done = false;
    for (const s of candidates) {
      const recorded = this.lastCases.get(s) ?? [];
      if (recorded.length === 0) continue;
      this.memoryProbes.set(s, (this.memoryProbes.get(s) ?? 0) + 1);
      // one recorded case alone; if that does not do it, the recorded cases in turn
      let c = recorded[0]!;
      let best = await this.probeMemory(c, rule.thresholdMb, 200, 2000);
      if (!best.grew && recorded.length > 1) {
        c = combineCases(recorded, this.opts.maxPayload);
        best = await this.probeMemory(c, rule.thresholdMb, 200, 2000);
      }
      this.credit.forget(s);
      if (!best.grew) continue;
      const reps = Math.min(4000, Math.max(best.reps, Math.ceil(best.reps * 1.5)));
      const detail = `resident memory grew ${best.baseMb.toFixed(1)} → ${best.afterMb.toFixed(1)} MB (+${best.growthMb.toFixed(1)} MB) `
        + `over ${best.reps} runs of ${c === recorded[0] ? `one ${s} case` : `${recorded.length} ${s} cases in turn`} alone on a fresh target`
        + `${flag ? ` (noticed during the run: ${flag.detail})` : ''}`;
      const v: Verdict = { oracle: 'memory', detail };
      // record one run of the case for the pcap
      const r = await this.verify(c, { record: true });
      await this.report(c, v, { v, obs: r.obs, transcript: r.transcript }, null, { repeat: reps, memoryThresholdMb: rule.thresholdMb });
      // what others shared with the leaker is stale now
      this.credit.clear();
      done = true;
      break;
    }
    if (!done) {
      this.unconfirmed++;
      this.event('unconfirmed memory growth: no single strategy reproduced it');
    }
    await this.restart('freeing the memory');
    this.phase = 'fuzzing';
  }

  // ---- the run ----------------------------------------------------------------------------

  private note(c: FuzzCase): void {
    this.casesRun++;
    c.seq = this.casesRun;
    this.stats(c.strategy).cases++;
    this.current = c.strategy;
    this.recent.push(c);
    if (this.mem) {
      let l = this.lastCases.get(c.strategy);
      if (!l) this.lastCases.set(c.strategy, (l = []));
      if (l.length < 4) l.push(c);
    }
  }

  private async health(): Promise<boolean> {
    const h = await healthCheck(this.opts.host, this.opts.port, this.opts.timeoutMs);
    this.lastHealthAt = nowMs();
    this.casesSinceHealth = 0;
    if (h.ok) {
      this.recent = this.recent.slice(-8);
      return true;
    }
    if (this.target.spawned && (this.target.exited || (await this.target.waitExit(300)))) {
      await this.findCulprit('crash', `target ${this.target.exited!.text}`);
    } else await this.findCulprit('health', h.detail);
    return false;
  }

  private async targetDown(): Promise<void> {
    const ex = this.target.exited;
    await this.findCulprit('crash', ex ? `target ${ex.text}` : 'target stopped accepting connections');
  }

  async run(): Promise<FuzzReport> {
    this.started = nowMs();
    const lag = process.env.VVMP_FUZZ_DEBUG ? monitorEventLoopDelay({ resolution: 10 }) : null;
    lag?.enable();
    if (this.target.spawned) await this.target.start();
    this.startMemory();
    this.lastHealthAt = nowMs();
    try {
      while (this.budgetLeft()) {
        if (this.target.spawned && !this.target.alive) await this.targetDown();
        const batch: FuzzCase[] = [];
        while (batch.length < this.opts.batch) {
          if (this.opts.maxCases !== null && this.casesRun + batch.length >= this.opts.maxCases) break;
          const c = this.sched.next();
          if (!c) break;
          batch.push(c);
        }
        if (batch.length === 0) break;
        const lane: Record<Transport, LaneItem[]> = { tcp: [], udp: [] };
        const isolated: FuzzCase[] = [];
        for (const c of batch) {
          const ex = caseExpectations(c, this.opts.maxPayload);
          if (ex.pipelinable) lane[c.conns[0]!].push({ c, exp: ex.perStep[0]![0]! });
          else isolated.push(c);
        }
        // pipelined: TCP and UDP lanes side by side
        for (const it of [...lane.tcp, ...lane.udp]) this.note(it.c);
        this.pristine = false;
        const before = this.rss();
        const [rt, ru] = await Promise.all([this.lanes.tcp.run(lane.tcp), this.lanes.udp.run(lane.udp)]);
        const after = this.rss();
        if (before !== null && after !== null) this.credit.add([...lane.tcp, ...lane.udp].map((x) => x.c.strategy), after - before);
        this.orphans += rt.orphans + ru.orphans;
        this.casesSinceHealth += lane.tcp.length + lane.udp.length;
        if (this.target.spawned && (this.target.exited || ((rt.broken || ru.broken) && (await this.target.waitExit(300))))) {
          await this.targetDown();
        } else {
          const suspects: Suspect[] = [...rt.suspects, ...ru.suspects];
          for (const c of [...rt.rerun, ...ru.rerun]) {
            c.rerun = true;
            isolated.unshift(c);
          }
          if (!this.target.spawned && (rt.broken || ru.broken) && suspects.length > 8) {
            const h = await healthCheck(this.opts.host, this.opts.port, this.opts.timeoutMs);
            if (!h.ok) await this.findCulprit('crash', `target stopped answering (${h.detail})`);
          }
          for (const s of suspects) {
            if (this.stopped) break;
            await this.investigate(s.c, s.hint, s.detail);
          }
        }
        // isolated cases: up to `isolatedParallel` at a time on their own connections;
        // transport abuse (health-checked cases) alone
        for (let k = 0; k < isolated.length && this.budgetLeft();) {
          const group: FuzzCase[] = [];
          while (k < isolated.length && group.length < ISOLATED_PARALLEL) {
            const c = isolated[k]!;
            if (c.health && group.length > 0) break;
            group.push(c);
            k++;
            if (c.health) break;
          }
          if (this.target.spawned && !this.target.alive) await this.targetDown();
          for (const c of group) if (!c.rerun) this.note(c);
          this.casesSinceHealth += group.length;
          this.pristine = false;
          const rb = this.rss();
          const runs = await Promise.all(group.map((c) => runCase(c, {
            host: this.opts.host, port: this.opts.port, timeoutMs: this.opts.timeoutMs, maxPayload: this.opts.maxPayload,
          })));
          const ra = this.rss();
          if (rb !== null && ra !== null) this.credit.add(group.map((c) => c.strategy), ra - rb);
          if (this.target.spawned && this.target.exited) {
            await this.targetDown();
            continue;
          }
          for (let g = 0; g < group.length && !this.stopped; g++) {
            const c = group[g]!;
            const v = judge(c, runs[g]!, this.opts.timeoutMs);
            if (v) {
              const broke = v.oracle === 'reset';
              if (broke && this.target.spawned && (await this.target.waitExit(300))) {
                await this.targetDown();
                break;
              }
              if (broke && !this.target.spawned) {
                const h = await healthCheck(this.opts.host, this.opts.port, this.opts.timeoutMs);
                if (!h.ok) {
                  await this.findCulprit('crash', `target stopped answering (${h.detail})`);
                  break;
                }
              }
              await this.investigate(c, v.oracle);
            }
            if (c.health) await this.health();
          }
        }
        if (this.stopped) break;
        if (this.casesSinceHealth >= this.opts.healthEvery || nowMs() - this.lastHealthAt >= this.opts.healthMs) await this.health();
        await this.checkMemory();
      }
    } finally {
      this.lanes.tcp.close();
      this.lanes.udp.close();
      if (this.memTimer) clearInterval(this.memTimer);
      if (this.target.spawned) await this.target.stop('SIGTERM');
    }
    if (lag) this.event(`event loop delay: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`, 'debug');
    if (this.mem) this.event(`memory: ${this.mem.samples} samples, peak ${(this.mem.peak / MB).toFixed(0)} MB; low-water marks since the last start (MB): ${this.mem.lowWater().map((x) => (x / MB).toFixed(0)).join(' ')}`, 'debug');
    const durationS = (nowMs() - this.started) / 1000;
    const byOracle = emptyByOracle();
    for (const f of this.failures) byOracle[f.oracle]++;
    return {
      seed: this.opts.seed,
      cases: this.casesRun,
      durationS,
      casesPerS: durationS > 0 ? this.casesRun / durationS : 0,
      byOracle,
      failures: this.failures,
      unconfirmed: this.unconfirmed,
      duplicates: this.duplicates,
      restarts: this.target.restarts,
      orphans: this.orphans,
      retired: this.sched.strategies.map((s) => s.name).filter((n) => this.sched.isRetired(n)),
      byStrategy: this.byStrategy,
      housekeeping: this.lanes.tcp.housekeepingFrees + this.lanes.udp.housekeepingFrees,
    };
  }

  /** Runs one saved case (vvmp fuzz --reproduce). */
  async reproduceCase(c: FuzzCase, oracle: OracleName, memoryThresholdMb: number | undefined): Promise<Verdict | null> {
    if (this.target.spawned) await this.target.start();
    try {
      if (oracle === 'memory') {
        const p = await this.probeMemory(c, memoryThresholdMb ?? 64, c.repeat ?? 200, 30_000);
        return p.grew
          ? { oracle: 'memory', detail: `resident memory grew ${p.baseMb.toFixed(1)} → ${p.afterMb.toFixed(1)} MB (+${p.growthMb.toFixed(1)} MB) over ${p.reps} runs` }
          : null;
      }
      const r = await this.verify(c, { settleMs: 100, probe: oracle === 'crash' || oracle === 'health' || !!c.health });
      return r.v;
    } finally {
      if (this.target.spawned) await this.target.stop('SIGTERM');
    }
  }
}
