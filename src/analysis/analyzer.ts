// The analysis: one streaming pass over VVMP frames that numbers them,
// matches replies to requests, judges timeouts on capture time, follows
// session lifecycles and attaches exchange findings. `read`, `stats`, the
// terminal UI and live capture all run it (OUTPUT.md, conventions 5–10).

import type { Packet } from '../capture/packet.js';
import type { FrameEvent, SegmentEvent } from '../net/types.js';
import { decodeFrame, type DecodedFrame } from '../protocol/decode.js';
import { finding, type Finding } from '../protocol/expert.js';
import {
  ANNOUNCE_BOOT, HEADER_SIZE, OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_STATISTICS,
  REPLY_BIT, STATUS_OK, STATUS_PENDING, DEFAULT_TIMEOUT_MS,
} from '../protocol/fields.js';
import type { BlockRecord } from '../protocol/codec.js';
import type { AnalyzedFrame } from './frame.js';
import { MinHeap, type HeapItem } from './heap.js';
import { OpenTable, type OpenEntry } from './openTable.js';
import type { LatencyStats } from './latency.js';
import { TransactionStats } from './transactions.js';
import { SessionTable, sessionKey, type SessionRecord } from './sessions.js';
import { Clock, stamp, type Stamp } from './time.js';
import { endpointText } from '../net/endpoint.js';

/** Default request timeout (VVMP.md section 7), declared once in the field table. */
export { DEFAULT_TIMEOUT_MS };
/** A timed-out request stays matchable this long past its deadline; then a late reply is unmatched (the Lua dissector mirrors it). */
export const LATE_REPLY_GRACE_NS = 60e9;
const EMPTY = Buffer.alloc(0);

interface OpenRequest extends HeapItem, OpenEntry<OpenRequest> {
  /** The request frame; released (null) once the exchange is over, while the deadline heap may still hold this entry. */
  frame: AnalyzedFrame | null;
  t: number;
  deadline: number;
  /** Server id and session id named by the request (for session lookups on its reply). */
  sessionId: number | null;
  releaseKb: number;
  serverId: bigint;
  pending: boolean;
  timedOut: boolean;
  evicted: boolean;
  session: SessionRecord | null;
  /** The session record the request belongs to (its Allocate entry, or the session it names), once known. */
  rec: SessionRecord | null;
  /** Counted in the transaction stats: always without a display filter; with one, once the request is final and matches. */
  included: boolean;
}

export interface AnalyzerHooks {
  /** Every frame at once, in order (terminal UI, live). Exchange findings may follow via `lateFinding`. */
  frame?(f: AnalyzedFrame): void;
  /** Every frame in order once nothing about it can change. */
  settled?(f: AnalyzedFrame): void;
  /**
   * Every frame once nothing about it can change, in any order: a request
   * when answered or timed out, anything else at once. Nothing is held back
   * (filtered stats: counting needs final frames, not their order).
   * `included`: the frame matches the `include` option (true without one).
   */
  final?(f: AnalyzedFrame, included: boolean): void;
  /**
   * Instead of `settled`: turns each final frame into its output text at
   * once, so frames waiting behind an open request cost only their text;
   * `emit` receives the texts in frame order (read and live output).
   */
  render?(f: AnalyzedFrame): string;
  emit?(text: string): void;
  /** A finding added to a frame already handed to `frame` (a timeout). */
  lateFinding?(f: AnalyzedFrame, x: Finding): void;
  /** A finding that belongs to a TCP segment (retransmission, gap). */
  segment?(e: SegmentEvent): void;
}

export interface AnalyzerOptions {
  /** Keep finished sessions in compact columns (stats on huge captures); the UI keeps records. */
  compactSessions?: boolean;
  /** Keep each frame's bytes (copied) for hex dumps; otherwise they are dropped once decoded. */
  keepBytes?: boolean;
  /**
   * A display filter for what the statistics describe (`stats -Y`): tested on
   * each frame once final. Transactions count a request that matches (its
   * answer, timeout and response time with it), error replies count when
   * they match, and sessions are marked when a matching frame belongs to
   * them (`SessionTable.rows(true)`).
   */
  include?: (f: AnalyzedFrame) => boolean;
  /**
   * With `render`: call it in frame order (frames behind an open request are
   * kept whole, not as text). For display filters that read what they
   * selected before (frame.time_delta_displayed).
   */
  renderInOrder?: boolean;
  /** Keep the packet bytes of frames held for later (a copy): display filters on `frame[…]`, `frame contains`. */
  keepPackets?: boolean;
}

