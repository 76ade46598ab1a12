// The network layers' output as records in a byte ring (net/ring.ts): what
// one thread's NetDecoder emits, another thread's analysis receives, in the
// same order and with the same values (net/threaded.ts). Records:
//
//   PACKET   a capture packet's number and time (the analysis moves its
//            clock on with every packet, before that packet's frames)
//   FRAME    a FrameEvent: its packet's number and time, transport, flags,
//            endpoints (by reference, see ENDPOINTS), stream, flow, bytes
//   ENDPOINTS the texts of a conversation direction's endpoints and flow key,
//            sent when the writer meets a new pair of endpoint objects
//   SEGMENT  a SegmentEvent (rare: JSON)
//   END      the capture result and the network counters (JSON)
//   ERROR    why reading failed (JSON)
//
// Endpoint references: a direct-mapped table of ENDPOINT_SLOTS × 2 entries
// indexed by the conversation (FrameEvent.flow); an entry serves both
// directions (F_SWAPPED). Both sides apply the same
// replacements in record order, so the reader's table mirrors the writer's
// exactly and stays bounded however many conversations a capture has.

import type { Packet } from '../capture/packet.js';
import { PacketSlot, capturedLength, newPacketSlot } from '../capture/packet.js';
import type { RingReader, RingWriter } from './ring.js';
import { newFrameEventSlot, type Endpoint, type FrameEvent, type NetSink, type SegmentEvent } from './types.js';

const PACKET = 1;
const FRAME = 2;
const ENDPOINTS = 3;
const SEGMENT = 4;
const END = 5;
const ERROR = 6;

const F_TCP = 1;
const F_DESYNC = 2;
const F_FIRST_PACKET = 4;
const F_STREAM = 8;
/** The frame goes the other way of the entry's endpoints (one entry serves both directions of a flow). */
const F_SWAPPED = 16;

/** Conversation slots of the endpoint table (a power of two); both sides must use the same. */
export const ENDPOINT_SLOTS = 1 << 12;

/** What the writer sends after the last event. */
export interface WireEnd {
  /** The capture reader's result (capture/file.ts CaptureResult). */
  result: unknown;
  /** NetDecoder.counters.undecoded as entries. */
  undecoded: [string, number][];
}

/** Why the writer could not read the capture. */
export interface WireError {
  message: string;
  /** A CaptureError: its path and reason. */
  capture: { path: string; reason: string } | null;
}

// A packet's fields as FRAME and PACKET carry them: index and tsSec as two
// u32 halves each (read back as small integers: no boxed double per record),
// tsNsec u32, tsDigits u8. A PACKET record adds what describes the packet
// itself (tshark's frame.len, frame.cap_len): origLen u32, captured length
// u32, linkType u16; its bytes are not carried (frames carry theirs).
const PACKET_BYTES = 21;
const PACKET_EXTRA = 10;
/** What a carried packet's `data` is: zeros of its captured length (a range of this, no view made). */
let zeros = Buffer.alloc(1 << 16);
const TWO_32 = 4294967296;

function putU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x % TWO_32, true);
  v.setUint32(at + 4, Math.floor(x / TWO_32), true);
}

function getU64(v: DataView, at: number): number {
  const hi = v.getUint32(at + 4, true);
  const lo = v.getUint32(at, true);
  return hi === 0 ? lo : hi * TWO_32 + lo;
}

function putPacket(v: DataView, at: number, p: Packet): void {
  putU64(v, at, p.index);
  putU64(v, at + 8, p.tsSec);
  v.setUint32(at + 16, p.tsNsec, true);
  v.setUint8(at + 20, p.tsDigits);
}

function getPacket(v: DataView, at: number, p: Packet): void {
  p.index = getU64(v, at);
  p.tsSec = getU64(v, at + 8);
  p.tsNsec = v.getUint32(at + 16, true);
  p.tsDigits = v.getUint8(at + 20);
}

const utf8 = new TextEncoder();

/** Writes `t` as UTF-8 at `at`; returns its length. ASCII byte by byte (a TextEncoder call per string cost more than the rest of the record). */
function putText(b: Uint8Array, at: number, t: string): number {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 0x80) return utf8.encodeInto(t, b.subarray(at)).written;
    b[at + i] = c;
  }
  return t.length;
}

/** Writes the network layers' events into a ring. */
export class WireWriter implements NetSink {
  private readonly src: (Endpoint | null)[];
  private readonly dst: (Endpoint | null)[];
  /** Per slot, which of its two entries is replaced next. */
  private readonly victim: Uint8Array;

  constructor(private readonly ring: RingWriter, private readonly endpointSlots = ENDPOINT_SLOTS) {
    this.src = new Array<Endpoint | null>(2 * endpointSlots).fill(null);
    this.dst = new Array<Endpoint | null>(2 * endpointSlots).fill(null);
    this.victim = new Uint8Array(endpointSlots);
  }

