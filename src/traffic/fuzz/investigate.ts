// From a suspect to a bug: run the case alone, check that the baseline
// exchange still works (no failure is blamed on a mutation while the target
// answers nothing at all), tell a per-connection hang from a whole-server
// one, match the failure against the known bugs (counted, trigger retired,
// no minimisation), otherwise minimise it (drop frames, then fields), take
// its cause signature from the minimised case, confirm it on a freshly
// restarted target and save it: one directory per bug.
//
// When the target died or stopped answering, the culprit is looked for among
// the cases since the last good baseline check: first by the known crash
// bugs' triggers (no replay), then by replaying them newest first on a fresh
// target.

import { join } from 'node:path';
import { cloneCase, type FuzzCase } from './cases.js';
import type { Observation, TranscriptEvent } from './exec.js';
import { hex } from './frames.js';
import type { Baseline } from './baseline.js';
import { minimizeCase, type MinimizeResult } from './minimize.js';
import type { FuzzOptions } from './options.js';
import type { OracleName, Verdict } from './oracle.js';
import { BugRegistry, caseSize, describeCause, signatureOf, type Bug, type Cause } from './registry.js';
import { failureId, nextFailureNumber, saveFailure, type VerdictJson } from './store.js';
import type { Target } from './target.js';
import { caseTriggers, isSubsequence } from './triggers.js';

export interface VerifyResult {
  v: Verdict | null;
  obs: Observation | null;
  transcript: TranscriptEvent[];
}

export interface VerifyOptions {
  record?: boolean;
  settleMs?: number;
  /** Check the baseline exchange after the case. */
  probe?: boolean;
}

/** What the investigation needs from the run. */
export interface Runner {
  readonly opts: FuzzOptions;
  readonly target: Target;
  readonly baseline: Baseline;
  phase: string;
  /** True when nothing was sent since the last (re)start. */
  readonly pristine: boolean;
  verify(c: FuzzCase, o?: VerifyOptions): Promise<VerifyResult>;
  restart(why: string): Promise<void>;
  ensureAlive(): Promise<void>;
  event(line: string, level?: 'info' | 'debug'): void;
  /** Ends the run with a one-line error (exit 1). */
  fatal(message: string): void;
  retireStrategy(name: string): void;
  /** A state-model walk from `state` re-triggers a known crash: walk from elsewhere. */
  avoidState(state: string): void;
}

/** The cause of a verdict: oracle plus exit, hang scope or wrong reply field. */
export function causeOf(v: Verdict, stderr: readonly string[] = []): Cause {
  if (v.oracle === 'crash') {
    const said = lastWords(stderr);
    return { oracle: v.oracle, qualifier: v.detail.replace(/^target (exited with )?/, ''), ...(said ? { words: said } : {}) };
  }
  if (v.oracle === 'hang') return { oracle: v.oracle, qualifier: v.scope ?? 'per-connection' };
  if (v.oracle === 'wrong_reply') return { oracle: v.oracle, qualifier: `wrong ${v.replyField ?? 'reply'}` };
  return { oracle: v.oracle, qualifier: '' };
}

/**
 * The last thing a crashed target said on stderr, numbers blanked (`#`): what
 * tells one crash from another with the same exit. Stack frames, the Node.js
 * version line and source excerpts are not it.
 */
export function lastWords(stderr: readonly string[]): string {
  const lines = stderr.filter((l) => /\S/.test(l) && !/^\s*(at |\^|Node\.js v|file:|\d+ \||\d+: )/.test(l) && !/^\s{2,}/.test(l));
  const last = lines.pop() ?? '';
  return last.replace(/0x[0-9a-f]+|\d+/gi, '#').trim().slice(0, 160);
}

/** Suspects without a valid frame behind them replayed to pin a known crash that no case names. */
const PIN_REPLAYS = 8;

/** Oracles whose failures cost a restart: the target is left unusable. */
const COSTLY: ReadonlySet<OracleName> = new Set(['crash', 'health', 'memory']);

export class Investigator {
  readonly registry = new BugRegistry();
  unconfirmed = 0;
  /** Failures counted on a bug already known. */
  duplicates = 0;
  private nextNo: number;

