// `vvmp stats FILE`: what happened in a capture, as text or OUTPUT.md's JSON.

import type { Command } from 'commander';
import { readCaptureFile } from '../capture/file.js';
import { linkTypeNotes } from '../capture/notes.js';
import { statsPipeline } from '../analysis/statsRun.js';
import { Summary } from '../analysis/summary.js';
import { writeStatsJson } from '../output/statsJson.js';
import { BufferedOut } from '../output/frameWriter.js';
import { statsText } from '../output/statsText.js';
import { addDecodeOptions, displayFilter, pipelineOptions, readOnSecondThread, reportNoVvmp, type DecodeFlags } from './common.js';
import { reportDamage, reportNotes, warn } from './report.js';
import { CaptureError } from '../capture/errors.js';
import { availableParallelism } from 'node:os';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyseFile, mergeStats, type FileStats, type StatsJobOptions } from '../analysis/merge.js';
import type { StatsJob, StatsReply } from '../analysis/statsWorker.js';
import { runPool } from './workerPool.js';
import { writeStatsSourceJson } from '../output/statsJson.js';
import { statsSourceText } from '../output/statsText.js';
import { InputError, UsageError, parseIntStrict } from './errors.js';
import type { CompiledFilter } from '../analysis/filter/index.js';
import { groupDigits } from '../output/format.js';
import { tuneHeapGrowth } from './heap.js';

interface StatsFlags extends DecodeFlags {
  json?: boolean;
  jobs?: number;
  /** --interval in ms. */
  interval?: number;
}

/** `--interval SECONDS`: a positive number of seconds, to the millisecond. */
export function parseInterval(text: string): number {
  const ms = /^\d+(\.\d{1,3})?$/.test(text) ? Math.round(Number(text) * 1000) : NaN;
  if (!(ms >= 1 && ms <= 366 * 86_400_000)) throw new UsageError(`--interval: "${text}" is not a number of seconds from 0.001 to 31622400 (at most 3 decimals)`);
  return ms;
}

export function registerStats(program: Command): void {
  addDecodeOptions(program.command('stats')
    .description('summarise a capture: frames by opcode, findings, flows, sessions, latency')
    .argument('<files...>', 'capture files (pcap or pcapng), or directories of them; several are merged')
    .option('--json', 'one JSON object (see OUTPUT.md)')
    .option('-j, --jobs <n>', 'threads: files analysed in parallel; one file is read on a second thread while this one analyses it (default: the cores; 1 = in-process)',
      (v: string) => parseIntStrict(v, '--jobs', 1, 1024))
    .option('--interval <seconds>', 'I/O over time: interval length (default: 1 s, longer for long captures, at most 500 intervals)', parseInterval))
    .action(async (files: string[], flags: StatsFlags) => {
      if (files.length === 1 && !isDirectory(files[0]!)) await statsCommand(files[0]!, flags);
      else await statsManyCommand(files, flags);
    });
}

const CAPTURE_NAME = /\.(pcap|pcapng|cap)$/i;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The files named: a directory stands for its *.pcap, *.pcapng and *.cap
 * files, sorted by name. A named path that does not exist stops the command
 * here, before any work (exit 1).
 */
export function expandCaptureArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (!isDirectory(arg)) {
      if (!existsSync(arg)) throw new InputError(`${arg}: no such file`);
      out.push(arg);
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(arg);
    } catch (e) {
      throw new InputError(`${arg}: cannot list directory (${(e as Error).message.split('\n')[0]})`);
    }
    const caps = names.filter((n) => CAPTURE_NAME.test(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((n) => join(arg, n)).filter((p) => !isDirectory(p));
    if (caps.length === 0) throw new InputError(`${arg}: no capture files (*.pcap, *.pcapng, *.cap) in this directory`);
    out.push(...caps);
  }
  return out;
}

/**
 * `vvmp stats A B DIR …`: every file analysed on its own, `-j` at a time in
 * worker threads, then merged (semantics in analysis/merge.ts). The output
 * does not depend on `-j`. A named path that does not exist stops the
 * command before any work (exit 1). A file that exists but cannot be read as
 * a capture (empty, not a capture, no permission) is reported on stderr in
 * one line and left out; the report covers the others and the command exits
 * 0, or 1 when no file at all could be read.
 */
export async function statsManyCommand(args: readonly string[], flags: StatsFlags): Promise<void> {
  tuneHeapGrowth();
  const filter = statsFilter(flags); // a bad -Y fails here, before any work
  const files = expandCaptureArgs(args);
  const opts: StatsJobOptions = { pipeline: pipelineOptions(flags), filter: filter?.text ?? null, intervalMs: flags.interval ?? null };
  const jobs = Math.max(1, Math.min(flags.jobs ?? availableParallelism(), files.length));
  const progress = new Progress(files.length);
  let outcome: (FileStats | CaptureError)[];
  try {
    outcome = jobs === 1 ? serial(files, opts, progress) : await parallel(files, opts, jobs, progress);
  } finally {
    progress.close();
  }
  const results = outcome.filter((r): r is FileStats => !(r instanceof CaptureError));
  const unreadable = outcome.filter((r): r is CaptureError => r instanceof CaptureError);
  if (results.length === 0) {
    for (const e of unreadable.slice(0, -1)) warn(e.message);
    throw new InputError(unreadable[unreadable.length - 1]!.message);
  }
  const merged = mergeStats(results, flags.interval ?? null);
  const read = results.map((r) => r.file);
  const label = read.length === 1 ? read[0]! : `${read.length} files (${read.join(', ')})`;
  if (flags.json) {
    const out = new BufferedOut((s) => process.stdout.write(s));
    writeStatsSourceJson(merged, out);
    out.flush();
  } else {
    process.stdout.write(statsSourceText(label, merged, filter?.text ?? null));
  }
  // In file order: each unreadable file or damaged one, one line.
  for (const r of outcome) {
    if (r instanceof CaptureError) warn(`${r.message} (left out)`);
    else {
      reportDamage(r.file, { packets: r.readPackets, damage: r.damage });
      reportNotes(r.file, r.notes);
    }
  }
  reportNoVvmp(label, merged.packets, results.reduce((n, r) => n + r.framesNumbered, 0), flags, (merged.undecoded?.length ?? 0) > 0);
}

