// One capture exported to its destination: what `vvmp export` runs per file,
// in-process (-j 1) or in a worker thread (exportWorker.ts).

import type { PipelineOptions } from '../../analysis/pipeline.js';
import { ClickHouseTarget, type ClickHouseOptions } from './clickhouseTarget.js';
import { FileCaptureWriter, type FileFormat } from './files.js';
import { captureIdentity, exportCaptureFile, type ExportedCapture } from './source.js';

/** Plain values (they cross postMessage). */
export interface ExportJobOptions {
  pipeline: PipelineOptions;
  site: string;
  files: { dir: string; format: FileFormat } | null;
  clickhouse: ClickHouseOptions | null;
}

export interface ExportJob {
  index: number;
  file: string;
  digest: string;
}

/** The result, or `skipped` when ClickHouse has the capture already. */
export type ExportOutcome = { skipped: false; exported: ExportedCapture } | { skipped: true; file: string; digest: string };

/** A ClickHouse target per thread (its tables are made by the main thread before any job). */
let target: ClickHouseTarget | null = null;

export async function runExportJob(job: ExportJob, opts: ExportJobOptions, progress?: (frames: number) => void): Promise<ExportOutcome> {
  const id = captureIdentity(job.file, job.digest, opts.site);
  if (opts.files) {
    const writer = new FileCaptureWriter(opts.files.dir, id, opts.files.format);
    return { skipped: false, exported: await exportCaptureFile(job.file, id, writer, opts.pipeline, progress) };
  }
  target ??= new ClickHouseTarget(opts.clickhouse!);
  const writer = await target.begin(id);
  if (writer === null) return { skipped: true, file: job.file, digest: job.digest };
  return { skipped: false, exported: await exportCaptureFile(job.file, id, writer, opts.pipeline, progress) };
}
