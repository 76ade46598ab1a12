// Turns the analysis of one capture (a file or a live interface) into export
// rows: `frames` and `transactions` as exchanges finish, `sessions` and
// `flows` at the end. Fed by the Analyzer's unordered hooks (`frame`,
// `lateFinding`), so nothing but open requests is held: a request's frame row
// and its transaction row are written when the exchange is over (final reply,
// or timed out and past the analysis' late-reply grace, or end of capture),
// with the findings and session the exchange gave it.

import type { AnalyzerHooks, Analyzer } from '../../analysis/analyzer.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { Summary } from '../../analysis/summary.js';
import { sessionKey, type SessionRow } from '../../analysis/sessions.js';
import { isDevicesPayload } from '../../protocol/decode.js';
import type { BlockRecord } from '../../protocol/codec.js';
import { HEADER_SIZE, OP_ANNOUNCE, STATUS_PENDING, statusName } from '../../protocol/fields.js';
import type { Finding } from '../../protocol/expert.js';
import { communityId, protocolNumber, splitEndpoint } from './communityId.js';
import {
  FLOWS, FRAMES, FRAME_PAYLOAD, REQUEST_PAYLOAD, SESSIONS, TRANSACTIONS, columnIndex,
  type PayloadColumn, type Row, type TableName, type Value,
} from './schema.js';
import { epochNs, idText, isoTime, shardHash } from './values.js';

/** Where rows go. */
export interface RecordSink {
  row(table: TableName, row: Row): void;
}

/** What every row of one capture carries. */
export interface CaptureIdentity {
  site: string;
  /** File name, or `live:<iface>@<host>` for live capture. */
  capture: string;
  /** sha256 of the file's bytes (hex); for live capture, of the run's name and start. */
  digest: string;
}

/** A timed-out request's row waits this long (capture time) for a late reply: the analysis' grace plus a margin. */
const LATE_REPLY_WAIT_NS = 61e9;
const PENDING_NAME = statusName(STATUS_PENDING);

interface OpenExchange {
  req: AnalyzedFrame;
  reqBytes: number;
  first: AnalyzedFrame | null;
  timedOutAt: number | null;
}

const FX = columnIndex(FRAMES);
const TX = columnIndex(TRANSACTIONS);
const SX = columnIndex(SESSIONS);
const CX = columnIndex(FLOWS);

export class RecordCollector {
  readonly summary = new Summary();
  /** Rows written per table. */
  readonly counts: Record<TableName, number> = { frames: 0, transactions: 0, sessions: 0, flows: 0 };
  private readonly open = new Map<number, OpenExchange>();
  private readonly idPrefix: string;
  /** Latest capture time seen, ns since the epoch as a double (for the late-reply wait). */
  private latest = 0;
  private lastSweep = 0;

  constructor(private readonly id: CaptureIdentity, private readonly sink: RecordSink) {
    this.idPrefix = id.digest.slice(0, 16);
  }

  /** Hooks for a Pipeline/Analyzer. */
  hooks(): AnalyzerHooks {
    return {
      frame: (f) => this.frame(f),
      lateFinding: (f, x) => this.lateFinding(f, x),
      segment: (e) => this.summary.segment(e),
    };
  }

  private frame(f: AnalyzedFrame): void {
    this.summary.frame(f);
    const t = f.tsSec * 1e9 + f.tsNsec;
    if (t > this.latest) this.latest = t;
    const d = f.decoded;
    const bytes = d.bytes.length;
    if (bytes >= HEADER_SIZE && d.reply === false && d.header.opcode !== OP_ANNOUNCE) {
      this.open.set(f.number, { req: f, reqBytes: bytes, first: null, timedOutAt: null });
    } else {
      let x: OpenExchange | undefined;
      if (d.reply === true && f.peer !== null) x = this.open.get(f.peer);
      if (x && x.first === null && f.latencyMs !== null) x.first = f;
      this.emitFrame(f, bytes, x ?? null);
      if (x && d.status !== PENDING_NAME) this.finish(x, f);
    }
    if (this.latest - this.lastSweep > 1e9) this.sweep();
  }

  private lateFinding(f: AnalyzedFrame, x: Finding): void {
    this.summary.lateFinding(f, x);
    if (x.code !== 'timeout') return;
    const open = this.open.get(f.number);
    if (open) open.timedOutAt = this.latest;
  }

  /** Live capture: wall-clock time passed (ns since the epoch); timed-out exchanges past the wait are written. */
  tick(nowNs: number): void {
    if (nowNs > this.latest) this.latest = nowNs;
    this.sweep();
  }

  private sweep(): void {
    this.lastSweep = this.latest;
    for (const x of this.open.values()) {
      if (x.timedOutAt !== null && this.latest - x.timedOutAt > LATE_REPLY_WAIT_NS) this.finish(x, null);
    }
  }

