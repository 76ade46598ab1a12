// What the stats outputs (text and JSON) read, whether from one capture's
// Analyzer and Summary or from several files merged (merge.ts).

import type { ExpertCode } from '../protocol/expert.js';
import type { FlowRecord } from './flows.js';
import type { SessionRow } from './sessions.js';
import type { Percentiles } from './latency.js';
import type { TransactionStats } from './transactions.js';
import type { IoTimeline } from './io.js';
import type { Stamp } from './time.js';
import type { CaptureNote } from '../capture/notes.js';

/**
 * What the stats outputs (JSON and text) read: one live Analyzer + Summary
 * (see `liveSource`), or several files' results merged (analysis/merge.ts).
 */
export interface StatsSource {
  packets: number;
  /** VVMP frames counted (after the display filter). */
  vvmpFrames: number;
  byOpcode: ReadonlyMap<number, number>;
  expertCounts: ReadonlyMap<ExpertCode, number>;
  expertFirstFrames: ReadonlyMap<ExpertCode, readonly number[]>;
  flows: { records(): Iterable<FlowRecord>; readonly size: number };
  sessions: { rows(): Iterable<SessionRow>; readonly count: number };
  requests: number;
  answered: number;
  timedOut: number;
  openAtEnd: number;
  latency: { overall(): Percentiles | null; perOpcode(): Map<number, { count: number; pct: Percentiles }> };
  /** Response times by opcode, client and server; error replies by status and server. */
  transactions: TransactionStats;
  /** Frames and errors per interval. */
  io: IoTimeline;
  /** Capture-level loss counters (Summary.loss). */
  loss: ReadonlyMap<string, number>;
  first: Stamp | null;
  last: Stamp | null;
  /** What the capture held that could not be decoded (capture/notes.ts); absent or empty: nothing. */
  undecoded?: readonly CaptureNote[];
}
