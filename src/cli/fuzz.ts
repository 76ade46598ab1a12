// `vvmp fuzz --target HOST:PORT [--spawn CMD]`: the VVMP fuzzer (src/traffic/fuzz/).
// `vvmp fuzz --reproduce DIR` re-runs a saved failure against the target it
// recorded (restarting the recorded --spawn command itself).

import { randomInt } from 'node:crypto';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { readCaptureFile } from '../capture/file.js';
import { Pipeline } from '../analysis/pipeline.js';
import { DEFAULT_MAX_PAYLOAD, VvmpConnection, parseHostPort } from '../traffic/transport.js';
import { Fuzzer, NoBaselineError, type FuzzOptions } from '../traffic/fuzz/fuzzer.js';
import { DEFAULT_MEMORY_RULE } from '../traffic/fuzz/memory.js';
import { progressLine, reportJson, summaryText } from '../traffic/fuzz/report.js';
import { loadCaseDir } from '../traffic/fuzz/store.js';
import { SpawnError } from '../traffic/fuzz/target.js';
import { strategyChosen, strategyNames, type TransportMode } from '../traffic/fuzz/strategies.js';
import { EXIT_FINDINGS, EXIT_INPUT, InputError, UsageError, parseIntStrict } from './errors.js';

interface FuzzFlags {
  target?: string;
  spawn?: string;
  seed?: number;
  cases?: number;
  duration?: number;
  timeout?: number;
  transport?: TransportMode;
  out?: string;
  seedCapture?: string;
  json?: boolean;
  quiet?: boolean;
  reproduce?: string;
  maxPayload?: number;
  batch?: number;
  healthEvery?: number;
  memoryMb?: number;
  memory?: boolean;
  minimize?: boolean;
  strategies?: string;
  caseLog?: boolean;
  listStrategies?: boolean;
}

const int = (what: string, min: number, max: number) => (v: string) => parseIntStrict(v, what, min, max);

export function registerFuzz(program: Command): void {
  program.command('fuzz')
    .description('fuzz a VVMP server: field boundaries, lies, broken checksums, illegal sequences, transport abuse')
    .option('--target <host:port>', 'the server to fuzz (required)')
    .option('--spawn <cmd>', 'start the server with this shell command, watch it, restart it after crashes')
    .addOption(new Option('--seed <n>', 'PRNG seed: the same seed gives the same cases').argParser(int('--seed', 0, 0xffffffff)))
    .addOption(new Option('--cases <n>', 'stop after this many cases (default 10000 without --duration)').argParser(int('--cases', 1, 1e9)))
    .addOption(new Option('--duration <s>', 'stop after this many seconds').argParser(int('--duration', 1, 86400 * 7)))
    .addOption(new Option('--timeout <ms>', 'a reply is due within this time (default: 20 × the target\'s measured latency, 150 ms to 2 s)').argParser(int('--timeout', 10, 600000)))
    .addOption(new Option('--transport <kind>', 'tcp, udp or both').choices(['tcp', 'udp', 'both']).default('both'))
    .option('--out <dir>', 'where failures are saved as fNNNN/ directories', 'fuzz-out')
    .option('--seed-capture <file>', 'also mutate the VVMP frames of this capture (pcap/pcapng)')
    .option('--json', 'print the result as one JSON object (OUTPUT.md)')
    .option('-q, --quiet', 'no live progress')
    .option('--reproduce <dir>', 're-run a saved failure: exit 3 when it fails again, 0 when not')
    .addOption(new Option('--max-payload <bytes>', "the target's payload limit (TCP frames over it are expected to close the connection)")
      .default(DEFAULT_MAX_PAYLOAD).argParser(int('--max-payload', 4, 4 * 0xffff)))
    .addOption(new Option('--batch <n>', 'cases pipelined per batch').default(256).argParser(int('--batch', 1, 4096)))
    .addOption(new Option('--health-every <n>', 'health check after this many cases at most').default(256).argParser(int('--health-every', 1, 1e6)))
    .addOption(new Option('--memory-mb <n>', 'sustained RSS growth (MB) that is a memory failure (--spawn)')
      .default(DEFAULT_MEMORY_RULE.thresholdMb).argParser(int('--memory-mb', 1, 1 << 20)))
    .option('--no-memory', 'no memory oracle')
    .option('--no-minimize', 'save failures as found, without minimising')
    .option('--strategies <list>', 'only these strategies: comma-separated names or prefixes (boundary:, stateful:walk, flip, …); --strategies list prints them')
    .option('--no-case-log', 'do not write cases.ndjson (every case sent) in --out')
    .action((flags: FuzzFlags) => fuzzCommand(flags));
}