export class Analyzer {
  packets = 0;
  vvmpFrames = 0;
  readonly sessions: SessionTable;
  /** Requests, answers, timeouts, response times, error replies (see `include`). */
  readonly tx = new TransactionStats();
  first: Stamp | null = null;
  /** The last packet's time, as numbers (no object per packet). */
  private lastSec = 0;
  private lastNsec = 0;
  private lastDigits = 0;
  /** The packet before the current one, and the first packet (frame.time_delta, frame.time_relative). */
  private prevSec = 0;
  private prevNsec = 0;
  private firstSec = 0;
  private firstNsec = 0;

  private readonly clock = new Clock();
  private now = -Infinity;
  /** Requests not finally answered (or timed out within the grace), by transaction id. */
  private readonly open = new OpenTable<OpenRequest>();
  private readonly deadlines = new MinHeap<OpenRequest>();
  /** Frames waiting behind an open request: objects, or their output already rendered (see `render`). */
  private readonly held: (AnalyzedFrame | string)[] = [];
  private heldHead = 0;
  /** Rendered text of final frames behind the held ones, not yet joined into a piece. */
  private tailText: string[] = [];
  private tailSize = 0;
  /** Position (counted from the start, across compactions) of each held frame object, with `render`. */
  private readonly heldAt = new Map<AnalyzedFrame, number>();
  private heldBase = 0;
  /** Requests not final yet (tracked only when something needs final frames). */
  private readonly unsettled = new Map<AnalyzedFrame, OpenRequest>();
  private ended = false;
  /** The session record of the frame being analysed (for `include`). */
  private frameSession: SessionRecord | null = null;

  private readonly ordered: boolean;
  /** Requests are tracked until final (ordered output, the `final` hook, or `include`). */
  private readonly tracksFinal: boolean;
  private readonly include: ((f: AnalyzedFrame) => boolean) | null;

  constructor(private readonly hooks: AnalyzerHooks = {}, private readonly opts: AnalyzerOptions = {}) {
    this.ordered = hooks.settled !== undefined || hooks.render !== undefined;
    this.include = opts.include ?? null;
    this.tracksFinal = this.ordered || hooks.final !== undefined || this.include !== null;
    this.sessions = new SessionTable(opts.compactSessions ?? false);
  }

  /** Whether a display filter selects what the statistics describe. */
  get selecting(): boolean {
    return this.include !== null;
  }

  get latency(): LatencyStats {
    return this.tx.latency;
  }

  get requests(): number {
    return this.tx.requests;
  }

  get answered(): number {
    return this.tx.answered;
  }

  get timedOut(): number {
    return this.tx.timedOut;
  }

  /** Every capture packet, before its frames: counts it and moves capture time on. */
  packet(p: Packet): void {
    this.packets++;
    const t = this.clock.ns(p.tsSec, p.tsNsec);
    if (this.first === null) {
      this.first = stamp(p.tsSec, p.tsNsec, p.tsDigits);
      this.firstSec = this.lastSec = p.tsSec;
      this.firstNsec = this.lastNsec = p.tsNsec;
    }
    this.prevSec = this.lastSec;
    this.prevNsec = this.lastNsec;
    this.lastSec = p.tsSec;
    this.lastNsec = p.tsNsec;
    this.lastDigits = p.tsDigits;
    if (t > this.now) this.now = t;
    this.expire(this.now, false);
  }

  /**
   * Live capture only: the wall clock moved on with no packet (quiet line).
   * Times out requests as a packet at that time would, without counting a packet.
   */
  tick(sec: number, nsec: number): void {
    if (this.first === null) return;
    const t = this.clock.ns(sec, nsec);
    if (t > this.now) this.now = t;
    this.expire(this.now, false);
  }

  segment(e: SegmentEvent): void {
    this.hooks.segment?.(e);
  }

