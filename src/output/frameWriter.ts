// Writes settled frames as text lines, -V trees or NDJSON (read and live).

import type { AnalyzedFrame } from '../analysis/frame.js';
import { writeFrameJson } from './frameJson.js';
import { TextBuilder, raw, utf8 } from './textBuilder.js';
import { findingMarks, writeFrameSummary } from './summary.js';
import { buildTree, treeLines } from './tree.js';

export type FrameFormat = 'text' | 'verbose' | 'json';

export interface TextSink {
  write(s: string): void;
}

/** Room past `limit` in each output buffer: a record that crosses the limit ends in the same buffer. */
const SLACK = 64 << 10;

/**
 * Collects output as bytes in a large buffer and hands it on in pieces of
 * about `limit` bytes (stdout writes per line are slow, and joining strings
 * first costs a copy and garbage). Records are written straight into it (it
 * is a TextBuilder); a piece is handed on between records only, so a piece
 * may pass `limit` by one record. Each piece handed on is a buffer of its
 * own: the consumer may keep it (an asynchronous stdout).
 */
export class BufferedOut extends TextBuilder implements TextSink {
  constructor(private readonly flushTo: (chunk: Buffer) => void, private readonly limit = 1 << 20) {
    super(0);
    this.buf = Buffer.allocUnsafeSlow(limit + SLACK);
  }

  /** A whole string (no piece is larger than `limit` for it, unless it is larger alone). */
  write(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (this.pos + s.length * 3 > this.limit) {
      this.flush();
      if (s.length * 3 > this.limit) {
        this.flushTo(Buffer.from(s, 'utf8'));
        return;
      }
    }
    this.pos += raw(this.buf).utf8Write(s, this.pos);
  }

  /** Whole bytes (copied), as `write` places a string. */
  bytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.pos + n > this.limit) {
      this.flush();
      if (n > this.limit) {
        this.flushTo(Buffer.from(src.subarray(start, end)));
        return;
      }
    }
    this.copy(src, start, end);
  }

  override endRecord(): void {
    if (this.pos >= this.limit) this.flush();
  }

  flush(): void {
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafeSlow(this.limit + SLACK);
    this.pos = 0;
    this.flushTo(chunk);
  }
}

/** Powers of ten by exponent: the nanoseconds dropped by a time shown with 9 − k decimals. */
const DROPPED = [1, 10, 100, 1000];

/**
 * Writes relTime(f, base). Digits come from integers when that is exact (the
 * decimals shown hold every nanosecond of a safe-integer time); otherwise
 * toFixed decides, as before.
 */
export function writeRelTime(tb: TextBuilder, f: Pick<AnalyzedFrame, 'tsSec' | 'tsNsec' | 'tsDigits'>, base: { sec: number; nsec: number } | null): void {
  if (!base) {
    tb.str('0.000000');
    return;
  }
  const ns = (f.tsSec - base.sec) * 1e9 + (f.tsNsec - base.nsec);
  const decimals = Math.min(9, Math.max(6, f.tsDigits));
  if (ns >= 0 && Number.isSafeInteger(ns) && ns % DROPPED[9 - decimals]! === 0) {
    const sec = Math.floor(ns / 1e9);
    tb.uint(sec).char(0x2e).frac(ns - sec * 1e9, decimals);
  } else {
    tb.str((ns / 1e9).toFixed(decimals));
  }
}

export class FrameWriter {
  /** For `text` (a string per frame: tshark text output with -t). */
  private readonly tb = new TextBuilder();

  constructor(
    private readonly out: TextBuilder,
    private readonly format: FrameFormat,
    /** Time origin of relative times: the capture's first packet. */
    private readonly origin: () => { sec: number; nsec: number } | null,
  ) {}

  /** Writes the frame's output into the output. */
  write(f: AnalyzedFrame): void {
    this.render(f, this.out);
  }

  /** The frame's summary line (newline-terminated). */
  private line(f: AnalyzedFrame, tb: TextBuilder): void {
    let at = tb.length;
    tb.uint(f.number).padStartFrom(at, 6).char(0x20);
    at = tb.length;
    writeRelTime(tb, f, this.origin());
    tb.padStartFrom(at, 12).lit(SEP2).str(f.srcText).rep(ARROW).str(f.dstText).lit(f.transport === 'udp' ? UDP : TCP);
    writeFrameSummary(tb, f);
    if (f.expert.length > 0) {
      const marks = findingMarks(f.expert);
      if (marks) tb.lit(SEP2).str(marks);
    }
    tb.char(0x0a);
  }

  /** Writes the frame's output (a line, a line and its tree, or a JSON record), newline-terminated, into `to` as one record. */
  render(f: AnalyzedFrame, to: TextBuilder): void {
    if (this.format === 'json') {
      writeFrameJson(to, f.decoded, f);
      to.char(0x0a);
    } else {
      this.line(f, to);
      if (this.format === 'verbose') {
        const lines = treeLines(buildTree(f));
        for (let i = 0; i < lines.length; i++) {
          if (i > 0) to.char(0x0a);
          to.lit(INDENT).str(lines[i]!);
        }
        to.char(0x0a).char(0x0a);
      }
    }
    to.endRecord();
  }

  /** The frame's output as a string. */
  text(f: AnalyzedFrame): string {
    this.render(f, this.tb);
    return this.tb.take();
  }
}

const SEP2 = utf8('  ');
/** Not ASCII: written through `rep`, which marks it for `take`. */
const ARROW = ' → ';
const UDP = utf8('  UDP  ');
const TCP = utf8('  TCP  ');
const INDENT = utf8('    ');