/** The failure directory must be creatable: a one-line InputError otherwise (checked before fuzzing, created on the first failure). */
function checkOutDir(dir: string): void {
  let at = resolve(dir);
  for (;;) {
    if (existsSync(at)) {
      if (!statSync(at).isDirectory()) throw new InputError(`--out ${dir}: ${at === resolve(dir) ? 'not a directory' : `${at} is not a directory`}`);
      try {
        accessSync(at, constants.W_OK);
      } catch {
        throw new InputError(`--out ${dir}: permission denied`);
      }
      return;
    }
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
}

function unreachable(message: string): void {
  process.stderr.write(`vvmp fuzz: ${message}\n`);
  process.exitCode = EXIT_INPUT;
}

/** Whole VVMP frames of a capture, deduplicated. */
export function seedFrames(file: string, port: number): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const pipeline = new Pipeline({
    frame: (f) => {
      const d = f.decoded;
      if (!d.complete || d.bytes.length < 32 || out.length >= 1000) return;
      const key = d.bytes.toString('hex');
      if (seen.has(key)) return;
      seen.add(key);
      out.push(Buffer.from(d.bytes));
    },
  }, { keepBytes: true, ports: [7369, port], heuristic: true });
  readCaptureFile(file, pipeline.packet);
  pipeline.end();
  return out;
}

function target(text: string): { host: string; port: number } {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(text));
  } catch (e) {
    throw new UsageError(`fuzz: --target: ${(e as Error).message}`);
  }
  if (port === 0) throw new UsageError('fuzz: --target needs a port other than 0');
  return { host, port };
}

function options(flags: FuzzFlags, host: string, port: number): FuzzOptions {
  const strategies = (flags.strategies ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    host, port, spawn: flags.spawn ?? null,
    seed: flags.seed ?? randomInt(0, 0x100000000),
    maxCases: flags.cases ?? (flags.duration === undefined ? 10_000 : null),
    durationS: flags.duration ?? null,
    timeoutMs: flags.timeout ?? 2000,
    timeoutFixed: flags.timeout !== undefined,
    baselineS: Math.max(5, Math.ceil((flags.timeout ?? 0) / 1000)),
    transport: flags.transport ?? 'both',
    maxPayload: flags.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    outDir: flags.out ?? 'fuzz-out',
    seeds: [],
    strategies,
    caseLog: flags.caseLog !== false,
    batch: flags.batch ?? 256,
    healthEvery: flags.healthEvery ?? 256,
    healthMs: 500,
    memory: flags.memory === false ? null : { ...DEFAULT_MEMORY_RULE, thresholdMb: flags.memoryMb ?? DEFAULT_MEMORY_RULE.thresholdMb },
    minimize: flags.minimize !== false,
    minimizeRuns: 40,
    minimizeMs: 15_000,
  };
}

