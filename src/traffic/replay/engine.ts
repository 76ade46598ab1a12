// The replay engine: sends a plan's requests to a target and checks the replies.
//
// Scheduling. One dispatcher walks the requests in capture order (across all
// sockets, like tcpreplay) and sends request i when
//   1. its dependencies are in (plan.ts: the replies the captured client had
//      seen before sending it; a dependency that times out counts as in);
//   2. its time has come: original pacing puts request i at
//      start + capMs(i) / speed + delay, where `delay` only grows — when a
//      reply we waited for came later than the capture's pacing allows, the
//      request goes `capture gap after that reply` / speed after it and the
//      rest of the schedule shifts by as much (no catch-up burst); --topspeed
//      skips this step;
//   3. its socket has room: at most `window` requests with replies
//      outstanding per socket (default: unlimited on TCP, 32 on UDP, where a
//      burst would overflow socket buffers and lose datagrams), and TCP's
//      write backlog under 4 MiB.
// A request that cannot go yet holds back every later one (capture order is
// kept; since the capture shows every later request after the awaited reply
// too, holding them back never reorders anything the capture shows).
// Requests that are due together are written in one batch per socket.
//
// Replies are matched per socket by (transaction id, client id, opcode). The
// k-th reply to a request is compared with the k-th captured reply
// (compare.ts). A reply that ends the exchange (any status but PENDING) while
// the capture shows more replies makes those missing at once; replies beyond
// what the capture shows, or answering nothing, are extra.
//
// Timeouts: a request's first reply is missing after --timeout ms (default:
// the request's own rule, VVMP.md section 7: Allocate/Modify timeout_ms or
// 5,000 ms). A reply after PENDING cannot be timed from the request (it comes
// when storage frees up, i.e. after the requests that free it): its clock
// starts once the PENDING is in and the last request the capture shows before
// that reply has been sent.
//
// Session ids: an Allocate reply OK teaches the map (captured server, captured
// session id) → the target's session id; later requests naming a session get
// the target's id written into their payload, and replies are compared
// through the map.
//
// --loop N: the plan is replayed N times, one after the other, each time on
// fresh sockets (the session map carries over and is re-learned).

import { performance } from 'node:perf_hooks';
import { MinHeap } from '../../analysis/heap.js';
import { HEADER_SIZE, STATUS_PENDING, opcodeDef, statusName } from '../../protocol/fields.js';
import { ConnectionRefusedError, type HostPort, type TransportError } from '../transport.js';
import { ReplayAbort, checkTarget } from './probe.js';
import { ReplayChannel } from './channel.js';
import { compareReply, type CompareOptions } from './compare.js';
import type { ExtraReply, MissingReply, ReplayProgress, ReplayResult } from './result.js';

export type { Difference, ExtraReply, MissingReply, ReplayProgress, ReplayResult } from './result.js';
import type { PlannedRequest, ReplayPlan } from './plan.js';
import type { TrafficTap } from './record.js';
import { rewriteRequest, type RewriteMaps } from './rewrite.js';

export interface ReplayOptions {
  target: HostPort;
  /** Pacing multiplier (2 = twice as fast as captured). */
  speed: number;
  topspeed: boolean;
  loops: number;
  /** Reply timeout for every request; default: each request's own (VVMP.md section 7). */
  timeoutMs?: number;
  /** How long to listen for extra replies after the last expected one. */
  lingerMs: number;
  /** Max requests with outstanding replies per TCP connection (0 = unlimited). */
  tcpWindow: number;
  /** Same, per UDP socket. */
  udpWindow: number;
  rewrite: RewriteMaps;
  compare: CompareOptions;
  tap?: TrafficTap | null;
  /** The caller already ran the baseline exchange (probe.ts), e.g. before starting --record. */
  baselineChecked?: boolean;
}

export { ReplayAbort };

export const DEFAULT_UDP_WINDOW = 32;
export const DEFAULT_LINGER_MS = 100;
/** Requests sent per dispatcher turn before replies get a chance to be read. */
const BATCH = 2048;
/** Detail lists (missing, extra) keep this many entries; counters are exact. */
const LIST_LIMIT = 1000;
/** More open TCP connections than this: finished ones are closed early. */
const OPEN_CHANNEL_SOFT_LIMIT = 200;

interface Run {
  sent: boolean;
  sentAt: number;
  txid: number;
  bytes: Buffer | null;
  got: number;
  done: boolean;
  doneAt: number;
  replyAt: number[];
}


export class ReplayEngine {
  private readonly reqs: readonly PlannedRequest[];
  private readonly res: ReplayResult;
  private readonly sessions = new Map<string, number>();
  private t0 = 0;
  private firstSend = -1;
  private lastSend = -1;
  private anyAnswer = false;
  private lastAnswerAt = -Infinity;
  private rechecking: Promise<void> | null = null;
  private stopRequested = false;
  private current: Iteration | null = null;

  constructor(readonly plan: ReplayPlan, readonly opts: ReplayOptions) {
    this.reqs = plan.requests;
    this.res = {
      sent: 0, replies: 0, matched: 0, differed: 0, missing: 0, extra: 0, differences: [], missingList: [], extraList: [],
      notSent: 0, warnings: [], elapsedMs: 0, sendMs: 0, loops: 0, tcpConnections: 0, udpSockets: 0, interrupted: false,
    };
  }

