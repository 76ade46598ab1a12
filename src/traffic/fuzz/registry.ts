// Bugs, not cases. A failure's cause signature is its oracle, the scope of a
// hang (one connection / the whole server), which reply field was wrong
// (wrong_reply), and its trigger taken from the minimised case: the changed
// fields (triggers.ts), or the opcode sequence of a stateful case. A crash is
// known by its exit (code or signal) and the last thing the target said on
// stderr, numbers blanked, whatever triggered it: one crash site, one bug. Every failure with a known signature is
// counted on its bug instead of being reported again; the smallest case seen
// is kept.
//
// Confirmed triggers are retired: the scheduler skips cases that change a
// field to a value (in an opcode) that already triggered a bug, so a bug that
// fires often does not drown the others. A value that makes the same crash or
// hang in a second opcode (not merely over the other transport) is retired in
// every opcode; a payload size change never leaves its opcode.

import type { FuzzCase } from './cases.js';
import type { OracleName } from './oracle.js';
import { caseTriggers, isSubsequence, type Triggers } from './triggers.js';

export interface Cause {
  oracle: OracleName;
  /** `code 70`, `signal SIGSEGV` (crash); `per-connection` / `whole server` (hang); reply field (wrong_reply). */
  qualifier: string;
  /** Crash: the last thing the target said on stderr, numbers blanked (may be lost when stderr races the exit). */
  words?: string;
}

export interface Bug {
  /** Failure directory id of the bug (its smallest confirmed case). */
  id: string;
  signature: string;
  cause: Cause;
  /** Trigger fields (sorted), empty for a sequence bug. */
  fields: string[];
  /** Opcode sequence of a sequence bug (minimised). */
  sequence: string[];
  /** Opcode of the valid frame the trigger case was made from, when it has one. */
  opcode?: string;
  /** Strategy of a memory bug (the case kind that grew the target). */
  kind: string;
  /** Failures of this bug seen in the run (the first included). */
  count: number;
  /** Steps and changed fields of the smallest case. */
  size: number;
  detail: string;
  strategy: string;
  dir: string;
}

export function describeCause(b: Pick<Bug, 'cause' | 'fields' | 'sequence' | 'kind'>): string {
  const what = b.cause.oracle === 'memory' ? `${b.kind} cases`
    : b.fields.length ? b.fields.join(' + ') : b.sequence.length ? b.sequence.join(' > ') : 'the case as a whole';
  const q = [b.cause.qualifier, b.cause.words].filter(Boolean).join(': ');
  return `${b.cause.oracle}${q ? ` (${q})` : ''} on ${what}`;
}

export function signatureOf(cause: Cause, t: Triggers, kind: string): string {
  if (cause.oracle === 'memory') return `memory|${kind}`;
  if (cause.oracle === 'crash') return `crash|${cause.qualifier}|${cause.words ?? ''}`;
  const trig = t.fields.length ? `fields:${t.fields.join(',')}` : `seq:${t.sequence.join('>')}`;
  return `${cause.oracle}|${cause.qualifier}|${trig}`;
}

/** Number of things a case sends or changes: what "smallest" compares. */
export function caseSize(c: FuzzCase): number {
  const t = caseTriggers(c);
  return c.steps.filter((s) => !s.cleanup).length * 100 + t.keys.length;
}

/** Trigger fields whose value means something different in each opcode (`size-4` of Announce is not `size-4` of Initialize). */
const OPCODE_RELATIVE: ReadonlySet<string> = new Set(['size']);

/** `tcp:Query|vvmp.dst_san=0x800000` → `Query`. */
function opcodeOf(key: string): string {
  return key.slice(key.indexOf(':') + 1, key.indexOf('|'));
}

/** `tcp:Query|vvmp.dst_san=0x800000` → `vvmp.dst_san`. */
function fieldOf(key: string): string {
  const fv = key.slice(key.indexOf('|') + 1);
  return fv.slice(0, fv.indexOf('='));
}

export class BugRegistry {
  readonly bugs: Bug[] = [];
  private readonly retiredKeys = new Set<string>();
  /** `field=value` retired in every opcode. */
  private readonly retiredEverywhere = new Set<string>();
  /** Per `field=value`: the bug it triggered and the opcodes it did so in. */
  private readonly keyBug = new Map<string, { bug: Bug; opcodes: Set<string> }>();
  /** Fields retired in every opcode and value (a costly bug on a range of values). */
  private readonly retiredFields = new Set<string>();
  /** `opcode|field` retired for every value in that opcode only (a payload size is the opcode's own). */
  private readonly retiredFieldIn = new Set<string>();