export async function fuzzCommand(flags: FuzzFlags): Promise<void> {
  if (flags.strategies === 'list') {
    process.stdout.write(strategyNames({ seed: 0, transport: flags.transport ?? 'both', maxPayload: DEFAULT_MAX_PAYLOAD }).join('\n') + '\n');
    return;
  }
  if (flags.reproduce) return reproduceCommand(flags.reproduce, flags);
  if (!flags.target) throw new UsageError('fuzz: --target HOST:PORT is required');
  const { host, port } = target(flags.target);
  const tty = !!process.stderr.isTTY && !flags.quiet;
  const opts = options(flags, host, port);
  if (opts.strategies.length) {
    const all = strategyNames({ seed: 0, transport: opts.transport, maxPayload: opts.maxPayload, seeds: [Buffer.alloc(32)] });
    for (const s of opts.strategies) {
      if (!all.some((n) => strategyChosen(n, [s]))) throw new UsageError(`fuzz: --strategies: no strategy ${s} (--strategies list shows them)`);
    }
  }
  checkOutDir(opts.outDir);
  if (flags.seedCapture) {
    try {
      opts.seeds = seedFrames(flags.seedCapture, port);
    } catch (e) {
      throw new InputError((e as Error).message);
    }
    if (opts.seeds.length === 0) throw new InputError(`${flags.seedCapture}: no whole VVMP frames to use as seeds`);
  }
  if (!opts.spawn) {
    try {
      const c = await VvmpConnection.connect({ host, port, transport: 'tcp', connectTimeoutMs: 3000 });
      await c.close();
    } catch (e) {
      return unreachable(`${(e as Error).message} (is the server running?)`);
    }
  }
  let lastLen = 0;
  const clear = () => {
    if (tty && lastLen) process.stderr.write('\r\x1b[K');
    lastLen = 0;
  };
  const t0 = Date.now();
  const debug = !!process.env.VVMP_FUZZ_DEBUG;
  if (debug) {
    opts.onEvent = (line) => {
      clear();
      process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(2)}] ${line}\n`);
    };
  } else if (tty) {
    opts.onEvent = (line, level) => {
      if (level !== 'info') return;
      clear();
      process.stderr.write(`${line}\n`);
    };
  }
  const fuzzer = new Fuzzer(opts);
  const timer = tty
    ? setInterval(() => {
      const line = progressLine(fuzzer.live()).slice(0, Math.max(20, (process.stderr.columns || 120) - 1));
      process.stderr.write(`\r\x1b[K${line}`);
      lastLen = line.length;
    }, 250)
    : null;
  // Ctrl-C: finish the batch, stop the spawned target, print what was found; twice: now.
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) fuzzer.stop('interrupted');
    else {
      void fuzzer.target.stop().finally(() => process.exit(130));
    }
  };
  process.on('SIGINT', onSigint);
  let report;
  try {
    report = await fuzzer.run();
  } catch (e) {
    if (e instanceof SpawnError) return unreachable(e.message);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    if (timer) clearInterval(timer);
    clear();
  }
  if (report.fatal && report.cases === 0) return unreachable(report.fatal);
  const where = `${host}:${port}`;
  if (flags.json) {
    process.stdout.write(JSON.stringify(reportJson(report)) + '\n');
    if (!flags.quiet) process.stderr.write(summaryText(report, where));
  } else if (!flags.quiet) process.stdout.write(summaryText(report, where));
  if (report.fatal) return unreachable(report.fatal);
  process.exitCode = report.bugs.length ? EXIT_FINDINGS : 0;
}

async function reproduceCommand(dir: string, flags: FuzzFlags): Promise<void> {
  let loaded;
  try {
    loaded = loadCaseDir(dir);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const { c, json } = loaded;
  // the case directory names the target and the --spawn command: flags given now override them
  const { host, port } = target(flags.target ?? json.target);
  const opts = options({ ...flags, spawn: flags.spawn ?? json.spawn ?? undefined, seed: json.seed ?? 0 }, host, port);
  opts.timeoutMs = flags.timeout ?? Math.max(json.timeout_ms ?? 1000, 2000);
  opts.timeoutFixed = flags.timeout !== undefined;
  opts.maxPayload = json.max_payload ?? opts.maxPayload;
  opts.caseLog = false;
  const oracle = json.oracle as Parameters<Fuzzer['reproduceCase']>[1];
  if (oracle === 'memory' && !opts.spawn) throw new UsageError('fuzz --reproduce: a memory failure needs --spawn (the target\'s memory is measured)');
  const fz = new Fuzzer(opts);
  let v;
  try {
    v = await fz.reproduceCase(c, oracle, json.memory_threshold_mb);
  } catch (e) {
    if (e instanceof SpawnError || e instanceof NoBaselineError) return unreachable(e.message);
    throw e;
  }
  const same = v !== null && v.oracle === oracle;
  if (flags.json) {
    process.stdout.write(JSON.stringify({ case: dir, expected: oracle, reproduced: v !== null, oracle: v?.oracle ?? null, detail: v?.detail ?? null }) + '\n');
  } else if (!flags.quiet) {
    if (!v) process.stdout.write(`${dir}: did not reproduce (expected ${oracle}: ${c.strategy})\n`);
    else process.stdout.write(`${dir}: ${same ? 'reproduced' : `failed differently (expected ${oracle})`}: ${v.oracle}: ${v.detail}\n`);
  }
  process.exitCode = v ? EXIT_FINDINGS : 0;
}
