// A stored frame seen in place, for tests that walk many frames (the display
// filter over a million frames): one object, reused frame after frame, whose
// decoded part is read from the arena only as far as it is asked. The header
// and payload fields a compiled filter tests are read where they lie
// (`DecodedFrame.bytes` is a view into the arena, `payloadBlock` comes from the
// header alone); the whole decode (header object, payload records, findings)
// runs only when something asks for those, and then once per frame.
//
// Valid until the next `reset`: nothing may keep it (use FrameStore.get/build
// for frames that are kept or shown).

import type { AnalyzedFrame } from '../analysis/frame.js';
import type { Endpoint, Transport } from '../net/types.js';
import { Header } from '../protocol/access.js';
import { byteSum } from '../protocol/checksum.js';
import { addFrameFinding, decodeFrame, payloadBlockOf, type DecodedFrame, type HeaderFields, type Payload } from '../protocol/decode.js';
import type { Finding } from '../protocol/expert.js';
import { HEADER_SIZE, REPLY_BIT, opcodeDef, type BlockLayout, type OpcodeDef } from '../protocol/fields.js';

/** The decoded view of the frame: cheap parts from the bytes, the rest by a full decode on first use. */
class LazyDecoded implements DecodedFrame {
  /** The datagram's or stream frame's bytes as stored (trailing bytes of a UDP datagram included). */
  private raw: Buffer = Buffer.alloc(0);
  private udp = false;
  private full: DecodedFrame | null = null;
  bytes: Buffer = this.raw;
  trailing = 0;
  payloadBlock: BlockLayout | null = null;

  reset(raw: Buffer, udp: boolean): void {
    this.raw = raw;
    this.udp = udp;
    this.full = null;
    // As decodeFrame cuts the frame at its declared size.
    const declared = Header.has.length(raw.length) ? HEADER_SIZE + 4 * Header.get.length(raw, 0) : raw.length;
    if (raw.length > declared) {
      this.bytes = raw.subarray(0, declared);
      this.trailing = udp ? raw.length - declared : 0;
    } else {
      this.bytes = raw;
      this.trailing = 0;
    }
    this.payloadBlock = payloadBlockOf(this.bytes);
  }

  /** The whole decode, made once per frame when a part that needs it is read. */
  decoded(): DecodedFrame {
    return (this.full ??= decodeFrame(this.raw, { udp: this.udp }));
  }

  get reply(): boolean | null {
    return Header.has.opcode(this.bytes.length) ? (Header.get.opcode(this.bytes, 0) & REPLY_BIT) !== 0 : null;
  }

  get def(): OpcodeDef | undefined {
    return Header.has.opcode(this.bytes.length) ? opcodeDef(Header.get.opcode(this.bytes, 0)) : undefined;
  }

  get name(): string | null {
    return Header.has.opcode(this.bytes.length) ? (this.def?.name ?? 'Unknown') : null;
  }

  get sum(): number {
    return byteSum(this.bytes);
  }

  get checksumOk(): boolean {
    return this.sum === 0;
  }

  get header(): HeaderFields { return this.decoded().header; }
  get status(): string | null { return this.decoded().status; }
  get declaredSize(): number | null { return this.decoded().declaredSize; }
  get complete(): boolean { return this.decoded().complete; }
  get payload(): Payload | null { return this.decoded().payload; }
  get findings(): Finding[] { return this.decoded().findings; }
}

/** The columns the probe reads a frame's context from (FrameStore's cheap per-frame reads). */
export interface FrameColumns {
  bytesOf(seq: number): Buffer;
  flowOf(seq: number): { readonly key: string; readonly transport: Transport; readonly a: Endpoint; readonly b: Endpoint; readonly aText: string; readonly bText: string };
  fromB(seq: number): boolean;
  packetRange(seq: number): [number, number];
  packetOf(seq: number): number;
  stampOf(seq: number): { sec: number; nsec: number; digits: number };
  secOf(seq: number): number;
  nsecOf(seq: number): number;
  sessionOf(seq: number): string | null;
  latencyOf(seq: number): number;
  peerOf(seq: number): number;
  extrasOf(seq: number): readonly Finding[] | undefined;
  /** Worst severity of the frame's findings, 0 when it has none. */
  severity(seq: number): number;
  /** The capture's first packet time (frame.time_relative). */
  readonly firstStamp: { sec: number; nsec: number } | null;
}

