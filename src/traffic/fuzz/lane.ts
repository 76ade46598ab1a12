// Pipelined execution: single-frame cases whose framing stays in sync share
// one long-lived TCP connection (or UDP socket) and are written back to back
// in batches; replies are matched by (client_id, transaction_id, opcode).
// Anything odd — a reply missing at the deadline, an OK to a malformed frame,
// a reply that answers nothing, the connection dropping — only makes the case
// a *suspect*: the verdict always comes from re-running it alone (exec.ts).
//
// The lane frees what it is granted: an OK Allocate reply (also the second
// reply after PENDING) is followed by a Free of that session on the same
// connection, so stateless Allocate fuzzing does not fill the server.

import { fixChecksum } from '../../protocol/checksum.js';
import type { DecodedFrame } from '../../protocol/decode.js';
import { Alloc, Free, Header } from '../../protocol/access.js';
import { HEADER_SIZE, OP_ALLOCATE, REPLY_BIT, STATUS_OK } from '../../protocol/fields.js';
import { ReplyMatcher } from '../matcher.js';
import type { FuzzCase, Transport } from './cases.js';
import { RawConn, Matcher, nowMs, type Pending } from './exec.js';
import { acceptsStatus, frameExpectation, type Expectation } from './expect.js';
import { build, templateByName } from './frames.js';
import type { OracleName } from './oracle.js';

export interface LaneItem {
  c: FuzzCase;
  exp: Expectation;
}

export interface Suspect {
  c: FuzzCase;
  hint: OracleName;
  detail: string;
}

export interface LaneResult {
  suspects: Suspect[];
  /** Why the connection broke during the batch, or null. */
  broken: string | null;
  /** Replies that answered nothing we could name. */
  orphans: number;
  /** Cases sent after the connection broke: to be run again alone. */
  rerun: FuzzCase[];
  /** The reply each answered case got (for the state model). */
  answered: Array<{ c: FuzzCase; reply: DecodedFrame }>;
}

const HOUSEKEEPING = Symbol('housekeeping');

export class Lane {
  private conn: RawConn | null = null;
  private matcher = new Matcher();
  /** Requests given up on this connection: a late reply to one is no stray. */
  private late = new ReplyMatcher<true>();
  private readonly recentNone = new Map<number, FuzzCase>();
  private hkTxid = 0xf0000000;
  private unmatched: DecodedFrame[] = [];
  private wake: (() => void) | null = null;
  housekeepingFrees = 0;

  constructor(
    readonly transport: Transport,
    private readonly host: string,
    private readonly port: number,
    /** A reply is due within this time; the fuzzer adjusts it to the target's measured latency. */
    public timeoutMs: number,
  ) {}

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async ensure(): Promise<RawConn> {
    if (this.conn && this.conn.isOpen) return this.conn;
    this.conn?.destroy();
    this.matcher = new Matcher();
    this.late = new ReplyMatcher<true>();
    const conn = await RawConn.open(this.transport, this.host, this.port);
    conn.onEvent = () => this.poke();
    conn.onFrame = (f) => this.onFrame(conn, f);
    this.conn = conn;
    return conn;
  }

  private onFrame(conn: RawConn, f: DecodedFrame): void {
    const p = this.matcher.match(f, nowMs());
    if (!p) {
      const op = f.header.opcode;
      if (op === null || (op & REPLY_BIT) === 0) return; // Announces and other requests are not replies
      const late = this.late.findFor(f.bytes);
      if (late) {
        this.late.remove(late);
        return;
      }
      this.unmatched.push(f);
      return;
    }
    // Free what an Allocate was granted (also a final reply after PENDING).
    const b = f.bytes;
    if (Header.get.opcode(b, 0) === (OP_ALLOCATE | REPLY_BIT) && Header.get.sub_opcode(b, 0) === STATUS_OK
      && Alloc.has.session_id(b.length - HEADER_SIZE)) {
      const session = Alloc.get.session_id(b, HEADER_SIZE);
      const client = Header.get.client_id(b, 0);
      const free = build(templateByName('Free'), { client_id: client, transaction_id: this.hkTxid++ >>> 0 });
      Free.set.session_id(free, HEADER_SIZE, session);
      fixChecksum(free);
      if (this.hkTxid > 0xffffffff) this.hkTxid = 0xf0000000;
      const hk: Pending = { exp: frameExpectation(free, this.transport === 'udp'), step: 0, conn: 0, sentAt: nowMs(), reply: null, replyAt: 0, pendingOpen: false, tag: HOUSEKEEPING };
      this.matcher.add(hk);
      conn.write(free);
      this.housekeepingFrees++;
    }
    this.poke();
  }