  constructor(private readonly run: Runner) {
    this.nextNo = nextFailureNumber(run.opts.outDir);
  }

  /** The cause of a verdict; a crash names what the target said last. */
  cause(v: Verdict): Cause {
    return causeOf(v, v.oracle === 'crash' ? (this.run.target.exited?.said ?? this.run.target.stderrSinceReady()) : []);
  }

  get bugs(): readonly Bug[] {
    return this.registry.bugs;
  }

  private get opts(): FuzzOptions {
    return this.run.opts;
  }

  /** A known bug: counted, its trigger retired. True when it was one. */
  known(c: FuzzCase, v: Verdict): boolean {
    const b = this.registry.match(this.cause(v), c);
    if (!b) return false;
    this.registry.count(b, c);
    this.duplicates++;
    this.run.event(`${b.id} again (${b.count}×): ${c.strategy} #${c.seq}`, 'debug');
    if (b.fields.length === 0 && (v.oracle === 'crash' || v.oracle === 'hang' || v.oracle === 'memory')) this.run.retireStrategy(c.strategy);
    return true;
  }

  /** Hang scope: a fresh connection still served (per-connection) or not (whole server). */
  private async scope(v: Verdict): Promise<Verdict> {
    if (v.oracle !== 'hang') return v;
    const p = await this.run.baseline.probe();
    return { ...v, scope: p.ok ? 'per-connection' : 'whole server', detail: `${v.detail}; ${p.ok ? 'a fresh connection is still served (per-connection hang)' : `the whole server stopped answering (${p.detail})`}` };
  }

  /** A suspect from a batch or an isolated run: run it alone first. */
  async investigate(c: FuzzCase, hint: OracleName, detail = ''): Promise<void> {
    this.run.event(`suspect ${hint} ${c.strategy} #${c.seq}: ${c.desc} ${detail}`, 'debug');
    // it changes what a known bug's trigger changes: counted there, not run again
    const again = this.registry.matchByTrigger(c);
    if (again) {
      this.registry.count(again, c);
      this.duplicates++;
      return;
    }
    this.run.phase = `checking a ${hint} suspect`;
    let r = await this.run.verify(c, { settleMs: 5 });
    // a failure that needs the target's earlier state: once more on a fresh one (a late reply in a busy batch is not worth a restart)
    if (!r.v && this.run.target.spawned && hint === 'reset') {
      await this.run.restart(`re-checking a ${hint} suspect`);
      r = await this.run.verify(c, { settleMs: 5 });
    }
    this.run.phase = 'fuzzing';
    if (!r.v) {
      this.unconfirmed++;
      this.run.event(`unconfirmed ${hint} suspect from ${c.strategy} (case ${c.seq}): it did not fail alone`, 'debug');
      return;
    }
    let v = r.v;
    if (v.oracle === 'reset' || v.oracle === 'hang') {
      // is it the case, or does the target answer nothing any more?
      const p = await this.run.baseline.probe();
      if (!p.ok && !this.run.target.spawned) {
        this.run.fatal(`no VVMP reply from ${this.opts.host}:${this.opts.port} in ${Math.ceil(this.run.baseline.replyDeadlineMs() / 1000)} s after case ${c.seq} (${c.strategy}); without --spawn it cannot be restarted to tell whether that case did it`);
        return;
      }
      if (v.oracle === 'hang') v = { ...v, scope: p.ok ? 'per-connection' : 'whole server', detail: `${v.detail}; ${p.ok ? 'a fresh connection is still served (per-connection hang)' : 'the whole server stopped answering'}` };
      else if (!p.ok) {
        if (this.run.target.spawned && !this.run.target.exited) await this.run.target.waitExit(300);
        if (this.run.target.exited) v = { oracle: 'crash', detail: `target ${this.run.target.exited.text}` };
        else v = { ...v, oracle: 'hang', scope: 'whole server', detail: `${v.detail}; the whole server stopped answering` };
      }
    }
    await this.failure(c, v);
  }