  /** The known bug this failure is another instance of, if any. */
  match(cause: Cause, c: FuzzCase): Bug | null {
    const t = caseTriggers(c);
    for (const b of this.bugs) {
      if (b.cause.oracle !== cause.oracle) continue;
      if (b.cause.oracle === 'memory') {
        if (b.kind === c.strategy) return b;
        continue;
      }
      if (b.cause.qualifier !== cause.qualifier) continue;
      // a crash is known by its exit and last words, whatever triggered it
      if (b.cause.oracle === 'crash') {
        if (!b.cause.words || !cause.words || b.cause.words === cause.words) return b;
        continue;
      }
      if (b.fields.length) {
        if (b.fields.every((f) => t.fields.includes(f))) return b;
      } else if (b.sequence.length && t.fields.length === 0 && isSubsequence(b.sequence, t.sequence)) return b;
    }
    return null;
  }

  /**
   * A bug (not a crash, memory or health one) whose trigger fields the case
   * changes too, in the same opcode: the case most likely shows that bug again.
   */
  matchByTrigger(c: FuzzCase): Bug | null {
    if (!c.steps.some((s) => s.base)) return null;
    const t = caseTriggers(c);
    for (const b of this.bugs) {
      if (b.cause.oracle === 'crash' || b.cause.oracle === 'memory' || b.cause.oracle === 'health' || b.fields.length === 0) continue;
      if (b.fields.every((f) => t.fields.includes(f)) && this.keysRetired(t.keys)) return b;
    }
    return null;
  }

  add(b: Bug): void {
    this.bugs.push(b);
  }

  bySignature(sig: string): Bug | undefined {
    return this.bugs.find((b) => b.signature === sig);
  }

  /** Counts one more failure of `b` (case `c`) and retires what triggered it. */
  count(b: Bug, c: FuzzCase): void {
    b.count++;
    this.retire(b, c);
    // a crash or hang that keeps coming back through other values of its one
    // field costs a restart or a timeout each time: retire the whole field
    if ((b.cause.oracle === 'crash' || b.cause.oracle === 'hang') && b.fields.length === 1 && b.count >= 4) {
      const field = b.fields[0]!;
      if (!OPCODE_RELATIVE.has(field)) this.retiredFields.add(field);
      else for (const k of caseTriggers(c).keys) if (fieldOf(k) === field) this.retiredFieldIn.add(`${opcodeOf(k)}|${field}`);
    }
  }

  /** Retires the trigger keys of `c` that touch the bug's fields (a crash: all of them, it is known by its site). */
  retire(b: Bug, c: FuzzCase): void {
    for (const key of caseTriggers(c).keys) {
      const fv = key.slice(key.indexOf('|') + 1);
      const field = fieldOf(key);
      if (b.fields.length && !b.fields.includes(field) && b.cause.oracle !== 'crash') continue;
      if (this.retiredKeys.has(key)) continue;
      this.retiredKeys.add(key);
      const op = opcodeOf(key);
      const owner = this.keyBug.get(fv);
      if (!owner || owner.bug !== b) {
        this.keyBug.set(fv, { bug: b, opcodes: new Set([op]) });
        continue;
      }
      owner.opcodes.add(op);
      // the same value making the same crash or hang in a second opcode (not
      // the same opcode over the other transport): retired everywhere; cheaper
      // failures stay per opcode, so they hide nothing. A size change is
      // relative to each opcode's own payload: never retired beyond its opcode.
      if (owner.opcodes.size >= 2 && (b.cause.oracle === 'crash' || b.cause.oracle === 'hang') && !OPCODE_RELATIVE.has(field)) this.retiredEverywhere.add(fv);
    }
  }

  /** True when a case changes something already retired (it would only re-trigger a known bug). */
  isRetired(c: FuzzCase): boolean {
    if (this.retiredKeys.size === 0) return false;
    if (!c.steps.some((s) => s.base)) return false;
    const t = caseTriggers(c);
    return this.keysRetired(t.keys) || t.fields.some((f) => this.retiredFields.has(f))
      || t.keys.some((k) => this.retiredFieldIn.has(`${opcodeOf(k)}|${fieldOf(k)}`));
  }

  private keysRetired(keys: readonly string[]): boolean {
    for (const k of keys) {
      if (this.retiredKeys.has(k)) return true;
      if (this.retiredEverywhere.has(k.slice(k.indexOf('|') + 1))) return true;
    }
    return false;
  }
}
