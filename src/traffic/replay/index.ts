// `vvmp replay`: tcpreplay at the VVMP layer, with the answers checked.
//
//   plan.ts     capture → what to send, on which socket, after which replies
//   rewrite.ts  id maps, --renumber, session ids, checksums (bad stays bad)
//   channel.ts  one TCP connection / UDP socket of the replay
//   engine.ts   scheduling, pacing, waiting, reply matching, timeouts
//   probe.ts    the baseline exchange: does the target answer VVMP at all?
//   compare.ts  reply vs captured reply, field by field (the ignore list)
//   record.ts   --record: live capture or synthetic packets
//   report.ts   JSON (OUTPUT.md), text, progress line

import { compileFilter } from '../../analysis/filter/index.js';
import { parseHostPort, type HostPort } from '../transport.js';
import { ignoreSet } from './compare.js';
import { DEFAULT_LINGER_MS, DEFAULT_UDP_WINDOW, ReplayEngine, type ReplayOptions, type ReplayResult } from './engine.js';
import { loadReplayPlan, type ReplayPlan, type WaitRule } from './plan.js';
import type { TrafficTap } from './record.js';

export {
  loadReplayPlan, type ReplayPlan, type PlannedRequest, type PlannedChannel, type ExpectedReply, type WaitRule,
} from './plan.js';
export {
  ReplayEngine, ReplayAbort, DEFAULT_LINGER_MS, DEFAULT_UDP_WINDOW,
  type ReplayOptions, type ReplayResult, type ReplayProgress, type Difference, type MissingReply, type ExtraReply,
} from './engine.js';
export { checkTarget, answersVvmp, NoReplyError, type BaselineOptions } from './probe.js';
export { compareReply, ignoreSet, displayValue, isComparableField, DEFAULT_IGNORED, type FieldDifference } from './compare.js';
export { rewriteRequest, parseIdPair, parseSanPair, NO_REWRITE, type RewriteMaps } from './rewrite.js';
export { replayJson, replayText, replayFailed, ProgressLine } from './report.js';
export {
  openRecorder, SyntheticCapture, PacketBuilder, wallStamp, interfaceFor,
  type ReplayRecorder, type RecordMode, type TrafficTap, type Stamp, type Addr, type SynthTcp,
} from './record.js';

/** Everything optional but the target; defaults as the CLI's. */
export interface ReplaySettings {
  target: string | HostPort;
  ports?: number[];
  heuristic?: boolean;
  maxPayload?: number;
  /** -Y display filter text. */
  filter?: string;
  /** Which captured replies a request waits for (plan.ts; default `capture`). */
  wait?: WaitRule;
  speed?: number;
  topspeed?: boolean;
  loops?: number;
  timeoutMs?: number;
  lingerMs?: number;
  tcpWindow?: number;
  udpWindow?: number;
  clientIds?: ReadonlyArray<readonly [bigint, bigint]>;
  serverIds?: ReadonlyArray<readonly [bigint, bigint]>;
  sans?: ReadonlyArray<readonly [number, number]>;
  renumber?: boolean;
  strictServerId?: boolean;
  ignore?: readonly string[];
  tap?: TrafficTap | null;
}

export function replayOptions(s: ReplaySettings): ReplayOptions {
  const target = typeof s.target === 'string' ? parseHostPort(s.target) : s.target;
  const clientIds = new Map(s.clientIds ?? []);
  const serverIds = new Map(s.serverIds ?? []);
  const sans = new Map(s.sans ?? []);
  return {
    target,
    speed: s.speed ?? 1,
    topspeed: s.topspeed ?? false,
    loops: s.loops ?? 1,
    timeoutMs: s.timeoutMs,
    lingerMs: s.lingerMs ?? DEFAULT_LINGER_MS,
    tcpWindow: s.tcpWindow ?? 0,
    udpWindow: s.udpWindow ?? DEFAULT_UDP_WINDOW,
    rewrite: { clientIds, serverIds, sans, renumber: s.renumber ?? false },
    compare: {
      ignore: ignoreSet({ strictServerId: s.strictServerId ?? false, sanMapped: sans.size > 0, extra: s.ignore ?? [] }),
      clientIds,
      serverIds,
    },
    tap: s.tap ?? null,
  };
}

/** Loads `file` and replays it (throws CaptureError, FilterError, ReplayAbort). */
export async function replayFile(file: string, s: ReplaySettings): Promise<{ plan: ReplayPlan; result: ReplayResult }> {
  const plan = loadReplayPlan(file, {
    ports: s.ports, heuristic: s.heuristic, maxPayload: s.maxPayload,
    filter: s.filter !== undefined ? compileFilter(s.filter) : null, wait: s.wait,
  });
  const engine = new ReplayEngine(plan, replayOptions(s));
  const result = await engine.run();
  return { plan, result };
}
