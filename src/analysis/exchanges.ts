// The exchange tracker: numbers VVMP frames, matches replies to requests,
// measures latency, judges timeouts on capture time, raises the exchange
// findings (txid_duplicate, reply_unmatched, timeout, session_unknown,
// boot_teardown) and drives the session lifecycles (OUTPUT.md conventions
// 5–10). It knows nothing of output order: it tells its listener when a
// finding comes late and when a frame is final; analysis/release.ts orders
// output, and analysis/analyzer.ts puts the two together.

import type { Packet } from '../capture/packet.js';
import type { FrameEvent } from '../net/types.js';
import { endpointText } from '../net/endpoint.js';
import { NO_FINDINGS, addFrameFinding, decodeFrame, decodeFrameInto, emptyDecodedFrame, type DecodeOptions, type DecodedFrame } from '../protocol/decode.js';
import { finding, type Finding } from '../protocol/expert.js';
import { Alloc, Free, sessionIdIn } from '../protocol/access.js';
import {
  ALLOC_BLOCK, ANNOUNCE_BOOT, DEFAULT_TIMEOUT_MS, FREE_BLOCK, HEADER_SIZE, OP_ALLOCATE, OP_ANNOUNCE, OP_FREE,
  OP_INITIALIZE, OP_MODIFY, OP_STATISTICS, REPLY_BIT, STATUS_OK, STATUS_PENDING, isErrorStatus, replyStatus,
} from '../protocol/fields.js';
import type { AnalyzedFrame } from './frame.js';
import { MinHeap, type HeapItem } from './heap.js';
import { OpenTable, type OpenEntry } from './openTable.js';
import type { LatencyStats } from './latency.js';
import { TransactionStats } from './transactions.js';
import { SessionTable, sessionKey, type SessionRecord } from './sessions.js';
import { stamp, type Stamp } from './time.js';

/** Decoder options, made once (not an object per frame). */
const UDP: DecodeOptions = Object.freeze({ udp: true });
const TCP: DecodeOptions = Object.freeze({ udp: false });
/** The same without payload records (see ExchangeOptions.payloadInPlace). */
const UDP_IN_PLACE: DecodeOptions = Object.freeze({ udp: true, payload: false });
const TCP_IN_PLACE: DecodeOptions = Object.freeze({ udp: false, payload: false });

/** A timed-out request stays matchable this long past its deadline; then a late reply is unmatched (the Lua dissector mirrors it). */
export const LATE_REPLY_GRACE_NS = 60e9;

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

/** Finished exchanges' entries kept for reuse, at most. */
const MAX_SPARE = 4096;

function newOpenRequest(): OpenRequest {
  return {
    frame: null, t: 0, deadline: 0, txid: 0, client: 0n, opcode: 0, sessionId: null, releaseKb: 0, serverId: 0n,
    pending: false, timedOut: false, evicted: false, session: null, rec: null, included: true,
    heapIndex: -1, nextInBucket: null, seq: 0,
  };
}

/** What the tracker tells whoever orders its output. */
export interface ExchangeListener {
  /** A finding added to a frame after `frame` returned it (a timeout). */
  lateFinding?(f: AnalyzedFrame, x: Finding): void;
  /**
   * A frame is final: nothing about it changes any more. `included`: it
   * matches the `include` option (true without one). `wasOpen`: a request the
   * tracker kept open until now (answered, pending, timed out or the capture
   * ended); other frames are final once `close` is called for them.
   */
  final?(f: AnalyzedFrame, included: boolean, wasOpen: boolean): void;
  /** A frame got its number and packet, before its exchange is judged (a request it answers may become final then). */
  numbered?(f: AnalyzedFrame): void;
}

export interface ExchangeOptions {
  /** Keep finished sessions in compact columns (stats on huge captures); the UI keeps records. */
  compactSessions?: boolean;
  /** What the statistics describe (`stats -Y`), tested on each frame once final (see AnalyzerOptions.include). */
  include?: (f: AnalyzedFrame) => boolean;
  /** Keep requests open until final and report them to `final` (ordered output, the `final` hook, or `include`). */
  tracksFinal?: boolean;
  /**
   * Whoever receives frames reads each only while it has it and keeps
   * nothing of it (stats, read): frames are reused once the tracker no
   * longer needs them (see `release`).
   */
  transientFrames?: boolean;
  /** Build no payload records: everything downstream reads payload fields in place (the tracker and display filters do; stats). */
  payloadInPlace?: boolean;
  /** Frames carry their packet's bytes (`packetData`, a view made per frame); false where nothing reads them. Default true. */
  packetBytes?: boolean;
}

