// One pass over the plan on fresh sockets (`--loop N` runs N passes): the
// dispatcher that sends requests in capture order when their dependencies,
// time and socket window allow, the reply handling (matching, comparing,
// PENDING), and the deadlines. The rules are in engine.ts's header comment.

import { performance } from 'node:perf_hooks';
import { MinHeap } from '../../analysis/heap.js';
import { Header } from '../../protocol/access.js';
import { HEADER_SIZE, REPLY_BIT, STATUS_PENDING, opcodeDef, statusName } from '../../protocol/fields.js';
import { ConnectionRefusedError, type TransportError } from '../transport.js';
import type { Waiting } from '../matcher.js';
import { ReplayAbort } from './probe.js';
import { ReplayChannel } from './channel.js';
import { compareReply } from './compare.js';
import type { ReplayOptions } from './options.js';
import type { PlannedRequest, ReplayPlan } from './plan.js';
import type { ExtraReply, MissingReply, ReplayResult } from './result.js';
import { rewriteRequest } from './rewrite.js';

/** Requests sent per dispatcher turn before replies get a chance to be read. */
const BATCH = 2048;
/** More open TCP connections than this: finished ones are closed early. */
const OPEN_CHANNEL_SOFT_LIMIT = 200;

interface Run {
  /** Its place among the requests waiting on its socket. */
  waiting: Waiting<number> | null;
  sent: boolean;
  sentAt: number;
  txid: number;
  bytes: Buffer | null;
  got: number;
  done: boolean;
  doneAt: number;
  replyAt: number[];
}

/** What a pass needs from the engine that runs it (shared across --loop passes). */
export interface PassHost {
  readonly plan: ReplayPlan;
  readonly opts: ReplayOptions;
  readonly result: ReplayResult;
  readonly requests: readonly PlannedRequest[];
  readonly answered: boolean;
  readonly checking: Promise<void> | null;
  noteSend(now: number): void;
  noteAnswer(now: number): void;
  recheck(sentAt: number, transport: 'tcp' | 'udp'): Promise<void> | null;
  sessionFor(server: bigint, sid: number): number | undefined;
  learn(server: bigint, sid: number, got: number): void;
  missing(m: MissingReply): void;
  extra(x: ExtraReply): void;
}

function opName(opcode: number): string {
  return opcodeDef(opcode)?.name ?? `0x${opcode.toString(16).padStart(4, '0')}`;
}

/** One pass over the plan on fresh sockets. */
export class ReplayPass {
  private readonly reqs: readonly PlannedRequest[];
  private readonly runs: Run[];
  private readonly channels: (ReplayChannel | null)[];
  private readonly remaining: number[];
  private readonly dirty = new Set<ReplayChannel>();
  private readonly deadlines = new MinHeap<{ i: number; got: number; heapIndex: number }>();
  private readonly armAt = new Map<number, number[]>();
  private readonly o: ReplayOptions;
  private next = 0;
  private open = 0;
  private openChannels = 0;
  private delay = 0;
  private start = 0;
  private blocked = false;
  private pumpQueued = false;
  private pumpTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private deadlineAt = Infinity;
  private finished = false;
  private finishing = false;
  private resolve!: () => void;
  private reject!: (e: Error) => void;

