// Options shared by the commands that decode traffic.

import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { compileFilter, isEmptyFilter, type CompiledFilter } from '../analysis/filter/index.js';
import type { PipelineOptions } from '../analysis/pipeline.js';
import { DEFAULT_PORT } from '../net/types.js';
import { UsageError, parseIntStrict } from './errors.js';
import { warn } from './report.js';

export interface DecodeFlags {
  /**
   * Ports decoded as VVMP besides the default 7369 (--port, repeatable). Other
   * options that add decode ports (tshark's `-d tcp.port==N,vvmp`) append here
   * with `addDecodePort`; `decodePorts` gives the full list.
   */
  port?: number[];
  /** false with --no-default-port: 7369 is not decoded unless named. */
  defaultPort?: boolean;
  heuristic?: boolean;
  maxPayload?: number;
  displayFilter?: string;
}

function collectPort(value: string, prev: number[] | undefined): number[] {
  return [...(prev ?? []), parseIntStrict(value, '--port', 1, 65535)];
}

/** Adds a decode port to the flags (for options other than --port that name one). */
export function addDecodePort(flags: DecodeFlags, port: number): void {
  (flags.port ??= []).push(port);
}

/**
 * The ports decoded as VVMP (TCP and UDP): 7369 unless --no-default-port,
 * then every --port in the order given, each once. None at all is a usage
 * error unless --heuristic finds VVMP by its header.
 */
export function decodePorts(flags: DecodeFlags): number[] {
  const ports = new Set<number>(flags.defaultPort === false ? [] : [DEFAULT_PORT]);
  for (const p of flags.port ?? []) ports.add(p);
  if (ports.size === 0 && !flags.heuristic) throw new UsageError('--no-default-port: name the ports to decode with --port N, or use --heuristic');
  return [...ports];
}

/** "TCP/UDP port 7369" / "TCP/UDP ports 7369, 5555" (and "or by the heuristic"). */
export function decodePortsText(flags: DecodeFlags): string {
  const ports = decodePorts(flags);
  const text = ports.length === 0 ? '' : `TCP/UDP port${ports.length === 1 ? '' : 's'} ${ports.join(', ')}`;
  if (!flags.heuristic) return text;
  return text ? `${text} or by the heuristic` : 'any port by the heuristic';
}

/**
 * A capture with packets but no VVMP frame on the decoded ports: one line on
 * stderr that says so and what to try (the exit code does not change).
 */
export function reportNoVvmp(file: string, packets: number, frames: number, flags: DecodeFlags, explained = false): void {
  // `explained`: a note already said why (packets not decoded, reading stopped at -c): no port hint on top.
  if (frames > 0 || packets === 0 || explained) return;
  const hint = flags.heuristic ? 'try --port N for the ports it uses' : 'try --port N (adds a port to 7369) or --heuristic';
  warn(`${file}: no VVMP frames on ${decodePortsText(flags)} in ${packets} packet${packets === 1 ? '' : 's'}; ${hint}`);
}

export function addDecodeOptions(cmd: Command): Command {
  return cmd
    .option('--port <n>', `also decode this TCP/UDP port as VVMP (repeatable; ${DEFAULT_PORT} is always decoded unless --no-default-port)`, collectPort)
    .option('--no-default-port', `do not decode port ${DEFAULT_PORT} (only the --port ports, or --heuristic)`)
    .option('--heuristic', 'also find VVMP on any port by its header (opcode, length, checksum)')
    .addOption(new Option('--max-payload <bytes>', 'receiver payload limit; a larger TCP frame is tcp_desync')
      .argParser((v) => parseIntStrict(v, '--max-payload', 4, 1 << 30)))
    .option('-Y, --display-filter <expr>', 'show only frames matching this display filter');
}

export function pipelineOptions(flags: DecodeFlags): PipelineOptions {
  return { ports: decodePorts(flags), heuristic: flags.heuristic, maxPayload: flags.maxPayload };
}

/** The compiled -Y filter, or null for none. FilterError propagates (exit 2). */
export function displayFilter(flags: DecodeFlags): CompiledFilter | null {
  const text = flags.displayFilter;
  if (text === undefined || isEmptyFilter(text)) return null;
  const filter = compileFilter(text);
  for (const w of filter.warnings) process.stderr.write(`vvmp: warning: display filter: ${w}\n`);
  return filter;
}

/**
 * Whether a command reads its capture on a second thread (net/threaded.ts):
 * with two or more cores, unless `jobs` (stats -j) is 1 or VVMP_THREADS=1.
 * The output is the same either way.
 */
export function readOnSecondThread(jobs?: number): boolean {
  return availableParallelism() > 1 && (jobs ?? 2) > 1 && process.env.VVMP_THREADS !== '1';
}
