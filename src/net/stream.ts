// One direction of a TCP connection: puts segments in sequence order and
// hands the bytes to its consumer (net/reassembly.ts; for VVMP the Framer),
// knowing nothing of the protocol above. Sequence numbers are compared modulo 2^32.
//
// - Bytes before `next` were seen already: a segment carrying any of them is
//   a retransmission (reported once per segment); only its new bytes go on.
// - A segment past `next` waits in a queue until the hole before it fills.
// - A hole is given up as lost (tcp_gap on the segment after it) when the
//   other direction ACKs past it, when the queue holds more than
//   MAX_QUEUE_BYTES or MAX_QUEUE_SEGMENTS, or when the stream closes (FIN,
//   RST, end of capture).
// - Bytes the snaplen cut from a captured segment are not a hole: they count
//   in sequence space and the consumer is told they are missing.

import { newPacketSlot, type Packet } from '../capture/packet.js';
import type { ConsumerFactory, ConsumerHost, StreamConsumer } from './reassembly.js';
import type { SegmentLoss } from './types.js';

const NO_BYTES = Buffer.alloc(0);

export const MAX_QUEUE_BYTES = 1 << 20;
export const MAX_QUEUE_SEGMENTS = 256;

/** What a stream reports to (its connection). */
export interface StreamOwner {
  /** Whether segment findings are reported (the connection is the protocol's). */
  readonly claimed: boolean;
  frame(dir: number, data: Buffer, packet: Packet, desync: boolean, firstPacket: number): void;
  segment(dir: number, packet: Packet, code: 'tcp_retransmission' | 'tcp_gap', message: string, loss?: SegmentLoss): void;
  decide(dir: number, claimed: boolean, packet: Packet): void;
}

interface Queued {
  seq: number;
  /** Captured bytes (a copy). */
  data: Buffer;
  /** Bytes of the segment the snaplen cut after `data`. */
  missing: number;
  /** A copy of the segment's packet. */
  pkt: Packet;
}

/** A copy of a packet that stays valid after its callback. */
export function keepPacket(p: Packet): Packet {
  return { ...p, data: Buffer.from(p.data) };
}

function diff(a: number, b: number): number {
  return (a - b) | 0;
}

export class TcpStream implements ConsumerHost {
  /** Any segment or SYN seen: `next` is meaningful. */
  started = false;
  /** The SYN's sequence number is known (the stream's start was seen). */
  hasIsn = false;
  isn = 0;
  /** Sequence number of the next in-order byte. */
  next = 0;
  /** FIN seen and flushed. */
  finished = false;
  readonly consumer: StreamConsumer;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  /** The other direction acknowledged up to here (valid while ackPast). */
  private ackMark = 0;
  private ackPast = false;
  /** Bytes given up as lost that no delivered segment followed yet. */
  private gapBytes = 0;
  /** Frames those lost bytes cut (dropped, not emitted), and their bytes that were captured. */
  private gapFrames = 0;
  private gapFrameBytes = 0;
  /** The last packet whose bytes this stream holds (attribution at end of capture). */
  private tail: Packet | null = null;
  /**
   * That packet's number and time, kept in a reused object (no allocation per
   * segment). It is handed out only by the final flush, after which the
   * stream takes no more bytes.
   */
  private own: Packet | null = null;

  constructor(
    private readonly owner: StreamOwner,
    private readonly dir: number,
    consumers: ConsumerFactory,
  ) {
    this.consumer = consumers(this);
  }

  // ConsumerHost
  frame(data: Buffer, packet: Packet, desync: boolean, firstPacket: number): void {
    this.owner.frame(this.dir, data, packet, desync, firstPacket);
  }

  decide(claimed: boolean, packet: Packet): void {
    this.owner.decide(this.dir, claimed, packet);
  }

  skipped(n: number, packet: Packet, message: string): void {
    if (!this.owner.claimed) return;
    this.owner.segment(this.dir, packet, 'tcp_gap', message,
      { notCaptured: 0, skipped: n, droppedFrames: 0 });
  }

  dropped(have: number, _size: number): void {
    this.gapFrames++;
    this.gapFrameBytes += have;
  }

  /** Bytes held: partial frame, unjudged bytes, queued segments. */
  get held(): number {
    return this.consumer.pending + this.queuedBytes;
  }

  /** The SYN: the stream starts at isn + 1, at a frame boundary. */
  syn(isn: number): void {
    this.started = true;
    this.hasIsn = true;
    this.isn = isn;
    this.next = (isn + 1) >>> 0;
    if (this.owner.claimed) this.consumer.beginAtStart();
  }

