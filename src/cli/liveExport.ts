// `vvmp live --clickhouse URL…`: transactions (and frames, sessions, flows)
// streamed into ClickHouse while capturing. The live command adds these
// options and calls `startLiveExport` / `finish`; the rows come from the same
// RecordCollector as `vvmp export`, the buffering from output/export/liveSink.ts.

import { Option, type Command } from 'commander';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Analyzer, AnalyzerHooks } from '../analysis/analyzer.js';
import { RecordCollector } from '../output/records/collect.js';
import { ClickHouseError, ClickHouseUnavailable } from '../output/export/clickhouseHttp.js';
import { ClickHouseTarget } from '../output/export/clickhouseTarget.js';
import { LiveClickHouseSink } from '../output/export/liveSink.js';
import { InputError, UsageError, parseIntStrict } from './errors.js';
import { parseUrls } from './export.js';
import { warn } from './report.js';

export interface LiveExportFlags {
  clickhouse?: string;
  cluster?: string;
  database: string;
  site: string;
  batchRows: number;
  flushMs: number;
  bufferMb: number;
  spillMb: number;
  spillDir?: string;
}

export function addLiveExportOptions(cmd: Command): Command {
  return cmd
    .option('--clickhouse <urls>', 'also stream the rows of `vvmp export` into ClickHouse (HTTP URLs, comma-separated)')
    .option('--cluster <name>', 'with --clickhouse: the URLs are this cluster\'s nodes (Distributed tables)')
    .option('--database <db>', 'with --clickhouse: the database', 'vvmp')
    .option('--site <label>', 'with --clickhouse: site label written in every row', '')
    .addOption(new Option('--batch-rows <n>', 'with --clickhouse: rows per INSERT').default(5000)
      .argParser((v) => parseIntStrict(v, '--batch-rows', 1, 1_000_000)))
    .addOption(new Option('--flush-ms <ms>', 'with --clickhouse: a partial batch goes out after this long').default(1000)
      .argParser((v) => parseIntStrict(v, '--flush-ms', 10, 3_600_000)))
    .addOption(new Option('--buffer-mb <MiB>', 'with --clickhouse: rows held in memory while ClickHouse is down, then spilled to disk').default(64)
      .argParser((v) => parseIntStrict(v, '--buffer-mb', 1, 65536)))
    .addOption(new Option('--spill-mb <MiB>', 'with --clickhouse: spilled rows kept on disk before the oldest are dropped (and reported)').default(1024)
      .argParser((v) => parseIntStrict(v, '--spill-mb', 0, 1 << 20)))
    .option('--spill-dir <dir>', 'with --clickhouse: where held-back rows are spilled (default: a new directory under the temp dir)');
}

export interface LiveExport {
  hooks: AnalyzerHooks;
  /** Capture time passed with no packet (ns since the epoch). */
  tick(nowNs: number): void;
  /** After Pipeline.end(): the last rows, then send what is held (waiting a while). */
  finish(analyzer: Analyzer): Promise<void>;
}

/** Null without --clickhouse; checks the servers and makes the tables before the capture opens. */
export async function startLiveExport(flags: LiveExportFlags, iface: string): Promise<LiveExport | null> {
  if (!flags.clickhouse) {
    if (flags.cluster) throw new UsageError('--cluster needs --clickhouse');
    return null;
  }
  const urls = parseUrls(flags.clickhouse);
  if (urls.length > 1 && !flags.cluster) throw new UsageError('--clickhouse: several URLs are the nodes of a cluster: name it with --cluster');
  let target: ClickHouseTarget;
  try {
    target = new ClickHouseTarget({ urls, cluster: flags.cluster ?? null, database: flags.database, replace: false, timeoutMs: 10_000 });
  } catch (err) {
    throw new UsageError(`--clickhouse: ${(err as Error).message}`);
  }
  // A server that answers with an error (no such cluster, no rights) stops here; one that
  // cannot be reached may come up later: capture anyway, rows are held back until it does.
  let prepared = true;
  try {
    await target.prepare();
  } catch (err) {
    if (err instanceof ClickHouseUnavailable) {
      prepared = false;
      warn(`clickhouse: ${err.message}; capturing anyway, rows are held back until it answers`);
    } else if (err instanceof ClickHouseError) throw new InputError(err.message);
    else throw err;
  }
  const capture = `live:${iface}@${hostname()}`;
  const digest = createHash('sha256').update(`${capture}/${process.hrtime.bigint()}/${Date.now()}/${process.pid}`).digest('hex');
  const sink = new LiveClickHouseSink(target, {
    batchRows: flags.batchRows, flushMs: flags.flushMs,
    memoryBytes: flags.bufferMb * (1 << 20), diskBytes: flags.spillMb * (1 << 20),
    spillDir: flags.spillDir ?? join(tmpdir(), `vvmp-spill-${digest.slice(0, 12)}`),
    report: (line) => warn(`clickhouse: ${line}`),
  }, prepared);
  const collector = new RecordCollector({ site: flags.site, capture, digest }, sink);
  return {
    hooks: collector.hooks(),
    tick: (nowNs) => collector.tick(nowNs),
    async finish(analyzer: Analyzer): Promise<void> {
      collector.end(analyzer);
      const left = await sink.close(30_000);
      const c = collector.counts;
      warn(`clickhouse: ${sink.totals.sent} rows sent (${c.transactions} transactions, ${c.frames} frames, ${c.sessions} sessions, ${c.flows} flows)`
        + `${sink.totals.dropped ? `, ${sink.totals.dropped} dropped` : ''}${left ? `, ${left} not sent` : ''}`);
    },
  };
}
