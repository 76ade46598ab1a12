// `vvmp stats A B DIR …`: each file analysed on its own (`analyseFile`, in a
// worker thread or in-process), then the per-file results merged into one
// StatsSource (`mergeStats`), in the order the files were named.
//
// Semantics of the merge:
// - Each file is analysed on its own: an exchange (request → reply, timeout)
//   never spans files, and neither does a session or a TCP stream.
// - Counts are summed: packets, VVMP frames, frames by opcode, expert findings,
//   requests / answered / timed out / open at end.
// - Flows with the same key in several files are one flow: frames, bytes and
//   errors summed, first = earliest, last = latest; transport, `a`, `b` (and
//   the timestamp digits) come from the first file that had the flow. Flows
//   are listed in the order they first appeared (file order, then frame order).
// - Sessions are concatenated in file order (count = the sum).
// - Latency percentiles are recomputed over every file's samples (workers
//   send their exact per-microsecond histograms as transferable arrays); the
//   per-client and per-server response-time histograms are added up bucket by
//   bucket (a client is a row of the merged table if it is among the first
//   1,000 ids in file order, else its samples count under "other"); error
//   replies by status and server are summed.
// - I/O over time: intervals are aligned to the epoch, so each file's counts
//   add up; with the automatic interval the merge takes the coarsest any file
//   needed (and steps up again if the whole span needs it).
// - Loss counters are summed.
// - With -Y, each file lists only the sessions its matching frames belong to.
// - Frame numbers (expert first frames, session lifecycle events) are
//   renumbered as if the files were one sequence: a file's numbers are
//   offset by the VVMP frames of the files before it. Each code still keeps
//   its first 5 frame numbers.
// - Capture times: `first` is the earliest first packet, `last` the latest
//   last packet, over all files.
// - Damage is reported per file by the caller (one stderr line each); a file
//   that cannot be read at all is a CaptureError (the command fails).
// `-j 1` runs the same `analyseFile` in-process, so the merged output does
// not depend on the number of workers.

import { readCaptureFile } from '../capture/file.js';
import { linkTypeNotes, mergeNotes, type CaptureNote } from '../capture/notes.js';
import { compileFilter, isEmptyFilter } from './filter/index.js';
import type { PipelineOptions } from './pipeline.js';
import { statsPipeline } from './statsRun.js';
import { Summary, type FlowRecord } from './summary.js';
import type { SessionRow } from './sessions.js';
import { TransactionStats, transactionTransferables, type TransactionData } from './transactions.js';
import { IoTimeline, type IoData } from './io.js';
import { newLossCounters } from './summary.js';
import type { Stamp } from './time.js';
import type { ExpertCode } from '../protocol/expert.js';
import type { StatsSource } from './statsSource.js';

/** Frame numbers kept per finding code (as Summary keeps). */
const FIRST_FRAMES_KEPT = 5;

/** What a worker is told: plain values, so they cross postMessage. */
export interface StatsJobOptions {
  pipeline: PipelineOptions;
  /** The -Y text, or null. */
  filter: string | null;
  /** The I/O interval in ms (--interval); null or absent: automatic. */
  intervalMs?: number | null;
}

/** One file's analysis, plain and structured-clone-able. */
export interface FileStats {
  file: string;
  packets: number;
  /** Every VVMP frame numbered in the file (the frame-number offset of the next file). */
  framesNumbered: number;
  /** VVMP frames counted (after the filter). */
  vvmpFrames: number;
  byOpcode: [number, number][];
  expertCounts: [ExpertCode, number][];
  expertFirstFrames: [ExpertCode, number[]][];
  flows: [string, FlowRecord][];
  sessions: SessionRow[];
  openAtEnd: number;
  /** Requests, response times, error replies (as the filter selected them). */
  tx: TransactionData;
  io: IoData;
  loss: [string, number][];
  first: Stamp | null;
  last: Stamp | null;
  damage: string | null;
  /** Packets read (for the damage report). */
  readPackets: number;
  /** What could not be decoded (reported per file, counted in stats). */
  notes: CaptureNote[];
}