  frame(e: FrameEvent): AnalyzedFrame {
    const d = decodeFrame(e.data, { udp: e.transport === 'udp' });
    const p = e.packet;
    const f: AnalyzedFrame = {
      number: ++this.vvmpFrames,
      packet: p.index,
      firstPacket: e.firstPacket ?? p.index,
      tsSec: p.tsSec,
      tsNsec: p.tsNsec,
      tsDigits: p.tsDigits,
      transport: e.transport,
      src: e.src,
      dst: e.dst,
      srcText: endpointText(e.src),
      dstText: endpointText(e.dst),
      flowKey: e.flowKey,
      decoded: d,
      session: null,
      expert: d.findings,
      latencyMs: null,
      peer: null,
      firstSec: this.firstSec,
      firstNsec: this.firstNsec,
      prevSec: this.prevSec,
      prevNsec: this.prevNsec,
      packetData: p.data,
      stream: e.stream,
    };
    if (e.desync) f.expert.push(finding('tcp_desync', `length ${d.header.length} words is over the receiver's limit; the rest of this direction cannot be framed`));
    const t = this.clock.ns(p.tsSec, p.tsNsec);
    this.frameSession = null;
    if (d.bytes.length >= HEADER_SIZE) this.exchange(f, d, t);

    // Bytes are views into the reader's chunk: copy them only for frames that are kept.
    const holdsObjects = !this.hooks.render || this.opts.renderInOrder === true;
    const willHold = this.unsettled.has(f) || (this.ordered && holdsObjects && this.heldHead < this.held.length);
    if (this.opts.keepBytes || willHold) {
      d.bytes = ownCopy(d.bytes, d.trailing);
      // The reader reuses its chunk: a kept frame keeps its packet only when asked (costs a copy per request).
      f.packetData = this.opts.keepPackets ? ownCopy(p.data, 0) : undefined;
    }
    this.hooks.frame?.(f);
    if (!this.unsettled.has(f)) this.finalFrame(f, this.frameSession);
    this.deliver(f);
    // An open request outlives this packet: do not let it pin the reader's chunk.
    if (!this.opts.keepBytes && !willHold && d.reply === false) {
      d.bytes = EMPTY;
      f.packetData = EMPTY;
    }
    return f;
  }

  /** End of capture: requests whose deadline the last packet's time passed are timed out. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.expire(this.now, true);
    // Whatever is still held is final now.
    for (const [f, r] of this.unsettled) this.finalRequest(f, r);
    this.unsettled.clear();
    this.drain();
  }

  get last(): Stamp | null {
    return this.first === null ? null : stamp(this.lastSec, this.lastNsec, this.lastDigits);
  }

  get openAtEnd(): number {
    let n = 0;
    for (const r of this.open.values()) if (!r.timedOut && r.included) n++;
    return n;
  }

  /** A frame other than a request is final: error replies count, its session is marked, `final` is told. */
  private finalFrame(f: AnalyzedFrame, rec: SessionRecord | null): void {
    const included = this.include === null || this.include(f);
    if (included) {
      const d = f.decoded;
      const status = d.header.sub_opcode;
      if (d.reply && d.status !== null && status !== null && status !== STATUS_OK && status !== STATUS_PENDING
        && d.header.opcode !== null && d.header.server_id !== null && d.bytes.length >= HEADER_SIZE) {
        this.tx.errorReply(d.status, d.header.server_id);
      }
      if (rec && this.include !== null) this.sessions.select(rec);
    }
    this.hooks.final?.(f, included);
  }

  /** A request is final (answered, pending, timed out, or the capture ended): with a filter, it counts now if it matches. */
  private finalRequest(f: AnalyzedFrame, r: OpenRequest): void {
    let included = true;
    if (this.include !== null) {
      included = this.include(f);
      r.included = included;
      if (included) {
        this.tx.requests++;
        if (r.rec) this.sessions.select(r.rec);
      }
    }
    this.hooks.final?.(f, included);
  }

  // ---- exchanges ----------------------------------------------------------

