// What `stats` counts: frames by opcode, findings by code, flows. Fed with
// frames (after the display filter) and with segment findings. Frames may
// come in any order (a filtered run counts each request once it is final,
// after frames that followed it): everything here depends on frame numbers
// and times, not on the order of the calls.

import type { SegmentEvent } from '../net/types.js';
import type { ExpertCode, Finding } from '../protocol/expert.js';
import type { AnalyzedFrame } from './frame.js';
import { FlowTable } from './flows.js';

export { flowFirst, flowLast, type FlowRecord } from './flows.js';

/** How many frame numbers are remembered per finding code (the lowest; text stats shows them). */
const FIRST_FRAMES_KEPT = 5;

function hasError(expert: readonly Finding[]): boolean {
  for (const x of expert) if (x.severity === 'error') return true;
  return false;
}

export class Summary {
  vvmpFrames = 0;
  readonly byOpcode = new Map<number, number>();
  readonly expertCounts = new Map<ExpertCode, number>();
  readonly expertFirstFrames = new Map<ExpertCode, number[]>();
  readonly flows = new FlowTable();

  frame(f: AnalyzedFrame): void {
    this.vvmpFrames++;
    const op = f.decoded.header.opcode;
    if (op !== null) this.byOpcode.set(op, (this.byOpcode.get(op) ?? 0) + 1);
    for (const x of f.expert) this.count(x.code, f.number);
    this.flows.frame(f.flowKey, f.number, f.srcText, f.decoded.bytes.length, f.tsSec, f.tsNsec, f.tsDigits, hasError(f.expert));
  }

  /** A finding added after `frame` saw the frame (live and UI use; `stats` feeds settled frames). */
  lateFinding(f: AnalyzedFrame, x: Finding): void {
    this.count(x.code, f.number);
    if (x.severity === 'error' && f.expert.filter((e) => e.severity === 'error').length === 1) this.flows.error(f.flowKey);
  }

  segment(e: SegmentEvent): void {
    this.count(e.code, null);
  }

  private count(code: ExpertCode, frame: number | null): void {
    this.expertCounts.set(code, (this.expertCounts.get(code) ?? 0) + 1);
    if (frame === null) return;
    let firsts = this.expertFirstFrames.get(code);
    if (!firsts) this.expertFirstFrames.set(code, (firsts = []));
    if (firsts.length === FIRST_FRAMES_KEPT && frame >= firsts[FIRST_FRAMES_KEPT - 1]!) return;
    // Kept sorted: insert, and drop the highest beyond the limit.
    let i = firsts.length;
    while (i > 0 && firsts[i - 1]! > frame) i--;
    firsts.splice(i, 0, frame);
    if (firsts.length > FIRST_FRAMES_KEPT) firsts.pop();
  }
}
