// The rows of the Frames view: every retained frame, or those a display
// filter keeps. Filtering runs in slices (`step`) so a million frames never
// freeze the screen; frames arriving later (loading, live) are tested as the
// cursor reaches them. A frame that changes after it was tested (a late
// timeout, the request's peer/session set by its reply) is tested again when
// the filter reads such fields. Blessed-free.

import type { CompiledFilter } from '../analysis/filter/index.js';
import { SeqList } from './seqlist.js';
import type { FrameStore } from './store.js';

/** Filter fields whose value can change after a frame arrived. */
const MUTABLE_FIELD = /^(expert(\.|$)|vvmp\.(peer|session|session_id|latency)$)/;

export class FrameRows {
  filter: CompiledFilter | null = null;
  private readonly matches = new SeqList(1024);
  /** Next frame to test. */
  private cursor = 0;
  private retest = false;
  /** Filter test errors (a bug in a filter field must not kill the UI). */
  lastError: string | null = null;

  constructor(private readonly store: FrameStore) {
    store.onChange((seq) => this.changed(seq));
  }

  setFilter(filter: CompiledFilter | null): void {
    this.filter = filter && filter.fields.length === 0 && filter.text.trim() === '' ? null : filter;
    this.matches.clear();
    this.cursor = this.store.first;
    this.retest = this.filter !== null && this.filter.fields.some((f) => MUTABLE_FIELD.test(f));
    this.lastError = null;
  }

  /** Rows currently known (grows while filtering, loading or capturing). */
  get length(): number {
    if (!this.filter) return this.store.size;
    this.matches.dropBelow(this.store.first);
    return this.matches.length;
  }

  seqAt(row: number): number {
    return this.filter ? this.matches.at(row) : this.store.first + row;
  }

  /** Row of `seq`, or -1 when the filter hides it (or has not reached it yet). */
  rowOf(seq: number): number {
    if (!this.store.has(seq)) return -1;
    if (!this.filter) return seq - this.store.first;
    this.matches.dropBelow(this.store.first);
    const i = this.matches.lowerBound(seq);
    return i < this.matches.length && this.matches.at(i) === seq ? i : -1;
  }

  /** Row of the first shown frame at or after `seq` (clamped to the last row). */
  nearestRow(seq: number): number {
    if (!this.filter) return Math.max(0, Math.min(seq - this.store.first, this.store.size - 1));
    const i = this.matches.lowerBound(seq);
    return Math.min(i, this.matches.length - 1);
  }

  /** Has the filter tested this frame yet? */
  reached(seq: number): boolean {
    return !this.filter || seq < this.cursor;
  }

  /** Frames still to test. */
  get pending(): boolean {
    return this.filter !== null && this.cursor < this.store.total;
  }

  /** Share of retained frames tested, 0..1. */
  get progress(): number {
    const n = this.store.size;
    return n === 0 ? 1 : Math.min(1, (this.cursor - this.store.first) / n);
  }

  /** Does the filter keep this frame? (Tests it now; for jumps to frames not yet reached.) */
  keeps(seq: number): boolean {
    if (!this.filter) return true;
    return this.test(seq);
  }

  /** Tests frames for up to `budgetMs`; returns true when more remain. */
  step(budgetMs: number): boolean {
    const flt = this.filter;
    if (!flt) return false;
    if (this.cursor < this.store.first) this.cursor = this.store.first;
    const t0 = performance.now();
    const total = this.store.total;
    while (this.cursor < total) {
      const end = Math.min(total, this.cursor + 256);
      for (let seq = this.cursor; seq < end; seq++) if (this.test(seq)) this.matches.add(seq);
      this.cursor = end;
      if (performance.now() - t0 > budgetMs) break;
    }
    return this.cursor < this.store.total;
  }

  private test(seq: number): boolean {
    try {
      return this.filter!.test(this.store.probe(seq));
    } catch (e) {
      this.lastError = (e as Error).message;
      return false;
    }
  }

  private changed(seq: number): void {
    if (!this.retest || seq >= this.cursor || !this.store.has(seq)) return;
    if (this.test(seq)) this.matches.add(seq);
    else this.matches.remove(seq);
  }
}