function serial(files: readonly string[], opts: StatsJobOptions, progress: Progress): (FileStats | CaptureError)[] {
  const out: (FileStats | CaptureError)[] = [];
  files.forEach((file, i) => {
    try {
      const r = analyseFile(file, opts, (frames) => progress.frames(i, frames));
      out.push(r);
      progress.done(i, r.framesNumbered);
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      out.push(e);
      progress.done(i, 0);
    }
  });
  return out;
}

function parallel(files: readonly string[], opts: StatsJobOptions, jobs: number, progress: Progress): Promise<(FileStats | CaptureError)[]> {
  return runPool<StatsJob, StatsReply, FileStats | CaptureError>({
    worker: WORKER, workerData: opts, threads: jobs, name: 'stats worker',
    jobs: files.map((file, index) => ({ index, file })),
    settle: (m) => {
      if (m.type === 'progress') {
        progress.frames(m.index, m.frames);
        return null;
      }
      if (m.type === 'error' && !m.capture) return { index: m.index, error: new Error(m.message) };
      if (m.type === 'error') {
        progress.done(m.index, 0);
        return { index: m.index, result: new CaptureError(files[m.index]!, m.reason) };
      }
      progress.done(m.index, m.result.framesNumbered);
      return { index: m.index, result: m.result };
    },
  });
}

/** Compiled (dist/): the worker's own module; TypeScript (tests, tsx): a bootstrap that loads it through tsx. */
const WORKER = new URL(import.meta.url.endsWith('.ts') ? '../analysis/statsWorker.mjs' : '../analysis/statsWorker.js', import.meta.url);

/** Files done / total, frames, frames/s on stderr: only on a terminal, only once a run takes a while. */
class Progress {
  private readonly on = process.stderr.isTTY === true;
  private readonly start = Date.now();
  private readonly perFile: number[];
  private doneFiles = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly total: number) {
    this.perFile = new Array<number>(total).fill(0);
  }

  frames(i: number, n: number): void {
    this.perFile[i] = n;
    this.draw();
  }

  done(i: number, n: number): void {
    this.perFile[i] = n;
    this.doneFiles++;
    this.draw();
  }

  private draw(): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.start < 1000 || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const frames = this.perFile.reduce((a, b) => a + b, 0);
    const rate = frames / ((now - this.start) / 1000);
    const width = 24;
    const filled = Math.round((this.doneFiles / this.total) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    process.stderr.write(`\r[${bar}] ${this.doneFiles}/${this.total} files  ${groupDigits(frames)} frames  ${groupDigits(Math.round(rate))} frames/s\x1b[K`);
    this.drawn = true;
  }

  close(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}

export async function statsCommand(file: string, flags: StatsFlags): Promise<void> {
  tuneHeapGrowth();
  const filter = statsFilter(flags);
  const summary = new Summary({ intervalMs: flags.interval ?? null });
  const pipeline = statsPipeline(summary, filter, pipelineOptions(flags));
  // Two threads when there are two cores: reading and the network layers on
  // one, the analysis on this one (same events, same order, same output).
  // Filters on packet bytes need the packets themselves: one thread.
  const threaded = readOnSecondThread(flags.jobs) && !filter?.packets;
  const { result, undecoded } = threaded
    ? await pipeline.readFileThreaded(file)
    : { result: readCaptureFile(file, pipeline.packet), undecoded: pipeline.net.counters.undecoded };
  pipeline.end();
  const notes = [...(result.notes ?? []), ...linkTypeNotes(undecoded)];
  if (flags.json) {
    const out = new BufferedOut((s) => process.stdout.write(s));
    writeStatsJson(pipeline.analyzer, summary, out, notes);
    out.flush();
  } else {
    process.stdout.write(statsText(file, pipeline.analyzer, summary, filter?.text ?? null, notes));
  }
  reportDamage(file, result);
  reportNotes(file, notes);
  reportNoVvmp(file, pipeline.analyzer.packets, pipeline.analyzer.vvmpFrames, flags, notes.length > 0);
}

/**
 * The statistics test each frame once it is final, in any order (nothing is
 * held back); a filter that depends on the order frames are shown in cannot
 * be answered that way.
 */
function statsFilter(flags: StatsFlags): CompiledFilter | null {
  const filter = displayFilter(flags);
  if (filter?.ordered) {
    throw new UsageError(`-Y: "${filter.text}" reads frame.time_delta_displayed, which depends on the order frames are shown; stats cannot use it (vvmp read -Y can)`);
  }
  return filter;
}
