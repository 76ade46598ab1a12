// A binary min-heap keyed by a number, for request deadlines.

export class MinHeap<T> {
  private keys: number[] = [];
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(key: number, item: T): void {
    const k = this.keys;
    const it = this.items;
    let i = it.length;
    k.push(key);
    it.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (k[parent]! <= key) break;
      k[i] = k[parent]!;
      it[i] = it[parent]!;
      i = parent;
    }
    k[i] = key;
    it[i] = item;
  }

  peekKey(): number {
    return this.items.length ? this.keys[0]! : Infinity;
  }

  pop(): T | undefined {
    const k = this.keys;
    const it = this.items;
    if (it.length === 0) return undefined;
    const top = it[0]!;
    const lastKey = k.pop()!;
    const lastItem = it.pop()!;
    const n = it.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && k[r]! < k[l]! ? r : l;
        if (k[c]! >= lastKey) break;
        k[i] = k[c]!;
        it[i] = it[c]!;
        i = c;
      }
      k[i] = lastKey;
      it[i] = lastItem;
    }
    return top;
  }
}