  /** Forgets everything (heuristic: the direction is followed again from its next segment). */
  restart(): void {
    this.started = false;
    this.hasIsn = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.ackPast = false;
    this.gapBytes = 0;
    this.gapFrames = 0;
    this.gapFrameBytes = 0;
    this.tail = null;
    this.own = null;
    this.consumer.restart();
  }

  /**
   * A segment with captured payload `buf[s, e)` followed by `missing` bytes
   * the snaplen cut, starting at sequence number `seq`.
   */
  segment(pkt: Packet, buf: Buffer, s: number, e: number, missing: number, seq: number): void {
    const len = e - s + missing;
    if (len <= 0) return;
    if (!this.started) {
      // Capture started mid-connection: begin here, boundary unknown.
      this.started = true;
      this.next = seq;
      if (this.owner.claimed) this.consumer.beginMidStream();
    }
    const d = diff(seq, this.next);
    if (d <= 0) {
      if (d + len <= 0) {
        this.retransmission(pkt, len, len);
        return;
      }
      if (d < 0) {
        this.retransmission(pkt, -d, len);
        const k = -d;
        if (k <= e - s) {
          s += k;
        } else {
          missing -= k - (e - s);
          s = e;
        }
      }
      if (this.gapBytes > 0) this.reportGap(pkt);
      this.deliver(buf, s, e, missing, pkt);
      if (this.consumer.pending > 0) this.keepTail(pkt);
      this.drain(pkt);
    } else {
      this.enqueue(pkt, buf, s, e, missing, seq, d, len);
      this.ackLoss(pkt);
      while (this.queue.length > MAX_QUEUE_SEGMENTS || this.queuedBytes > MAX_QUEUE_BYTES) this.giveUpHole(pkt);
    }
    if (this.consumer.refused) this.dropAll();
  }

  /**
   * Remembers `p` for the attribution of a frame flushed at the end of the
   * capture: its number and time only (nothing downstream reads a frame's
   * packet bytes, and a copy per connection would keep megabytes alive).
   */
  private keepTail(p: Packet): void {
    const own = (this.own ??= newPacketSlot());
    own.index = p.index;
    own.tsSec = p.tsSec;
    own.tsNsec = p.tsNsec;
    own.tsDigits = p.tsDigits;
    own.linkType = p.linkType;
    own.data = NO_BYTES;
    own.origLen = p.origLen;
    own.interfaceId = p.interfaceId;
    own.fileOffset = p.fileOffset;
    this.tail = own;
  }

  /** Heuristic: not VVMP. Nothing held. */
  private dropAll(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.tail = null;
    this.own = null;
  }

  /** The other direction acknowledges bytes up to `ack`. */
  ack(ack: number, pkt: Packet): void {
    if (!this.started) return;
    const d = diff(ack, this.next);
    if (d <= 0 || d > 0x40000000) return;
    if (!this.ackPast || diff(ack, this.ackMark) > 0) this.ackMark = ack;
    this.ackPast = true;
    this.ackLoss(pkt);
    if (this.consumer.refused) this.dropAll();
  }

  /**
   * FIN, RST or end of capture: holes are lost, queued bytes go on, a partial
   * frame is emitted short or truncated. `pkt` null: attribute to the packets
   * the bytes came in (end of capture).
   */
  close(pkt: Packet | null, finSeq: number | null = null): void {
    while (this.queue.length > 0) this.giveUpHole(pkt);
    const at = pkt ?? this.tail;
    // Bytes the peer acknowledged, or the FIN's sequence number shows were
    // sent, but no captured segment held: lost at the stream's end, with no
    // segment after them to carry the gap.
    if (this.started) {
      let end = this.next;
      if (this.ackPast && diff(this.ackMark, end) > 0) end = this.ackMark;
      if (finSeq !== null && diff(finSeq, end) > 0 && diff(finSeq, end) <= 0x40000000) end = finSeq;
      const lost = diff(end, this.next);
      if (lost > 0) {
        this.gapBytes += lost;
        this.next = end;
      }
      // The FIN takes a sequence number: the peer's ACK of it is no loss.
      if (finSeq !== null) {
        this.next = (this.next + 1) >>> 0;
        this.ackPast = false;
      }
    }
    if (this.gapBytes > 0 && at) this.reportGap(at, ' at the end of the stream');
    this.gapBytes = 0;
    this.gapFrames = 0;
    this.gapFrameBytes = 0;
    if (at) this.consumer.end(at);
    this.tail = null;
    this.own = null;
  }

