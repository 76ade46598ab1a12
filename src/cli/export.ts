// `vvmp export`: transaction logs for analytics engines.
//
//   vvmp export CAPTURE|DIR... --format ndjson|parquet|ek --out DIR [--site LABEL] [-j N]
//   vvmp export CAPTURE|DIR... --clickhouse URL[,URL...] [--cluster NAME] [--database DB]
//                              [--site LABEL] [--replace] [-j N]
//   vvmp export --schema clickhouse [--cluster NAME] [--database DB]
//
// Each capture is analysed on its own (as `stats` does), `-j` at a time in
// worker threads, into the four tables of output/records/schema.ts.
// stderr: one line per capture skipped (already in ClickHouse), damage lines
// as `stats` prints them, and a final line with the rows written and rows/s.

import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { CaptureError } from '../capture/errors.js';
import { ClickHouseError, ClickHouseUnavailable } from '../output/export/clickhouseHttp.js';
import { ClickHouseTarget, DEFAULT_BATCH_ROWS } from '../output/export/clickhouseTarget.js';
import { ddlScript } from '../output/export/ddl.js';
import { FILE_FORMATS, type FileFormat } from '../output/export/files.js';
import { runExportJob, type ExportJob, type ExportJobOptions, type ExportOutcome } from '../output/export/job.js';
import type { ExportReply } from '../output/export/exportWorker.js';
import { runPool } from './workerPool.js';
import { fileDigest } from '../output/export/source.js';
import { TABLE_NAMES, type TableName } from '../output/records/schema.js';
import { groupDigits } from '../output/format.js';
import { InputError, UsageError, parseIntStrict } from './errors.js';
import { reportDamage, warn } from './report.js';
import { expandCaptureArgs } from './stats.js';
import { tuneHeapGrowth } from './heap.js';
import { ExportProgress } from './progress.js';

interface ExportFlags {
  format?: string;
  out?: string;
  clickhouse?: string;
  cluster?: string;
  database: string;
  site: string;
  replace?: boolean;
  jobs?: number;
  schema?: string;
  batchRows: number;
  port?: number[];
  heuristic?: boolean;
  maxPayload?: number;
}

function collectPort(value: string, prev: number[] | undefined): number[] {
  return [...(prev ?? []), parseIntStrict(value, '--port', 1, 65535)];
}

export function registerExport(program: Command): void {
  program.command('export')
    .description('write frames, transactions, sessions and flows as files (NDJSON, Parquet, OpenSearch bulk) or into ClickHouse')
    .argument('[captures...]', 'capture files (pcap or pcapng), or directories of them')
    .addOption(new Option('--format <fmt>', 'file format: ndjson (ClickHouse JSONEachRow, DuckDB read_json), parquet, ek (OpenSearch bulk)')
      .choices([...FILE_FORMATS]))
    .option('--out <dir>', 'directory for the files (DIR/<table>/<capture>-<digest>.<ext>)')
    .option('--clickhouse <urls>', 'ClickHouse HTTP URL(s), comma-separated (the cluster\'s nodes with --cluster)')
    .option('--cluster <name>', 'cluster name (remote_servers): _local MergeTree tables on every node, Distributed tables over them')
    .option('--database <db>', 'ClickHouse database', 'vvmp')
    .option('--site <label>', 'site label written in every row', '')
    .option('--replace', 'load captures ClickHouse has already (by content digest) again, replacing their rows')
    .addOption(new Option('--schema <engine>', 'print the DDL of the tables and exit').choices(['clickhouse']))
    .addOption(new Option('--batch-rows <n>', 'rows per INSERT').default(DEFAULT_BATCH_ROWS)
      .argParser((v) => parseIntStrict(v, '--batch-rows', 1, 10_000_000)))
    .option('-j, --jobs <n>', 'captures exported in parallel (worker threads; 1 = in-process)',
      (v: string) => parseIntStrict(v, '--jobs', 1, 1024))
    .option('--port <n>', 'decode this TCP/UDP port as VVMP (repeatable; default 7369)', collectPort)
    .option('--heuristic', 'also find VVMP on any port by its header (opcode, length, checksum)')
    .addOption(new Option('--max-payload <bytes>', 'receiver payload limit; a larger TCP frame is tcp_desync')
      .argParser((v) => parseIntStrict(v, '--max-payload', 4, 1 << 30)))
    .action((captures: string[], flags: ExportFlags) => exportCommand(captures, flags));
}

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseUrls(text: string): string[] {
  const urls = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) throw new UsageError('--clickhouse: no URL given');
  return urls;
}

