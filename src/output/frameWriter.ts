// Writes settled frames as text lines, -V trees or NDJSON (read and live).

import type { AnalyzedFrame } from '../analysis/frame.js';
import { writeFrameJson } from './frameJson.js';
import { TextBuilder } from './textBuilder.js';
import { findingMarks, frameSummary } from './summary.js';
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
    this.used += this.buf.write(s, this.used, 'utf8');
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafeSlow(this.limit);
    this.used = 0;
    this.flushTo(chunk);
  }
}

function relTime(f: AnalyzedFrame, base: { sec: number; nsec: number } | null): string {
  if (!base) return '0.000000';
  const ns = (f.tsSec - base.sec) * 1e9 + (f.tsNsec - base.nsec);
  return (ns / 1e9).toFixed(Math.min(9, Math.max(6, f.tsDigits)));
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

  /** The frame's output text (a line, a line and its tree, or a JSON record), newline-terminated. */
  render(f: AnalyzedFrame): string {
    if (this.format === 'json') {
      writeFrameJson(this.tb, f.decoded, f);
      return this.tb.char(0x0a).take();
    }
    const marks = findingMarks(f.expert);
    const line = `${String(f.number).padStart(6)} ${relTime(f, this.origin()).padStart(12)}  ${f.srcText} → ${f.dstText}  ${f.transport.toUpperCase()}  ${frameSummary(f)}${marks ? '  ' + marks : ''}\n`;
    if (this.format !== 'verbose') return line;
    return line + treeLines(buildTree(f)).map((l) => '    ' + l).join('\n') + '\n\n';
  }
}
