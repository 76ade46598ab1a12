// The analysis as the commands use it: the exchange tracker (numbering,
// matching, latency, timeouts, sessions; analysis/exchanges.ts) feeding the
// ordered releaser (frames in order once final; analysis/release.ts), with
// the hooks `read`, `stats`, the terminal UI and live capture ask for
// (OUTPUT.md, conventions 5–10).

import type { Packet } from '../capture/packet.js';
import type { FrameEvent, SegmentEvent } from '../net/types.js';
import type { Finding } from '../protocol/expert.js';
import type { AnalyzedFrame } from './frame.js';
import { ExchangeTracker } from './exchanges.js';
import { OrderedReleaser, type HeldBytes } from './release.js';
import type { LatencyStats } from './latency.js';
import type { TransactionStats } from './transactions.js';
import type { SessionTable } from './sessions.js';
import type { Stamp } from './time.js';

// Where they were declared before; the protocol's table and the tracker own them now.
export { DEFAULT_TIMEOUT_MS } from '../protocol/fields.js';
export { LATE_REPLY_GRACE_NS } from './exchanges.js';

const EMPTY = Buffer.alloc(0);

export interface AnalyzerHooks {
  /** Every frame at once, in order (terminal UI, live). Exchange findings may follow via `lateFinding`. */
  frame?(f: AnalyzedFrame): void;
  /**
   * Every frame as soon as it has its number and packet, before its exchange
   * is judged: a request its reply makes final is rendered after this call
   * for the reply (tshark output names the reply by its packet).
   */
  numbered?(f: AnalyzedFrame): void;
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
   * Instead of `settled`: writes each final frame's output at once, into the
   * output itself or (`held`) into `held`'s bytes, so frames waiting behind
   * an open request cost only their output bytes; the held bytes are
   * released into the output in frame order (read output).
   */
  render?(f: AnalyzedFrame, held: boolean): void;
  /** With `render`: where output waits behind an open request. */
  held?: HeldBytes;
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
   * kept whole, not as bytes). For display filters that read what they
   * selected before (frame.time_delta_displayed).
   */
  renderInOrder?: boolean;
  /** Keep the packet bytes of frames held for later (a copy): display filters on `frame[…]`, `frame contains`. */
  keepPackets?: boolean;
  /**
   * The hooks read a frame only during their call and keep nothing of it
   * (stats; read's `render`): frame objects are reused once the analysis is
   * done with them. Ignored where frames are kept by design: `settled`, and
   * `render` with `renderInOrder` (frames wait whole behind an open one).
   */
  transientFrames?: boolean;
  /** No payload records (`decoded.payload` null): the hooks read payload fields in place (protocol/access.ts). */
  payloadInPlace?: boolean;
  /**
   * Frames carry their packet's bytes (`packetData`; default true). False
   * where nothing reads them (no display filter on `frame[…]`): the packet's
   * view is then never made (capture/packet.ts PacketSlot).
   */
  packetBytes?: boolean;
}

export class Analyzer {
  private readonly tracker: ExchangeTracker;
  /** Ordered output (`settled`, or `render` + `held`); null when nothing needs frames in order. */
  private readonly releaser: OrderedReleaser<AnalyzedFrame> | null;
  private ending = false;
  private ended = false;

  constructor(private readonly hooks: AnalyzerHooks = {}, private readonly opts: AnalyzerOptions = {}) {
    const ordered = hooks.settled !== undefined || hooks.render !== undefined;
    this.tracker = new ExchangeTracker({
      lateFinding: hooks.lateFinding ? (f, x) => hooks.lateFinding!(f, x) : undefined,
      numbered: hooks.numbered,
      final: (f, included, wasOpen) => {
        hooks.final?.(f, included);
        if (wasOpen && !this.ending) this.releaser?.settle(f);
      },
    }, {
      compactSessions: opts.compactSessions,
      include: opts.include,
      tracksFinal: ordered || hooks.final !== undefined,
      // With `render`, a frame waits only while open (the tracker holds it then), as text after.
      transientFrames: (opts.transientFrames ?? false) && hooks.settled === undefined && !(hooks.render !== undefined && opts.renderInOrder),
      payloadInPlace: opts.payloadInPlace,
      packetBytes: opts.packetBytes,
    });
    this.releaser = ordered
      ? new OrderedReleaser<AnalyzedFrame>(hooks, (f) => this.tracker.isOpen(f), { renderInOrder: opts.renderInOrder })
      : null;
  }

  get packets(): number {
    return this.tracker.packets;
  }

  get vvmpFrames(): number {
    return this.tracker.vvmpFrames;
  }

  get sessions(): SessionTable {
    return this.tracker.sessions;
  }

  /** Requests, answers, timeouts, response times, error replies (see `include`). */
  get tx(): TransactionStats {
    return this.tracker.tx;
  }

  get first(): Stamp | null {
    return this.tracker.first;
  }

  get last(): Stamp | null {
    return this.tracker.last;
  }

  /** Whether a display filter selects what the statistics describe. */
  get selecting(): boolean {
    return this.tracker.selecting;
  }

  get latency(): LatencyStats {
    return this.tracker.latency;
  }

  get requests(): number {
    return this.tracker.tx.requests;
  }

  get answered(): number {
    return this.tracker.tx.answered;
  }

  get timedOut(): number {
    return this.tracker.tx.timedOut;
  }

  get openAtEnd(): number {
    return this.tracker.openAtEnd;
  }

  /** Every capture packet, before its frames: counts it and moves capture time on. */
  packet(p: Packet): void {
    this.tracker.packet(p);
  }

  /**
   * Live capture only: the wall clock moved on with no packet (quiet line).
   * Times out requests as a packet at that time would, without counting a packet.
   */
  tick(sec: number, nsec: number): void {
    this.tracker.tick(sec, nsec);
  }

  segment(e: SegmentEvent): void {
    this.hooks.segment?.(e);
  }

  frame(e: FrameEvent): AnalyzedFrame {
    const tracker = this.tracker;
    const f = tracker.frame(e);
    const d = f.decoded;
    const open = tracker.isOpen(f);
    // Bytes are views into the reader's chunk: copy them only for frames that are kept.
    const willHold = open || (this.releaser !== null && this.releaser.holdsObjects);
    if (this.opts.keepBytes || willHold) {
      d.bytes = ownCopy(d.bytes, d.trailing);
      // The reader reuses its chunk: a kept frame keeps its packet only when asked (costs a copy per request).
      f.packetData = this.opts.keepPackets ? ownCopy(e.packet.data, 0) : undefined;
    }
    this.hooks.frame?.(f);
    if (!open) tracker.close(f);
    this.releaser?.add(f);
    // An open request outlives this packet: do not let it pin the reader's chunk.
    if (!this.opts.keepBytes && !willHold && d.reply === false) {
      d.bytes = EMPTY;
      f.packetData = EMPTY;
    }
    tracker.release(f);
    return f;
  }

  /** End of capture: requests whose deadline the last packet's time passed are timed out; the rest is final. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.tracker.expireAtEnd();
    // Whatever is still held is final now.
    this.ending = true;
    this.tracker.closeOpen();
    this.releaser?.drain();
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
