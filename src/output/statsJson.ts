// `vvmp stats --json`: exactly the object of OUTPUT.md.

import type { Analyzer } from '../analysis/analyzer.js';
import type { Summary } from '../analysis/summary.js';
import { hexId } from '../protocol/codec.js';
import { formatTime } from './frameJson.js';
import { RawNumber, toJson, type JsonValue } from './jsonText.js';
import type { Stamp } from '../analysis/time.js';

function time(s: Stamp | null): JsonValue {
  return s === null ? null : new RawNumber(formatTime(s.sec, s.nsec, s.digits));
}

export function opcodeKey(op: number): string {
  return '0x' + op.toString(16).padStart(4, '0');
}

export function statsObject(a: Analyzer, sum: Summary): Record<string, JsonValue> {
  const byOpcode: Record<string, number> = {};
  for (const [op, n] of [...sum.byOpcode].sort((x, y) => x[0] - y[0])) byOpcode[opcodeKey(op)] = n;
  const expert: Record<string, number> = {};
  for (const [code, n] of [...sum.expertCounts].sort((x, y) => (x[0] < y[0] ? -1 : 1))) expert[code] = n;
  const flows = [...sum.flows.values()].map((f) => ({
    transport: f.transport, a: f.a, b: f.b, frames: f.frames, bytes: f.bytes,
    first: time(f.first), last: time(f.last), errors: f.errors,
  }));
  const sessions = a.sessions.all.map((s) => ({
    server_id: hexId(s.server_id),
    session_id: s.session_id,
    client_id: hexId(s.client_id),
    state: s.state,
    storage_type: s.storage_type,
    capacity_kb: s.capacity_kb,
    opened: time(s.opened),
    closed: time(s.closed),
  }));
  const pct = a.latency.overall();
  return {
    packets: a.packets,
    vvmp_frames: sum.vvmpFrames,
    by_opcode: byOpcode,
    expert,
    flows,
    sessions,
    transactions: {
      requests: a.requests,
      answered: a.answered,
      timed_out: a.timedOut,
      open_at_end: a.openAtEnd,
      latency_ms: pct ? { p50: pct.p50, p90: pct.p90, p99: pct.p99, max: pct.max } : null,
    },
  };
}

export function statsJson(a: Analyzer, sum: Summary): string {
  return toJson(statsObject(a, sum));
}
