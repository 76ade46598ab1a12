// `vvmp stats --json`: the object of OUTPUT.md, then the sections it does not name (response times, errors, I/O, loss).

import type { Analyzer } from '../analysis/analyzer.js';
import { flowFirst, flowLast, type FlowRecord, type Summary } from '../analysis/summary.js';
import type { SessionRow } from '../analysis/sessions.js';
import { hexId } from '../protocol/codec.js';
import { formatTime } from './frameJson.js';
import { RawNumber, toJson, type JsonValue } from './jsonText.js';
import type { Stamp } from '../analysis/time.js';
import type { StatsSource } from '../analysis/statsSource.js';
import { noteKey, type CaptureNote } from '../capture/notes.js';
import type { RtSummary } from '../analysis/rtHistogram.js';
import { opcodeDef } from '../protocol/fields.js';

export type { StatsSource } from '../analysis/statsSource.js';

/** One capture's Analyzer and Summary as a StatsSource (a filtered Analyzer lists only the sessions it selected). */
export function liveSource(a: Analyzer, sum: Summary, undecoded?: readonly CaptureNote[]): StatsSource {
  const sessions = a.selecting ? { rows: () => a.sessions.rows(true), count: a.sessions.selectedCount } : a.sessions;
  return {
    undecoded,
    packets: a.packets, vvmpFrames: sum.vvmpFrames, byOpcode: sum.byOpcode, expertCounts: sum.expertCounts,
    expertFirstFrames: sum.expertFirstFrames, flows: sum.flows, sessions,
    requests: a.requests, answered: a.answered, timedOut: a.timedOut, openAtEnd: a.openAtEnd,
    latency: a.latency, transactions: a.tx, io: sum.io, loss: sum.loss, first: a.first, last: a.last,
  };
}

function rtJson(s: RtSummary | null): JsonValue {
  return s === null ? null : { count: s.count, min: s.min, avg: s.avg, p50: s.p50, p90: s.p90, p99: s.p99, max: s.max };
}

/** The sections OUTPUT.md does not name, after its keys: response times, errors, I/O over time, loss. */
export function extraSections(sum: StatsSource): string {
  const tx = sum.transactions;
  const byOpcode = [...tx.latency.summaries()].map(([op, s]) => ({ opcode: opcodeKey(op), name: opcodeDef(op)?.name ?? 'Unknown', ...(rtJson(s) as object) }));
  const byClient = tx.byClient.sorted().map(([id, h]) => ({ client_id: hexId(id), ...(rtJson(h.summary()) as object) }));
  const byServer = tx.byServer.sorted().map(([id, h]) => ({ server_id: hexId(id), ...(rtJson(h.summary()) as object) }));
  const byStatus: Record<string, number> = {};
  for (const [s, n] of [...tx.errorsByStatus.rows].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) byStatus[s] = n;
  const byServerErr: Record<string, number> = {};
  for (const [s, n] of [...tx.errorsByServer.rows].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) byServerErr[hexId(s)] = n;
  const intervals = [...sum.io.rows()].map((r) => ({ start: new RawNumber(msText(r.startMs)), frames: r.frames, errors: r.errors }));
  const loss: Record<string, number> = {};
  for (const [k, n] of sum.loss) loss[k] = n;
  return ',"response_time_ms":' + toJson({
    by_opcode: byOpcode, by_client: byClient, other_clients: rtJson(tx.byClient.other.summary()),
    by_server: byServer, other_servers: rtJson(tx.byServer.other.summary()),
  }) + ',"errors":' + toJson({ by_status: byStatus, by_server: byServerErr, other_servers: tx.errorsByServer.other })
    + ',"io":' + toJson({ interval_s: new RawNumber(msText(sum.io.intervalMs)), intervals })
    + ',"loss":' + toJson(loss);
}