  /** A capture packet, before the frames it completes. */
  packet(p: Packet): void {
    const r = this.ring;
    const at = r.reserve(1 + PACKET_BYTES + PACKET_EXTRA);
    const v = r.view;
    v.setUint8(at, PACKET);
    putPacket(v, at + 1, p);
    const o = at + 1 + PACKET_BYTES;
    v.setUint32(o, p.origLen, true);
    v.setUint32(o + 4, capturedLength(p), true);
    v.setUint16(o + 8, p.linkType, true);
    r.pos = o + PACKET_EXTRA;
  }

  frame(e: FrameEvent): void {
    const ref = this.endpoints(e);
    const ep = ref >>> 1;
    const r = this.ring;
    const data = e.data;
    const n = 1 + 1 + 4 + PACKET_BYTES + 8 + 4 + 4 + 4 + data.length;
    const at = r.reserve(n);
    const v = r.view;
    let flags = e.transport === 'tcp' ? F_TCP : 0;
    if (e.desync) flags |= F_DESYNC;
    if (e.firstPacket !== undefined) flags |= F_FIRST_PACKET;
    if (e.stream !== undefined) flags |= F_STREAM;
    if (ref & 1) flags |= F_SWAPPED;
    v.setUint8(at, FRAME);
    v.setUint8(at + 1, flags);
    v.setUint32(at + 2, ep, true);
    putPacket(v, at + 6, e.packet);
    let o = at + 6 + PACKET_BYTES;
    putU64(v, o, e.firstPacket ?? 0);
    v.setInt32(o + 8, e.stream ?? 0, true);
    v.setInt32(o + 12, e.flow, true);
    v.setUint32(o + 16, data.length, true);
    o += 20;
    r.bytes.set(data, o);
    r.pos = o + data.length;
  }

  segment(e: SegmentEvent): void {
    this.json(SEGMENT, { flowKey: e.flowKey, src: e.src, dst: e.dst, code: e.code, message: e.message, loss: e.loss ?? null }, e.packet);
  }

  end(x: WireEnd): void {
    this.json(END, x, null);
  }

  error(x: WireError): void {
    this.json(ERROR, x, null);
  }

  /**
   * The entry of the frame's endpoints × 2, + 1 when the frame goes the
   * entry's other way; their texts are sent first when the reader lacks them.
   */
  private endpoints(e: FrameEvent): number {
    const slot = e.flow & (this.endpointSlots - 1);
    const a = slot * 2;
    const s = this.src;
    const d = this.dst;
    if (s[a] === e.src && d[a] === e.dst) return 2 * a;
    if (s[a] === e.dst && d[a] === e.src) return 2 * a + 1;
    if (s[a + 1] === e.src && d[a + 1] === e.dst) return 2 * (a + 1);
    if (s[a + 1] === e.dst && d[a + 1] === e.src) return 2 * (a + 1) + 1;
    const i = a + this.victim[slot]!;
    this.victim[slot] ^= 1;
    this.src[i] = e.src;
    this.dst[i] = e.dst;
    const texts = [e.src.ip, e.dst.ip, e.flowKey];
    const r = this.ring;
    // UTF-8 needs at most 3 bytes per UTF-16 unit (addresses and keys are ASCII: one).
    const at = r.reserve(1 + 4 + 4 + texts.reduce((n, t) => n + 4 + 3 * t.length, 0));
    const v = r.view;
    v.setUint8(at, ENDPOINTS);
    v.setUint32(at + 1, i, true);
    v.setUint16(at + 5, e.src.port, true);
    v.setUint16(at + 7, e.dst.port, true);
    let o = at + 9;
    for (const t of texts) {
      const n = putText(r.bytes, o + 4, t);
      v.setUint32(o, n, true);
      o += 4 + n;
    }
    r.pos = o;
    return 2 * i;
  }

  private json(type: number, x: unknown, p: Packet | null): void {
    const text = utf8.encode(JSON.stringify(x));
    const r = this.ring;
    const at = r.reserve(1 + 1 + PACKET_BYTES + 4 + text.length);
    const v = r.view;
    v.setUint8(at, type);
    v.setUint8(at + 1, p ? 1 : 0);
    if (p) putPacket(v, at + 2, p);
    v.setUint32(at + 2 + PACKET_BYTES, text.length, true);
    r.bytes.set(text, at + 6 + PACKET_BYTES);
    r.pos = at + 6 + PACKET_BYTES + text.length;
  }
}

/** What the reader hands on: the same calls a Pipeline makes on its Analyzer. */
export interface WireSink extends NetSink {
  /** A capture packet (before its frames). */
  packet(p: Packet): void;
}

