// Minimising a failing case before it is saved:
//   1. fewest frames: delta debugging (Zeller's ddmin) over the steps; a step
//      whose binding source was removed keeps the bytes it was generated with;
//   2. smallest change: for each step that was mutated from a valid frame of
//      the same size, ddmin over the changed byte positions, reverting the
//      others to the valid frame's bytes. The checksum byte is derived, not
//      minimised: a candidate keeps the original's checksum residue over the
//      bytes the server frames (good stays good, bad stays bad by as much).
// `fails` runs a candidate against the target and says whether it still
// fails with the same oracle; the budget bounds the number of runs.

import { HEADER_SIZE } from '../../protocol/fields.js';
import { cloneCase, type FuzzCase } from './cases.js';
import { OFF, declaredSize, residue, setResidue } from './frames.js';

export interface Budget {
  tests: number;
  deadline: number;
}

export type Tester<T> = (items: T[]) => Promise<boolean>;

function split<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + Math.ceil((items.length - start) / (n - i));
    out.push(items.slice(start, end));
    start = end;
  }
  return out.filter((c) => c.length > 0);
}

/** ddmin: a 1-minimal subset of `items` (order kept) for which `fails` holds; `items` itself must fail. */
export async function ddmin<T>(items: T[], fails: Tester<T>, budget: Budget): Promise<T[]> {
  let cur = items;
  let n = 2;
  const spent = () => budget.tests <= 0 || Date.now() > budget.deadline;
  const test = async (c: T[]) => {
    budget.tests--;
    return fails(c);
  };
  while (cur.length >= 2 && !spent()) {
    const chunks = split(cur, Math.min(n, cur.length));
    let reduced = false;
    for (const c of chunks) {
      if (spent()) break;
      if (c.length < cur.length && (await test(c))) {
        cur = c;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && chunks.length > 2) {
      for (let i = 0; i < chunks.length && !spent(); i++) {
        const complement = chunks.filter((_, k) => k !== i).flat();
        if (await test(complement)) {
          cur = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  return cur;
}

/** The case with only the steps at `keep` (indices into c.steps), bindings renumbered. */
export function keepSteps(c: FuzzCase, keep: readonly number[]): FuzzCase {
  const out = cloneCase(c);
  const map = new Map<number, number>();
  keep.forEach((old, i) => map.set(old, i));
  out.steps = keep.map((old) => {
    const s = { ...out.steps[old]! };
    if (s.bind) {
      const b = s.bind.filter((x) => map.has(x.from)).map((x) => ({ ...x, from: map.get(x.from)! }));
      s.bind = b.length ? b : undefined;
    }
    return s;
  });
  return out;
}

/** Positions where a step's frame differs from its valid base (checksum byte excluded). */
export function changedPositions(frame: Buffer, base: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < frame.length; i++) if (i !== OFF.checksum && frame[i] !== base[i]) out.push(i);
  return out;
}

/** The base frame with only the changes at `positions` applied, with the original's checksum residue. */
export function applyChanges(frame: Buffer, base: Buffer, positions: readonly number[]): Buffer {
  const out = Buffer.from(base);
  for (const p of positions) out[p] = frame[p]!;
  if (out.length >= HEADER_SIZE) {
    const endOf = (b: Buffer) => {
      const d = declaredSize(b);
      return d === null ? b.length : Math.min(d, b.length);
    };
    setResidue(out, residue(frame, endOf(frame)), endOf(out));
  }
  return out;
}

export interface MinimizeResult {
  c: FuzzCase;
  framesBefore: number;
  framesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  tests: number;
}

/** Both passes; `fails` must say whether a candidate case still fails the same way. */
export async function minimizeCase(c: FuzzCase, fails: (c: FuzzCase) => Promise<boolean>, budget: Budget): Promise<MinimizeResult> {
  const start = budget.tests;
  let cur = cloneCase(c);
  const framesBefore = cur.steps.length;
  if (cur.steps.length > 1) {
    const idx = await ddmin(cur.steps.map((_, i) => i), (keep) => fails(keepSteps(cur, keep)), budget);
    if (idx.length < cur.steps.length) cur = keepSteps(cur, idx);
  }
  let bytesBefore = 0;
  let bytesAfter = 0;
  for (let i = 0; i < cur.steps.length; i++) {
    const s = cur.steps[i]!;
    if (!s.base || s.base.length !== s.frame.length) continue;
    const pos = changedPositions(s.frame, s.base);
    bytesBefore += pos.length;
    const frame = s.frame;
    const base = s.base;
    const withChanges = (p: readonly number[]) => {
      const cand = cloneCase(cur);
      cand.steps[i]!.frame = applyChanges(frame, base, p);
      return cand;
    };
    if (pos.length === 0) continue;
    // perhaps the checksum alone does it (the valid frame with the same checksum residue)
    if (budget.tests > 0 && Date.now() <= budget.deadline) {
      budget.tests--;
      if (await fails(withChanges([]))) {
        cur = withChanges([]);
        continue;
      }
    }
    if (pos.length === 1) {
      bytesAfter += 1;
      continue;
    }
    const keep = await ddmin(pos, (p) => fails(withChanges(p)), budget);
    bytesAfter += keep.length;
    if (keep.length < pos.length) cur = withChanges(keep);
  }
  return { c: cur, framesBefore, framesAfter: cur.steps.length, bytesBefore, bytesAfter, tests: start - budget.tests };
}
