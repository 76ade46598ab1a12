// Flows as `stats` counts them (one per TCP connection / UDP address pair),
// in typed columns: a flow lives as long as the capture, and a hundred
// thousand small objects made over a long run pinned pages of V8's old
// generation all over it. Per flow the heap keeps only its key string (which
// also gives its endpoints); the numbers are off-heap.
//
// Rows are found by the network layers' conversation index (FrameEvent.flow,
// net/conversations.ts) through a typed array: no string hashing per frame.
// Frames that come without one (made by hand, not from a capture) are found
// by their key instead; a table gets all its frames one way or the other.

import type { Transport } from '../net/types.js';
import type { Stamp } from './time.js';

/** One flow, made on demand for output. */
export interface FlowRecord {
  transport: Transport;
  /** The endpoint that sent the flow's first frame, and the other. */
  a: string;
  b: string;
  frames: number;
  bytes: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  digits: number;
  errors: number;
}

export function flowFirst(f: FlowRecord): Stamp {
  return { sec: f.firstSec, nsec: f.firstNsec, digits: f.digits };
}

export function flowLast(f: FlowRecord): Stamp {
  return { sec: f.lastSec, nsec: f.lastNsec, digits: f.digits };
}

const CHUNK_ROWS = 1 << 12;

class FlowChunk {
  readonly frames = new Float64Array(CHUNK_ROWS);
  readonly bytes = new Float64Array(CHUNK_ROWS);
  readonly errors = new Float64Array(CHUNK_ROWS);
  readonly firstSec = new Float64Array(CHUNK_ROWS);
  readonly lastSec = new Float64Array(CHUNK_ROWS);
  readonly firstNsec = new Uint32Array(CHUNK_ROWS);
  /** Frame numbers of the flow's first and last frames (frames may be counted out of order). */
  readonly firstFrame = new Float64Array(CHUNK_ROWS);
  readonly lastFrame = new Float64Array(CHUNK_ROWS);
  readonly lastNsec = new Uint32Array(CHUNK_ROWS);
  readonly digits = new Uint8Array(CHUNK_ROWS);
  /** 1: the flow's first frame came from the key's second endpoint. */
  readonly swapped = new Uint8Array(CHUNK_ROWS);
}

/**
 * Flow keys are `"<transport> <endpoint> <endpoint>"` (net/endpoint.ts
 * flowKeyOf); endpoint texts hold no spaces, so the key splits back into them.
 */
function splitKey(key: string): [Transport, string, string] {
  const s1 = key.indexOf(' ');
  const s2 = key.indexOf(' ', s1 + 1);
  return [key.slice(0, s1) as Transport, key.slice(s1 + 1, s2), key.slice(s2 + 1)];
}

export class FlowTable {
  /** Conversation index → row + 1 (0: no row yet). */
  private rowOfConv = new Int32Array(1024);
  /** Rows of frames without a conversation index, by key. */
  private readonly rowOfKey = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly chunks: FlowChunk[] = [];
  /** A flow got a frame older than its first: rows are no longer in order of first frames. */
  private unordered = false;

  get size(): number {
    return this.keys.length;
  }

  /**
   * Frame `number` of flow `key`, sent by `src` (an endpoint text of the key),
   * `size` bytes, at sec/nsec. `conv`: the flow's conversation index, when it
   * came from the network layers (then `key` is read only for a new flow).
   */
  frame(
    key: string, number: number, src: string, size: number, sec: number, nsec: number, digits: number, error: boolean,
    conv?: number,
  ): void {
    let row = this.rowFor(key, conv);
    let c: FlowChunk;
    let at: number;
    if (row < 0) {
      row = this.keys.length;
      this.keys.push(key);
      this.setRow(key, conv, row);
      at = row % CHUNK_ROWS;
      if (at === 0) this.chunks.push(new FlowChunk());
      c = this.chunks[this.chunks.length - 1]!;
      this.setFirst(c, at, key, number, src, sec, nsec, digits);
      this.setLast(c, at, number, sec, nsec);
      if (row > 0 && number < this.firstFrameOf(row - 1)) this.unordered = true;
    } else {
      c = this.chunks[Math.floor(row / CHUNK_ROWS)]!;
      at = row % CHUNK_ROWS;
      if (number < c.firstFrame[at]!) {
        this.setFirst(c, at, key, number, src, sec, nsec, digits);
        this.unordered = true;
      }
      if (number > c.lastFrame[at]!) this.setLast(c, at, number, sec, nsec);
    }
    c.frames[at]!++;
    c.bytes[at]! += size;
    if (error) c.errors[at]!++;
  }