/**
 * Reads records from a ring and calls `sink` as the writer's NetDecoder
 * called its own. Events and their packets are refilled slots, valid during
 * the call (as from a NetDecoder); frame bytes are views into the ring slot.
 * A packet's own bytes are not carried: its `data` is zeros of its captured length.
 */
export class WireReader {
  private readonly src: Endpoint[] = [];
  private readonly dst: Endpoint[] = [];
  private readonly flowKey: string[] = [];
  private readonly packetSlot = new PacketSlot();
  private readonly frameSlot: FrameEvent = newFrameEventSlot('udp', newPacketSlot());
  /** The whole ring as one Buffer: texts are sliced from it (no view per string). */
  private readonly all: Buffer;
  /** Set by END / ERROR. */
  ended: WireEnd | null = null;
  failed: WireError | null = null;

  constructor(private readonly ring: RingReader, private readonly sink: WireSink) {
    this.all = Buffer.from(ring.buffer);
  }

  /** Handles the records of one published slot [start, end). */
  slot(start: number, end: number): void {
    const v = this.ring.view;
    let o = start;
    while (o < end) {
      const type = v.getUint8(o);
      if (type === PACKET) {
        const p = this.packetSlot;
        getPacket(v, o + 1, p);
        o += 1 + PACKET_BYTES;
        p.origLen = v.getUint32(o, true);
        const capLen = v.getUint32(o + 4, true);
        p.linkType = v.getUint16(o + 8, true);
        o += PACKET_EXTRA;
        if (capLen > zeros.length) zeros = Buffer.alloc(capLen);
        p.fill(zeros, 0, capLen);
        this.sink.packet(p);
      } else if (type === FRAME) {
        o = this.frame(v, o);
      } else if (type === ENDPOINTS) {
        o = this.endpoints(v, o);
      } else {
        o = this.json(v, o, type);
      }
    }
  }

  private frame(v: DataView, at: number): number {
    const e = this.frameSlot;
    const flags = v.getUint8(at + 1);
    const ep = v.getUint32(at + 2, true);
    getPacket(v, at + 6, e.packet);
    let o = at + 6 + PACKET_BYTES;
    e.transport = flags & F_TCP ? 'tcp' : 'udp';
    e.desync = flags & F_DESYNC ? true : undefined;
    e.firstPacket = flags & F_FIRST_PACKET ? getU64(v, o) : undefined;
    e.stream = flags & F_STREAM ? v.getInt32(o + 8, true) : undefined;
    e.flow = v.getInt32(o + 12, true);
    const n = v.getUint32(o + 16, true);
    o += 20;
    if (flags & F_SWAPPED) {
      e.src = this.dst[ep]!;
      e.dst = this.src[ep]!;
    } else {
      e.src = this.src[ep]!;
      e.dst = this.dst[ep]!;
    }
    e.flowKey = this.flowKey[ep]!;
    e.data = Buffer.from(this.ring.buffer, o, n);
    this.sink.frame(e);
    return o + n;
  }

  private endpoints(v: DataView, at: number): number {
    const i = v.getUint32(at + 1, true);
    const srcPort = v.getUint16(at + 5, true);
    const dstPort = v.getUint16(at + 7, true);
    let o = at + 9;
    const texts: string[] = [];
    for (let k = 0; k < 3; k++) {
      const n = v.getUint32(o, true);
      texts.push(this.all.toString('utf8', o + 4, o + 4 + n));
      o += 4 + n;
    }
    this.src[i] = { ip: texts[0]!, port: srcPort };
    this.dst[i] = { ip: texts[1]!, port: dstPort };
    this.flowKey[i] = texts[2]!;
    return o;
  }

  private json(v: DataView, at: number, type: number): number {
    const hasPacket = v.getUint8(at + 1) === 1;
    const n = v.getUint32(at + 2 + PACKET_BYTES, true);
    const o = at + 6 + PACKET_BYTES;
    const x: unknown = JSON.parse(this.all.toString('utf8', o, o + n));
    if (type === SEGMENT) {
      const s = x as Omit<SegmentEvent, 'packet' | 'loss'> & { loss: SegmentEvent['loss'] | null };
      const p = newPacketSlot();
      if (hasPacket) getPacket(v, at + 2, p);
      this.sink.segment({ packet: p, flowKey: s.flowKey, src: s.src, dst: s.dst, code: s.code, message: s.message, ...(s.loss ? { loss: s.loss } : {}) });
    } else if (type === END) {
      this.ended = x as WireEnd;
    } else if (type === ERROR) {
      this.failed = x as WireError;
    } else {
      throw new Error(`net wire: unknown record type ${type}`);
    }
    return o + n;
  }
}