/** Analyses one capture file as `vvmp stats FILE` does. Throws CaptureError if it cannot be read. */
export function analyseFile(file: string, opts: StatsJobOptions, progress?: (frames: number) => void): FileStats {
  const filter = opts.filter === null || isEmptyFilter(opts.filter) ? null : compileFilter(opts.filter);
  const summary = new Summary({ intervalMs: opts.intervalMs ?? null });
  const pipeline = statsPipeline(summary, filter, opts.pipeline);
  let n = 0;
  const onPacket = progress
    ? (p: Parameters<typeof pipeline.packet>[0]): void => {
      pipeline.packet(p);
      if ((++n & 0x3fff) === 0) progress(pipeline.analyzer.vvmpFrames);
    }
    : pipeline.packet;
  const result = readCaptureFile(file, onPacket);
  pipeline.end();
  const a = pipeline.analyzer;
  return {
    file,
    packets: a.packets,
    framesNumbered: a.vvmpFrames,
    vvmpFrames: summary.vvmpFrames,
    byOpcode: [...summary.byOpcode],
    expertCounts: [...summary.expertCounts],
    expertFirstFrames: [...summary.expertFirstFrames],
    flows: [...summary.flows.entries()],
    sessions: [...a.sessions.rows(a.selecting)].map((s) => ({
      server_id: s.server_id, session_id: s.session_id, client_id: s.client_id, state: s.state,
      storage_type: s.storage_type, capacity_kb: s.capacity_kb, opened: s.opened, closed: s.closed,
      events: s.events.map((e) => ({ ...e })), dropped: s.dropped,
    })),
    openAtEnd: a.openAtEnd,
    tx: a.tx.data(),
    io: summary.io.data(),
    loss: [...summary.loss],
    first: a.first,
    last: a.last,
    damage: result.damage,
    readPackets: result.packets,
    notes: [...(result.notes ?? []), ...linkTypeNotes(pipeline.net.counters.undecoded)],
  };
}

/** The ArrayBuffers of a result that can be moved (not copied) to another thread. */
export function transferables(r: FileStats): ArrayBuffer[] {
  return transactionTransferables(r.tx);
}

function before(x: Stamp, y: Stamp): boolean {
  return x.sec < y.sec || (x.sec === y.sec && x.nsec < y.nsec);
}

/** Several files' results, in file order, as one StatsSource (see the semantics above). */
export function mergeStats(results: readonly FileStats[], intervalMs: number | null = null): StatsSource {
  const byOpcode = new Map<number, number>();
  const expertCounts = new Map<ExpertCode, number>();
  const expertFirstFrames = new Map<ExpertCode, number[]>();
  const flows = new Map<string, FlowRecord>();
  const sessions: SessionRow[] = [];
  const tx = new TransactionStats();
  const io = new IoTimeline(intervalMs);
  const loss = newLossCounters();
  let packets = 0, vvmpFrames = 0, openAtEnd = 0, offset = 0;
  let first: Stamp | null = null, last: Stamp | null = null;
  for (const r of results) {
    packets += r.packets;
    vvmpFrames += r.vvmpFrames;
    openAtEnd += r.openAtEnd;
    tx.merge(r.tx);
    io.merge(r.io);
    for (const [k, n] of r.loss) loss.set(k, (loss.get(k) ?? 0) + n);
    for (const [op, n] of r.byOpcode) byOpcode.set(op, (byOpcode.get(op) ?? 0) + n);
    for (const [code, n] of r.expertCounts) expertCounts.set(code, (expertCounts.get(code) ?? 0) + n);
    for (const [code, frames] of r.expertFirstFrames) {
      let kept = expertFirstFrames.get(code);
      if (!kept) expertFirstFrames.set(code, (kept = []));
      for (const f of frames) if (kept.length < FIRST_FRAMES_KEPT) kept.push(f + offset);
    }
    for (const [key, f] of r.flows) {
      const m = flows.get(key);
      if (!m) {
        flows.set(key, { ...f });
        continue;
      }
      m.frames += f.frames;
      m.bytes += f.bytes;
      m.errors += f.errors;
      if (before({ sec: f.firstSec, nsec: f.firstNsec, digits: 0 }, { sec: m.firstSec, nsec: m.firstNsec, digits: 0 })) {
        m.firstSec = f.firstSec;
        m.firstNsec = f.firstNsec;
      }
      if (before({ sec: m.lastSec, nsec: m.lastNsec, digits: 0 }, { sec: f.lastSec, nsec: f.lastNsec, digits: 0 })) {
        m.lastSec = f.lastSec;
        m.lastNsec = f.lastNsec;
      }
    }
    for (const s of r.sessions) {
      sessions.push(offset === 0 ? s : { ...s, events: s.events.map((e) => ({ ...e, frame: e.frame + offset })) });
    }
    if (r.first && (first === null || before(r.first, first))) first = r.first;
    if (r.last && (last === null || before(last, r.last))) last = r.last;
    offset += r.framesNumbered;
  }
  return {
    packets, vvmpFrames, byOpcode, expertCounts, expertFirstFrames, flows: { records: () => flows.values(), size: flows.size },
    sessions: { rows: () => sessions, count: sessions.length },
    requests: tx.requests, answered: tx.answered, timedOut: tx.timedOut, openAtEnd, latency: tx.latency,
    transactions: tx, io, loss, first, last,
    undecoded: mergeNotes(results.map((r) => r.notes)),
  };
}
