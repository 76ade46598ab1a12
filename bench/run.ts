// The benchmark harness (`npm run bench`): generates the 1M and 10M captures
// if missing, runs each row as the median of N runs (wall time, frames/s, peak
// RSS), prints a table with the targets and writes bench/results.json.
//
//   npx tsx bench/run.ts [--runs 3] [--only id,id] [--sizes 1m,10m] [--dir DIR]
//
// Rows are data (ROWS below): each names a capture size, a command and, when
// the command may not exist yet, a `skip` test that returns the reason. Add a
// row for a new command there; nothing else needs to change.
//
// Peak RSS: `vvmp` rows run through bench/launch.mjs, which reports the
// process's own maxRSS on fd 3 (exact); other commands (tshark, tcpdump) are
// sampled from /proc/<pid>/status VmHWM every 10 ms (the kernel's high-water
// mark, so only growth in the last few ms before exit could be missed).

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCapture, type GenerateStats } from './generate.js';
import { trafficRows, trafficTable } from './traffic.js';
import { generateLuaDissector } from '../src/dissector/lua.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const VVMP = path.join(ROOT, 'bin/vvmp.js');
const LAUNCH = path.join(HERE, 'launch.mjs');

// ---- captures -----------------------------------------------------------------------

export interface CaptureSize {
  id: string;
  frames: number;
}

export const SIZES: readonly CaptureSize[] = [
  { id: '1m', frames: 1_000_000 },
  { id: '10m', frames: 10_000_000 },
];

interface CaptureInfo extends GenerateStats {
  file: string;
  seed: number;
  fileBytes: number;
}

/** The capture of a size, generated (seed 1) if missing; its stats are cached beside it. */
function ensureCapture(dir: string, size: CaptureSize): CaptureInfo {
  const file = path.join(dir, `bench-${size.id}.pcap`);
  const meta = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(meta)) {
    const info = JSON.parse(fs.readFileSync(meta, 'utf8')) as CaptureInfo;
    if (info.frames === size.frames && fs.statSync(file).size === info.fileBytes) return info;
  }
  process.stderr.write(`generating ${file} (${size.frames.toLocaleString('en')} frames)…\n`);
  const t0 = performance.now();
  const tmp = `${file}.part`;
  const st = generateCapture({
    frames: size.frames, out: tmp, seed: 1,
    progress: (n) => process.stderr.write(`  ${n.toLocaleString('en')} frames\n`),
  });
  fs.renameSync(tmp, file);
  const info: CaptureInfo = { ...st, file, seed: 1, fileBytes: fs.statSync(file).size };
  fs.writeFileSync(meta, JSON.stringify(info, null, 2) + '\n');
  process.stderr.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return info;
}

// ---- rows ----------------------------------------------------------------------------

export interface RowContext {
  file: string;
  /** The generated Lua dissector. */
  lua: string;
  /** `vvmp` sub-commands that `vvmp --help` lists. */
  commands: ReadonlySet<string>;
}

export interface Command {
  cmd: string;
  args: string[];
  /** Run through bench/launch.mjs for an exact peak RSS (Node entry points). */
  node?: boolean;
}

export interface RowDef {
  id: string;
  /** Human text of the command, FILE standing for the capture. */
  label: string;
  size: string;
  /** Reason the row cannot run now, or null. */
  skip?: (ctx: RowContext) => string | null;
  command: (ctx: RowContext) => Command;
  /** Which baselines this row is (at most one row per baseline and size). */
  baseline?: 'tshark' | 'tcpdump';
  /** Targets judged on this row. */
  targets?: { minFps?: number; minVsTshark?: number; maxRssMb?: number; flatWith?: string };
}

const vvmp = (...args: string[]): Command => ({ cmd: VVMP, args, node: true });
const needs = (name: string) => (ctx: RowContext) => (ctx.commands.has(name) ? null : `vvmp ${name} not available`);
const hasTool = (tool: string) => {
  const ok = spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
  return () => (ok ? null : `${tool} not installed`);
};

