// What `stats` counts: frames by opcode, findings by code, flows. Fed with
// frames (after the display filter) and with segment findings. Frames may
// come in any order (a filtered run counts each request once it is final,
// after frames that followed it): everything here depends on frame numbers
// and times, not on the order of the calls.

import type { SegmentEvent } from '../net/types.js';
import type { ExpertCode, Finding } from '../protocol/expert.js';
import type { AnalyzedFrame } from './frame.js';
import { FlowTable } from './flows.js';
import { IoTimeline } from './io.js';

export { flowFirst, flowLast, type FlowRecord } from './flows.js';

/** How many frame numbers are remembered per finding code (the lowest; text stats shows them). */
const FIRST_FRAMES_KEPT = 5;

function hasError(expert: readonly Finding[]): boolean {
  for (let i = 0; i < expert.length; i++) if (expert[i]!.severity === 'error') return true;
  return false;
}

/**
 * Capture-level loss counters, by name, in output order. Always present (0
 * when nothing was lost); other layers may add their own names (`addLoss`).
 */
export const LOSS_KEYS = ['tcp_gaps', 'tcp_bytes_not_captured', 'tcp_bytes_skipped', 'tcp_frames_dropped'] as const;

export function newLossCounters(): Map<string, number> {
  return new Map(LOSS_KEYS.map((k) => [k, 0]));
}

export class Summary {
  vvmpFrames = 0;
  /**
   * What the capture lost or what could not be framed (see LOSS_KEYS). These
   * describe the capture, not frames: a display filter does not apply.
   */
  readonly loss = newLossCounters();
  /** Frames and frames with an error per interval. */
  readonly io: IoTimeline;

  /** `intervalMs`: the I/O interval (null: automatic, from 1 s). */
  constructor(opts: { intervalMs?: number | null } = {}) {
    this.io = new IoTimeline(opts.intervalMs ?? null);
  }
  /** Frames by raw opcode: counted in an array indexed by opcode, listed in the order first seen. */
  private readonly opCounts = new Float64Array(1 << 16);
  private readonly opSeen: number[] = [];

  /** Frames by raw opcode (in the order first seen). */
  get byOpcode(): ReadonlyMap<number, number> {
    return new Map(this.opSeen.map((op) => [op, this.opCounts[op]!]));
  }
  readonly expertCounts = new Map<ExpertCode, number>();
  readonly expertFirstFrames = new Map<ExpertCode, number[]>();
  readonly flows = new FlowTable();

  frame(f: AnalyzedFrame): void {
    this.vvmpFrames++;
    const op = f.decoded.header.opcode;
    if (op !== null && this.opCounts[op]!++ === 0) this.opSeen.push(op);
    // Indexed loops: no iterator per frame (most frames share the decoder's empty list).
    const expert = f.expert;
    for (let i = 0; i < expert.length; i++) this.count(expert[i]!.code, f.number);
    const error = expert.length !== 0 && hasError(expert);
    this.flows.frame(f.flowKey, f.number, f.srcText, f.decoded.bytes.length, f.tsSec, f.tsNsec, f.tsDigits, error, f.flow);
    this.io.frame(f.tsSec, f.tsNsec, error);
  }

  /** A finding added after `frame` saw the frame (live and UI use; `stats` feeds settled frames). */
  lateFinding(f: AnalyzedFrame, x: Finding): void {
    this.count(x.code, f.number);
    if (x.severity === 'error' && f.expert.filter((e) => e.severity === 'error').length === 1) {
      this.flows.error(f.flowKey, f.flow);
      this.io.error(f.tsSec, f.tsNsec);
    }
  }

  /** A segment finding; `finding` false: count only what it lost (a filtered report counts no segment findings). */
  segment(e: SegmentEvent, finding = true): void {
    if (finding) this.count(e.code, null);
    const l = e.loss;
    if (!l) return;
    if (l.notCaptured > 0) {
      this.addLoss('tcp_gaps', 1);
      this.addLoss('tcp_bytes_not_captured', l.notCaptured);
    }
    this.addLoss('tcp_bytes_skipped', l.skipped);
    this.addLoss('tcp_frames_dropped', l.droppedFrames);
  }

  addLoss(key: string, n: number): void {
    if (n !== 0 || !this.loss.has(key)) this.loss.set(key, (this.loss.get(key) ?? 0) + n);
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
