// A growable, sorted list of frame sequence numbers (0-based frame index) in
// a Float64Array: the rows of a filtered view, the frames of an expert group.
// Appends are O(1); the rare out-of-order insert (a late timeout finding, a
// re-tested frame) moves the tail with copyWithin.

export class SeqList {
  private data: Float64Array;
  /** Index of the first live element (elements before it were dropped from the front). */
  private head = 0;
  private end = 0;

  constructor(initial = 64) {
    this.data = new Float64Array(initial);
  }

  get length(): number {
    return this.end - this.head;
  }

  at(i: number): number {
    return this.data[this.head + i]!;
  }

  last(): number {
    return this.end > this.head ? this.data[this.end - 1]! : -1;
  }

  clear(): void {
    this.head = 0;
    this.end = 0;
  }

  /** Appends `seq` when it is larger than the last element; otherwise inserts it in order (no duplicates). */
  add(seq: number): void {
    if (this.end === this.head || seq > this.data[this.end - 1]!) {
      this.reserve(1);
      this.data[this.end++] = seq;
      return;
    }
    const i = this.lowerBound(seq);
    if (i < this.length && this.at(i) === seq) return;
    this.reserve(1);
    const at = this.head + i;
    this.data.copyWithin(at + 1, at, this.end);
    this.data[at] = seq;
    this.end++;
  }

  /** Removes `seq` if present; true when it was. */
  remove(seq: number): boolean {
    const i = this.lowerBound(seq);
    if (i >= this.length || this.at(i) !== seq) return false;
    const at = this.head + i;
    this.data.copyWithin(at, at + 1, this.end);
    this.end--;
    return true;
  }

  has(seq: number): boolean {
    const i = this.lowerBound(seq);
    return i < this.length && this.at(i) === seq;
  }

  /** Index of the first element ≥ seq (length when none). */
  lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.end;
    const d = this.data;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (d[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  /** Drops every element below `seq` (frames evicted from a live ring). */
  dropBelow(seq: number): void {
    if (this.end === this.head || this.data[this.head]! >= seq) return;
    this.head += this.lowerBound(seq);
    if (this.head === this.end) this.clear();
  }

  private reserve(n: number): void {
    if (this.end + n <= this.data.length) return;
    const live = this.end - this.head;
    if (this.head > 0 && live + n <= this.data.length / 2) {
      this.data.copyWithin(0, this.head, this.end);
    } else {
      const bigger = new Float64Array(Math.max(64, (live + n) * 2));
      bigger.set(this.data.subarray(this.head, this.end));
      this.data = bigger;
    }
    this.head = 0;
    this.end = live;
  }
}
