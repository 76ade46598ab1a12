// Options shared by the commands that decode traffic.

import { Option, type Command } from 'commander';
import { compileFilter, isEmptyFilter, type CompiledFilter } from '../analysis/filter/index.js';
import type { PipelineOptions } from '../analysis/pipeline.js';
import { parseIntStrict } from './errors.js';

export interface DecodeFlags {
  port?: number[];
  heuristic?: boolean;
  maxPayload?: number;
  displayFilter?: string;
}

function collectPort(value: string, prev: number[] | undefined): number[] {
  return [...(prev ?? []), parseIntStrict(value, '--port', 1, 65535)];
}

export function addDecodeOptions(cmd: Command): Command {
  return cmd
    .option('--port <n>', 'decode this TCP/UDP port as VVMP (repeatable; default 7369)', collectPort)
    .option('--heuristic', 'also find VVMP on any port by its header (opcode, length, checksum)')
    .addOption(new Option('--max-payload <bytes>', 'receiver payload limit; a larger TCP frame is tcp_desync')
      .argParser((v) => parseIntStrict(v, '--max-payload', 4, 1 << 30)))
    .option('-Y, --display-filter <expr>', 'show only frames matching this display filter');
}

export function pipelineOptions(flags: DecodeFlags): PipelineOptions {
  return { ports: flags.port, heuristic: flags.heuristic, maxPayload: flags.maxPayload };
}

/** The compiled -Y filter, or null for none. FilterError propagates (exit 2). */
export function displayFilter(flags: DecodeFlags): CompiledFilter | null {
  const text = flags.displayFilter;
  if (text === undefined || isEmptyFilter(text)) return null;
  const filter = compileFilter(text);
  for (const w of filter.warnings) process.stderr.write(`vvmp: warning: display filter: ${w}\n`);
  return filter;
}