  private setFirst(c: FlowChunk, at: number, key: string, number: number, src: string, sec: number, nsec: number, digits: number): void {
    c.firstFrame[at] = number;
    c.firstSec[at] = sec;
    c.firstNsec[at] = nsec;
    c.digits[at] = digits;
    // Is `src` the key's first endpoint (between the first and second space)?
    const s1 = key.indexOf(' ') + 1;
    const first = key.indexOf(' ', s1) - s1 === src.length && key.startsWith(src, s1);
    c.swapped[at] = first ? 0 : 1;
  }

  private setLast(c: FlowChunk, at: number, number: number, sec: number, nsec: number): void {
    c.lastFrame[at] = number;
    c.lastSec[at] = sec;
    c.lastNsec[at] = nsec;
  }

  private firstFrameOf(row: number): number {
    return this.chunks[Math.floor(row / CHUNK_ROWS)]!.firstFrame[row % CHUNK_ROWS]!;
  }

  /** Row numbers in the order the flows' first frames came. */
  private order(): Iterable<number> {
    const rows = [...this.keys.keys()];
    return this.unordered ? rows.sort((x, y) => this.firstFrameOf(x) - this.firstFrameOf(y)) : rows;
  }

  /** The row of the flow (-1: none yet). */
  rowFor(key: string, conv?: number): number {
    if (conv === undefined) return this.rowOfKey.get(key) ?? -1;
    return conv < this.rowOfConv.length ? this.rowOfConv[conv]! - 1 : -1;
  }

  private setRow(key: string, conv: number | undefined, row: number): void {
    if (conv === undefined) {
      this.rowOfKey.set(key, row);
      return;
    }
    if (conv >= this.rowOfConv.length) {
      let n = this.rowOfConv.length * 2;
      while (n <= conv) n *= 2;
      const grown = new Int32Array(n);
      grown.set(this.rowOfConv);
      this.rowOfConv = grown;
    }
    this.rowOfConv[conv] = row + 1;
  }

  /** One more frame of flow `key` (conversation `conv`) has an error (a finding added after the frame was counted). */
  error(key: string, conv?: number): void {
    const row = this.rowFor(key, conv);
    if (row < 0) return;
    this.chunks[Math.floor(row / CHUNK_ROWS)]!.errors[row % CHUNK_ROWS]!++;
  }

  record(row: number): FlowRecord {
    const c = this.chunks[Math.floor(row / CHUNK_ROWS)]!;
    const at = row % CHUNK_ROWS;
    const [transport, x, y] = splitKey(this.keys[row]!);
    const swapped = c.swapped[at] === 1;
    return {
      transport, a: swapped ? y : x, b: swapped ? x : y,
      frames: c.frames[at]!, bytes: c.bytes[at]!, errors: c.errors[at]!,
      firstSec: c.firstSec[at]!, firstNsec: c.firstNsec[at]!, lastSec: c.lastSec[at]!, lastNsec: c.lastNsec[at]!,
      digits: c.digits[at]!,
    };
  }

  /** Every flow in the order of its first frame. */
  *records(): IterableIterator<FlowRecord> {
    for (const row of this.order()) yield this.record(row);
  }

  /** [key, record] pairs, in order (merging files joins flows by key). */
  *entries(): IterableIterator<[string, FlowRecord]> {
    for (const row of this.order()) yield [this.keys[row]!, this.record(row)];
  }
}