export class ExchangeTracker {
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

  /**
   * Capture time as ns since the first packet's whole second (exact), computed
   * in place: a method returning it gave a boxed double per packet and per frame.
   */
  private baseSec = -1;
  /** The capture time of the frame being analysed (a field, not an argument: a double passed on was boxed per call). */
  private frameT = 0.5;
  private now = -Infinity;
  /** Requests not finally answered (or timed out within the grace), by transaction id. */
  private readonly open = new OpenTable<OpenRequest>();
  private readonly deadlines = new MinHeap<OpenRequest>();
  /** Entries of finished exchanges, reused by the next requests. */
  private readonly spare: OpenRequest[] = [];
  /** Requests not final yet (tracked only with `tracksFinal`). */
  private readonly unsettled = new Map<AnalyzedFrame, OpenRequest>();
  /** The session record of the frame being analysed (for `include`). */
  private frameSession: SessionRecord | null = null;
  private readonly include: ((f: AnalyzedFrame) => boolean) | null;
  private readonly tracksFinal: boolean;
  /**
   * Frames free for reuse (transientFrames only). In `stats` a frame's three
   * objects (frame, decoded frame, header; ~500 bytes) were the largest
   * garbage per frame; requests outlived a scavenge or two in the open table
   * and were copied, then promoted, on the way.
   */
  private readonly freeFrames: AnalyzedFrame[] | null;
  private readonly decodeUdp: DecodeOptions;
  private readonly decodeTcp: DecodeOptions;
  /** The frame `frame` returned last is a request the open table holds (released with its exchange, not by `release`). */
  private lastHeld = false;
  private readonly packetBytes: boolean;

  constructor(private readonly listener: ExchangeListener = {}, opts: ExchangeOptions = {}) {
    this.include = opts.include ?? null;
    this.tracksFinal = (opts.tracksFinal ?? false) || this.include !== null;
    this.sessions = new SessionTable(opts.compactSessions ?? false);
    this.freeFrames = opts.transientFrames ? [] : null;
    this.packetBytes = opts.packetBytes ?? true;
    this.decodeUdp = opts.payloadInPlace ? UDP_IN_PLACE : UDP;
    this.decodeTcp = opts.payloadInPlace ? TCP_IN_PLACE : TCP;
  }

  /** Whether a display filter selects what the statistics describe. */
  get selecting(): boolean {
    return this.include !== null;
  }

  get latency(): LatencyStats {
    return this.tx.latency;
  }

  get last(): Stamp | null {
    return this.first === null ? null : stamp(this.lastSec, this.lastNsec, this.lastDigits);
  }

  /** Requests still waiting for a reply (not timed out), among those counted. */
  get openAtEnd(): number {
    let n = 0;
    for (const r of this.open.values()) if (!r.timedOut && r.included) n++;
    return n;
  }

  /** Every capture packet, before its frames: counts it and moves capture time on (timeouts fire). */
  packet(p: Packet): void {
    this.packets++;
    if (this.baseSec < 0) this.baseSec = p.tsSec;
    const t = (p.tsSec - this.baseSec) * 1e9 + p.tsNsec;
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
    this.expire(false);
  }

  /** The wall clock moved on with no packet (live capture on a quiet line): times out as a packet at that time would. */
  tick(sec: number, nsec: number): void {
    if (this.first === null) return;
    const t = (sec - this.baseSec) * 1e9 + nsec;
    if (t > this.now) this.now = t;
    this.expire(false);
  }

