// What a replay is told (the CLI's flags), and its defaults.

import type { HostPort } from '../transport.js';
import type { CompareOptions } from './compare.js';
import type { TrafficTap } from './record.js';
import type { RewriteMaps } from './rewrite.js';

export interface ReplayOptions {
  target: HostPort;
  /** Pacing multiplier (2 = twice as fast as captured). */
  speed: number;
  topspeed: boolean;
  loops: number;
  /** Reply timeout for every request; default: each request's own (VVMP.md section 7). */
  timeoutMs?: number;
  /** How long to listen for extra replies after the last expected one. */
  lingerMs: number;
  /** Max requests with outstanding replies per TCP connection (0 = unlimited). */
  tcpWindow: number;
  /** Same, per UDP socket. */
  udpWindow: number;
  rewrite: RewriteMaps;
  compare: CompareOptions;
  tap?: TrafficTap | null;
  /** The caller already ran the baseline exchange (probe.ts), e.g. before starting --record. */
  baselineChecked?: boolean;
}

export const DEFAULT_UDP_WINDOW = 32;
export const DEFAULT_LINGER_MS = 100;
