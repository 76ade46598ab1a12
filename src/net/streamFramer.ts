// A socket's TCP byte stream → whole VVMP frames, for every socket of the
// traffic side (server, client, replay, fuzzer) and the fuzzer's model of
// what a server frames. It is the capture framer itself (net/framer.ts, as
// `FrameStream`: the same code that cuts captured streams, without resync,
// since nothing is missing from a socket's stream), with the receiver's
// habits on top: a default payload limit and the oversize header decoded.

import { decodeFrame, frameSizeAt, type HeaderFields } from '../protocol/decode.js';
import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE } from '../protocol/fields.js';
import { FrameStream } from './framer.js';

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

const EMPTY = Buffer.alloc(0);

export class StreamFramer {
  private readonly stream: FrameStream;
  private partial: Buffer = EMPTY;

  constructor(opts: StreamFramerOptions) {
    const onOversize = opts.onOversize;
    this.stream = new FrameStream({
      maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      onFrame: opts.onFrame,
      onOversize: onOversize && ((header, size) => onOversize(decodeFrame(header).header, size, header)),
      onPartial: (bytes) => (this.partial = bytes),
    });
  }

  /** Frames emitted so far. */
  get frames(): number {
    return this.stream.frames;
  }

  /** Bytes of an incomplete frame held back. */
  get buffered(): number {
    return this.stream.buffered;
  }

  /** True once an oversize header stopped the framer (or stop() was called). */
  get isStopped(): boolean {
    return this.stream.isStopped;
  }

  /** Drops buffered bytes and ignores all further input. */
  stop(): void {
    this.stream.stop();
  }

  push(chunk: Buffer): void {
    this.stream.push(chunk);
  }

  /**
   * No more bytes: what was held back of an incomplete frame (empty if none)
   * and that frame's declared size (-1 while its header is incomplete).
   */
  end(): { bytes: Buffer; size: number } {
    this.stream.end();
    const bytes = this.partial;
    return { bytes, size: bytes.length >= HEADER_SIZE ? frameSizeAt(bytes, 0)! : -1 };
  }
}