  private exchange(f: AnalyzedFrame, d: DecodedFrame, t: number): void {
    const h = d.header;
    const opcode = h.opcode!;
    const client = h.client_id!;
    const base = opcode & ~REPLY_BIT;
    if (opcode === OP_ANNOUNCE) {
      if (h.sub_opcode === ANNOUNCE_BOOT) {
        const n = this.sessions.boot(h.server_id!, frameStamp(f), f.number);
        if (n > 0) f.expert.push(finding('boot_teardown', `boot of server ${hex(h.server_id!)} tears down ${n} live session${n === 1 ? '' : 's'}`));
      }
      return;
    }
    if (!d.reply) this.request(f, d, t, client);
    else this.reply(f, d, t, client, base);
  }

  private request(f: AnalyzedFrame, d: DecodedFrame, t: number, client: bigint): void {
    const h = d.header;
    const txid = h.transaction_id!;
    if (this.include === null) this.tx.requests++;
    if (this.open.find(txid, client, -1) !== null) {
      f.expert.push(finding('txid_duplicate', `transaction ${txid} of client ${hex(client)} is still outstanding`));
    }
    const payload = d.payload as BlockRecord | null;
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    let session: SessionRecord | null = null;
    let rec: SessionRecord | null = null;
    const op = h.opcode!;
    if (op === OP_ALLOCATE || op === OP_MODIFY) {
      const asked = payload ? Number(payload.timeout_ms) : 0;
      if (asked > 0) timeoutMs = asked;
    }
    if (op === OP_ALLOCATE) {
      session = this.sessions.begin(h.client_id!, h.server_id!, payload ? Number(payload.storage_type) : null,
        payload ? Number(payload.capacity_kb) : null, frameStamp(f), f.number);
      this.linkForward(session, d);
      rec = session;
    } else if (op === OP_INITIALIZE || op === OP_MODIFY || op === OP_FREE || op === OP_STATISTICS) {
      const sid = payload ? Number(payload.session_id) : null;
      if (sid !== null && h.server_id! !== 0n) {
        const s = this.sessions.get(h.server_id!, sid);
        if (s) {
          f.session = s.key;
          rec = s;
        }
        else if (this.sessions.wasBooted(h.server_id!) && !this.sessions.wasSeen(h.server_id!, sid)) f.expert.push(unknownSession(h.server_id!, sid));
      }
    }
    const sid = payload && (op === OP_INITIALIZE || op === OP_MODIFY || op === OP_FREE || op === OP_STATISTICS) ? Number(payload.session_id) : null;
    const r: OpenRequest = {
      frame: f, t, deadline: t + timeoutMs * 1e6, txid, client, opcode: op,
      sessionId: sid, releaseKb: op === OP_FREE && payload ? Number(payload.release_kb) : 0, serverId: h.server_id!,
      pending: false, timedOut: false, evicted: false, session, rec, included: this.include === null,
      heapIndex: -1, nextInBucket: null, seq: 0,
    };
    this.open.add(r);
    this.deadlines.push(r.deadline, r);
    this.frameSession = rec;
    if (this.tracksFinal) this.unsettled.set(f, r);
  }

  private reply(f: AnalyzedFrame, d: DecodedFrame, t: number, client: bigint, base: number): void {
    const h = d.header;
    const txid = h.transaction_id!;
    const r = this.open.find(txid, client, base);
    if (r === null) {
      f.expert.push(finding('reply_unmatched', `no request seen for transaction ${txid} of client ${hex(client)}`));
      return;
    }
    const status = h.sub_opcode!;
    const isPending = status === STATUS_PENDING;
    const req = r.frame!;
    // A request is final at its first reply (read prints it then): that reply
    // measures the latency, is its peer and names its session. After a
    // PENDING, the grant answers the exchange but no longer changes the request.
    const first = !r.pending;
    // Whole microseconds: exact in the latency histogram and in the output.
    const us = Math.round((t - r.t) / 1e3);
    if (first) {
      f.latencyMs = us / 1e3;
      req.peer = f.number;
    }
    f.peer = req.number;
    if (isPending) {
      // The exchange stays open with no deadline until the final reply.
      r.pending = true;
    } else {
      this.open.remove(r);
    }
    // Answered or pending: no deadline left to watch.
    this.deadlines.remove(r);
    const rec = this.sessionReply(r, f, d);
    this.frameSession = rec;
    if (r.rec === null) r.rec = rec;
    if (first && req.session === null && f.session !== null) req.session = f.session;
    this.settle(req);
    // Counted once the request is final (a filter decides on it then).
    if (r.included) {
      if (first) this.tx.responseTime(r.opcode, client, h.server_id!, us);
      if (!isPending) this.tx.answered++;
    }
    if (!isPending) r.frame = null;
  }

