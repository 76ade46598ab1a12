// Matching replies to requests on the traffic side: one rule for every
// socket that sends requests (the client connection, the replay, the fuzzer).
//
// The rule is OUTPUT.md convention 5, applied per socket: a reply answers the
// oldest request still waiting on the same connection (or UDP socket) with
// the same transaction id, client id and opcode (the reply's opcode without
// bit 15). Each socket owns one ReplyMatcher, so the connection is part of
// the key by construction. Duplicate transaction ids stay waiting side by
// side, oldest first. The table is the analysis's open-request table
// (analysis/openTable.ts): adding and taking allocate nothing beyond the
// entry itself.

import { OpenTable, type OpenEntry } from '../analysis/openTable.js';
import { Header } from '../protocol/access.js';
import { HEADER_SIZE, REPLY_BIT } from '../protocol/fields.js';

/** One request waiting for its reply; `item` is the caller's record of it. */
export class Waiting<T> implements OpenEntry<Waiting<T>> {
  nextInBucket: Waiting<T> | null = null;
  seq = 0;
  constructor(readonly txid: number, readonly client: bigint, readonly opcode: number, readonly item: T) {}
}

/** The request opcode a request or reply opcode belongs to (bit 15 cleared). */
export function requestOpcode(opcode: number): number {
  return opcode & ~REPLY_BIT & 0xffff;
}

export class ReplyMatcher<T> {
  private readonly table = new OpenTable<Waiting<T>>();

  /** Requests waiting. */
  get size(): number {
    return this.table.size;
  }

  /** Notes a request sent (`opcode` with or without bit 15: the request's). */
  add(txid: number, client: bigint, opcode: number, item: T): Waiting<T> {
    const w = new Waiting(txid, client, requestOpcode(opcode), item);
    this.table.add(w);
    return w;
  }

  /** The oldest waiting request that a reply with these header values answers, or null. It stays waiting. */
  find(txid: number, client: bigint, replyOpcode: number): Waiting<T> | null {
    return this.table.find(txid, client, requestOpcode(replyOpcode));
  }

  /** The request a whole reply frame answers (`at`: the frame's first byte), or null: no header, no reply bit, or nobody waits. */
  findFor(frame: Uint8Array, at = 0): Waiting<T> | null {
    if (frame.length - at < HEADER_SIZE) return null;
    const opcode = Header.get.opcode(frame, at);
    if ((opcode & REPLY_BIT) === 0) return null;
    return this.find(Header.get.transaction_id(frame, at), Header.get.client_id(frame, at), opcode);
  }

  /** Whether any request with this transaction id waits (whatever its client and opcode). */
  hasTransaction(txid: number): boolean {
    return this.table.findTxid(txid) !== null;
  }

  /** Ends a request's wait; false when it was not waiting. */
  remove(w: Waiting<T>): boolean {
    return this.table.remove(w);
  }

  /** The callers' records of every waiting request, oldest first. */
  items(): T[] {
    return this.table.values().map((w) => w.item);
  }

  /** Ends every wait. */
  clear(): T[] {
    const all = this.table.values();
    for (const w of all) this.table.remove(w);
    return all.map((w) => w.item);
  }
}
