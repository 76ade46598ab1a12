// `vvmp serve --state`: allocations per second into the journal, and another
// client's Query latency at 10,000 sessions while allocations and frees go on.
//
//   npx tsx bench/serveState.ts        (prints the figures as JSON)
//   VVMP_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof-serve" npx tsx bench/serveState.ts
//                                      (the server under the profiler; summarise with a cpuprofile reader)
//   VVMP_BENCH_NO_STATE=1              (the same without --state, for comparison)

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FrameSpec } from '../src/protocol/encode.js';
import { VvmpConnection } from '../src/traffic/transport.js';
import { freePort } from '../test/helpers/ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VVMP = path.join(ROOT, 'bin/vvmp.js');
const LOOP_DELAY = pathToFileURL(path.join(ROOT, 'bench/loopDelay.mjs')).href;
const PROBE = path.join(ROOT, 'bench/serveProbe.ts');

interface ProbeFigures { n: number; p50: number; p99: number; max: number }

/** Query latencies of another client, measured from a process of its own for `ms` milliseconds. */
async function probe(port: number, ms: number): Promise<ProbeFigures> {
  const p = spawn(process.execPath, ['--import', 'tsx', PROBE, String(port), String(ms)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => p.once('close', r));
  if (code !== 0) throw new Error(`query probe failed: ${err.trim().split('\n')[0]}`);
  return JSON.parse(out) as ProbeFigures;
}

export interface ServeStateFigures {
  'alloc/s': number;
  sessions: number;
  'query p50 ms': number;
  'query p99 ms': number;
  /** The same at 10,000 sessions with no other traffic. */
  'query p99 ms (quiet)': number;
  /** Queries answered during the churn window. */
  queries: number;
  'churn ops/s': number;
  /** How long the server's event loop was blocked during the churn (bench/loopDelay.mjs). */
  'server loop delay p99 ms (churn)': number;
  'server loop delay max ms (churn)': number;
  'journal MB': number;
  /** Server CPU (user + system) per allocation: what one idle core would sustain is 10^6 / this. */
  'server cpu us/alloc': number;
}

/** CPU time (µs, user + system) a process has used, from /proc (Linux). */
function cpuMicros(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

const SESSIONS = 10_000;
const CLIENTS = 32;

const alloc = (client: bigint, txid: number): FrameSpec => ({
  opcode: 2, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: client, transaction_id: txid,
  payload: { storage_type: 0xff, access_type: 0xff, capacity_kb: 1 },
});

export async function measureServeState(): Promise<ServeStateFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-bench-state-'));
  const state = path.join(dir, 'state.json');
  const port = await freePort();
  const stateArgs = process.env['VVMP_BENCH_NO_STATE'] ? [] : ['--state', state];
  const nodeArgs = (process.env['VVMP_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const proc = spawn(process.execPath, ['--import', LOOP_DELAY, ...nodeArgs, VVMP, 'serve', '--port', String(port), '--quiet', ...stateArgs],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let delays = '';
  proc.stdio[3]!.on('data', (b: Buffer) => (delays += b.toString()));
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    if (process.env['VVMP_BENCH_STDERR']) process.stderr.write(b);
    if (err.length < 4096) err += b.toString();
  });
  try {
    // Ready when it accepts a connection.
    for (let i = 0; ; i++) {
      const c = await VvmpConnection.connect({ port }).catch(() => null);
      if (c) {
        await c.close();
        break;
      }
      if (i > 500 || proc.exitCode !== null) throw new Error(`vvmp serve did not start: ${err.trim().split('\n')[0]}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const conns = await Promise.all(Array.from({ length: 8 }, () => VvmpConnection.connect({ port })));
    const held: Array<[bigint, number]> = [];
    let txid = 1;
    // Phase 1: 10,000 allocations, 8 connections × 64 in flight.
    let left = SESSIONS;
    const cpu0 = cpuMicros(proc.pid!);
    const t0 = performance.now();
    await Promise.all(conns.flatMap((c) => Array.from({ length: 64 }, async () => {
      while (left > 0) {
        left--;
        const client = BigInt(0x1000 + (txid % CLIENTS));
        const r = await c.request(alloc(client, txid++));
        if (r.status !== 'OK') throw new Error(`allocate: ${r.status}`);
        held.push([client, (r.payload as { session_id: number }).session_id]);
      }
    })));
    const allocS = (performance.now() - t0) / 1000;
    const cpuAlloc = cpuMicros(proc.pid!) - cpu0;
    const cpuPerAlloc = cpuAlloc / SESSIONS;
    const quiet = await probe(port, 2000);
    // Phase 2: allocate+free churn on 4 connections × 16 in flight while another
    // client (its own process) queries one at a time for 3 s.
    proc.kill('SIGUSR2'); // ends the window of phase 1; the next one is the churn's
    let stop = false;
    let churned = 0;
    const tc = performance.now();
    const churn = conns.slice(0, 4).flatMap((c) => Array.from({ length: 16 }, async () => {
      while (!stop) {
        const client = BigInt(0x2000 + (txid % CLIENTS));
        const r = await c.request(alloc(client, txid++));
        const sid = (r.payload as { session_id: number }).session_id;
        await c.request({ opcode: 4, src_san: 1, dst_san: 1, client_id: client, transaction_id: txid++, payload: { session_id: sid, release_kb: 0 } });
        churned += 2;
      }
    }));
    const busy = await probe(port, 3000);
    stop = true;
    await Promise.all(churn);
    const churnS = (performance.now() - tc) / 1000;
    proc.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 100));
    const windows = delays.trim().split('\n').map((l) => JSON.parse(l) as { p99: number; max: number });
    await Promise.all(conns.map((c) => c.close()));
    return {
      'alloc/s': Math.round(SESSIONS / allocS),
      sessions: held.length,
      'query p50 ms': busy.p50,
      'query p99 ms': busy.p99,
      queries: busy.n,
      'query p99 ms (quiet)': quiet.p99,
      'churn ops/s': Math.round(churned / churnS),
      'server loop delay p99 ms (churn)': windows[1]?.p99 ?? -1,
      'server loop delay max ms (churn)': windows[1]?.max ?? -1,
      'server cpu us/alloc': Number(cpuPerAlloc.toFixed(1)),
      'journal MB': fs.existsSync(state) ? Number((fs.statSync(state).size / 1e6).toFixed(1)) : 0,
    };
  } finally {
    proc.kill('SIGINT');
    await new Promise((r) => proc.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  measureServeState().then((f) => console.log(JSON.stringify(f)), (e) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