  private retransmission(pkt: Packet, seen: number, len: number): void {
    if (!this.owner.claimed) return;
    this.owner.segment(this.dir, pkt, 'tcp_retransmission',
      seen === len ? `retransmission: all ${len} bytes already seen` : `overlap: ${seen} of ${len} bytes already seen`);
  }

  private reportGap(pkt: Packet, where = ' before this segment'): void {
    const n = this.gapBytes;
    const frames = this.gapFrames;
    const kept = this.gapFrameBytes;
    this.gapBytes = 0;
    this.gapFrames = 0;
    this.gapFrameBytes = 0;
    if (!this.owner.claimed) return;
    const cut = frames === 0 ? ''
      : frames === 1 ? `; the frame they cut is dropped (${kept} of its bytes were captured)`
        : `; the ${frames} frames they cut are dropped (${kept} of their bytes were captured)`;
    this.owner.segment(this.dir, pkt, 'tcp_gap', `${n} bytes${where} were not captured${cut}`,
      { notCaptured: n, skipped: 0, droppedFrames: frames });
  }

  private deliver(buf: Buffer, s: number, e: number, missing: number, pkt: Packet): void {
    if (e > s) this.consumer.data(buf, s, e, pkt);
    if (missing > 0) this.consumer.missing(missing, false, pkt);
    this.next = (this.next + (e - s) + missing) >>> 0;
    if (this.ackPast && diff(this.ackMark, this.next) <= 0) this.ackPast = false;
  }

  /** Delivers queued segments that are now in order. `pkt` null: each segment's own packet. */
  private drain(pkt: Packet | null): void {
    const q = this.queue;
    while (q.length > 0) {
      const h = q[0]!;
      const d = diff(h.seq, this.next);
      if (d > 0) return;
      q.shift();
      this.queuedBytes -= h.data.length + h.missing;
      let data = h.data;
      let missing = h.missing;
      const k = -d;
      if (k >= data.length + missing) continue;
      if (k <= data.length) {
        data = data.subarray(k);
      } else {
        missing -= k - data.length;
        data = data.subarray(data.length);
      }
      if (this.gapBytes > 0) this.reportGap(h.pkt);
      this.tail = h.pkt; // the last bytes held came in it
      this.deliver(data, 0, data.length, missing, pkt ?? h.pkt);
    }
  }

  private enqueue(pkt: Packet, buf: Buffer, s: number, e: number, missing: number, seq: number, d: number, len: number): void {
    const q = this.queue;
    // Overlap with queued bytes (a retransmission), full coverage (nothing new to keep), insert position.
    let seen = 0; // bytes also in queued segments (overlapping queued segments may count twice)
    let covered = d; // queued bytes cover [d, covered) relative to next
    let pos = q.length;
    for (let i = 0; i < q.length; i++) {
      const h = q[i]!;
      const hs = diff(h.seq, this.next);
      const he = hs + h.data.length + h.missing;
      const o = Math.min(he, d + len) - Math.max(hs, d);
      if (o > 0) seen += o;
      if (hs <= covered && he > covered) covered = he;
      if (pos === q.length && hs > d) pos = i;
    }
    if (seen > 0) this.retransmission(pkt, Math.min(seen, len), len);
    if (covered >= d + len) return;
    const kept = keepPacket(pkt);
    const data = Buffer.from(buf.subarray(s, e));
    q.splice(pos, 0, { seq, data, missing, pkt: kept });
    this.queuedBytes += len;
  }

  /** The other direction ACKed past `next`: the bytes up to the ACK (or the queue head) were lost. */
  private ackLoss(pkt: Packet): void {
    const q = this.queue;
    while (this.ackPast && q.length > 0 && diff(this.ackMark, this.next) > 0) {
      const head = q[0]!.seq;
      this.skipTo(diff(head, this.ackMark) <= 0 ? head : this.ackMark, pkt);
      this.drain(pkt);
    }
  }

  /** Gives up the hole before the first queued segment. */
  private giveUpHole(pkt: Packet | null): void {
    const h = this.queue[0]!;
    this.skipTo(h.seq, pkt ?? h.pkt);
    this.drain(pkt);
  }

  private skipTo(seq: number, pkt: Packet): void {
    const n = diff(seq, this.next);
    if (n <= 0) return;
    this.gapBytes += n;
    this.consumer.missing(n, true, pkt);
    this.next = seq;
    if (this.ackPast && diff(this.ackMark, this.next) <= 0) this.ackPast = false;
  }
}
