// What `stats` counts: frames by opcode, findings by code, flows. Fed with
// frames (after the display filter) and with segment findings.

import type { SegmentEvent } from '../net/types.js';
import type { ExpertCode, Finding } from '../protocol/expert.js';
import type { AnalyzedFrame } from './frame.js';
import type { Stamp } from './time.js';

/** How many frame numbers are remembered per finding code (text stats shows them). */
const FIRST_FRAMES_KEPT = 5;

export interface FlowRecord {
  transport: 'udp' | 'tcp';
  /** The endpoint that sent the flow's first frame, and the other. */
  a: string;
  b: string;
  frames: number;
  bytes: number;
  /** First and last frame times as plain numbers (no object per frame). */
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

function hasError(expert: readonly Finding[]): boolean {
  for (const x of expert) if (x.severity === 'error') return true;
  return false;
}

export class Summary {
  vvmpFrames = 0;
  readonly byOpcode = new Map<number, number>();
  readonly expertCounts = new Map<ExpertCode, number>();
  readonly expertFirstFrames = new Map<ExpertCode, number[]>();
  readonly flows = new Map<string, FlowRecord>();

  frame(f: AnalyzedFrame): void {
    this.vvmpFrames++;
    const op = f.decoded.header.opcode;
    if (op !== null) this.byOpcode.set(op, (this.byOpcode.get(op) ?? 0) + 1);
    for (const x of f.expert) this.count(x.code, f.number);
    let flow = this.flows.get(f.flowKey);
    if (!flow) {
      flow = {
        transport: f.transport, a: f.srcText, b: f.dstText, frames: 0, bytes: 0,
        firstSec: f.tsSec, firstNsec: f.tsNsec, lastSec: f.tsSec, lastNsec: f.tsNsec, digits: f.tsDigits, errors: 0,
      };
      this.flows.set(f.flowKey, flow);
    }
    flow.frames++;
    flow.bytes += f.decoded.bytes.length;
    flow.lastSec = f.tsSec;
    flow.lastNsec = f.tsNsec;
    if (hasError(f.expert)) flow.errors++;
  }

  /** A finding added after `frame` saw the frame (live and UI use; `stats` feeds settled frames). */
  lateFinding(f: AnalyzedFrame, x: Finding): void {
    this.count(x.code, f.number);
    if (x.severity === 'error' && f.expert.filter((e) => e.severity === 'error').length === 1) {
      const flow = this.flows.get(f.flowKey);
      if (flow) flow.errors++;
    }
  }

  segment(e: SegmentEvent): void {
    this.count(e.code, null);
  }

  private count(code: ExpertCode, frame: number | null): void {
    this.expertCounts.set(code, (this.expertCounts.get(code) ?? 0) + 1);
    if (frame === null) return;
    let firsts = this.expertFirstFrames.get(code);
    if (!firsts) this.expertFirstFrames.set(code, (firsts = []));
    if (firsts.length < FIRST_FRAMES_KEPT) firsts.push(frame);
  }
}
