// A `vvmp export -j N` worker thread: exports the captures it is sent, one at
// a time, each to its own files or straight into ClickHouse.
// Started through exportWorker.mjs under tsx (see cli/export.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { CaptureError } from '../../capture/errors.js';
import { ClickHouseError, ClickHouseUnavailable } from './clickhouseHttp.js';
import { runExportJob, type ExportJob, type ExportJobOptions, type ExportOutcome } from './job.js';

export type ExportReply =
  | { type: 'progress'; index: number; frames: number }
  | { type: 'done'; index: number; outcome: ExportOutcome }
  | { type: 'error'; index: number; message: string; input: boolean };

const port = parentPort;
if (port) {
  const opts = workerData as ExportJobOptions;
  const send = (m: ExportReply): void => port.postMessage(m);
  port.on('message', (job: ExportJob) => {
    runExportJob(job, opts, (frames) => send({ type: 'progress', index: job.index, frames }))
      .then((outcome) => send({ type: 'done', index: job.index, outcome }))
      .catch((e: unknown) => {
        const err = e as Error;
        const input = e instanceof CaptureError || e instanceof ClickHouseError || e instanceof ClickHouseUnavailable;
        send({ type: 'error', index: job.index, message: err?.message ?? String(e), input });
      });
  });
}
