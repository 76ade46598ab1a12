// What the user set up in this session that several views read: marked
// frames, the time reference, custom columns, the last search.

import type { Column } from './columns.js';
import type { FrameMatcher } from './search.js';
import { SeqList } from './seqlist.js';

export class UiState {
  /** Marked frames (seq), in order. */
  readonly marks = new SeqList(16);
  /** Time reference frame (seq), or -1: times are then relative to the first packet. */
  ref = -1;
  readonly columns: Column[] = [];
  search: { text: string; matcher: FrameMatcher } | null = null;

  toggleMark(seq: number): boolean {
    if (this.marks.remove(seq)) return false;
    this.marks.add(seq);
    return true;
  }

  /** The next mark after `seq` (dir 1) or before it (-1), wrapping around; -1 when none. */
  nextMark(seq: number, dir: 1 | -1): number {
    const m = this.marks;
    if (m.length === 0) return -1;
    if (dir > 0) {
      const i = m.lowerBound(seq + 1);
      return m.at(i < m.length ? i : 0);
    }
    const i = m.lowerBound(seq) - 1;
    return m.at(i >= 0 ? i : m.length - 1);
  }
}