  async run(items: LaneItem[]): Promise<LaneResult> {
    const suspects: Suspect[] = [];
    if (items.length === 0) return { suspects, broken: null, orphans: 0, rerun: [], answered: [] };
    let conn: RawConn;
    try {
      conn = await this.ensure();
    } catch (e) {
      for (const it of items) suspects.push({ c: it.c, hint: 'reset', detail: (e as Error).message });
      return { suspects, broken: (e as Error).message, orphans: 0, rerun: [], answered: [] };
    }
    this.unmatched = [];
    const pend: Pending[] = [];
    for (const it of items) {
      if (it.exp.kind === 'none') {
        if (it.exp.txid !== null) this.recentNone.set(it.exp.txid, it.c);
        continue;
      }
      const p: Pending = { exp: it.exp, step: 0, conn: 0, sentAt: 0, reply: null, replyAt: 0, pendingOpen: false, tag: it.c };
      this.matcher.add(p);
      pend.push(p);
    }
    while (this.recentNone.size > 4096) this.recentNone.delete(this.recentNone.keys().next().value!);
    const t = nowMs();
    for (const p of pend) p.sentAt = t;
    conn.cork();
    for (const it of items) conn.write(it.c.steps[0]!.frame);
    conn.uncork();
    // the deadline slides: a batch is a hang only when nothing came for a whole reply deadline
    let deadline = nowMs() + this.timeoutMs;
    const due = pend.filter((p) => p.exp.kind === 'reply');
    let i = 0;
    let got = 0;
    while (conn.isOpen) {
      while (i < due.length && due[i]!.reply) i++;
      if (i >= due.length) break;
      const now = due.reduce((n, p) => n + (p.reply ? 1 : 0), 0);
      if (now > got) {
        got = now;
        deadline = nowMs() + this.timeoutMs;
      }
      const left = deadline - nowMs();
      if (left <= 0) break;
      await new Promise<void>((r) => {
        const tm = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(tm);
          r();
        };
      });
    }
    const broken = conn.closed ? conn.closed.detail : null;
    // When the connection broke, the first case left without its reply is the
    // suspect; the cases after it were probably never read: they run again alone.
    const rerun: FuzzCase[] = [];
    let lost = -1;
    if (broken) {
      const first = pend.find((p) => p.exp.kind === 'reply' && !p.reply);
      if (first) lost = items.findIndex((it) => it.c === first.tag);
      if (lost >= 0) for (let k = lost + 1; k < items.length; k++) rerun.push(items[k]!.c);
    }
    const again = new Set(rerun);
    const answered: LaneResult['answered'] = [];
    for (const p of pend) {
      const c = p.tag as FuzzCase;
      if (p.reply) {
        answered.push({ c, reply: p.reply });
        if (p.exp.malformed.length && acceptsStatus(p.reply.header.sub_opcode)) {
          suspects.push({ c, hint: 'malformed_ok', detail: `${p.exp.desc} (${p.exp.malformed.join(', ')}) answered OK` });
        }
        continue;
      }
      this.matcher.remove(p);
      if (p.exp.kind !== 'reply' || again.has(c)) continue;
      if (p.exp.opcode !== null && p.exp.txid !== null && p.exp.client !== null) this.late.add(p.exp.txid, BigInt(`0x${p.exp.client}`), p.exp.opcode, true);
      suspects.push({ c, hint: broken ? 'reset' : 'hang', detail: broken ? `${broken} before the reply to ${p.exp.desc}` : `no reply to ${p.exp.desc}` });
    }
    let orphans = 0;
    for (const f of this.unmatched) {
      const tx = f.header.transaction_id;
      const inBatch = items.find((it) => it.exp.txid === tx);
      const c = inBatch?.c ?? (tx !== null ? this.recentNone.get(tx) : undefined);
      if (c) {
        if (!suspects.some((s) => s.c === c)) suspects.push({ c, hint: 'wrong_reply', detail: 'a reply that answers no request' });
      } else orphans++;
    }
    this.unmatched = [];
    if (broken) {
      this.conn?.destroy();
      this.conn = null;
    }
    return { suspects, broken, orphans, rerun, answered };
  }

  close(): void {
    this.conn?.destroy();
    this.conn = null;
  }
}
