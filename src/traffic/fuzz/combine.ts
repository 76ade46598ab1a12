// Several cases joined into one sequence, in order: pipelined cases of a
// transport share one connection, as they did when they ran; the others keep
// their own connections. Used to replay what ran before a failure.

import { caseExpectations, type FuzzCase, type Step, type Transport } from './cases.js';

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
