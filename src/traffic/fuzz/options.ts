// The options of a fuzz run (vvmp fuzz's flags, resolved).

import type { MemoryRule } from './memory.js';
import type { TransportMode } from './gen.js';

export interface FuzzOptions {
  host: string;
  port: number;
  spawn: string | null;
  seed: number;
  maxCases: number | null;
  durationS: number | null;
  /** Upper bound of the reply deadline; the deadline itself follows the target's latency unless `timeoutFixed`. */
  timeoutMs: number;
  /** --timeout was given: a reply is due within exactly that. */
  timeoutFixed: boolean;
  /** The target must answer the baseline exchange within this many seconds at the start. */
  baselineS: number;
  transport: TransportMode;
  maxPayload: number;
  outDir: string;
  seeds: Buffer[];
  /** --strategies: names or prefixes (all when empty). */
  strategies: string[];
  /** Write cases.ndjson (every case sent). */
  caseLog: boolean;
  batch: number;
  healthEvery: number;
  healthMs: number;
  memory: MemoryRule | null;
  minimize: boolean;
  minimizeRuns: number;
  minimizeMs: number;
  /** Events for the live display: 'info' (bugs, memory) and 'debug' (restarts, suspects). */
  onEvent?: (line: string, level: 'info' | 'debug') => void;
}
