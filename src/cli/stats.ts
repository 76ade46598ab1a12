// `vvmp stats FILE`: what happened in a capture, as text or OUTPUT.md's JSON.

import type { Command } from 'commander';
import { readCaptureFile } from '../capture/file.js';
import { Pipeline } from '../analysis/pipeline.js';
import type { AnalyzerHooks } from '../analysis/analyzer.js';
import { Summary } from '../analysis/summary.js';
import { writeStatsJson } from '../output/statsJson.js';
import { BufferedOut } from '../output/frameWriter.js';
import { statsText } from '../output/statsText.js';
import { addDecodeOptions, displayFilter, pipelineOptions, type DecodeFlags } from './common.js';
import { reportDamage } from './report.js';
import { availableParallelism } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { analyseFile, mergeStats, type FileStats, type StatsJobOptions } from '../analysis/merge.js';
import type { StatsJob, StatsReply } from '../analysis/statsWorker.js';
import { writeStatsSourceJson } from '../output/statsJson.js';
import { statsSourceText } from '../output/statsText.js';
import { InputError, parseIntStrict } from './errors.js';
import { groupDigits } from '../output/format.js';
import { tuneHeapGrowth } from './heap.js';

interface StatsFlags extends DecodeFlags {
  json?: boolean;
  jobs?: number;
}

export function registerStats(program: Command): void {
  addDecodeOptions(program.command('stats')
    .description('summarise a capture: frames by opcode, findings, flows, sessions, latency')
    .argument('<files...>', 'capture files (pcap or pcapng), or directories of them; several are merged')
    .option('--json', 'one JSON object (see OUTPUT.md)')
    .option('-j, --jobs <n>', 'files analysed in parallel (worker threads; 1 = in-process)',
      (v: string) => parseIntStrict(v, '--jobs', 1, 1024)))
    .action(async (files: string[], flags: StatsFlags) => {
      if (files.length === 1 && !isDirectory(files[0]!)) statsCommand(files[0]!, flags);
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

/** The files named: a directory stands for its *.pcap, *.pcapng and *.cap files, sorted by name. */
export function expandCaptureArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (!isDirectory(arg)) {
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
 * does not depend on `-j`. A file that cannot be read stops the command (exit 1).
 */
export async function statsManyCommand(args: readonly string[], flags: StatsFlags): Promise<void> {
  tuneHeapGrowth();
  const filter = displayFilter(flags); // a bad -Y fails here, before any work
  const files = expandCaptureArgs(args);
  const opts: StatsJobOptions = { pipeline: pipelineOptions(flags), filter: filter?.text ?? null };
  const jobs = Math.max(1, Math.min(flags.jobs ?? availableParallelism(), files.length));
  const progress = new Progress(files.length);
  let results: FileStats[];
  try {
    results = jobs === 1 ? serial(files, opts, progress) : await parallel(files, opts, jobs, progress);
  } finally {
    progress.close();
  }
  const merged = mergeStats(results);
  const label = files.length === 1 ? files[0]! : `${files.length} files (${files.join(', ')})`;
  if (flags.json) {
    const out = new BufferedOut((s) => process.stdout.write(s));
    writeStatsSourceJson(merged, (s) => out.write(s));
    out.flush();
  } else {
    process.stdout.write(statsSourceText(label, merged, filter?.text ?? null));
  }
  for (const r of results) reportDamage(r.file, { packets: r.readPackets, damage: r.damage });
}

function serial(files: readonly string[], opts: StatsJobOptions, progress: Progress): FileStats[] {
  const out: FileStats[] = [];
  files.forEach((file, i) => {
    out.push(analyseFile(file, opts, (frames) => progress.frames(i, frames)));
    progress.done(i, out[i]!.framesNumbered);
  });
  return out;
}

function parallel(files: readonly string[], opts: StatsJobOptions, jobs: number, progress: Progress): Promise<FileStats[]> {
  return new Promise((resolve, reject) => {
    const results: FileStats[] = new Array(files.length);
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let failed = false;
    /** Workers stopped on purpose (no files left): their exit is no failure. */
    const idle = new Set<Worker>();
    const stop = (e: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    const give = (w: Worker): void => {
      if (next < files.length) {
        const job: StatsJob = { index: next, file: files[next]! };
        next++;
        w.postMessage(job);
      } else {
        idle.add(w);
        void w.terminate();
      }
    };
    for (let k = 0; k < jobs; k++) {
      const w = new Worker(WORKER, { workerData: opts });
      workers.push(w);
      w.on('message', (m: StatsReply) => {
        if (failed) return;
        if (m.type === 'progress') progress.frames(m.index, m.frames);
        else if (m.type === 'error') {
          stop(m.capture ? new InputError(m.message) : new Error(m.message));
        } else {
          results[m.index] = m.result;
          progress.done(m.index, m.result.framesNumbered);
          if (++finished === files.length) {
            for (const x of workers) void x.terminate();
            resolve(results);
          } else give(w);
        }
      });
      w.on('error', (e) => stop(e));
      w.on('exit', (code) => {
        if (!failed && !idle.has(w) && finished < files.length && code !== 0) stop(new Error(`stats worker exited with code ${code}`));
      });
      give(w);
    }
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

export function statsCommand(file: string, flags: StatsFlags): void {
  tuneHeapGrowth();
  const filter = displayFilter(flags);
  const summary = new Summary();
  // Without a filter, count frames at once and late findings as they come; a
  // filter must see each frame final (a request with its timeout or session),
  // in any order. Either way no frame is held back.
  // A filter that reads what it selected before (frame.time_delta_displayed) needs frames in order.
  const hooks: AnalyzerHooks = filter
    ? filter.ordered
      ? { settled: (f) => { if (filter.test(f)) summary.frame(f); } }
      : { final: (f) => { if (filter.test(f)) summary.frame(f); } }
    : { frame: (f) => summary.frame(f), lateFinding: (f, x) => summary.lateFinding(f, x), segment: (e) => summary.segment(e) };
  const pipeline = new Pipeline(hooks, { ...pipelineOptions(flags), compactSessions: true, keepPackets: filter?.packets });
  const result = readCaptureFile(file, pipeline.packet);
  pipeline.end();
  if (flags.json) {
    const out = new BufferedOut((s) => process.stdout.write(s));
    writeStatsJson(pipeline.analyzer, summary, (s) => out.write(s));
    out.flush();
  } else {
    process.stdout.write(statsText(file, pipeline.analyzer, summary, filter?.text ?? null));
  }
  reportDamage(file, result);
}
