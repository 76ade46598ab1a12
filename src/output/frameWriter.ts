// Writes settled frames as text lines, -V trees or NDJSON (read and live).

import type { AnalyzedFrame } from '../analysis/frame.js';
import { writeFrameJson } from './frameJson.js';
import { TextBuilder, fractionDigits, raw } from './textBuilder.js';
import { findingMarks, writeFrameSummary } from './summary.js';
import { buildTree, treeLines } from './tree.js';

export type FrameFormat = 'text' | 'verbose' | 'json';

export interface TextSink {
  write(s: string): void;
}

/**
 * Collects output as bytes in a large buffer and hands it on in pieces of
 * `limit` bytes (stdout writes per line are slow, and joining strings first
 * costs a copy and garbage). Each piece handed on is a buffer of its own:
 * the consumer may keep it (an asynchronous stdout).
 */
export class BufferedOut implements TextSink {
  private buf: Buffer;
  private used = 0;

  constructor(private readonly flushTo: (chunk: Buffer) => void, private readonly limit = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(limit);
  }

  write(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (this.used + s.length * 3 > this.limit) {
      this.flush();
      if (s.length * 3 > this.limit) {
        this.flushTo(Buffer.from(s, 'utf8'));
        return;
      }
    }
    this.used += raw(this.buf).utf8Write(s, this.used);
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafeSlow(this.limit);
    this.used = 0;
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
    tb.uint(sec).char(0x2e).str(fractionDigits(ns - sec * 1e9, decimals));
  } else {
    tb.str((ns / 1e9).toFixed(decimals));
  }
}

export class FrameWriter {
  private readonly tb = new TextBuilder();

  constructor(
    private readonly out: TextSink,
    private readonly format: FrameFormat,
    /** Time origin of relative times: the capture's first packet. */
    private readonly origin: () => { sec: number; nsec: number } | null,
  ) {}

  write(f: AnalyzedFrame): void {
    this.out.write(this.render(f));
  }

  /** The frame's summary line (newline-terminated). */
  private line(f: AnalyzedFrame): string {
    const tb = this.tb;
    let at = tb.length;
    tb.uint(f.number).padStartFrom(at, 6).char(0x20);
    at = tb.length;
    writeRelTime(tb, f, this.origin());
    tb.padStartFrom(at, 12).str('  ').str(f.srcText).str(' → ').str(f.dstText).str(f.transport === 'udp' ? '  UDP  ' : '  TCP  ');
    writeFrameSummary(tb, f);
    if (f.expert.length > 0) {
      const marks = findingMarks(f.expert);
      if (marks) tb.str('  ').str(marks);
    }
    return tb.char(0x0a).take();
  }

  /** The frame's output text (a line, a line and its tree, or a JSON record), newline-terminated. */
  render(f: AnalyzedFrame): string {
    if (this.format === 'json') {
      writeFrameJson(this.tb, f.decoded, f);
      return this.tb.char(0x0a).take();
    }
    if (this.format !== 'verbose') return this.line(f);
    const line = this.line(f);
    return line + treeLines(buildTree(f)).map((l) => '    ' + l).join('\n') + '\n\n';
  }
}