  /** What a reply does to its session (convention 7); returns the session record it belongs to. */
  private sessionReply(r: OpenRequest, f: AnalyzedFrame, d: DecodedFrame): SessionRecord | null {
    const h = d.header;
    const status = h.sub_opcode!;
    const payload = d.payload as BlockRecord | null;
    const base = h.opcode! & ~REPLY_BIT;
    const server = h.server_id!;
    if (base === OP_ALLOCATE && r.session) {
      const s = r.session;
      // Keyed by the reply (convention 7): its server_id, and for PENDING the Allocate block's session_id.
      if (status === STATUS_PENDING) this.sessions.waiting(s, server, payload ? Number(payload.session_id) : 0, f.number);
      else if (status === STATUS_OK && payload) {
        this.sessions.allocated(s, server, Number(payload.session_id), Number(payload.storage_type),
          Number(payload.capacity_kb), frameStamp(f), f.number, f.latencyMs);
        if (s.forwardedFor) s.forwardedFor.event('forwarded', f.number, `SAN ${h.src_san}`);
      } else if (status !== STATUS_OK) this.sessions.rejected(s, server, d.status!, f.number);
      f.session = s.key;
      if (s.key) s.frames += 2;
      return s;
    }
    if (base !== OP_INITIALIZE && base !== OP_MODIFY && base !== OP_FREE && base !== OP_STATISTICS) return null;
    const sid = payload ? Number(payload.session_id) : r.sessionId;
    if (sid === null) return null;
    const s = this.sessions.get(server, sid);
    if (!s) {
      const archived = this.sessions.keyIfSeen(server, sid);
      if (archived !== null) {
        f.session = archived;
        return null;
      }
      if (r.serverId === 0n && this.sessions.wasBooted(server) && !this.sessions.wasSeen(server, sid)) {
        f.expert.push(unknownSession(server, sid));
      }
      return null;
    }
    f.session = s.key;
    s.frames += 2;
    if (status !== STATUS_OK) return s;
    if (base === OP_INITIALIZE) this.sessions.initialized(s, f.number);
    else if (base === OP_MODIFY) this.sessions.modified(s, payload ? Number(payload.capacity_kb) : null, f.number);
    else if (base === OP_STATISTICS) s.event('stats', f.number);
    else if (base === OP_FREE) {
      const release = payload ? Number(payload.release_kb) : r.releaseKb;
      this.sessions.freed(s, release, frameStamp(f), f.number);
    }
    return s;
  }

  /**
   * Cross-SAN (VVMP.md section 7): a manager forwards a client's Allocate to a
   * peer with the same client_id, src_san = its SAN and dst_san = the peer's.
   * Link it to the client's outstanding Allocate addressed to that SAN.
   */
  private linkForward(s: SessionRecord, d: DecodedFrame): void {
    const h = d.header;
    if (h.src_san === h.dst_san) return;
    const r = this.open.oldest((r) => {
      const o = r.frame?.decoded.header;
      return o !== undefined && r.opcode === OP_ALLOCATE && r.session !== null && !r.pending && r.client === h.client_id
        && o.transaction_id !== h.transaction_id && o.dst_san === h.src_san && r.session.forwardedTo === null;
    });
    if (r === null || r.session === null) return;
    r.session.forwardedTo = s;
    s.forwardedFor = r.session;
    r.session.event('forwarded', s.firstFrame, `to SAN ${h.dst_san}`);
  }

