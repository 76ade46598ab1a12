// A binary min-heap keyed by a number, for request deadlines. Items carry
// their own position so an answered request leaves the heap at once (it
// would otherwise stay until its deadline, long enough to be promoted to
// V8's old generation — the main source of garbage there).

export interface HeapItem {
  /** Position in the heap, -1 when not in it. Maintained by the heap. */
  heapIndex: number;
}

export class MinHeap<T extends HeapItem> {
  private keys: number[] = [];
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(key: number, item: T): void {
    this.keys.push(key);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  peekKey(): number {
    return this.items.length ? this.keys[0]! : Infinity;
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0]!;
    this.removeAt(0);
    return top;
  }

  /** Takes `item` out if it is in the heap. */
  remove(item: T): void {
    const i = item.heapIndex;
    if (i >= 0 && i < this.items.length && this.items[i] === item) this.removeAt(i);
  }

  private removeAt(i: number): void {
    const k = this.keys;
    const it = this.items;
    it[i]!.heapIndex = -1;
    const lastKey = k.pop()!;
    const lastItem = it.pop()!;
    if (i === it.length) return;
    k[i] = lastKey;
    it[i] = lastItem;
    lastItem.heapIndex = i;
    this.down(i);
    this.up(i);
  }

  private up(i: number): void {
    const k = this.keys;
    const it = this.items;
    const key = k[i]!;
    const item = it[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (k[parent]! <= key) break;
      k[i] = k[parent]!;
      it[i] = it[parent]!;
      it[i]!.heapIndex = i;
      i = parent;
    }
    k[i] = key;
    it[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const k = this.keys;
    const it = this.items;
    const n = it.length;
    const key = k[i]!;
    const item = it[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && k[r]! < k[l]! ? r : l;
      if (k[c]! >= key) break;
      k[i] = k[c]!;
      it[i] = it[c]!;
      it[i]!.heapIndex = i;
      i = c;
    }
    k[i] = key;
    it[i] = item;
    item.heapIndex = i;
  }
}