/** Every benchmark row. Add rows here (TUI first screen, replay, fuzz, serve load, …). */
export const ROWS: readonly RowDef[] = [
  ...SIZES.flatMap((s): RowDef[] => [
    { id: `read-${s.id}`, label: 'vvmp read FILE > /dev/null', size: s.id, skip: needs('read'), command: (c) => vvmp('read', c.file) },
    {
      id: `read-json-${s.id}`, label: 'vvmp read --json FILE > /dev/null', size: s.id, skip: needs('read'),
      command: (c) => vvmp('read', c.file, '--json'), targets: { minFps: 500_000 },
    },
    {
      id: `stats-${s.id}`, label: 'vvmp stats --json FILE', size: s.id, skip: needs('stats'),
      command: (c) => vvmp('stats', c.file, '--json'),
      targets: s.id === '10m' ? { minFps: 2_000_000, minVsTshark: 20, maxRssMb: 300, flatWith: 'stats-1m' } : { minFps: 2_000_000, minVsTshark: 20 },
    },
    {
      id: `stats-filter-${s.id}`, label: "vvmp stats --json -Y 'vvmp.opcode == 2' FILE", size: s.id, skip: needs('stats'),
      command: (c) => vvmp('stats', c.file, '--json', '-Y', 'vvmp.opcode == 2'), targets: { minFps: 1_000_000 },
    },
    {
      id: `read-fields-${s.id}`, label: 'vvmp read -T fields -e frame.number -e vvmp.opcode -e vvmp.transaction_id -e vvmp.session FILE', size: s.id,
      skip: needs('read'),
      command: (c) => vvmp('read', c.file, '-T', 'fields', '-e', 'frame.number', '-e', 'vvmp.opcode', '-e', 'vvmp.transaction_id', '-e', 'vvmp.session'),
      targets: { minFps: 500_000 },
    },
    {
      id: `tcpdump-${s.id}`, label: 'tcpdump -r FILE -w /dev/null', size: s.id, skip: hasTool('tcpdump'), baseline: 'tcpdump',
      command: (c) => ({ cmd: 'tcpdump', args: ['-r', c.file, '-w', '/dev/null'] }),
    },
  ]),
  // Export (issue 16): rows written per second are on the command's last stderr line.
  ...(['ndjson', 'parquet'] as const).map((format): RowDef => ({
    id: `export-${format}-1m`, label: `vvmp export FILE --format ${format} --out DIR`, size: '1m', skip: needs('export'),
    // One directory per format: each run replaces the same files (named by the capture's digest).
    command: (c) => vvmp('export', c.file, '--format', format, '--out', path.join(os.tmpdir(), `vvmp-bench-export-${format}`)),
  })),
  {
    id: 'export-clickhouse-1m', label: 'vvmp export FILE --clickhouse $VVMP_BENCH_CLICKHOUSE --replace', size: '1m',
    skip: (c) => needs('export')(c) ?? (process.env.VVMP_BENCH_CLICKHOUSE ? null : 'set VVMP_BENCH_CLICKHOUSE=http://host:8123 (a ClickHouse to load into)'),
    command: (c) => vvmp('export', c.file, '--clickhouse', process.env.VVMP_BENCH_CLICKHOUSE!, '--database', 'vvmp_bench', '--replace'),
  },
  {
    id: 'tshark-lua-1m', label: 'tshark -X lua_script:vvmp.lua -T fields -e vvmp.opcode -r FILE', size: '1m',
    skip: hasTool('tshark'), baseline: 'tshark',
    command: (c) => ({ cmd: 'tshark', args: ['-r', c.file, '-X', `lua_script:${c.lua}`, '-T', 'fields', '-e', 'vvmp.opcode'] }),
  },
];

// ---- measuring -----------------------------------------------------------------------

interface RunResult {
  wallS: number;
  rssMb: number | null;
  exit: number | null;
  stderr: string;
}

function vmHwmKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Runs a command once with stdout to /dev/null; wall time, peak RSS, exit status. */
function runOnce(c: Command): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const devnull = fs.openSync('/dev/null', 'w');
    const [cmd, args] = c.node ? [process.execPath, [LAUNCH, c.cmd, ...c.args]] : [c.cmd, c.args];
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', devnull, 'pipe', 'pipe'], cwd: ROOT });
    fs.closeSync(devnull);
    let stderr = '';
    let usage = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (usage += d.toString()));
    let hwm = 0;
    const poll = setInterval(() => {
      const v = child.pid ? vmHwmKb(child.pid) : null;
      if (v !== null && v > hwm) hwm = v;
    }, 10);
    child.on('error', (e) => {
      clearInterval(poll);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(poll);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      let rssKb: number | null = hwm || null;
      try {
        const u = JSON.parse(usage.trim().split('\n').pop() ?? '') as { maxRSS: number };
        rssKb = u.maxRSS;
      } catch {
        // not a launcher row: keep the sampled VmHWM
      }
      resolve({ wallS, rssMb: rssKb === null ? null : rssKb / 1024, exit: code, stderr });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface RowResult {
  id: string;
  label: string;
  size: string;
  frames: number;
  skipped: string | null;
  failed: string | null;
  runs: Array<{ wallS: number; rssMb: number | null }>;
  wallS: number | null;
  fps: number | null;
  rssMb: number | null;
  vsTshark: number | null;
  vsTcpdump: number | null;
  checks: Array<{ target: string; ok: boolean; value: string }>;
}

// ---- the table ---------------------------------------------------------------------------

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function table(rows: RowResult[]): string {
  const head = ['command', 'file', 'frames/s', 'wall s', 'peak RSS MB', '× tshark', '÷ tcpdump', 'targets'];
  const body = rows.map((r) => {
    if (r.skipped || r.failed) {
      return [r.label, r.size, r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.failed}`, '', '', '', '', ''];
    }
    return [
      r.label, r.size, fmtInt(r.fps!), r.wallS!.toFixed(2), r.rssMb === null ? '?' : r.rssMb.toFixed(0),
      r.vsTshark === null ? '' : `${r.vsTshark.toFixed(1)}×`,
      r.vsTcpdump === null ? '' : `${r.vsTcpdump.toFixed(1)}×`,
      r.checks.map((c) => `${c.ok ? 'ok' : 'MISS'} ${c.target} (${c.value})`).join('; '),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i]!.startsWith('skipped') || b[i]!.startsWith('failed') ? 0 : b[i]!.length))));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (cells: string[]) => {
    if (cells[2]!.startsWith('skipped') || cells[2]!.startsWith('failed')) {
      return `${pad(cells[0]!, widths[0]!)}  ${pad(cells[1]!, widths[1]!)}  ${cells[2]}`;
    }
    return cells.map((c, i) => pad(c, widths[i]!, numeric.has(i))).join('  ').trimEnd();
  };
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// ---- main ------------------------------------------------------------------------------------

interface Args {
  runs: number;
  only: Set<string> | null;
  sizes: Set<string>;
  dir: string;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    runs: 3, only: null, sizes: new Set(SIZES.map((s) => s.id)),
    dir: process.env.VVMP_BENCH_DIR ?? path.join(HERE, 'out'), out: path.join(HERE, 'results.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--runs': a.runs = Math.max(1, Number(v)); i++; break;
      case '--only': a.only = new Set(v!.split(',')); i++; break;
      case '--sizes': a.sizes = new Set(v!.split(',')); i++; break;
      case '--dir': a.dir = v!; i++; break;
      case '--out': a.out = v!; i++; break;
      default:
        throw new Error(`unknown option ${argv[i]} (options: --runs N, --only id,id, --sizes 1m,10m, --dir DIR, --out FILE)`);
    }
  }
  return a;
}

/** Sub-commands `vvmp --help` lists (empty when vvmp does not start). */
function vvmpCommands(): Set<string> {
  const r = spawnSync(process.execPath, [VVMP, '--help'], { encoding: 'utf8', cwd: ROOT });
  const out = new Set<string>();
  const section = r.stdout.split(/^Commands:\s*$/m)[1] ?? '';
  for (const m of section.matchAll(/^\s{2}(\w[\w-]*)/gm)) out.add(m[1]!);
  return out;
}

function toolVersion(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return (r.stdout + r.stderr).split('\n').find((l) => l.trim())?.trim() ?? null;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.dir, { recursive: true });
  const lua = path.join(args.dir, 'vvmp.lua');
  fs.writeFileSync(lua, generateLuaDissector());
  const commands = vvmpCommands();

  const rows = ROWS.filter((r) => args.sizes.has(r.size) && (!args.only || args.only.has(r.id)));
  const captures = new Map<string, CaptureInfo>();
  for (const s of SIZES) {
    if (rows.some((r) => r.size === s.id && !r.skip?.({ file: '', lua, commands }))) captures.set(s.id, ensureCapture(args.dir, s));
  }

  const results: RowResult[] = [];
  for (const row of rows) {
    const cap = captures.get(row.size);
    const ctx: RowContext = { file: cap?.file ?? '', lua, commands };
    const res: RowResult = {
      id: row.id, label: row.label, size: row.size, frames: cap?.frames ?? 0, skipped: row.skip?.(ctx) ?? null, failed: null,
      runs: [], wallS: null, fps: null, rssMb: null, vsTshark: null, vsTcpdump: null, checks: [],
    };
    results.push(res);
    if (res.skipped || !cap) {
      process.stderr.write(`${row.id}: skipped: ${res.skipped}\n`);
      continue;
    }
    for (let i = 0; i < args.runs; i++) {
      const r = await runOnce(row.command(ctx));
      if (r.exit !== 0) {
        res.failed = `exit ${r.exit}: ${r.stderr.split('\n').find((l) => l.trim() && !/Running as user/.test(l))?.trim().slice(0, 120) ?? ''}`;
        break;
      }
      res.runs.push({ wallS: r.wallS, rssMb: r.rssMb });
      process.stderr.write(`${row.id}: run ${i + 1}: ${r.wallS.toFixed(2)} s, ${r.rssMb?.toFixed(0) ?? '?'} MB\n`);
    }
    if (res.failed) {
      process.stderr.write(`${row.id}: failed: ${res.failed}\n`);
      continue;
    }
    res.wallS = median(res.runs.map((r) => r.wallS));
    const rss = res.runs.map((r) => r.rssMb).filter((x): x is number => x !== null);
    res.rssMb = rss.length ? median(rss) : null;
    res.fps = cap.frames / res.wallS;
  }

  // Ratios against the baselines (same capture size, else the nearest one measured).
  const baseline = (kind: 'tshark' | 'tcpdump', size: string): RowResult | undefined => {
    const ok = results.filter((r) => ROWS.find((d) => d.id === r.id)?.baseline === kind && r.fps !== null);
    return ok.find((r) => r.size === size) ?? ok[0];
  };
  for (const r of results) {
    if (r.fps === null) continue;
    const def = ROWS.find((d) => d.id === r.id)!;
    const ts = baseline('tshark', r.size);
    const td = baseline('tcpdump', r.size);
    if (ts && def.baseline !== 'tshark') r.vsTshark = r.fps / ts.fps!;
    if (td && def.baseline !== 'tcpdump') r.vsTcpdump = td.fps! / r.fps;
    const t = def.targets;
    if (!t) continue;
    if (t.minFps !== undefined) r.checks.push({ target: `≥ ${fmtInt(t.minFps)} f/s`, ok: r.fps >= t.minFps, value: fmtInt(r.fps) });
    if (t.minVsTshark !== undefined && r.vsTshark !== null) {
      r.checks.push({ target: `≥ ${t.minVsTshark}× tshark`, ok: r.vsTshark >= t.minVsTshark, value: `${r.vsTshark.toFixed(1)}×` });
    }
    if (t.maxRssMb !== undefined && r.rssMb !== null) {
      r.checks.push({ target: `RSS ≤ ${t.maxRssMb} MB`, ok: r.rssMb <= t.maxRssMb, value: `${r.rssMb.toFixed(0)} MB` });
    }
    const other = t.flatWith ? results.find((x) => x.id === t.flatWith) : undefined;
    if (other?.rssMb && r.rssMb !== null) {
      const growth = r.rssMb / other.rssMb;
      r.checks.push({ target: `RSS flat vs ${other.size} (≤ 1.5×)`, ok: growth <= 1.5, value: `${growth.toFixed(2)}×` });
    }
  }

  const cached1m = path.join(args.dir, 'bench-1m.pcap');
  const capture1m = captures.get('1m')?.file ?? (fs.existsSync(cached1m) ? cached1m : null);
  const cached10m = path.join(args.dir, 'bench-10m.pcap');
  const capture10m = captures.get('10m')?.file ?? (fs.existsSync(cached10m) ? cached10m : null);
  const traffic = await trafficRows({ dir: args.dir, capture1m, capture10m, only: args.only });

  const text = table(results);
  process.stdout.write(`\n${text}\n\n× tshark: times faster than tshark + the generated Lua dissector (1M file); ` +
    `÷ tcpdump: times slower than tcpdump -r -w /dev/null (same file).\n\n${trafficTable(traffic)}\n`);
  const report = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null, memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    tools: { tshark: toolVersion('tshark', ['--version']), tcpdump: toolVersion('tcpdump', ['--version']) },
    runs: args.runs,
    captures: Object.fromEntries([...captures].map(([k, v]) => [k, v])),
    rows: results,
    traffic,
  };
  fs.writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
  process.stderr.write(`wrote ${args.out}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 1;
  });
}