  /**
   * Decodes and numbers a frame and takes part in its exchange. A request
   * stays open (`isOpen`) until final when final frames are tracked; any
   * other frame is final once the caller calls `close` for it.
   */
  frame(e: FrameEvent): AnalyzedFrame {
    const free = this.freeFrames;
    let f: AnalyzedFrame;
    const how = e.transport === 'udp' ? this.decodeUdp : this.decodeTcp;
    if (free === null) f = newFrame(decodeFrame(e.data, how));
    else {
      f = free.pop() ?? newFrame(emptyDecodedFrame());
      decodeFrameInto(f.decoded, e.data, how);
    }
    const d = f.decoded;
    const p = e.packet;
    f.number = ++this.vvmpFrames;
    f.packet = p.index;
    f.firstPacket = e.firstPacket ?? p.index;
    f.tsSec = p.tsSec;
    f.tsNsec = p.tsNsec;
    f.tsDigits = p.tsDigits;
    f.transport = e.transport;
    f.src = e.src;
    f.dst = e.dst;
    f.srcText = endpointText(e.src);
    f.dstText = endpointText(e.dst);
    f.flowKey = e.flowKey;
    f.session = null;
    f.expert = d.findings;
    f.latencyMs = null;
    f.peer = null;
    f.firstSec = this.firstSec;
    f.firstNsec = this.firstNsec;
    f.prevSec = this.prevSec;
    f.prevNsec = this.prevNsec;
    f.packetData = this.packetBytes ? p.data : undefined;
    f.stream = e.stream;
    f.flow = e.flow;
    if (e.desync) addFinding(f, finding('tcp_desync', `length ${d.header.length} words is over the receiver's limit; the rest of this direction cannot be framed`));
    if (this.baseSec < 0) this.baseSec = p.tsSec;
    const t = (p.tsSec - this.baseSec) * 1e9 + p.tsNsec;
    this.frameSession = null;
    this.lastHeld = false;
    this.frameT = t;
    this.listener.numbered?.(f);
    if (d.bytes.length >= HEADER_SIZE) this.exchange(f, d);
    return f;
  }

  /**
   * Whoever received `f` (the frame `frame` returned last) is done with it:
   * with transientFrames it is reused, unless the open table holds it (a
   * request: reused when its exchange is over).
   */
  release(f: AnalyzedFrame): void {
    if (this.freeFrames !== null && !this.lastHeld) this.freeFrames.push(f);
  }

  /** `f` is a request waiting to become final (only with `tracksFinal`). */
  isOpen(f: AnalyzedFrame): boolean {
    return this.unsettled.size !== 0 && this.unsettled.has(f);
  }

  /** The frame `frame` just returned is final (it is not open): error replies count, its session is marked, the listener is told. */
  close(f: AnalyzedFrame): void {
    const included = this.include === null || this.include(f);
    if (included) {
      const d = f.decoded;
      const h = d.header;
      const status = h.opcode === null || h.sub_opcode === null ? null : replyStatus(h.opcode, h.sub_opcode);
      if (status !== null && isErrorStatus(status) && h.server_id !== null && d.bytes.length >= HEADER_SIZE) {
        this.tx.errorReply(d.status!, h.server_id);
      }
      if (this.frameSession && this.include !== null) this.sessions.select(this.frameSession);
    }
    this.listener.final?.(f, included, false);
  }

  /** End of capture: requests whose deadline the last packet's time passed are timed out. */
  expireAtEnd(): void {
    this.expire(true);
  }

  /** End of capture, after `expireAtEnd`: every request still open is final now. */
  closeOpen(): void {
    for (const [f, r] of this.unsettled) this.finalRequest(f, r);
    this.unsettled.clear();
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
    this.listener.final?.(f, included, true);
  }

  private settle(f: AnalyzedFrame): void {
    if (!this.tracksFinal) return;
    const r = this.unsettled.get(f);
    if (r === undefined) return;
    this.unsettled.delete(f);
    this.finalRequest(f, r);
  }

  // ---- exchanges ----------------------------------------------------------

  private exchange(f: AnalyzedFrame, d: DecodedFrame): void {
    const h = d.header;
    const opcode = h.opcode!;
    const client = h.client_id!;
    if (opcode === OP_ANNOUNCE) {
      if (h.sub_opcode === ANNOUNCE_BOOT) {
        const n = this.sessions.boot(h.server_id!, frameStamp(f), f.number);
        if (n > 0) addFinding(f, finding('boot_teardown', `boot of server ${hex(h.server_id!)} tears down ${n} live session${n === 1 ? '' : 's'}`));
      }
      return;
    }
    if (!d.reply) this.request(f, d, client);
    else this.reply(f, d, client, opcode & ~REPLY_BIT);
  }

