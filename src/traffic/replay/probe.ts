// Is the target a VVMP server at all? One valid Query, one reply awaited.
//
// Replay checks the target with this baseline exchange before sending the capture, and again
// when a request times out while the target has sent nothing since that request went out. A
// target that does not answer the baseline is an error (ReplayAbort, "no VVMP reply from
// HOST:PORT in N s"), not a list of missing replies: nothing the capture holds can be judged
// against a target that answers nothing. Any VVMP reply to the Query counts, whatever its status
// (a server may refuse the probe's client id: it still answers).

import { OP_QUERY } from '../../protocol/fields.js';
import type { ReplayPlan } from './plan.js';
import type { RewriteMaps } from './rewrite.js';
import {
  ConnectionRefusedError, ConnectionResetError, DEFAULT_TIMEOUT_MS, TimeoutError, TransportError, VvmpConnection,
  formatHostPort, type HostPort, type TransportKind,
} from '../transport.js';

/** A replay that cannot go on: one line (the CLI exits 1 with it). */
export class ReplayAbort extends Error {
  constructor(readonly cause: Error) {
    super(cause.message);
    this.name = 'ReplayAbort';
  }
}

/** The target never answered the baseline exchange. */
export class NoReplyError extends Error {
  constructor(target: HostPort, timeoutMs: number, transport: TransportKind, after: string) {
    super(`no VVMP reply from ${formatHostPort(target.host, target.port)} in ${seconds(timeoutMs)} s (${transport}${after})`);
    this.name = 'NoReplyError';
  }
}

function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/** Query sub-opcode 0x01: the devices of the client's own SAN (the narrowest scope). */
const QUERY_THIS_SAN = 0x01;

/**
 * One Query over `transport`; resolves true when a VVMP reply to it came within timeoutMs, false
 * when none did (silence, garbage, or the connection closed on us). Refusal and other
 * transport errors (host not found, …) are thrown as they are: they say more.
 */
export async function answersVvmp(target: HostPort, transport: TransportKind, timeoutMs: number, clientId: bigint): Promise<boolean> {
  const t0 = performance.now();
  let c: VvmpConnection;
  try {
    c = await VvmpConnection.connect({ host: target.host, port: target.port, transport, connectTimeoutMs: timeoutMs });
  } catch (err) {
    if (err instanceof TransportError && /connect timed out/.test(err.message)) return false;
    throw err;
  }
  try {
    const left = Math.max(1, timeoutMs - (performance.now() - t0));
    await c.request({ opcode: OP_QUERY, sub_opcode: QUERY_THIS_SAN, client_id: clientId, src_san: 1, dst_san: 1 }, { timeoutMs: left });
    return true;
  } catch (err) {
    if (err instanceof TimeoutError || err instanceof ConnectionResetError) return false;
    if (err instanceof ConnectionRefusedError) throw err;
    if (err instanceof TransportError) return false; // an unusable reply (oversize…): not a VVMP answer
    throw err;
  } finally {
    await c.close();
  }
}

export interface BaselineOptions {
  target: HostPort;
  /** --timeout, else DEFAULT_TIMEOUT_MS: how long the target has to answer the baseline Query. */
  timeoutMs?: number;
  rewrite: RewriteMaps;
}

export function baselineTimeout(o: { timeoutMs?: number }): number {
  return o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
}

/**
 * The client id of the baseline Query: one of its own ("vvmpprob" in ASCII), so the probe
 * touches none of the replayed clients' state (sessions, quotas, logs). A server outside whose
 * domain it lies answers DENIED: an answer all the same.
 */
export const PROBE_CLIENT_ID = 0x76766d7070726f62n;

/**
 * The baseline exchange over `transports` (default: each transport whose requests expect
 * replies; nothing to check when none do). Throws ReplayAbort when the target refuses or does
 * not answer; `after` adds what we know ("; it stopped answering after 12 replies").
 */
export async function checkTarget(
  plan: ReplayPlan, o: BaselineOptions, transports?: Iterable<TransportKind>, after = '',
): Promise<void> {
  const kinds = transports ? new Set(transports)
    : new Set(plan.requests.filter((r) => r.expected.length > 0).map((r) => plan.channels[r.channel]!.transport));
  const timeoutMs = baselineTimeout(o);
  for (const t of kinds) {
    let ok: boolean;
    try {
      ok = await answersVvmp(o.target, t, timeoutMs, PROBE_CLIENT_ID);
    } catch (err) {
      throw new ReplayAbort(err as Error);
    }
    if (!ok) throw new ReplayAbort(new NoReplyError(o.target, timeoutMs, t, after));
  }
}