  /** End of capture (after Pipeline.end): open exchanges, sessions and flows. */
  end(analyzer: Analyzer): void {
    for (const x of [...this.open.values()]) this.finish(x, null);
    let i = 0;
    for (const s of analyzer.sessions.rows()) this.emitSession(s, ++i);
    i = 0;
    for (const f of this.summary.flows.records()) {
      const a = splitEndpoint(f.a);
      const b = splitEndpoint(f.b);
      const cid = communityId(protocolNumber(f.transport), a.ip, a.port, b.ip, b.port);
      const r: Row = new Array<Value>(FLOWS.columns.length).fill(null);
      this.identity(r, `c${++i}`, cid);
      r[CX.community_id!] = cid;
      r[CX.transport!] = f.transport;
      r[CX.a!] = f.a; r[CX.a_addr!] = a.ip; r[CX.a_port!] = a.port;
      r[CX.b!] = f.b; r[CX.b_addr!] = b.ip; r[CX.b_port!] = b.port;
      r[CX.frames!] = f.frames; r[CX.bytes!] = f.bytes; r[CX.errors!] = f.errors;
      r[CX.first_ns!] = epochNs(f.firstSec, f.firstNsec); r[CX.first!] = isoTime(f.firstSec, f.firstNsec, f.digits);
      r[CX.last_ns!] = epochNs(f.lastSec, f.lastNsec); r[CX.last!] = isoTime(f.lastSec, f.lastNsec, f.digits);
      this.put('flows', r);
    }
  }

  /** Exchanges still waiting (live: held back until their reply or timeout). */
  get openExchanges(): number {
    return this.open.size;
  }

  private put(table: TableName, r: Row): void {
    this.counts[table]++;
    this.sink.row(table, r);
  }

  private identity(r: Row, local: string, shardText: string): void {
    r[0] = `${this.idPrefix}-${local}`;
    r[1] = this.id.site;
    r[2] = this.id.capture;
    r[3] = this.id.digest;
    r[4] = shardHash(shardText);
  }

  /** A session's rows stay on one shard: its key; otherwise the client's exchange. */
  private shardText(f: AnalyzedFrame): string {
    if (f.session !== null) return f.session;
    const h = f.decoded.header;
    return h.client_id === null ? `${this.id.digest}/${f.number}` : `${idText(h.client_id)}/${h.transaction_id}`;
  }

  private finish(x: OpenExchange, final: AnalyzedFrame | null): void {
    this.open.delete(x.req.number);
    const req = x.req;
    this.emitFrame(req, x.reqBytes, null);
    const d = req.decoded;
    const h = d.header;
    const r: Row = new Array<Value>(TRANSACTIONS.columns.length).fill(null);
    this.identity(r, `t${req.number}`, this.shardText(req));
    r[TX.request_frame!] = req.number;
    r[TX.request_packet!] = req.packet;
    const first = x.first;
    if (first) {
      r[TX.reply_frame!] = first.number;
      r[TX.reply_packet!] = first.packet;
      r[TX.status!] = first.decoded.status;
      r[TX.response_time_ns!] = elapsedNs(req, first);
      r[TX.reply_server_id!] = idText(first.decoded.header.server_id);
    }
    if (final) {
      r[TX.final_reply_frame!] = final.number;
      r[TX.final_status!] = final.decoded.status;
    }
    r[TX.answered!] = final ? 1 : 0;
    r[TX.timed_out!] = req.expert.some((e) => e.code === 'timeout') ? 1 : 0;
    r[TX.time_ns!] = epochNs(req.tsSec, req.tsNsec);
    r[TX.time!] = isoTime(req.tsSec, req.tsNsec, req.tsDigits);
    r[TX.opcode!] = h.opcode;
    r[TX.name!] = d.name;
    r[TX.sub_opcode!] = h.sub_opcode;
    r[TX.client_id!] = idText(h.client_id);
    r[TX.server_id!] = idText(h.server_id);
    r[TX.src_san!] = h.src_san;
    r[TX.dst_san!] = h.dst_san;
    r[TX.transaction_id!] = h.transaction_id;
    r[TX.session!] = req.session;
    r[TX.transport!] = req.transport;
    r[TX.client!] = req.srcText; r[TX.client_addr!] = req.src.ip; r[TX.client_port!] = req.src.port;
    r[TX.server!] = req.dstText; r[TX.server_addr!] = req.dst.ip; r[TX.server_port!] = req.dst.port;
    r[TX.findings!] = req.expert.map((e) => e.code);
    fillPayload(r, TX, REQUEST_PAYLOAD, d.payload !== null && !isDevicesPayload(d.payload) ? d.payload : null);
    this.put('transactions', r);
  }

