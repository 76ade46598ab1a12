// `vvmp stats --json`: the object of OUTPUT.md, then the sections it does not name (response times, errors, I/O, loss).

import type { Analyzer } from '../analysis/analyzer.js';
import type { FlowRecord, Summary } from '../analysis/summary.js';
import type { SessionRow } from '../analysis/sessions.js';
import { hexId } from '../protocol/codec.js';
import { RawNumber, toJson, type JsonValue } from './jsonText.js';
import { TextBuilder, utf8 } from './textBuilder.js';
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

export function opcodeKey(op: number): string {
  return '0x' + op.toString(16).padStart(4, '0');
}

// Sessions and flows are most of a big capture's stats (630,000 sessions at
// 10 M frames): written as bytes straight into the output buffer, no string
// per row (the same bytes toJson gives: test/output/statsJson.test.ts).
const K_SERVER = utf8('{"server_id":"');
const K_SESSION = utf8('","session_id":');
const K_CLIENT = utf8(',"client_id":"');
const K_STATE = utf8('","state":"');
const K_STORAGE = utf8('","storage_type":');
const K_CAPACITY = utf8(',"capacity_kb":');
const K_OPENED = utf8(',"opened":');
const K_CLOSED = utf8(',"closed":');
const K_TRANSPORT = utf8('{"transport":"');
const K_A = utf8('","a":');
const K_B = utf8(',"b":');
const K_FRAMES = utf8(',"frames":');
const K_BYTES = utf8(',"bytes":');
const K_FIRST = utf8(',"first":');
const K_LAST = utf8(',"last":');
const K_ERRORS = utf8(',"errors":');
const NULL = utf8('null');

/** A JSON number as toJson writes it (null for absent or not finite). */
function writeNum(tb: TextBuilder, v: number | null): void {
  if (v === null || !Number.isFinite(v)) tb.lit(NULL);
  else tb.uint(v);
}

/** A capture time as formatTime writes it. */
function writeTime(tb: TextBuilder, sec: number, nsec: number, digits: number): void {
  tb.uint(sec);
  if (digits > 0) tb.char(0x2e).frac(nsec, digits);
}

function writeStamp(tb: TextBuilder, s: Stamp | null): void {
  if (s === null) tb.lit(NULL);
  else writeTime(tb, s.sec, s.nsec, s.digits);
}

export function writeSessionJson(tb: TextBuilder, s: SessionRow): void {
  tb.lit(K_SERVER).hexId(s.server_id).lit(K_SESSION);
  writeNum(tb, s.session_id);
  tb.lit(K_CLIENT).hexId(s.client_id).lit(K_STATE).rep(s.state).lit(K_STORAGE);
  writeNum(tb, s.storage_type);
  tb.lit(K_CAPACITY);
  writeNum(tb, s.capacity_kb);
  tb.lit(K_OPENED);
  writeStamp(tb, s.opened);
  tb.lit(K_CLOSED);
  writeStamp(tb, s.closed);
  tb.char(0x7d);
}

export function writeFlowJson(tb: TextBuilder, f: FlowRecord): void {
  tb.lit(K_TRANSPORT).rep(f.transport).lit(K_A).json(f.a).lit(K_B).json(f.b).lit(K_FRAMES);
  writeNum(tb, f.frames);
  tb.lit(K_BYTES);
  writeNum(tb, f.bytes);
  tb.lit(K_FIRST);
  writeTime(tb, f.firstSec, f.firstNsec, f.digits);
  tb.lit(K_LAST);
  writeTime(tb, f.lastSec, f.lastNsec, f.digits);
  tb.lit(K_ERRORS);
  writeNum(tb, f.errors);
  tb.char(0x7d);
}

const one = new TextBuilder(512);

/** One session as its JSON text (tests, small output). */
export function sessionJson(s: SessionRow): string {
  writeSessionJson(one, s);
  return one.take();
}

export function flowJson(f: FlowRecord): string {
  writeFlowJson(one, f);
  return one.take();
}

/**
 * Writes OUTPUT.md's stats object into `out` (a BufferedOut hands it on in
 * pieces as it grows: a capture with a million sessions never becomes one
 * giant string).
 */
export function writeStatsJson(a: Analyzer, sum: Summary, out: TextBuilder, undecoded?: readonly CaptureNote[]): void {
  writeStatsSourceJson(liveSource(a, sum, undecoded), out);
}

/** `writeStatsJson` for any StatsSource (several files merged). */
export function writeStatsSourceJson(sum: StatsSource, out: TextBuilder): void {
  const a = sum;
  const byOpcode: Record<string, number> = {};
  for (const [op, n] of [...sum.byOpcode].sort((x, y) => x[0] - y[0])) byOpcode[opcodeKey(op)] = n;
  const expert: Record<string, number> = {};
  for (const [code, n] of [...sum.expertCounts].sort((x, y) => (x[0] < y[0] ? -1 : 1))) expert[code] = n;
  out.str(`{"packets":${a.packets},"vvmp_frames":${sum.vvmpFrames},"by_opcode":${toJson(byOpcode)},"expert":${toJson(expert)},"flows":[`);
  let first = true;
  for (const f of sum.flows.records()) {
    if (!first) out.char(0x2c);
    writeFlowJson(out, f);
    out.endRecord();
    first = false;
  }
  out.str('],"sessions":[');
  first = true;
  for (const s of a.sessions.rows()) {
    if (!first) out.char(0x2c);
    writeSessionJson(out, s);
    out.endRecord();
    first = false;
  }
  const pct = a.latency.overall();
  out.str('],"transactions":' + toJson({
    requests: a.requests,
    answered: a.answered,
    timed_out: a.timedOut,
    open_at_end: a.openAtEnd,
    latency_ms: pct ? { p50: pct.p50, p90: pct.p90, p99: pct.p99, max: pct.max } : null,
  }) + extraSections(sum) + undecodedJson(sum.undecoded) + '}\n');
  out.endRecord();
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
  const tb = new TextBuilder();
  writeStatsJson(a, sum, tb);
  return JSON.parse(tb.take()) as Record<string, JsonValue>;
}
