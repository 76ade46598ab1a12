// `-T fields` written from frames one at a time, as `read` writes its text:
// each VVMP frame is rendered once final into a small binary record (its
// packet, whether it matches -Y, and its values per column); records of
// frames waiting behind an open request wait as bytes (output/heldBytes.ts),
// not as frame objects. The assembler reads records in frame order and
// writes one line per packet, joining the values of the packet's frames per
// column as writeFieldsLine does (fields.ts): frames of one packet are
// neighbours in frame order.
//
// Record: u32 packet, f64 ts_sec, u32 ts_nsec, u8 ts_digits, u8 matches,
// then per column not of packet scope: u16 count, count × (u32 length, UTF-8).

import type { AnalyzedFrame } from '../../analysis/frame.js';
import type { FieldsLayout } from './fields.js';
import { stampOf, type PacketInfo, type PacketRecord } from './packet.js';
import type { ValueSink } from './values.js';
import type { Stamp } from './time.js';
import type { BufferedOut } from '../frameWriter.js';
import type { ByteSink } from '../heldBytes.js';


/** A growable byte buffer with its fill. */
class Bytes {
  buf = Buffer.allocUnsafe(256);
  len = 0;

  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  /** src[start, end): values are a few bytes, so a byte loop (no view made, as `set` would need). */
  add(src: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    const b = this.buf;
    let o = this.len;
    for (let i = start; i < end; i++) b[o++] = src[i]!;
    this.len = o;
  }
}

const HEAD = 18;
const NO_FRAMES: AnalyzedFrame[] = [];
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/** Renders a final frame's record (`render`), for the assembler or the held bytes; values go straight into it (`push`). */
export class FieldRecordWriter implements ValueSink {
  private readonly rec = new Bytes();
  /** Values pushed into the column being written. */
  private count = 0;

  constructor(
    private readonly layout: FieldsLayout,
    private readonly packetOf: (frameNumber: number) => number | undefined,
  ) {}

  /** `f`'s record into `to`. */
  render(f: AnalyzedFrame, matches: boolean, to: ByteSink): void {
    const r = this.rec;
    r.len = 0;
    r.room(HEAD);
    const b = r.buf;
    putU32(b, 0, f.packet);
    F64[0] = f.tsSec;
    for (let i = 0; i < 8; i++) b[4 + i] = F64_BYTES[i]!;
    putU32(b, 12, f.tsNsec);
    b[16] = f.tsDigits;
    b[17] = matches ? 1 : 0;
    r.len = HEAD;
    for (const field of this.layout.fields) {
      const src = field.source;
      if (src.scope === 'packet') continue;
      r.room(2);
      const at = r.len;
      r.len += 2;
      this.count = 0;
      src.collect(f, this, this.packetOf);
      r.buf[at] = this.count;
      r.buf[at + 1] = this.count >>> 8;
    }
    to.bytes(r.buf, 0, r.len);
  }

  /** A value of the column being written: u32 length, UTF-8. */
  push(v: string): void {
    const r = this.rec;
    const n = v.length;
    r.room(4 + n * 3);
    const b = r.buf;
    let o = r.len + 4;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) break;
      b[o++] = c;
    }
    if (i < n) o += b.write(v.slice(i), o, 'utf8');
    putU32(b, r.len, o - r.len - 4);
    r.len = o;
    this.count++;
  }
}

export interface AssemblerContext {
  /** The packet's description (frame.* fields), taken in packet order. */
  packet(number: number, tsSec: number, tsNsec: number, tsDigits: number): PacketInfo;
  first(): Stamp;
  packetOf(frameNumber: number): number | undefined;
}

/** Reads records in frame order and writes each packet's line to `out` (when one of its frames matches). */
export class FieldsAssembler implements ByteSink {
  private current = -1;
  private sec = 0;
  private nsec = 0;
  private digits = 0;
  private shown = false;
  private frames = 0;
  private prevDisplayed: Stamp | null = null;
  /** Per column: the values so far (joined as the layout says), and how many. */
  private readonly cols: Bytes[];
  private readonly counts: number[];
  private readonly aggregator: Buffer;

  constructor(private readonly layout: FieldsLayout, private readonly out: BufferedOut, private readonly ctx: AssemblerContext) {
    this.cols = layout.fields.map(() => new Bytes());
    this.counts = layout.fields.map(() => 0);
    this.aggregator = Buffer.from(layout.aggregator, 'utf8');
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    const fields = this.layout.fields;
    const occurrence = this.layout.occurrence;
    let p = start;
    while (p < end) {
      const packet = u32(src, p);
      if (packet !== this.current) {
        this.flush();
        this.current = packet;
        for (let i = 0; i < 8; i++) F64_BYTES[i] = src[p + 4 + i]!;
        this.sec = F64[0]!;
        this.nsec = u32(src, p + 12);
        this.digits = src[p + 16]!;
      }
      if (src[p + 17] === 1) this.shown = true;
      const firstFrame = this.frames++ === 0;
      p += HEAD;
      for (let i = 0; i < fields.length; i++) {
        const scope = fields[i]!.source.scope;
        if (scope === 'packet') continue;
        const n = src[p]! | (src[p + 1]! << 8);
        p += 2;
        const take = scope === 'frame' || firstFrame;
        for (let k = 0; k < n; k++) {
          const len = u32(src, p);
          const v = p + 4;
          p = v + len;
          if (!take) continue;
          const col = this.cols[i]!;
          const had = this.counts[i]!;
          if (occurrence === 'f' && had > 0) continue;
          if (occurrence === 'l') col.len = 0;
          else if (had > 0) col.add(this.aggregator, 0, this.aggregator.length);
          col.add(src, v, p);
          this.counts[i] = had + 1;
        }
      }
    }
  }

  /** The packet being assembled is complete (a frame of another packet came, or the end). */
  flush(): void {
    if (this.current < 0) return;
    const info = this.ctx.packet(this.current, this.sec, this.nsec, this.digits);
    if (this.shown) this.line(info);
    this.current = -1;
    this.shown = false;
    this.frames = 0;
    for (let i = 0; i < this.cols.length; i++) {
      this.cols[i]!.len = 0;
      this.counts[i] = 0;
    }
  }

  private line(info: PacketInfo): void {
    const out = this.out;
    const { fields, separator, quote } = this.layout;
    const stamp = stampOf(info);
    let r: PacketRecord | null = null;
    for (let i = 0; i < fields.length; i++) {
      if (i > 0) out.str(separator);
      const src = fields[i]!.source;
      if (src.scope === 'packet') {
        r ??= { packet: info, frames: NO_FRAMES, first: this.ctx.first(), prevDisplayed: this.prevDisplayed ?? stamp, packetOf: this.ctx.packetOf };
        const v = src.get(r);
        if (v !== undefined) out.str(quote).str(v).str(quote);
        continue;
      }
      if (this.counts[i] === 0) continue;
      const col = this.cols[i]!;
      out.str(quote).copy(col.buf, 0, col.len).str(quote);
    }
    out.char(0x0a).endRecord();
    this.prevDisplayed = stamp;
  }
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
