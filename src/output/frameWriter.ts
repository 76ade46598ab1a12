// Writes settled frames as text lines, -V trees or NDJSON (read and live).

import type { AnalyzedFrame } from '../analysis/frame.js';
import { frameJsonLine } from './frameJson.js';
import { findingMarks, frameSummary } from './summary.js';
import { buildTree, treeLines } from './tree.js';

export type FrameFormat = 'text' | 'verbose' | 'json';

export interface TextSink {
  write(s: string): void;
}

/** Buffers output and writes it in large pieces (stdout writes per line are slow). */
export class BufferedOut implements TextSink {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly flushTo: (s: string) => void, private readonly limit = 1 << 16) {}

  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    this.flushTo(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

function relTime(f: AnalyzedFrame, base: { sec: number; nsec: number } | null): string {
  if (!base) return '0.000000';
  const ns = (f.tsSec - base.sec) * 1e9 + (f.tsNsec - base.nsec);
  return (ns / 1e9).toFixed(Math.min(9, Math.max(6, f.tsDigits)));
}

export class FrameWriter {
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
      return frameJsonLine(f.decoded, {
        frame: f.number, packet: f.packet, tsSec: f.tsSec, tsNsec: f.tsNsec, tsDigits: f.tsDigits,
        transport: f.transport, src: f.srcText, dst: f.dstText, session: f.session, expert: f.expert,
      }) + '\n';
    }
    const marks = findingMarks(f.expert);
    const line = `${String(f.number).padStart(6)} ${relTime(f, this.origin()).padStart(12)}  ${f.srcText} → ${f.dstText}  ${f.transport.toUpperCase()}  ${frameSummary(f)}${marks ? '  ' + marks : ''}\n`;
    if (this.format !== 'verbose') return line;
    return line + treeLines(buildTree(f)).map((l) => '    ' + l).join('\n') + '\n\n';
  }
}
