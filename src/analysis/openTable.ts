// Requests waiting for their reply, found by transaction id. A chained hash
// table whose chains run through the requests themselves: adding and
// removing allocate nothing, where a Map keyed by transaction id rebuilt its
// table every few hundred requests (tables that lived long enough to reach
// V8's old generation, the largest source of garbage there in `stats`).

export interface OpenEntry<T> {
  txid: number;
  client: bigint;
  opcode: number;
  /** Next entry in the same bucket (maintained by the table). */
  nextInBucket: T | null;
  /** The order entries were added: chains and `values` keep it (oldest first). */
  seq: number;
}

const MIN_BUCKETS = 256;

export class OpenTable<T extends OpenEntry<T>> {
  private buckets: (T | null)[] = new Array<T | null>(MIN_BUCKETS).fill(null);
  private mask = MIN_BUCKETS - 1;
  private added = 0;
  size = 0;

  /** The oldest entry of `client` for `txid` (with `opcode`, unless it is -1). */
  find(txid: number, client: bigint, opcode: number): T | null {
    for (let e: T | null = this.buckets[txid & this.mask]!; e !== null; e = e.nextInBucket) {
      if (e.txid === txid && e.client === client && (opcode === -1 || e.opcode === opcode)) return e;
    }
    return null;
  }

  /** The oldest entry for `txid`, whatever its client and opcode. */
  findTxid(txid: number): T | null {
    for (let e: T | null = this.buckets[txid & this.mask]!; e !== null; e = e.nextInBucket) if (e.txid === txid) return e;
    return null;
  }

  add(e: T): void {
    if (this.size >= this.buckets.length) this.rehash(this.buckets.length * 2);
    e.seq = this.added++;
    e.nextInBucket = null;
    this.append(e);
    this.size++;
  }

  /** Takes `e` out; false if it was not in the table. */
  remove(e: T): boolean {
    const b = e.txid & this.mask;
    let prev: T | null = null;
    for (let x: T | null = this.buckets[b]!; x !== null; prev = x, x = x.nextInBucket) {
      if (x !== e) continue;
      if (prev === null) this.buckets[b] = x.nextInBucket;
      else prev.nextInBucket = x.nextInBucket;
      x.nextInBucket = null;
      this.size--;
      return true;
    }
    return false;
  }

  /** The oldest entry `match` accepts. */
  oldest(match: (e: T) => boolean): T | null {
    let best: T | null = null;
    for (let e of this.buckets) {
      for (; e !== null; e = e.nextInBucket) if ((best === null || e.seq < best.seq) && match(e)) best = e;
    }
    return best;
  }

  /** Every entry, oldest first. */
  values(): T[] {
    const out: T[] = [];
    for (let e of this.buckets) for (; e !== null; e = e.nextInBucket) out.push(e);
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Appends at the chain's end so each chain stays oldest first. */
  private append(e: T): void {
    const b = e.txid & this.mask;
    let x = this.buckets[b]!;
    if (x === null) {
      this.buckets[b] = e;
      return;
    }
    while (x.nextInBucket !== null) x = x.nextInBucket;
    x.nextInBucket = e;
  }

  private rehash(n: number): void {
    const all = this.values();
    this.buckets = new Array<T | null>(n).fill(null);
    this.mask = n - 1;
    for (const e of all) {
      e.nextInBucket = null;
      this.append(e);
    }
  }
}