  get progress(): ReplayProgress {
    const r = this.res;
    return {
      sent: r.sent, total: this.reqs.length * this.opts.loops, replies: r.replies, differed: r.differed,
      missing: r.missing, extra: r.extra, elapsedMs: this.t0 ? performance.now() - this.t0 : 0,
    };
  }

  /** Stops sending; what is outstanding counts as missing; the result is still produced. */
  interrupt(): void {
    this.stopRequested = true;
    this.res.interrupted = true;
    this.current?.interrupt();
  }

  async run(): Promise<ReplayResult> {
    if (!this.opts.baselineChecked) await checkTarget(this.plan, this.opts);
    this.t0 = performance.now();
    for (let loop = 0; loop < this.opts.loops && !this.stopRequested; loop++) {
      const it = new Iteration(this, loop);
      this.current = it;
      await it.run();
      this.res.loops++;
    }
    this.current = null;
    this.res.elapsedMs = performance.now() - this.t0;
    this.res.sendMs = this.firstSend < 0 ? 0 : this.lastSend - this.firstSend;
    return this.res;
  }

  // ---- shared by the iterations --------------------------------------------

  /** @internal */ get result(): ReplayResult {
    return this.res;
  }
  /** @internal */ get requests(): readonly PlannedRequest[] {
    return this.reqs;
  }
  /** @internal */ noteSend(now: number): void {
    if (this.firstSend < 0) this.firstSend = now;
    this.lastSend = now;
  }
  /** @internal */ noteAnswer(now: number): void {
    this.anyAnswer = true;
    this.lastAnswerAt = now;
  }
  /**
   * A request sent at `sentAt` got no reply and the target has sent nothing since: is it still
   * a VVMP server? Resolves when it is; rejects with ReplayAbort when it stopped answering.
   * One check at a time (the others wait for it).
   */
  /** @internal */ get checking(): Promise<void> | null {
    return this.rechecking;
  }
  /** @internal */ recheck(sentAt: number, transport: 'tcp' | 'udp'): Promise<void> | null {
    if (this.lastAnswerAt >= sentAt) return null;
    this.rechecking ??= checkTarget(this.plan, this.opts, [transport],
      `; it stopped answering after ${this.res.replies} repl${this.res.replies === 1 ? 'y' : 'ies'}`)
      .finally(() => { this.rechecking = null; });
    return this.rechecking;
  }
  /** @internal */ get answered(): boolean {
    return this.anyAnswer;
  }
  /** @internal */ sessionFor(server: bigint, sid: number): number | undefined {
    return this.sessions.get(`${server}/${sid}`);
  }
  /** @internal */ learn(server: bigint, sid: number, got: number): void {
    this.sessions.set(`${server}/${sid}`, got);
  }
  /** @internal */ missing(m: MissingReply): void {
    this.res.missing++;
    if (this.res.missingList.length < LIST_LIMIT) this.res.missingList.push(m);
  }
  /** @internal */ extra(x: ExtraReply): void {
    this.res.extra++;
    if (this.res.extraList.length < LIST_LIMIT) this.res.extraList.push(x);
  }
}

function opName(opcode: number): string {
  return opcodeDef(opcode)?.name ?? `0x${opcode.toString(16).padStart(4, '0')}`;
}

/** One pass over the plan on fresh sockets. */
class Iteration {
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

  constructor(private readonly e: ReplayEngine, private readonly loop: number) {
    this.reqs = e.requests;
    this.o = e.opts;
    this.runs = this.reqs.map(() => ({ sent: false, sentAt: 0, txid: 0, bytes: null, got: 0, done: false, doneAt: 0, replyAt: [] }));
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
    const pending = [...ch.outstanding.values()].flat();
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
      let list = ch.outstanding.get(txid);
      if (!list) ch.outstanding.set(txid, (list = []));
      list.push(i);
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
    if (b.length < HEADER_SIZE || (b[0]! & 0x80) === 0) {
      this.e.extra({
        name: b.length >= 2 ? opName(b.readUInt16BE(0)) : 'short frame', txid: b.length >= 28 ? b.readUInt32BE(24) : null,
        status: null, socket, frame: null,
      });
      return;
    }
    const txid = b.readUInt32BE(24);
    const base = b.readUInt16BE(0) & 0x7fff;
    const list = ch.outstanding.get(txid);
    let at = -1;
    if (list) {
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        const sent = this.runs[i]!.bytes!;
        if ((this.reqs[i]!.opcode & 0x7fff) === base && sent.length >= 16 && b.compare(sent, 8, 16, 8, 16) === 0) {
          at = i;
          break;
        }
      }
    }
    if (at < 0) {
      this.e.extra({ name: `${opName(b.readUInt16BE(0))} reply`, txid, status: statusName(b[28]!), socket, frame: null });
      return;
    }
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
    const pending = b[28] === STATUS_PENDING;
    if (k + 1 >= r.expected.length || !pending) {
      if (k + 1 < r.expected.length) this.markMissing(at, `the target ended the exchange with ${statusName(b[28]!)}`);
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
      const list = ch.outstanding.get(st.txid);
      if (list) {
        const k = list.indexOf(i);
        if (k >= 0) list.splice(k, 1);
        if (list.length === 0) ch.outstanding.delete(st.txid);
      }
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