/** Milliseconds as seconds, exactly (no binary fraction noise). */
export function msText(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = ms - sec * 1000;
  return frac === 0 ? String(sec) : `${sec}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

function time(s: Stamp | null): JsonValue {
  return s === null ? null : new RawNumber(formatTime(s.sec, s.nsec, s.digits));
}

export function opcodeKey(op: number): string {
  return '0x' + op.toString(16).padStart(4, '0');
}

/** A JSON number as toJson writes it (null for absent or not finite). */
function num(v: number | null): string {
  return v === null || !Number.isFinite(v) ? 'null' : String(v);
}

function timeText(s: Stamp | null): string {
  return s === null ? 'null' : formatTime(s.sec, s.nsec, s.digits);
}

// Sessions and flows are most of a big capture's stats: written straight to
// text (the same bytes toJson gives: test/output/statsJson.test.ts).
export function sessionJson(s: SessionRow): string {
  return `{"server_id":"${hexId(s.server_id)}","session_id":${num(s.session_id)},"client_id":"${hexId(s.client_id)}",`
    + `"state":"${s.state}","storage_type":${num(s.storage_type)},"capacity_kb":${num(s.capacity_kb)},`
    + `"opened":${timeText(s.opened)},"closed":${timeText(s.closed)}}`;
}

export function flowJson(f: FlowRecord): string {
  return `{"transport":"${f.transport}","a":${JSON.stringify(f.a)},"b":${JSON.stringify(f.b)},"frames":${num(f.frames)},`
    + `"bytes":${num(f.bytes)},"first":${timeText(flowFirst(f))},"last":${timeText(flowLast(f))},"errors":${num(f.errors)}}`;
}


/**
 * Writes OUTPUT.md's stats object in pieces (flows and sessions one at a
 * time), so a capture with a million sessions never becomes one giant string.
 */
export function writeStatsJson(a: Analyzer, sum: Summary, write: (s: string) => void, undecoded?: readonly CaptureNote[]): void {
  writeStatsSourceJson(liveSource(a, sum, undecoded), write);
}

/** `writeStatsJson` for any StatsSource (several files merged). */
export function writeStatsSourceJson(sum: StatsSource, write: (s: string) => void): void {
  const a = sum;
  const byOpcode: Record<string, number> = {};
  for (const [op, n] of [...sum.byOpcode].sort((x, y) => x[0] - y[0])) byOpcode[opcodeKey(op)] = n;
  const expert: Record<string, number> = {};
  for (const [code, n] of [...sum.expertCounts].sort((x, y) => (x[0] < y[0] ? -1 : 1))) expert[code] = n;
  write(`{"packets":${a.packets},"vvmp_frames":${sum.vvmpFrames},"by_opcode":${toJson(byOpcode)},"expert":${toJson(expert)},"flows":[`);
  let first = true;
  for (const f of sum.flows.records()) {
    write((first ? '' : ',') + flowJson(f));
    first = false;
  }
  write('],"sessions":[');
  first = true;
  for (const s of a.sessions.rows()) {
    write((first ? '' : ',') + sessionJson(s));
    first = false;
  }
  const pct = a.latency.overall();
  write('],"transactions":' + toJson({
    requests: a.requests,
    answered: a.answered,
    timed_out: a.timedOut,
    open_at_end: a.openAtEnd,
    latency_ms: pct ? { p50: pct.p50, p90: pct.p90, p99: pct.p99, max: pct.max } : null,
  }) + extraSections(sum) + undecodedJson(sum.undecoded) + '}\n');
}

/** `,"undecoded":{"link type 147":12,…}` (packets, or blocks, per kind); nothing when all was decoded. */
function undecodedJson(notes: readonly CaptureNote[] | undefined): string {
  if (!notes || notes.length === 0) return '';
  const o: Record<string, number> = {};
  for (const n of notes) o[noteKey(n)] = n.count;
  return ',"undecoded":' + toJson(o);
}

/** The stats object (for tests and small captures). */
export function statsObject(a: Analyzer, sum: Summary): Record<string, JsonValue> {
  const parts: string[] = [];
  writeStatsJson(a, sum, (s) => parts.push(s));
  return JSON.parse(parts.join('')) as Record<string, JsonValue>;
}
