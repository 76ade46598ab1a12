// The benchmark rows that need more than one command: a server beside the
// command under test (client load, replay, fuzz), or a terminal (the UI's
// first screen). Each runs the real `vvmp` command as a user would.

import { measureTuiViews } from './tuiViews.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBulkQueryCapture } from '../test/replay/fixtures.js';
import { freePort } from '../test/helpers/ports.js';
import { measureServeState } from './serveState.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VVMP = path.join(ROOT, 'bin/vvmp.js');

export interface TrafficRow {
  id: string;
  label: string;
  /** Measured figures, e.g. {"req/s": 61234, "p99 ms": 2.1}. */
  figures: Record<string, number>;
  checks: Array<{ target: string; ok: boolean; value: string }>;
  skipped: string | null;
  failed: string | null;
}

async function startServe(): Promise<{ target: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const p: ChildProcess = spawn(process.execPath, [VVMP, 'serve', '--port', String(port), '--quiet'], { cwd: ROOT, stdio: 'ignore' });
  // Ready when it answers a Query.
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(process.execPath, [VVMP, 'client', 'query', '--target', `127.0.0.1:${port}`, '--timeout', '500'], { cwd: ROOT });
    if (r.status === 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    target: `127.0.0.1:${port}`,
    stop: () => new Promise((res) => {
      p.once('exit', () => res());
      p.kill('SIGINT');
    }),
  };
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string; wallS: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [VVMP, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, wallS: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function row(id: string, label: string): TrafficRow {
  return { id, label, figures: {}, checks: [], skipped: null, failed: null };
}

async function load(): Promise<TrafficRow> {
  const r = row('serve-load-50', 'vvmp client scenario load --clients 50 against vvmp serve');
  const srv = await startServe();
  try {
    const out = run(['client', 'scenario', 'load', '--clients', '50', '--duration', '5', '--json', '--target', srv.target]);
    const m = (JSON.parse(out.stdout) as { metrics?: { rps: number; p50_ms: number; p99_ms: number } }).metrics;
    if (!m) throw new Error(`no metrics: ${out.stderr.trim().split('\n')[0]}`);
    r.figures = { 'req/s': Math.round(m.rps), 'p50 ms': m.p50_ms, 'p99 ms': m.p99_ms };
    r.checks.push({ target: '≥ 50,000 req/s', ok: m.rps >= 50_000, value: Math.round(m.rps).toLocaleString('en') });
    r.checks.push({ target: 'p99 < 5 ms', ok: m.p99_ms < 5, value: `${m.p99_ms} ms` });
  } finally {
    await srv.stop();
  }
  return r;
}

async function serveState(): Promise<TrafficRow> {
  const r = row('serve-state', 'vvmp serve --state: 10,000 allocations, then Query under alloc/free churn');
  const f = await measureServeState();
  r.figures = { ...f };
  r.checks.push({ target: '≥ 10,000 alloc/s', ok: f['alloc/s'] >= 10_000, value: f['alloc/s'].toLocaleString('en') });
  r.checks.push({ target: 'Query p99 < 5 ms at 10,000 sessions (under churn)', ok: f['query p99 ms'] < 5, value: `${f['query p99 ms']} ms` });
  return r;
}

async function replay(dir: string): Promise<TrafficRow> {
  const r = row('replay-topspeed', 'vvmp replay --topspeed (50,000 Query exchanges, TCP) against vvmp serve');
  const file = path.join(dir, 'replay-50k.pcapng');
  if (!fs.existsSync(file)) await buildBulkQueryCapture(file, 50_000, 1000, 'tcp');
  const srv = await startServe();
  try {
    const out = run(['replay', file, '--target', srv.target, '--topspeed', '--json', '--quiet']);
    const rep = JSON.parse(out.stdout) as { sent: number; matched: number };
    const fps = rep.sent / out.wallS;
    r.figures = { 'frames/s': Math.round(fps), sent: rep.sent, matched: rep.matched, 'wall s': Number(out.wallS.toFixed(2)) };
    r.checks.push({ target: '≥ 50,000 frames/s', ok: fps >= 50_000, value: Math.round(fps).toLocaleString('en') });
  } finally {
    await srv.stop();
  }
  return r;
}

async function fuzz(): Promise<TrafficRow> {
  const r = row('fuzz', 'vvmp fuzz --cases 20000 against vvmp serve');
  const srv = await startServe();
  try {
    const out = run(['fuzz', '--target', srv.target, '--cases', '20000', '--seed', '1', '--json', '--no-case-log', '--out', path.join(os.tmpdir(), 'vvmp-bench-fuzz')]);
    const rep = JSON.parse(out.stdout) as { cases_per_s: number; failures: unknown[] };
    r.figures = { 'cases/s': Math.round(rep.cases_per_s), failures: rep.failures.length };
    r.checks.push({ target: '≥ 2,000 cases/s', ok: rep.cases_per_s >= 2000, value: Math.round(rep.cases_per_s).toLocaleString('en') });
  } finally {
    await srv.stop();
  }
  return r;
}

/** The Python interpreter itself (a pyenv shim costs seconds per start, which a crash-prone target pays at every restart). */
function python(): string | null {
  for (const p of ['/usr/bin/python3', 'python3']) if (spawnSync(p, ['-c', '0']).status === 0) return p;
  return null;
}

/**
 * The same against a crash-prone Python server (bench/targets/crashy.py: it
 * exits on about one fuzz case in fifty) spawned and restarted by the fuzzer:
 * the overall rate includes every restart, culprit search and confirmation.
 */
async function fuzzCrashProne(): Promise<TrafficRow> {
  const r = row('fuzz-crash-prone', 'vvmp fuzz --spawn (Python target crashing every ~50 cases) --duration 60');
  const py = python();
  if (!py) {
    r.skipped = 'python3 not installed';
    return r;
  }
  const port = await freePort();
  const out = run(['fuzz', '--spawn', `${py} bench/targets/crashy.py ${port}`, '--target', `127.0.0.1:${port}`, '--duration', '60', '--seed', '1',
    '--json', '--no-case-log', '--out', path.join(os.tmpdir(), 'vvmp-bench-fuzz-crashy')]);
  const rep = JSON.parse(out.stdout) as { cases: number; cases_per_s: number; failures: unknown[] };
  const restarts = /(\d+) restarts? \((\d+) ms each/.exec(out.stderr);
  // where a restart goes: stopping the old process / spawn until TCP accepts / until UDP answers
  const split = /stop (\d+), start until TCP accepts (\d+), until UDP answers (\d+)/.exec(out.stderr);
  r.figures = {
    'cases/s': Math.round(rep.cases_per_s), cases: rep.cases, bugs: rep.failures.length,
    restarts: restarts ? Number(restarts[1]) : 0, 'restart ms': restarts ? Number(restarts[2]) : 0,
    ...(split ? { 'restart stop ms': Number(split[1]), 'restart until TCP ms': Number(split[2]), 'restart until UDP ms': Number(split[3]) } : {}),
  };
  r.checks.push({ target: '≥ 500 cases/s overall', ok: rep.cases_per_s >= 500, value: Math.round(rep.cases_per_s).toLocaleString('en') });
  r.checks.push({ target: 'its one bug reported once', ok: rep.failures.length === 1, value: String(rep.failures.length) });
  return r;
}

/** Launch → the first frame rows on screen, in a real terminal (tmux). */
async function tuiFirstScreen(capture: string, size: string): Promise<TrafficRow> {
  const r = row(`tui-first-screen-${size}`, `vvmp tui FILE: first screen (${size} frames, tmux)`);
  if (spawnSync('tmux', ['-V']).status !== 0) {
    r.skipped = 'tmux not installed';
    return r;
  }
  const name = `vvmp-bench-${process.pid}-${size}`;
  // A private tmux server (-L): never the user's, and killing it touches nothing else.
  const sock = ['-L', name];
  const t0 = Date.now();
  spawnSync('tmux', [...sock, 'new-session', '-d', '-s', name, '-x', '120', '-y', '40', `node ${VVMP} tui ${capture}`]);
  try {
    let ms = -1;
    while (Date.now() - t0 < 30_000) {
      const screen = spawnSync('tmux', [...sock, 'capture-pane', '-p', '-t', name], { encoding: 'utf8' }).stdout;
      if (/^[> ] +1 +0\.0/m.test(screen)) {
        ms = Date.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    if (ms < 0) throw new Error('no frame rows within 30 s');
    r.figures = { 'first screen s': ms / 1000 };
    r.checks.push({ target: 'first screen ≤ 2 s', ok: ms <= 2000, value: `${(ms / 1000).toFixed(2)} s` });
  } finally {
    spawnSync('tmux', [...sock, 'kill-server']);
  }
  return r;
}

/** Filter of 1M frames and the graph views' draws, in process. */
function tuiViews(capture: string): TrafficRow {
  const r = row('tui-views-1m', 'vvmp tui: filter 1M frames; Latency / I/O views first draw and redraw');
  const m = measureTuiViews(capture);
  r.figures = { 'filter s': +m.filterS.toFixed(3) };
  r.checks.push({ target: 'filter of 1M frames < 1 s', ok: m.filterS < 1, value: `${m.filterS.toFixed(2)} s` });
  let worstRedraw = 0;
  for (const [k, [first, again]] of Object.entries(m.views)) {
    r.figures[`${k} first ms`] = Math.round(first);
    worstRedraw = Math.max(worstRedraw, again);
  }
  r.checks.push({ target: 'views redraw < 100 ms', ok: worstRedraw < 100, value: `${worstRedraw.toFixed(1)} ms` });
  return r;
}

export async function trafficRows(opts: { dir: string; capture1m: string | null; capture10m?: string | null; only: Set<string> | null }): Promise<TrafficRow[]> {
  const jobs: Array<[string, () => Promise<TrafficRow>]> = [
    ['serve-load-50', load],
    ['serve-state', serveState],
    ['replay-topspeed', () => replay(opts.dir)],
    ['fuzz', fuzz],
    ['fuzz-crash-prone', fuzzCrashProne],
    ['tui-first-screen-1m', () => (opts.capture1m ? tuiFirstScreen(opts.capture1m, '1m') : Promise.resolve({ ...row('tui-first-screen-1m', 'vvmp tui FILE: first screen'), skipped: 'no 1M capture' }))],
    ['tui-first-screen-10m', () => (opts.capture10m ? tuiFirstScreen(opts.capture10m, '10m') : Promise.resolve({ ...row('tui-first-screen-10m', 'vvmp tui FILE: first screen'), skipped: 'no 10M capture' }))],
    ['tui-views-1m', () => Promise.resolve(opts.capture1m ? tuiViews(opts.capture1m) : { ...row('tui-views-1m', 'vvmp tui: filter and views'), skipped: 'no 1M capture' })],
  ];
  const out: TrafficRow[] = [];
  for (const [id, job] of jobs) {
    if (opts.only && !opts.only.has(id)) continue;
    try {
      const r = await job();
      out.push(r);
      process.stderr.write(`${id}: ${r.skipped ? `skipped: ${r.skipped}` : JSON.stringify(r.figures)}\n`);
    } catch (e) {
      const r = { ...row(id, id), failed: (e as Error).message.split('\n')[0]! };
      out.push(r);
      process.stderr.write(`${id}: failed: ${r.failed}\n`);
    }
  }
  return out;
}

export function trafficTable(rows: TrafficRow[]): string {
  const lines = rows.map((r) => {
    if (r.skipped || r.failed) return `${r.label.padEnd(72)}  ${r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.failed}`}`;
    const figs = Object.entries(r.figures).map(([k, v]) => `${typeof v === 'number' && v >= 1000 ? Math.round(v).toLocaleString('en') : v} ${k}`).join(', ');
    const checks = r.checks.map((c) => `${c.ok ? 'ok' : 'MISS'} ${c.target} (${c.value})`).join('; ');
    return `${r.label.padEnd(72)}  ${figs}${checks ? `  —  ${checks}` : ''}`;
  });
  return ['traffic and UI', '-'.repeat(72), ...lines].join('\n');
}
