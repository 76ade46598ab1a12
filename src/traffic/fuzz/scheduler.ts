// The scheduler: the deterministic first pass (every finite field-level list,
// in declaration order: each field of the header and of every payload, each
// boundary value, sub-opcodes, lies) before anything else, then a smooth
// weighted round robin (as nginx balances) over the rest: random, stateful,
// transport abuse. Retired strategies are skipped, and so are cases whose
// change is a trigger already confirmed (`skip`): a known bug must not
// drown the cases that could find another one.

import type { FuzzCase } from './cases.js';
import type { Strategy } from './gen.js';

export class Scheduler {
  readonly strategies: Strategy[];
  private readonly cw: number[];
  private readonly done = new Set<string>();
  private readonly retired = new Set<string>();
  /** Index of the deterministic strategy being walked; past the last one the first pass is over. */
  private firstAt = 0;
  private readonly first: Strategy[];
  private readonly rest: Strategy[];
  /** Cases left out because their change re-triggers a confirmed bug. */
  skipped = 0;
  /** Cases the first pass produced (sent or skipped). */
  firstPassCases = 0;

  /** `skip(c)`: true when the case only re-triggers a known bug. */
  constructor(strategies: Strategy[], private readonly skip: (c: FuzzCase) => boolean = () => false) {
    this.strategies = strategies;
    this.first = strategies.filter((s) => s.deterministic);
    this.rest = strategies.filter((s) => !s.deterministic);
    this.cw = this.rest.map(() => 0);
  }

  retire(name: string): void {
    this.retired.add(name);
  }

  isRetired(name: string): boolean {
    return this.retired.has(name);
  }

  /** True while the deterministic first pass runs. */
  get inFirstPass(): boolean {
    return this.firstAt < this.first.length;
  }

  /** The next case, or null when every strategy is used up or retired. */
  next(): FuzzCase | null {
    for (;;) {
      const c = this.inFirstPass ? this.nextFirst() : this.nextRest();
      if (c === undefined) continue;
      if (c === null) return null;
      if (this.skip(c)) {
        this.skipped++;
        continue;
      }
      return c;
    }
  }

  /** undefined: this list ended, ask again. */
  private nextFirst(): FuzzCase | null | undefined {
    const s = this.first[this.firstAt]!;
    if (this.retired.has(s.name)) {
      this.firstAt++;
      return undefined;
    }
    const c = s.next();
    if (!c) {
      this.done.add(s.name);
      this.firstAt++;
      return undefined;
    }
    this.firstPassCases++;
    return c;
  }

  private nextRest(): FuzzCase | null | undefined {
    let total = 0;
    let best = -1;
    for (let i = 0; i < this.rest.length; i++) {
      const s = this.rest[i]!;
      if (this.done.has(s.name) || this.retired.has(s.name)) continue;
      this.cw[i]! += s.weight;
      total += s.weight;
      if (best < 0 || this.cw[i]! > this.cw[best]!) best = i;
    }
    if (best < 0) return null;
    this.cw[best]! -= total;
    const s = this.rest[best]!;
    const c = s.next();
    if (c) return c;
    this.done.add(s.name);
    return undefined;
  }
}