  private request(f: AnalyzedFrame, d: DecodedFrame, client: bigint): void {
    const t = this.frameT;
    const h = d.header;
    const txid = h.transaction_id!;
    const op = h.opcode!;
    const server = h.server_id!;
    if (this.include === null) this.tx.requests++;
    if (this.open.find(txid, client, -1) !== null) {
      addFinding(f, finding('txid_duplicate', `transaction ${txid} of client ${hex(client)} is still outstanding`));
    }
    const def = d.def;
    const role = def?.session ?? null;
    const alloc = d.payloadBlock === ALLOC_BLOCK;
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    if (def?.ownTimeout && alloc) {
      const asked = Alloc.get.timeout_ms(d.bytes, HEADER_SIZE);
      if (asked > 0) timeoutMs = asked;
    }
    let session: SessionRecord | null = null;
    let rec: SessionRecord | null = null;
    // The session a request names (null: none, or no payload to read it from).
    const sid = role === 'names' ? sessionIdIn(d.payloadBlock, d.bytes, HEADER_SIZE) : null;
    if (role === 'assigns') {
      session = this.sessions.begin(client, server, alloc ? Alloc.get.storage_type(d.bytes, HEADER_SIZE) : null,
        alloc ? Alloc.get.capacity_kb(d.bytes, HEADER_SIZE) : null, frameStamp(f), f.number);
      this.linkForward(session, d);
      rec = session;
    } else if (sid !== null && server !== 0n) {
      const s = this.sessions.get(server, sid);
      if (s) {
        f.session = s.key;
        rec = s;
      } else if (this.sessions.wasBooted(server) && !this.sessions.wasSeen(server, sid)) addFinding(f, unknownSession(server, sid));
    }
    // A spare entry when there is one: answered requests are recycled (see `recycle`).
    const r = this.spare.pop() ?? newOpenRequest();
    r.frame = f;
    r.t = t;
    r.deadline = t + timeoutMs * 1e6;
    r.txid = txid;
    r.client = client;
    r.opcode = op;
    r.sessionId = sid;
    r.releaseKb = d.payloadBlock === FREE_BLOCK ? Free.get.release_kb(d.bytes, HEADER_SIZE) : 0;
    r.serverId = server;
    r.pending = false;
    r.timedOut = false;
    r.evicted = false;
    r.session = session;
    r.rec = rec;
    r.included = this.include === null;
    this.open.add(r);
    this.lastHeld = true;
    this.deadlines.push(r.deadline, r);
    this.frameSession = rec;
    if (this.tracksFinal) this.unsettled.set(f, r);
  }

  private reply(f: AnalyzedFrame, d: DecodedFrame, client: bigint, base: number): void {
    const t = this.frameT;
    const h = d.header;
    const txid = h.transaction_id!;
    const r = this.open.find(txid, client, base);
    if (r === null) {
      addFinding(f, finding('reply_unmatched', `no request seen for transaction ${txid} of client ${hex(client)}`));
      return;
    }
    const status = replyStatus(h.opcode!, h.sub_opcode!)!;
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
    const rec = this.sessionReply(r, f, d, base, status);
    this.frameSession = rec;
    if (r.rec === null) r.rec = rec;
    if (first && req.session === null && f.session !== null) req.session = f.session;
    this.settle(req);
    // Counted once the request is final (a filter decides on it then).
    if (r.included) {
      if (first) this.tx.responseTime(r.opcode, client, h.server_id!, us);
      if (!isPending) this.tx.answered++;
    }
    if (!isPending) this.recycle(r);
  }

  /**
   * An exchange is over and no table holds `r` any more (the open table and
   * the deadline heap took it out, the request frame is settled): keep it for
   * the next request instead of making one per request.
   */
  private recycle(r: OpenRequest): void {
    if (this.freeFrames !== null && r.frame !== null) this.freeFrames.push(r.frame);
    r.frame = null;
    r.session = null;
    r.rec = null;
    if (this.spare.length < MAX_SPARE) this.spare.push(r);
  }