async function exportCommand(captures: string[], flags: ExportFlags): Promise<void> {
  if (!DB_NAME.test(flags.database)) throw new UsageError(`--database: "${flags.database}" is not a plain name (letters, digits, _)`);
  if (flags.cluster !== undefined && !DB_NAME.test(flags.cluster)) throw new UsageError(`--cluster: "${flags.cluster}" is not a plain name (letters, digits, _)`);
  if (flags.schema) {
    process.stdout.write(ddlScript({ database: flags.database, cluster: flags.cluster ?? null }));
    return;
  }
  if (captures.length === 0) throw new UsageError('export: name capture files or directories (or --schema clickhouse)');
  const toFiles = flags.format !== undefined || flags.out !== undefined;
  if (toFiles && flags.clickhouse) throw new UsageError('export: give either --format/--out or --clickhouse, not both');
  if (!toFiles && !flags.clickhouse) throw new UsageError('export: give --format and --out, or --clickhouse URL');
  if (toFiles && (!flags.format || !flags.out)) throw new UsageError('export: --format and --out go together');
  if (!flags.clickhouse && (flags.cluster || flags.replace)) throw new UsageError('export: --cluster and --replace need --clickhouse');
  tuneHeapGrowth();

  const opts: ExportJobOptions = {
    pipeline: { ports: flags.port, heuristic: flags.heuristic, maxPayload: flags.maxPayload },
    site: flags.site,
    files: null,
    clickhouse: null,
  };
  if (toFiles) {
    try {
      mkdirSync(flags.out!, { recursive: true });
    } catch (err) {
      throw new InputError(`${flags.out}: cannot create the output directory (${(err as Error).message.split('\n')[0]})`);
    }
    opts.files = { dir: flags.out!, format: flags.format as FileFormat };
  } else {
    const urls = parseUrls(flags.clickhouse!);
    if (urls.length > 1 && !flags.cluster) throw new UsageError('--clickhouse: several URLs are the nodes of a cluster: name it with --cluster');
    opts.clickhouse = { urls, cluster: flags.cluster ?? null, database: flags.database, replace: flags.replace ?? false, batchRows: flags.batchRows };
    const target = guard(() => new ClickHouseTarget(opts.clickhouse!));
    await guardAsync(() => target.prepare());
  }

  const files = expandCaptureArgs(captures);
  const started = Date.now();
  // Digests first: the same capture named twice (or under two names) is exported once.
  const jobs: ExportJob[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const digest = await guardAsync(() => fileDigest(file));
    const first = seen.get(digest);
    if (first !== undefined) {
      warn(`${file}: same content as ${first}, exported once`);
      continue;
    }
    seen.set(digest, file);
    jobs.push({ index: jobs.length, file, digest });
  }

  const nJobs = Math.max(1, Math.min(flags.jobs ?? availableParallelism(), jobs.length));
  const progress = new ExportProgress(jobs.length);
  let outcomes: ExportOutcome[];
  try {
    outcomes = nJobs === 1 ? await serial(jobs, opts, progress) : await parallel(jobs, opts, nJobs, progress);
  } finally {
    progress.close();
  }

  const totals: Record<TableName, number> = { frames: 0, transactions: 0, sessions: 0, flows: 0 };
  let exported = 0;
  for (const o of outcomes) {
    if (o.skipped) {
      warn(`${o.file}: already in ClickHouse (capture ${o.digest.slice(0, 12)}), skipped; --replace loads it again`);
      continue;
    }
    exported++;
    for (const t of TABLE_NAMES) totals[t] += o.exported.counts[t];
    reportDamage(o.exported.file, { packets: o.exported.result.packets, damage: o.exported.result.damage });
  }
  const rows = TABLE_NAMES.reduce((a, t) => a + totals[t], 0);
  const secs = Math.max(1e-3, (Date.now() - started) / 1000);
  const where = opts.files ? `${opts.files.format} files in ${opts.files.dir}` : `ClickHouse ${opts.clickhouse!.urls.join(',')}`;
  const skipped = outcomes.length - exported;
  warn(`exported ${exported} capture${exported === 1 ? '' : 's'}${skipped ? ` (${skipped} skipped)` : ''} to ${where}: `
    + TABLE_NAMES.map((t) => `${groupDigits(totals[t])} ${t}`).join(', ')
    + `; ${groupDigits(rows)} rows in ${secs.toFixed(1)} s (${groupDigits(Math.round(rows / secs))} rows/s)`);
}

/** ClickHouse problems are the user's input (a URL, a server down): exit 1 with the one line. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asInputError(err);
  }
}

async function guardAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asInputError(err);
  }
}

function asInputError(err: unknown): unknown {
  if (err instanceof ClickHouseError || err instanceof ClickHouseUnavailable) return new InputError(err.message);
  if (err instanceof CaptureError) return err;
  if (err instanceof Error && /^\S+: (not a URL|not an http|give only)/.test(err.message)) return new UsageError(`--clickhouse: ${err.message}`);
  return err;
}

async function serial(jobs: readonly ExportJob[], opts: ExportJobOptions, progress: ExportProgress): Promise<ExportOutcome[]> {
  const out: ExportOutcome[] = [];
  for (const job of jobs) {
    const o = await guardAsync(() => runExportJob(job, opts, (frames) => progress.frames(job.index, frames)));
    out.push(o);
    progress.done(job.index);
  }
  return out;
}

/** Compiled (dist/): the worker's own module; TypeScript (tests, tsx): a bootstrap that loads it through tsx. */
const WORKER = new URL(import.meta.url.endsWith('.ts') ? '../output/export/exportWorker.mjs' : '../output/export/exportWorker.js', import.meta.url);

function parallel(jobs: readonly ExportJob[], opts: ExportJobOptions, n: number, progress: ExportProgress): Promise<ExportOutcome[]> {
  return runPool<ExportJob, ExportReply, ExportOutcome>({
    worker: WORKER, workerData: opts, jobs, threads: n, name: 'export worker',
    settle: (m) => {
      if (m.type === 'progress') {
        progress.frames(m.index, m.frames);
        return null;
      }
      if (m.type === 'error') return { index: -1, error: m.input ? new InputError(m.message) : new Error(m.message) };
      progress.done(m.index);
      return { index: m.index, result: m.outcome };
    },
  });
}