  constructor(private readonly e: PassHost, private readonly loop: number) {
    this.reqs = e.requests;
    this.o = e.opts;
    this.runs = this.reqs.map(() => ({ waiting: null, sent: false, sentAt: 0, txid: 0, bytes: null, got: 0, done: false, doneAt: 0, replyAt: [] }));
    this.channels = e.plan.channels.map(() => null);
    this.remaining = e.plan.channels.map((c) => c.requests);
  }

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.start = performance.now();
      if (this.reqs.length === 0) return this.end();
      this.pump();
    });
  }

  interrupt(): void {
    if (this.finished) return;
    const now = performance.now();
    for (let i = this.next; i < this.reqs.length; i++) this.runs[i]!.done = true;
    this.next = this.reqs.length;
    for (let i = 0; i < this.runs.length; i++) {
      const st = this.runs[i]!;
      if (st.sent && !st.done) {
        this.markMissing(i, 'replay interrupted');
        this.finish(i, now);
      }
    }
    this.lingerThenEnd(0);
  }

  // ---- sockets ------------------------------------------------------------------

  private channel(idx: number): ReplayChannel {
    let ch = this.channels[idx];
    if (ch) return ch;
    const pc = this.e.plan.channels[idx]!;
    ch = new ReplayChannel(idx + this.loop * this.channels.length, pc.transport, this.o.target, {
      frame: (c, b) => this.onFrame(idx, c, b),
      failed: (c, err) => this.onFailed(idx, c, err),
      drained: () => this.wake(),
    }, this.o.tap ?? null);
    this.channels[idx] = ch;
    this.openChannels++;
    if (pc.transport === 'tcp') this.e.result.tcpConnections++;
    else this.e.result.udpSockets++;
    ch.open();
    return ch;
  }

  private onFailed(idx: number, ch: ReplayChannel, err: TransportError): void {
    if (this.finished) return;
    if (err instanceof ConnectionRefusedError && !this.e.answered) {
      this.abort(new ReplayAbort(err));
      return;
    }
    const now = performance.now();
    const pending = ch.waiting.items();
    if (pending.length > 0 || this.remaining[idx]! > 0) {
      const pc = this.e.plan.channels[idx]!;
      this.e.result.warnings.push(`${err.message} (replaying ${pc.transport} ${pc.client}; ${pending.length} requests outstanding, ${this.remaining[idx]} not sent)`);
    }
    for (const i of pending) {
      this.markMissing(i, err.message);
      this.finish(i, now);
    }
    this.wake();
  }

  private abort(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    for (const ch of this.channels) void ch?.close();
    this.reject(err);
  }

  // ---- sending --------------------------------------------------------------------

  private wake(): void {
    if (!this.blocked || this.pumpQueued || this.finished) return;
    this.blocked = false;
    this.pumpQueued = true;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpQueued = false;
    this.pumpTimer = null;
    if (this.finished) return;
    const reqs = this.reqs;
    const runs = this.runs;
    const speed = this.o.speed;
    const top = this.o.topspeed;
    let n = 0;
    while (this.next < reqs.length) {
      const i = this.next;
      const r = reqs[i]!;
      let readyAt = -Infinity;
      for (const d of r.deps) {
        const q = runs[d.req]!;
        if (q.got > d.reply) {
          if (!top) readyAt = Math.max(readyAt, q.replyAt[d.reply]! + (r.capMs - reqs[d.req]!.expected[d.reply]!.capMs) / speed);
        } else if (q.done) {
          if (!top) readyAt = Math.max(readyAt, q.doneAt);
        } else {
          this.blocked = true;
          return this.flushAll();
        }
      }
      const ch = this.channel(r.channel);
      if (!ch.dead) {
        const window = ch.transport === 'tcp' ? this.o.tcpWindow : this.o.udpWindow;
        if ((r.expected.length > 0 && window > 0 && ch.inflight >= window) || ch.backlogged) {
          this.blocked = true;
          return this.flushAll();
        }
      }
      if (!top) {
        let due = this.start + r.capMs / speed + this.delay;
        if (readyAt > due) {
          this.delay += readyAt - due;
          due = readyAt;
        }
        const wait = due - performance.now();
        if (wait > 0.5) {
          this.flushAll();
          this.pumpTimer = setTimeout(this.pump, wait);
          return;
        }
      }
      this.send(i, ch);
      this.next++;
      if (++n >= BATCH) {
        this.flushAll();
        this.pumpQueued = true;
        setImmediate(this.pump);
        return;
      }
    }
    this.flushAll();
    this.maybeEnd();
  };

  private flushAll(): void {
    for (const ch of this.dirty) ch.flush();
    this.dirty.clear();
  }

  private timeoutOf(r: PlannedRequest): number {
    return this.o.timeoutMs ?? r.timeoutMs;
  }

  private send(i: number, ch: ReplayChannel): void {
    const r = this.reqs[i]!;
    const st = this.runs[i]!;
    const now = performance.now();
    this.remaining[r.channel]!--;
    if (ch.dead) {
      this.e.result.notSent++;
      this.markMissing(i, `not sent: ${ch.dead.message}`);
      st.done = true;
      st.doneAt = now;
      return;
    }
    let txid = r.txid;
    if (this.o.rewrite.renumber) {
      txid = ch.nextTxid;
      ch.nextTxid = ch.nextTxid >= 0xffffffff ? 1 : ch.nextTxid + 1;
    }
    let session: { offset: number; value: number } | null = null;
    if (r.session) {
      const v = this.e.sessionFor(r.session.server, r.session.sid);
      if (v !== undefined) session = { offset: r.session.offset, value: v };
    }
    const bytes = rewriteRequest(this.o.rewrite, {
      bytes: r.bytes, frameLen: r.frameLen, capturedSum: r.decoded.sum, clientId: r.clientId, serverId: r.serverId,
      txid: r.txid, newTxid: this.o.rewrite.renumber ? txid : null, session,
    });
    ch.send(bytes);
    this.dirty.add(ch);
    st.sent = true;
    st.sentAt = now;
    st.txid = txid;
    st.bytes = bytes;
    this.e.result.sent++;
    this.e.noteSend(now);
    if (r.expected.length > 0) {
      st.waiting = ch.waiting.add(txid, Header.get.client_id(bytes, 0), r.opcode, i);
      ch.inflight++;
      this.open++;
      this.arm(i, now + this.timeoutOf(r));
    } else {
      st.done = true;
      st.doneAt = now;
      this.maybeClose(r.channel);
    }
    const later = this.armAt.get(i);
    if (later) {
      this.armAt.delete(i);
      for (const j of later) if (!this.runs[j]!.done) this.arm(j, now + this.timeoutOf(this.reqs[j]!));
    }
  }

  // ---- replies ----------------------------------------------------------------------

  private onFrame(idx: number, ch: ReplayChannel, b: Buffer): void {
    if (this.finished) return;
    const res = this.e.result;
    res.replies++;
    const now = performance.now();
    this.e.noteAnswer(now);
    const socket = this.e.plan.channels[idx]!.client;
    if (b.length < HEADER_SIZE || (Header.get.opcode(b, 0) & REPLY_BIT) === 0) {
      this.e.extra({
        name: Header.has.opcode(b.length) ? opName(Header.get.opcode(b, 0)) : 'short frame',
        txid: Header.has.transaction_id(b.length) ? Header.get.transaction_id(b, 0) : null,
        status: null, socket, frame: null,
      });
      return;
    }
    const w = ch.waiting.findFor(b);
    if (!w) {
      const txid = Header.get.transaction_id(b, 0);
      this.e.extra({ name: `${opName(Header.get.opcode(b, 0))} reply`, txid, status: statusName(Header.get.sub_opcode(b, 0)), socket, frame: null });
      return;
    }
    const at = w.item;
    const r = this.reqs[at]!;
    const st = this.runs[at]!;
    const k = st.got++;
    st.replyAt.push(now);
    const exp = r.expected[k]!;
    const diffs = compareReply(exp.decoded, b, this.o.compare, {
      sentTxid: st.txid,
      sessionFor: (s, id) => this.e.sessionFor(s, id),
      learn: (s, id, got) => this.e.learn(s, id, got),
    });
    if (diffs.length === 0) res.matched++;
    else {
      res.differed++;
      for (const d of diffs) res.differences.push({ frame: r.frame, field: d.field, expected: d.expected, got: d.got });
    }
    const status = Header.get.sub_opcode(b, 0);
    const pending = status === STATUS_PENDING;
    if (k + 1 >= r.expected.length || !pending) {
      if (k + 1 < r.expected.length) this.markMissing(at, `the target ended the exchange with ${statusName(status)}`);
      this.finish(at, now);
    } else {
      const after = r.expected[k + 1]!.afterIndex;
      if (after < this.next) this.arm(at, now + this.timeoutOf(r));
      else {
        let l = this.armAt.get(after);
        if (!l) this.armAt.set(after, (l = []));
        // The first reply's deadline no longer applies: its entry was armed for got = k.
        l.push(at);
      }
    }
    this.wake();
  }

  private markMissing(i: number, reason: string): void {
    const r = this.reqs[i]!;
    const st = this.runs[i]!;
    for (let k = st.got; k < r.expected.length; k++) {
      this.e.missing({
        frame: r.frame, name: r.name, txid: st.sent ? st.txid : r.txid, reply: k + 1,
        expectedStatus: r.expected[k]!.decoded.status ?? '-', reason,
      });
    }
  }

  private finish(i: number, now: number): void {
    const st = this.runs[i]!;
    if (st.done) return;
    st.done = true;
    st.doneAt = now;
    const r = this.reqs[i]!;
    const ch = this.channels[r.channel];
    if (ch && st.sent) {
      if (st.waiting) ch.waiting.remove(st.waiting);
      st.waiting = null;
      ch.inflight--;
    }
    this.open--;
    this.maybeClose(r.channel);
    this.wake();
    this.maybeEnd();
  }

  /** Many connections open: close one that has nothing left to do. */
  private maybeClose(idx: number): void {
    const ch = this.channels[idx];
    if (!ch || ch.transport !== 'tcp' || this.openChannels <= OPEN_CHANNEL_SOFT_LIMIT) return;
    if (this.remaining[idx]! > 0 || ch.inflight > 0) return;
    ch.flush();
    void ch.close();
    this.openChannels--;
  }

  // ---- deadlines --------------------------------------------------------------------

  private arm(i: number, at: number): void {
    this.deadlines.push(at, { i, got: this.runs[i]!.got, heapIndex: -1 });
    if (at < this.deadlineAt) this.setDeadlineTimer(at);
  }

  private setDeadlineTimer(at: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(this.expire, Math.max(0, at - performance.now()));
  }

  private readonly expire = (): void => {
    this.deadlineTimer = null;
    this.deadlineAt = Infinity;
    if (this.finished) return;
    const now = performance.now();
    while (this.deadlines.size > 0 && this.deadlines.peekKey() <= now) {
      const d = this.deadlines.pop()!;
      const st = this.runs[d.i]!;
      if (st.done || st.got !== d.got) continue;
      const check = this.e.recheck(st.sentAt, this.e.plan.channels[this.reqs[d.i]!.channel]!.transport);
      if (check) check.catch((err: Error) => this.abort(err));
      this.markMissing(d.i, `no reply within ${this.timeoutOf(this.reqs[d.i]!)} ms`);
      this.finish(d.i, now);
    }
    if (this.deadlines.size > 0) this.setDeadlineTimer(this.deadlines.peekKey());
  };

  // ---- the end -----------------------------------------------------------------------

  private maybeEnd(): void {
    if (this.finishing || this.finished || this.next < this.reqs.length || this.open > 0) return;
    for (const ch of this.channels) if (ch && ch.queued > 0) ch.flush();
    this.lingerThenEnd(this.o.lingerMs);
  }

  private lingerThenEnd(ms: number): void {
    if (this.finishing || this.finished) return;
    this.finishing = true;
    setTimeout(() => this.end(), ms);
  }

  private clearTimers(): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.pumpTimer = null;
    this.deadlineTimer = null;
  }

  private end(): void {
    if (this.finished) return;
    // A check of the target is under way: its verdict (abort or not) comes first.
    const checking = this.e.checking;
    if (checking) {
      checking.then(() => this.end(), () => {});
      return;
    }
    this.finished = true;
    this.clearTimers();
    void Promise.all(this.channels.map((c) => c?.close())).then(() => this.resolve());
  }
}