  /** What a reply does to its session (convention 7); returns the session record it belongs to. */
  private sessionReply(r: OpenRequest, f: AnalyzedFrame, d: DecodedFrame, base: number, status: number): SessionRecord | null {
    const h = d.header;
    const server = h.server_id!;
    // The reply's definition is its request's (opcodeDef ignores the reply bit).
    const role = d.def?.session ?? null;
    const alloc = d.payloadBlock === ALLOC_BLOCK;
    if (role === 'assigns' && r.session) {
      const s = r.session;
      // Keyed by the reply (convention 7): its server_id, and for PENDING the Allocate block's session_id.
      if (status === STATUS_PENDING) this.sessions.waiting(s, server, alloc ? Alloc.get.session_id(d.bytes, HEADER_SIZE) : 0, f.number);
      else if (status === STATUS_OK && alloc) {
        this.sessions.allocated(s, server, Alloc.get.session_id(d.bytes, HEADER_SIZE), Alloc.get.storage_type(d.bytes, HEADER_SIZE),
          Alloc.get.capacity_kb(d.bytes, HEADER_SIZE), frameStamp(f), f.number, f.latencyMs);
        if (s.forwardedFor) s.forwardedFor.event('forwarded', f.number, `SAN ${h.src_san}`);
      } else if (status !== STATUS_OK) this.sessions.rejected(s, server, d.status!, f.number);
      f.session = s.key;
      if (s.key) s.frames += 2;
      return s;
    }
    if (role !== 'names') return null;
    const sid = sessionIdIn(d.payloadBlock, d.bytes, HEADER_SIZE) ?? r.sessionId;
    if (sid === null) return null;
    const s = this.sessions.get(server, sid);
    if (!s) {
      const archived = this.sessions.keyIfSeen(server, sid);
      if (archived !== null) {
        f.session = archived;
        return null;
      }
      if (r.serverId === 0n && this.sessions.wasBooted(server) && !this.sessions.wasSeen(server, sid)) {
        addFinding(f, unknownSession(server, sid));
      }
      return null;
    }
    f.session = s.key;
    s.frames += 2;
    if (status !== STATUS_OK) return s;
    if (base === OP_INITIALIZE) this.sessions.initialized(s, f.number);
    else if (base === OP_MODIFY) this.sessions.modified(s, alloc ? Alloc.get.capacity_kb(d.bytes, HEADER_SIZE) : null, f.number);
    else if (base === OP_STATISTICS) s.event('stats', f.number);
    else if (base === OP_FREE) {
      const release = d.payloadBlock === FREE_BLOCK ? Free.get.release_kb(d.bytes, HEADER_SIZE) : r.releaseKb;
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
      const o = r.frame?.decoded;
      return o !== undefined && r.opcode === OP_ALLOCATE && r.session !== null && !r.pending && r.client === h.client_id
        && o.header.transaction_id !== h.transaction_id && o.header.dst_san === h.src_san && r.session.forwardedTo === null;
    });
    if (r === null || r.session === null) return;
    r.session.forwardedTo = s;
    s.forwardedFor = r.session;
    r.session.event('forwarded', s.firstFrame, `to SAN ${h.dst_san}`);
  }

  /**
   * Requests whose deadline capture time (`now`) is strictly past time out;
   * at the end, the last packet's time counts too. Reads `now` itself: a
   * double passed per packet was a heap number per packet.
   */
  private expire(atEnd: boolean): void {
    const now = this.now;
    while (this.deadlines.size > 0 && this.deadlines.peekKey() < now) {
      const r = this.deadlines.pop()!;
      // Answered (frame released), or waiting on a PENDING with no deadline.
      if (r.evicted || r.frame === null || r.pending) continue;
      if (!r.timedOut) {
        r.timedOut = true;
        const ms = (r.deadline - r.t) / 1e6;
        const x = finding('timeout', `no reply within ${ms} ms`);
        addFinding(r.frame, x);
        this.listener.lateFinding?.(r.frame, x);
        this.settle(r.frame);
        if (r.included) this.tx.timedOut++;
        if (!atEnd) this.deadlines.push(r.deadline + LATE_REPLY_GRACE_NS, r);
      } else {
        // Past the grace: forget it, so unanswered requests do not pile up.
        r.evicted = true;
        this.open.remove(r);
        this.recycle(r);
      }
    }
  }
}

/** A frame with every field present (one shape for all frames), to fill. */
function newFrame(decoded: DecodedFrame): AnalyzedFrame {
  return {
    number: 0, packet: 0, firstPacket: 0, tsSec: 0, tsNsec: 0, tsDigits: 0, transport: 'udp', src: NO_ENDPOINT, dst: NO_ENDPOINT,
    srcText: '', dstText: '', flowKey: '', decoded, session: null, expert: NO_FINDINGS, latencyMs: null, peer: null,
    firstSec: 0, firstNsec: 0, prevSec: 0, prevNsec: 0, packetData: undefined, stream: undefined, flow: undefined,
  };
}

const NO_ENDPOINT = Object.freeze({ ip: '', port: 0 });

/**
 * Adds an exchange finding after the frame's own. The decoder's findings and
 * the frame's `expert` are one list; a frame with none shares the decoder's
 * frozen empty list until its first.
 */
function addFinding(f: AnalyzedFrame, x: Finding): void {
  if (f.expert === NO_FINDINGS) {
    addFrameFinding(f.decoded, x);
    f.expert = f.decoded.findings;
  } else f.expert.push(x);
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
