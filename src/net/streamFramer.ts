// Cuts a live TCP byte stream into VVMP frames (32 + 4 × length bytes), as a
// receiver does: push bytes in stream order, get whole frames. Nothing is
// missing from a socket's stream, so unlike the capture framer (framer.ts)
// there is no resync or probing: the length field alone says where the next
// frame starts, and a length over the payload limit ends the framing
// (VVMP.md section 1). Used by every socket of the traffic side (server,
// client, replay, fuzzer) and by the fuzzer's model of what a server frames.

import { decodeFrame, frameSizeAt, type HeaderFields } from '../protocol/decode.js';
import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE } from '../protocol/fields.js';

export interface StreamFramerOptions {
  /** Largest payload accepted, in bytes (default 65,536). */
  maxPayload?: number;
  /**
   * One whole frame. The buffer may be a view into the pushed chunk: it
   * stays valid (chunks are never reused) but copy it if you keep it long.
   */
  onFrame: (frame: Buffer) => void;
  /**
   * A header whose length is over the limit: the stream cannot be framed any
   * more. The framer stops (a server closes the connection).
   */
  onOversize?: (header: HeaderFields, frameSize: number, headerBytes: Buffer) => void;
}

/**
 * Incremental framer: a frame that arrives in one chunk is emitted as a view
 * (no copy); one split over chunks is gathered in a buffer of exactly its
 * size, so a slow drip costs O(frame size), not O(n²).
 */
export class StreamFramer {
  private readonly maxPayload: number;
  private readonly onFrame: (frame: Buffer) => void;
  private readonly onOversize: ((header: HeaderFields, frameSize: number, headerBytes: Buffer) => void) | undefined;
  /** The frame being gathered (32 bytes while the header is incomplete). */
  private part: Buffer | null = null;
  private partLen = 0;
  private sizeKnown = false;
  private stopped = false;
  /** Frames emitted so far. */
  frames = 0;

  constructor(opts: StreamFramerOptions) {
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.onFrame = opts.onFrame;
    this.onOversize = opts.onOversize;
  }

  /** Bytes of an incomplete frame held back. */
  get buffered(): number {
    return this.partLen;
  }

  /** The bytes held back (a view; empty when none). */
  held(): Buffer {
    return this.part === null ? Buffer.alloc(0) : this.part.subarray(0, this.partLen);
  }

  /** Declared size of the frame held back, or -1 while its header is incomplete (or nothing is held). */
  get heldSize(): number {
    return this.part !== null && this.sizeKnown ? this.part.length : -1;
  }

  /** True once an oversize header stopped the framer (or stop() was called). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Drops buffered bytes and ignores all further input. */
  stop(): void {
    this.stopped = true;
    this.part = null;
    this.partLen = 0;
  }

  private oversize(header: Buffer, at: number, size: number): void {
    const bytes = header.subarray(at, at + HEADER_SIZE);
    this.stop();
    this.onOversize?.(decodeFrame(bytes).header, size, bytes);
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let at = 0;
    const n = chunk.length;
    // Finish the frame gathered from earlier chunks.
    while (this.part !== null) {
      const part: Buffer = this.part;
      const take = Math.min(part.length - this.partLen, n - at);
      chunk.copy(part, this.partLen, at, at + take);
      this.partLen += take;
      at += take;
      if (this.partLen < part.length) return; // chunk used up
      if (!this.sizeKnown) {
        const size = frameSizeAt(part, 0)!;
        if (size - HEADER_SIZE > this.maxPayload) return this.oversize(part, 0, size);
        this.sizeKnown = true;
        if (size > HEADER_SIZE) {
          const whole = Buffer.allocUnsafe(size);
          part.copy(whole, 0, 0, HEADER_SIZE);
          this.part = whole;
          continue;
        }
      }
      this.part = null;
      this.partLen = 0;
      this.frames++;
      this.onFrame(part);
      if (this.stopped) return;
    }
    // Whole frames inside this chunk: views, no copies.
    while (n - at >= HEADER_SIZE) {
      const size = frameSizeAt(chunk, at)!;
      if (size - HEADER_SIZE > this.maxPayload) return this.oversize(chunk, at, size);
      if (n - at < size) break;
      this.frames++;
      this.onFrame(chunk.subarray(at, at + size));
      if (this.stopped) return;
      at += size;
    }
    if (at < n) {
      const rest = n - at;
      if (rest >= HEADER_SIZE) {
        this.part = Buffer.allocUnsafe(frameSizeAt(chunk, at)!);
        this.sizeKnown = true;
      } else {
        this.part = Buffer.allocUnsafe(HEADER_SIZE);
        this.sizeKnown = false;
      }
      chunk.copy(this.part, 0, at, n);
      this.partLen = rest;
    }
  }
}