  /** Requests whose deadline `now` is strictly past time out; at the end, the last packet's time counts too. */
  private expire(now: number, atEnd: boolean): void {
    while (this.deadlines.size > 0 && this.deadlines.peekKey() < now) {
      const r = this.deadlines.pop()!;
      // Answered (frame released), or waiting on a PENDING with no deadline.
      if (r.evicted || r.frame === null || r.pending) continue;
      if (!r.timedOut) {
        r.timedOut = true;
        const ms = (r.deadline - r.t) / 1e6;
        const x = finding('timeout', `no reply within ${ms} ms`);
        this.lateFinding(r.frame, x);
        this.settle(r.frame);
        if (r.included) this.tx.timedOut++;
        if (!atEnd) this.deadlines.push(r.deadline + LATE_REPLY_GRACE_NS, r);
      } else {
        // Past the grace: forget it, so unanswered requests do not pile up.
        r.evicted = true;
        this.open.remove(r);
        r.frame = null;
      }
    }
  }

  private lateFinding(f: AnalyzedFrame, x: Finding): void {
    f.expert.push(x);
    this.hooks.lateFinding?.(f, x);
  }

  // ---- ordered delivery -----------------------------------------------------

  private deliver(f: AnalyzedFrame): void {
    if (!this.ordered) return;
    const render = this.hooks.render;
    if (render && !this.unsettled.has(f) && (!this.opts.renderInOrder || this.heldHead === this.held.length)) {
      // Final already: output now, or keep only its rendered text while an older request waits.
      if (this.heldHead === this.held.length) {
        this.hooks.emit!(render(f));
      } else {
        const text = render(f);
        this.tailText.push(text);
        this.tailSize += text.length;
        // Joined into flat 64 KiB pieces: a string per frame costs several times its length.
        if (this.tailSize >= 1 << 16) this.flushTail();
      }
      return;
    }
    this.flushTail();
    if (render && !this.opts.renderInOrder) this.heldAt.set(f, this.heldBase + this.held.length);
    this.held.push(f);
    this.drain();
  }

  private flushTail(): void {
    if (this.tailText.length === 0) return;
    this.held.push(this.tailText.join(''));
    this.tailText = [];
    this.tailSize = 0;
  }

  private settle(f: AnalyzedFrame): void {
    const r = this.unsettled.get(f);
    if (r === undefined) return;
    this.unsettled.delete(f);
    this.finalRequest(f, r);
    const at = this.opts.renderInOrder ? undefined : this.heldAt.get(f);
    if (at !== undefined) {
      this.heldAt.delete(f);
      // Final now: if it still waits behind an older request, keep only its text.
      const i = at - this.heldBase;
      if (i > this.heldHead) this.held[i] = flat(this.hooks.render!(f));
    }
    this.drain();
  }

  private drain(): void {
    const { settled, render, emit } = this.hooks;
    while (this.heldHead < this.held.length) {
      const f = this.held[this.heldHead]!;
      if (typeof f === 'string') emit!(f);
      else if (this.unsettled.has(f)) break;
      else if (render) {
        this.heldAt.delete(f);
        emit!(render(f));
      } else settled!(f);
      this.held[this.heldHead++] = '';
    }
    if (this.heldHead === this.held.length && this.tailText.length) {
      emit!(this.tailText.join(''));
      this.tailText = [];
      this.tailSize = 0;
    }
    if (this.heldHead > 4096 && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead);
      this.heldBase += this.heldHead;
      this.heldHead = 0;
    }
  }
}

/**
 * A copy outside Node's shared 8 KiB buffer pool: a small pooled copy kept
 * for long would keep its whole slab (and the other frames' bytes) alive.
 */
function ownCopy(b: Buffer, trailing: number): Buffer {
  // A UDP frame's trailing bytes follow its view in the datagram: keep them too (`vvmp` covers them).
  const c = Buffer.allocUnsafeSlow(b.length + trailing);
  (trailing ? Buffer.from(b.buffer, b.byteOffset, b.length + trailing) : b).copy(c);
  return trailing ? c.subarray(0, b.length) : c;
}

/**
 * A string built by many concatenations is a tree of pieces in V8; reading a
 * character makes it one flat string, which is several times smaller to keep.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** The frame's capture time as a Stamp (made only where a session keeps it). */
function frameStamp(f: AnalyzedFrame): Stamp {
  return stamp(f.tsSec, f.tsNsec, f.tsDigits);
}

function hex(v: bigint): string {
  return '0x' + v.toString(16).padStart(16, '0');
}

function unknownSession(server: bigint, sid: number): Finding {
  return finding('session_unknown', `session ${sessionKey(server, sid)} was not seen allocated since the server booted`);
}
