// Work a client has open on the server: WAIT registrations (Allocate answered
// PENDING, granted later) and forwards in flight, bounded per client and in
// total so that spoofed client ids cannot exhaust memory.

import type { AllocReq } from './model.js';

/** WAIT registrations plus forwards of all clients together. */
export const MAX_OUTSTANDING_TOTAL = 65_536;

export interface Waiter<T> {
  client_id: bigint;
  transaction_id: number;
  src_san: number;
  sub_opcode: number;
  req: AllocReq;
  target: T;
  /** Network address the request came from (undefined: not known). */
  source?: string;
}

export class WaitQueue<T> {
  private waiters: Waiter<T>[] = [];
  private readonly outstanding = new Map<bigint, number>();
  private sum = 0;

  constructor(private readonly perClient: () => number) {}

  get length(): number {
    return this.waiters.length;
  }

  /** WAIT registrations plus forwards in flight, all clients. */
  get outstandingTotal(): number {
    return this.sum;
  }

  /** Counts one more open piece of work for `client`; false when over the limit. */
  take(client: bigint): boolean {
    const n = this.outstanding.get(client) ?? 0;
    if (n >= this.perClient() || this.sum >= MAX_OUTSTANDING_TOTAL) return false;
    this.outstanding.set(client, n + 1);
    this.sum++;
    return true;
  }

  release(client: bigint): void {
    const n = this.outstanding.get(client);
    if (n === undefined) return;
    this.sum--;
    if (n <= 1) this.outstanding.delete(client);
    else this.outstanding.set(client, n - 1);
  }

  /** Registers a waiter (the caller has taken its slot). */
  push(w: Waiter<T>): void {
    this.waiters.push(w);
  }

  /** Drops the registrations that would be delivered to `target` (its connection closed). */
  dropTarget(target: T): number {
    const before = this.waiters.length;
    const keep: Waiter<T>[] = [];
    for (const w of this.waiters) {
      if (w.target === target) this.release(w.client_id);
      else keep.push(w);
    }
    this.waiters = keep;
    return before - keep.length;
  }

  /**
   * Offers every waiter, in arrival order, to `tryGrant`; those it grants
   * leave the queue (and release their slot). Returns the granted ones with
   * what `tryGrant` returned, in order.
   */
  serve<R>(tryGrant: (w: Waiter<T>) => R | null): Array<[Waiter<T>, R]> {
    if (this.waiters.length === 0) return [];
    const keep: Waiter<T>[] = [];
    const granted: Array<[Waiter<T>, R]> = [];
    for (const w of this.waiters) {
      const r = tryGrant(w);
      if (r === null) {
        keep.push(w);
        continue;
      }
      this.release(w.client_id);
      granted.push([w, r]);
    }
    this.waiters = keep;
    return granted;
  }
}
