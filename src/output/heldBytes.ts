// The bytes of `read` output waiting behind an open request (the ordered
// releaser's HeldBytes): frames are rendered into chunks of about 64 KiB and
// referred to by ranges (chunk, start, end) in typed arrays. A chunk is
// reused once every range in it went out, so what waits costs its bytes and
// a few words per range, whatever the number of frames, and no object or
// string per frame.

import type { HeldBytes } from '../analysis/release.js';
import { TextBuilder } from './textBuilder.js';

/** A chunk takes records until it holds this many bytes… */
const CHUNK = 64 << 10;
/** …so the record that crosses it still fits (larger ones grow the chunk). */
const SLACK = 16 << 10;
/** Free chunks kept for reuse. */
const SPARE = 4;

/** Where released bytes go: the output (a BufferedOut), or whatever reads them on (output/tshark/fieldRecords.ts). */
export interface ByteSink {
  bytes(src: Uint8Array, start: number, end: number): void;
}

export class HeldOutput extends TextBuilder implements HeldBytes {
  /** Chunk buffers by id (null: free id); `this.buf` is chunk `current`. */
  private readonly chunks: (Buffer | null)[] = [];
  /** Ranges not yet released, per chunk. */
  private live: number[] = [];
  private readonly freeIds: number[] = [];
  private readonly spare: Buffer[] = [];
  private current = 0;
  /** Where the bytes not yet kept start in the current chunk. */
  private mark = 0;
  /** Ranges by handle: chunk, start, end. */
  private ranges = new Int32Array(3 * 1024);
  private rangeCount = 0;
  private readonly freeRanges: number[] = [];

  constructor(private readonly out: ByteSink) {
    super(0);
    this.nextChunk();
  }

  protected override room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // A record larger than the slack: the chunk grows (its ranges keep their offsets).
    super.room(n);
    this.chunks[this.current] = this.buf;
  }

  /** Bytes as they are, into the held bytes (as `render` writes; see ByteSink). */
  bytes(src: Uint8Array, start: number, end: number): void {
    this.copy(src, start, end);
  }

  keep(after: number): number {
    const start = this.mark;
    const end = this.pos;
    this.mark = end;
    const r = this.ranges;
    let h = after;
    if (after >= 0 && r[3 * after] === this.current && r[3 * after + 2] === start) {
      r[3 * after + 2] = end;
    } else {
      h = this.freeRanges.pop() ?? this.newRange();
      const at = 3 * h;
      this.ranges[at] = this.current;
      this.ranges[at + 1] = start;
      this.ranges[at + 2] = end;
      this.live[this.current]!++;
    }
    if (end >= CHUNK) this.nextChunk();
    return h;
  }

  release(h: number): void {
    const r = this.ranges;
    const c = r[3 * h]!;
    this.out.bytes(this.chunks[c]!, r[3 * h + 1]!, r[3 * h + 2]!);
    this.freeRanges.push(h);
    if (--this.live[c]! > 0) return;
    if (c !== this.current) this.freeChunk(c);
    else this.pos = this.mark = 0; // nothing waits in the current chunk: write it from the start again
  }

  private newRange(): number {
    const h = this.rangeCount++;
    if (3 * this.rangeCount > this.ranges.length) {
      const grown = new Int32Array(this.ranges.length * 2);
      grown.set(this.ranges);
      this.ranges = grown;
    }
    return h;
  }

  private nextChunk(): void {
    if (this.chunks.length > 0 && this.live[this.current] === 0) this.freeChunk(this.current);
    const id = this.freeIds.pop() ?? this.chunks.length;
    this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK + SLACK);
    this.chunks[id] = this.buf;
    this.live[id] = 0;
    this.current = id;
    this.pos = this.mark = 0;
  }

  private freeChunk(c: number): void {
    const b = this.chunks[c]!;
    if (this.spare.length < SPARE && b.length === CHUNK + SLACK) this.spare.push(b);
    this.chunks[c] = null;
    this.freeIds.push(c);
  }
}