  private emitFrame(f: AnalyzedFrame, bytes: number, x: OpenExchange | null): void {
    const d = f.decoded;
    const h = d.header;
    const r: Row = new Array<Value>(FRAMES.columns.length).fill(null);
    this.identity(r, `f${f.number}`, this.shardText(f));
    r[FX.frame!] = f.number;
    r[FX.packet!] = f.packet;
    r[FX.first_packet!] = f.firstPacket;
    r[FX.time_ns!] = epochNs(f.tsSec, f.tsNsec);
    r[FX.time!] = isoTime(f.tsSec, f.tsNsec, f.tsDigits);
    r[FX.transport!] = f.transport;
    r[FX.src!] = f.srcText; r[FX.src_addr!] = f.src.ip; r[FX.src_port!] = f.src.port;
    r[FX.dst!] = f.dstText; r[FX.dst_addr!] = f.dst.ip; r[FX.dst_port!] = f.dst.port;
    r[FX.opcode!] = h.opcode;
    r[FX.name!] = d.name;
    r[FX.reply!] = d.reply === null ? null : d.reply ? 1 : 0;
    r[FX.status!] = d.status;
    r[FX.src_san!] = h.src_san;
    r[FX.dst_san!] = h.dst_san;
    r[FX.client_id!] = idText(h.client_id);
    r[FX.server_id!] = idText(h.server_id);
    r[FX.transaction_id!] = h.transaction_id;
    r[FX.sub_opcode!] = h.sub_opcode;
    r[FX.length!] = h.length;
    r[FX.checksum!] = h.checksum;
    r[FX.checksum_ok!] = d.checksumOk ? 1 : 0;
    r[FX.frame_bytes!] = bytes;
    r[FX.session!] = f.session;
    r[FX.peer_frame!] = f.peer;
    if (x && f.latencyMs !== null) r[FX.response_time_ns!] = elapsedNs(x.req, f);
    r[FX.findings!] = f.expert.map((e) => e.code);
    r[FX.finding_messages!] = f.expert.map((e) => e.message);
    r[FX.max_severity!] = maxSeverity(f.expert);
    const p = d.payload;
    if (p !== null && isDevicesPayload(p)) {
      r[FX.device_count!] = p.devices.length;
      r[FX.devices!] = JSON.stringify(p.devices, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
    }
    fillPayload(r, FX, FRAME_PAYLOAD, p !== null && !isDevicesPayload(p) ? p : null);
    this.put('frames', r);
  }

  private emitSession(s: SessionRow, n: number): void {
    const key = s.state === 'REQUESTED' || s.state === 'WAITING' || s.state === 'REJECTED'
      ? null : sessionKey(s.server_id, s.session_id);
    const r: Row = new Array<Value>(SESSIONS.columns.length).fill(null);
    this.identity(r, `s${n}`, key ?? `${idText(s.client_id)}/${s.opened.sec}.${s.opened.nsec}`);
    r[SX.session!] = key;
    r[SX.server_id!] = idText(s.server_id);
    r[SX.session_id!] = s.session_id;
    r[SX.client_id!] = idText(s.client_id);
    r[SX.state!] = s.state;
    r[SX.storage_type!] = s.storage_type;
    r[SX.storage_type_name!] = s.storage_type === null ? null : storageName(s.storage_type);
    r[SX.capacity_kb!] = s.capacity_kb;
    r[SX.opened_ns!] = epochNs(s.opened.sec, s.opened.nsec);
    r[SX.opened!] = isoTime(s.opened.sec, s.opened.nsec, s.opened.digits);
    if (s.closed) {
      r[SX.closed_ns!] = epochNs(s.closed.sec, s.closed.nsec);
      r[SX.closed!] = isoTime(s.closed.sec, s.closed.nsec, s.closed.digits);
      r[SX.duration_ns!] = (s.closed.sec - s.opened.sec) * 1e9 + (s.closed.nsec - s.opened.nsec);
    }
    this.put('sessions', r);
  }
}

const STORAGE_NAMES = REQUEST_PAYLOAD.find((p) => p.field === 'storage_type' && p.names === 'enum')!.def.names ?? {};

function storageName(v: number): string | null {
  return STORAGE_NAMES[v] ?? null;
}

/** Nanoseconds from one frame to another, exact (doubles hold ~104 days of ns). */
function elapsedNs(from: AnalyzedFrame, to: AnalyzedFrame): number {
  return (to.tsSec - from.tsSec) * 1e9 + (to.tsNsec - from.tsNsec);
}

function maxSeverity(expert: readonly Finding[]): string | null {
  let best: string | null = null;
  for (const x of expert) {
    if (x.severity === 'error') return 'error';
    if (x.severity === 'warning') best = 'warning';
    else if (best === null) best = 'note';
  }
  return best;
}

function fillPayload(r: Row, at: Readonly<Record<string, number>>, cols: readonly PayloadColumn[], rec: BlockRecord | null): void {
  if (rec === null) return;
  for (const c of cols) {
    const v = rec[c.field];
    if (v === undefined) continue;
    const i = at[c.column.name]!;
    if (c.names === 'enum') r[i] = c.def.names?.[Number(v)] ?? null;
    else if (c.names === 'flags') {
      const n = Number(v);
      r[i] = (c.def.bits ?? []).filter((b) => n & (1 << b.bit)).map((b) => b.name).join('|');
    } else r[i] = v;
  }
}
