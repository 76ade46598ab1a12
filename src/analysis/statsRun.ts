// The analysis behind `stats` (one file in-process, or each file of
// `stats A B DIR` in a worker): a Pipeline feeding a Summary, the one place
// its hooks are chosen.

import type { CompiledFilter } from './filter/index.js';
import type { AnalyzedFrame } from './frame.js';
import type { AnalyzerHooks } from './analyzer.js';
import { Pipeline, type PipelineOptions } from './pipeline.js';
import { Summary } from './summary.js';

/**
 * Without a filter, frames are counted at once and late findings as they
 * come; a filter must see each frame final (a request with its timeout or
 * session), in any order, and the Analyzer counts transactions and marks
 * sessions by the same test. Either way no frame is held back, and the
 * Summary reads each frame only during the call: frames are transient
 * (reused, payload fields read in place).
 */
export function statsPipeline(summary: Summary, filter: CompiledFilter | null, opts: PipelineOptions): Pipeline {
  const hooks: AnalyzerHooks = filter
    ? { final: (f, included) => { if (included) summary.frame(f); }, segment: (e) => summary.segment(e, false) }
    : { frame: (f) => summary.frame(f), lateFinding: (f, x) => summary.lateFinding(f, x), segment: (e) => summary.segment(e) };
  return new Pipeline(hooks, {
    ...opts, compactSessions: true, keepPackets: filter?.packets, packetBytes: filter?.packets === true, transientFrames: true, payloadInPlace: true,
    ...(filter ? { include: (f: AnalyzedFrame) => filter.test(f) } : {}),
  });
}