/**
 * A frame as an index into the store's columns: what a filter reads is read
 * when it reads it (a filter on header fields reads the bytes and nothing else).
 */
export class ProbeFrame implements AnalyzedFrame {
  readonly decoded = new LazyDecoded();
  private seq = 0;
  private expertList: Finding[] | null = null;

  constructor(private readonly cols: FrameColumns) {}

  /** Points the probe at frame `seq`. */
  reset(seq: number): void {
    this.seq = seq;
    this.decoded.reset(this.cols.bytesOf(seq), this.cols.flowOf(seq).transport === 'udp');
    this.expertList = null;
  }

  get number(): number { return this.seq + 1; }
  get packet(): number { return this.cols.packetOf(this.seq); }
  get firstPacket(): number { return this.cols.packetRange(this.seq)[0]; }
  get tsSec(): number { return this.cols.secOf(this.seq); }
  get tsNsec(): number { return this.cols.nsecOf(this.seq); }
  get tsDigits(): number { return this.cols.stampOf(this.seq).digits; }
  get transport(): Transport { return this.cols.flowOf(this.seq).transport; }
  get src(): Endpoint { const f = this.cols.flowOf(this.seq); return this.cols.fromB(this.seq) ? f.b : f.a; }
  get dst(): Endpoint { const f = this.cols.flowOf(this.seq); return this.cols.fromB(this.seq) ? f.a : f.b; }
  get srcText(): string { const f = this.cols.flowOf(this.seq); return this.cols.fromB(this.seq) ? f.bText : f.aText; }
  get dstText(): string { const f = this.cols.flowOf(this.seq); return this.cols.fromB(this.seq) ? f.aText : f.bText; }
  get flowKey(): string { return this.cols.flowOf(this.seq).key; }
  get session(): string | null { return this.cols.sessionOf(this.seq); }
  get latencyMs(): number | null { const v = this.cols.latencyOf(this.seq); return Number.isNaN(v) ? null : v; }
  get peer(): number | null { return this.cols.peerOf(this.seq) || null; }
  get firstSec(): number | undefined { return this.cols.firstStamp?.sec; }
  get firstNsec(): number | undefined { return this.cols.firstStamp?.nsec; }

  /** The frame as a plain object, decoded whole (FrameStore.build: frames that are shown or kept). */
  toFrame(): AnalyzedFrame {
    const d = decodeFrame(this.cols.bytesOf(this.seq), { udp: this.transport === 'udp' });
    const extras = this.cols.extrasOf(this.seq);
    if (extras) for (const x of extras) addFrameFinding(d, x);
    return {
      number: this.number, packet: this.packet, firstPacket: this.firstPacket,
      tsSec: this.tsSec, tsNsec: this.tsNsec, tsDigits: this.tsDigits,
      transport: this.transport, src: this.src, dst: this.dst, srcText: this.srcText, dstText: this.dstText, flowKey: this.flowKey,
      decoded: d, session: this.session, expert: d.findings, latencyMs: this.latencyMs, peer: this.peer,
      firstSec: this.firstSec, firstNsec: this.firstNsec, // frame.time_relative
    };
  }

  /**
   * The decoder's findings followed by the kept ones, as toFrame gives them.
   * Most frames have none, which the store's severity column tells without decoding.
   */
  get expert(): Finding[] {
    if (this.expertList === null && this.cols.severity(this.seq) === 0) this.expertList = [];
    if (this.expertList === null) {
      const own = this.decoded.findings;
      const extras = this.cols.extrasOf(this.seq);
      this.expertList = extras ? [...own, ...extras] : own;
    }
    return this.expertList;
  }
}
