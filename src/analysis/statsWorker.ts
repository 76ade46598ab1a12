// A `vvmp stats` worker thread: analyses the files it is sent, one at a time,
// and answers each with its FileStats (latency samples transferred, not copied).
// Started through statsWorker.mjs (see cli/stats.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { CaptureError } from '../capture/errors.js';
import { analyseFile, transferables, type FileStats, type StatsJobOptions } from './merge.js';

/** Main thread → worker: analyse this file (`index` in the command's list). */
export interface StatsJob {
  index: number;
  file: string;
}

/** Worker → main thread. */
export type StatsReply =
  | { type: 'progress'; index: number; frames: number }
  | { type: 'done'; index: number; result: FileStats }
  | { type: 'error'; index: number; message: string; capture: boolean; reason: string };

const port = parentPort;
if (port) {
  const opts = workerData as StatsJobOptions;
  const send = (m: StatsReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  port.on('message', (job: StatsJob) => {
    try {
      const result = analyseFile(job.file, opts, (frames) => send({ type: 'progress', index: job.index, frames }));
      send({ type: 'done', index: job.index, result }, transferables(result));
    } catch (e) {
      const err = e as Error;
      const capture = e instanceof CaptureError;
      send({ type: 'error', index: job.index, message: err?.message ?? String(e), capture, reason: capture ? e.reason : '' });
    }
  });
}