  /**
   * The target died or stopped answering: find the case that did it among
   * `suspects` (oldest first). True when a case was pinned (a known crash's
   * carrier, or a replay that failed again).
   */
  async findCulprit(kind: 'crash' | 'health', why: string, suspects: FuzzCase[], first: FuzzCase[] = []): Promise<boolean> {
    const ex = this.run.target.exited;
    const exitCause: Cause | null = kind === 'crash' && ex
      ? causeOf({ oracle: 'crash', detail: `target ${ex.text}` }, ex.said ?? []) : null;
    // a known crash (same exit, same last words): counted without a replay; the
    // recent case that carries its trigger fields has them retired
    const known = exitCause ? this.registry.match(exitCause, suspects[suspects.length - 1] ?? { seq: 0, strategy: '', desc: '', conns: [], steps: [] }) : null;
    if (known) {
      // the recent case that carries its trigger fields, else one that changes the same opcode
      const carrier = [...suspects].reverse().find((c) => known.fields.length > 0 && known.fields.every((f) => caseTriggers(c).fields.includes(f)))
        ?? (known.opcode ? [...suspects].reverse().find((c) => caseTriggers(c).keys.some((k) => k.slice(k.indexOf(':') + 1).startsWith(`${known.opcode}|`))) : undefined);
      if (carrier) this.registry.count(known, carrier);
      else known.count++;
      const seqCarrier = known.sequence.length ? [...suspects].reverse().find((c) => isSubsequence(known.sequence, caseTriggers(c).sequence)) : undefined;
      if (seqCarrier) this.run.retireStrategy(seqCarrier.strategy);
      this.duplicates++;
      this.run.event(`${known.id} again (${known.count}×)${carrier ? `: ${carrier.strategy} #${carrier.seq}` : ''}`, 'debug');
      await this.run.restart(why);
      if (carrier || seqCarrier) return true;
      // no case names its trigger: one without a valid frame behind it (random
      // bytes, a sequence) is the likely culprit; replayed alone, the one that
      // makes the same crash has its strategy retired (it would only find this one again)
      return this.pinBaseless(known, suspects);
    }
    if (!this.run.target.spawned) {
      const last = suspects[suspects.length - 1];
      this.run.fatal(`no VVMP reply from ${this.opts.host}:${this.opts.port} in ${Math.ceil(this.run.baseline.replyDeadlineMs() / 1000)} s${last ? ` after case ${last.seq} (${last.strategy})` : ''}; without --spawn it cannot be restarted to tell which case did it`);
      this.unconfirmed++;
      return false;
    }
    this.run.event(`${why}: replaying ${suspects.length} recent case(s) on a fresh target`, 'debug');
    this.run.phase = `finding the ${kind} culprit`;
    await this.run.restart(why);
    const order = [...first.filter((c) => suspects.includes(c)), ...[...suspects].reverse().filter((c) => !first.includes(c))];
    let found: { c: FuzzCase; v: Verdict } | null = null;
    let tried = 0;
    const t0 = Date.now();
    const breaks = (v: Verdict | null) => !!v && (v.oracle === 'crash' || v.oracle === 'health' || v.oracle === 'reset' || (v.oracle === 'hang' && v.scope === 'whole server'));
    let prev: FuzzCase | null = null;
    for (const c of order) {
      tried++;
      const r = await this.run.verify(c, { probe: true });
      if (breaks(r.v)) {
        found = { c, v: r.v! };
        // a target can die a little after the case that killed it (an error
        // thrown later in its event loop): the case before may be the one
        if (prev && this.run.target.spawned) {
          await this.run.restart('checking the culprit alone');
          const again = await this.run.verify(c, { probe: true, settleMs: 100 });
          if (!breaks(again.v)) {
            await this.run.restart('checking the case before it');
            const before = await this.run.verify(prev, { probe: true, settleMs: 100 });
            if (breaks(before.v)) found = { c: prev, v: before.v! };
          }
        }
        break;
      }
      prev = c;
      if (!this.run.target.alive || (r.v && r.v.oracle === 'hang')) await this.run.restart('continuing the culprit search');
    }
    this.run.phase = 'fuzzing';
    this.run.event(`culprit search: ${found ? `case ${found.c.seq} (${found.v.oracle})` : 'nothing'} after ${tried} replay(s) in ${Date.now() - t0} ms (${first.length} likely first)`, 'debug');
    if (!found) {
      this.unconfirmed++;
      this.run.event(`unconfirmed ${kind}: no replay of the ${suspects.length} suspect(s) reproduced it`, 'debug');
      await this.run.ensureAlive();
      return false;
    }
    await this.failure(found.c, found.v);
    return true;
  }

  /** Replays the newest few suspects that have no valid frame behind them; retires the strategy of one that crashes the same way. */
  private async pinBaseless(known: Bug, suspects: FuzzCase[]): Promise<boolean> {
    const baseless = [...suspects].reverse().filter((c) => c.steps.every((st) => !st.base)).slice(0, PIN_REPLAYS);
    for (const c of baseless) {
      const r = await this.run.verify(c, { settleMs: 20 });
      const ex = this.run.target.exited;
      if (!ex) continue;
      const same = r.v?.oracle === 'crash' && this.registry.match(causeOf({ oracle: 'crash', detail: `target ${ex.text}` }, ex.said ?? []), c) === known;
      await this.run.restart('after a replay that crashed');
      if (same) {
        this.run.event(`${known.id} again: ${c.strategy} #${c.seq} replayed alone`, 'debug');
        // a walk is as good as the state it starts from: that state is avoided, the walks go on
        if (c.from !== undefined) this.run.avoidState(c.from);
        else this.run.retireStrategy(c.strategy);
        return true;
      }
    }
    return false;
  }

  /** A failure that showed alone: count it on a known bug, or minimise, confirm and save a new one. */
  async failure(c: FuzzCase, v: Verdict): Promise<void> {
    if (this.known(c, v)) {
      if (COSTLY.has(v.oracle) || v.scope === 'whole server') await this.run.restart('after a known failure');
      await this.run.ensureAlive();
      return;
    }
    const oracle = v.oracle;
    const cause = this.cause(v);
    this.run.phase = `minimising ${oracle}`;
    let best = c;
    let min: MinimizeResult | null = null;
    // a first-pass case makes one change already: the only thing to take away
    // is that change (a bug of the opcode itself must not be pinned on a field)
    if (c.change && this.opts.minimize) {
      const plain = cloneCase(c);
      for (const s of plain.steps) if (s.base) s.frame = Buffer.from(s.base);
      if (await this.stillFails(plain, cause)) best = plain;
    }
    if (this.opts.minimize && (!c.change || c.steps.filter((s) => !s.cleanup).length > 1)) {
      min = await minimizeCase(best, (cand) => this.stillFails(cand, cause), {
        tests: this.opts.minimizeRuns, deadline: Date.now() + this.opts.minimizeMs,
      });
      best = min.c;
    }
    const sig = signatureOf(cause, caseTriggers(best), c.strategy);
    const same = oracle === 'crash' ? this.registry.match(cause, best) : this.registry.bySignature(sig);
    if (same) {
      this.registry.count(same, c);
      this.registry.retire(same, best);
      this.duplicates++;
      this.run.phase = 'fuzzing';
      if (COSTLY.has(oracle)) await this.run.restart('after a known failure');
      await this.run.ensureAlive();
      return;
    }
    this.run.phase = `confirming ${oracle}`;
    let fin = await this.confirmFresh(best, cause);
    if (!fin && best !== c) {
      best = c;
      min = null;
      fin = await this.confirmFresh(c, cause);
    }
    this.run.phase = 'fuzzing';
    if (!fin) {
      this.unconfirmed++;
      this.run.event(`unconfirmed ${oracle} from ${c.strategy}: did not show again on a fresh target`);
    } else {
      const t = caseTriggers(best);
      const bug = this.save(best, fin.v!, fin, min, { signature: signatureOf(cause, t, c.strategy), cause, fields: t.fields, sequence: t.fields.length ? [] : t.sequence });
      this.registry.retire(bug, best);
      this.registry.retire(bug, c);
      if (t.fields.length === 0 && (oracle === 'crash' || oracle === 'hang')) this.run.retireStrategy(c.strategy);
    }
    if (COSTLY.has(oracle) || v.scope === 'whole server') await this.run.restart('after a failure');
    await this.run.ensureAlive();
  }

  private async stillFails(c: FuzzCase, cause: Cause): Promise<boolean> {
    // a broken target stays broken: judge each candidate on a fresh one
    const heavy = cause.oracle === 'health' || cause.oracle === 'crash' || cause.qualifier === 'whole server';
    // a dead target is restarted; one whose state may be poisoned (health, whole-server hang) too
    const poisoned = cause.oracle === 'health' || cause.qualifier === 'whole server';
    if (this.run.target.spawned && (!this.run.target.alive || (poisoned && !this.run.pristine))) await this.run.restart(`minimising a ${cause.oracle} failure`);
    const r = await this.run.verify(c, { settleMs: cause.oracle === 'crash' ? 20 : 0, probe: heavy || cause.oracle === 'hang' });
    if (!r.v) return false;
    const v = cause.oracle === 'hang' ? await this.scope(r.v) : r.v;
    const got = this.cause(v);
    return got.oracle === cause.oracle && got.qualifier === cause.qualifier;
  }

  async confirmFresh(c: FuzzCase, cause: Cause): Promise<VerifyResult | null> {
    if (this.run.target.spawned && (!this.run.pristine || !this.run.target.alive)) await this.run.restart('confirming a failure on a fresh target');
    const heavy = cause.oracle === 'crash' || cause.oracle === 'health';
    const r = await this.run.verify(c, { record: true, settleMs: 100, probe: heavy });
    if (!r.v) {
      this.run.event(`confirmation of ${cause.oracle} showed nothing`, 'debug');
      return null;
    }
    const v = cause.oracle === 'hang' ? await this.scope(r.v) : r.v;
    const got = this.cause(v);
    if (got.oracle !== cause.oracle || got.qualifier !== cause.qualifier) {
      this.run.event(`confirmation showed ${got.oracle} (${got.qualifier}) instead of ${cause.oracle} (${cause.qualifier}): ${v.detail}`, 'debug');
      return null;
    }
    return { ...r, v };
  }

  /** Writes the failure directory of a new bug and registers it. */
  save(c: FuzzCase, v: Verdict, r: VerifyResult, min: MinimizeResult | null,
    how: { signature: string; cause: Cause; fields: string[]; sequence: string[]; repeat?: number; memoryThresholdMb?: number }): Bug {
    const id = failureId(this.nextNo++);
    const dir = join(this.opts.outDir, id);
    const saved = cloneCase(c);
    if (how.repeat) saved.repeat = how.repeat;
    const bug: Bug = {
      id, signature: how.signature, cause: how.cause, fields: how.fields, sequence: how.sequence, kind: c.strategy,
      opcode: caseTriggers(c).keys[0]?.replace(/^[^:]*:/, '').split('|')[0],
      count: 1, size: caseSize(c), detail: v.detail, strategy: c.strategy, dir,
    };
    const verdict: VerdictJson = {
      oracle: v.oracle, detail: v.detail, strategy: c.strategy, confirmed: true, fresh_target: this.run.target.spawned,
      stderr_tail: v.oracle === 'crash' ? (this.run.target.exited?.stderr ?? this.run.target.stderrTail()) : this.run.target.stderrTail(),
      minimized: min ? {
        frames_before: min.framesBefore, frames_after: min.framesAfter, changed_bytes_before: min.bytesBefore,
        changed_bytes_after: min.bytesAfter, runs: min.tests,
      } : null,
      replies: r.transcript.filter((e) => e.type === 'in' && e.bytes).map((e) => hex(e.bytes!)).slice(0, 64),
      duplicates: 0,
      signature: how.signature,
      cause: describeCause(bug),
    };
    saveFailure({
      dir, c: saved, seed: this.opts.seed, target: `${this.opts.host}:${this.opts.port}`, timeoutMs: this.run.baseline.replyDeadlineMs(),
      maxPayload: this.opts.maxPayload, verdict, transcript: r.transcript, memoryThresholdMb: how.memoryThresholdMb,
      transport: this.opts.transport, spawn: this.opts.spawn,
    });
    this.registry.add(bug);
    this.run.event(`${id} ${describeCause(bug)}: ${v.detail} (${c.strategy}, case ${c.seq})`);
    return bug;
  }
}
