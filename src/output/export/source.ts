// Reading one capture file for export: its digest (the capture's identity:
// row ids, reload detection), then its packets through the analysis into a
// RecordCollector, pausing between chunks while the destination catches up.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { basename } from 'node:path';
import { CaptureError } from '../../capture/errors.js';
import { DEFAULT_CHUNK_SIZE, describeFsError, readCaptureStream, type CaptureResult } from '../../capture/file.js';
import { Pipeline, type PipelineOptions } from '../../analysis/pipeline.js';
import { RecordCollector, type CaptureIdentity, type RecordSink } from '../records/collect.js';
import type { TableName } from '../records/schema.js';

/** sha256 of a file's bytes, hex. Throws CaptureError when it cannot be read. */
export async function fileDigest(path: string): Promise<string> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(path);
  } catch (err) {
    throw new CaptureError(path, describeFsError(err));
  }
  if (st.isDirectory()) throw new CaptureError(path, 'is a directory');
  if (st.size === 0) throw new CaptureError(path, 'empty file, not a capture');
  const hash = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(path, { highWaterMark: DEFAULT_CHUNK_SIZE })) hash.update(chunk as Buffer);
  } catch (err) {
    throw new CaptureError(path, describeFsError(err));
  }
  return hash.digest('hex');
}

export function captureIdentity(path: string, digest: string, site: string): CaptureIdentity {
  return { site, capture: basename(path), digest };
}

/** A destination for one capture's rows. */
export interface CaptureWriter extends RecordSink {
  /** Resolves when the writer has room for more rows (backpressure between chunks). */
  ready(): Promise<void>;
  /** All rows given: write what is left, make the capture complete. */
  finish(counts: Readonly<Record<TableName, number>>): Promise<void>;
  /** Reading failed: drop what was written of this capture where possible. */
  abort(): Promise<void>;
}

export interface ExportedCapture {
  file: string;
  digest: string;
  counts: Record<TableName, number>;
  result: CaptureResult;
}

/** Reads `path` through the analysis into `writer`; `progress` gets the frames numbered so far. */
export async function exportCaptureFile(
  path: string, id: CaptureIdentity, writer: CaptureWriter, pipelineOpts: PipelineOptions,
  progress?: (frames: number) => void,
): Promise<ExportedCapture> {
  const collector = new RecordCollector(id, writer);
  const pipeline = new Pipeline(collector.hooks(), { ...pipelineOpts, compactSessions: true });
  async function* chunks(): AsyncGenerator<Buffer> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(path, 'r');
    } catch (err) {
      throw new CaptureError(path, describeFsError(err));
    }
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(DEFAULT_CHUNK_SIZE);
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return;
        yield buf.subarray(0, bytesRead);
        progress?.(pipeline.analyzer.vvmpFrames);
        await writer.ready();
      }
    } finally {
      await fh.close();
    }
  }
  let result: CaptureResult;
  try {
    result = await readCaptureStream(chunks() as unknown as NodeJS.ReadableStream, pipeline.packet, path);
    pipeline.end();
    collector.end(pipeline.analyzer);
    await writer.finish(collector.counts);
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
  progress?.(pipeline.analyzer.vvmpFrames);
  return { file: path, digest: id.digest, counts: { ...collector.counts }, result };
}
