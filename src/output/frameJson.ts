// The per-frame JSON record of OUTPUT.md (`vvmp read --json`), built from a
// decoded frame and its place in the capture.

import { hexId } from '../protocol/codec.js';
import { isDevicesPayload, type DecodedFrame, type Payload } from '../protocol/decode.js';
import type { BlockRecord } from '../protocol/codec.js';
import type { Finding } from '../protocol/expert.js';
import { RawNumber, type JsonValue } from './jsonText.js';

export interface FrameContext {
  frame: number;
  packet: number;
  tsSec: number;
  tsNsec: number;
  tsDigits: number;
  transport: 'udp' | 'tcp';
  src: string;
  dst: string;
  session: string | null;
  /** Every finding to show: the frame's own and the exchange-level ones. */
  expert: readonly Finding[];
}

/** Epoch seconds with exactly `digits` decimals, as JSON number text. */
export function formatTime(sec: number, nsec: number, digits: number): string {
  if (digits <= 0) return String(sec);
  const frac = String(nsec).padStart(9, '0').slice(0, Math.min(digits, 9));
  return `${sec}.${frac}`;
}

/** Header fields as OUTPUT.md names them (ids as hex strings). */
export function headerJson(d: DecodedFrame): Record<string, JsonValue> {
  const h = d.header;
  return {
    opcode: h.opcode,
    name: d.name,
    reply: d.reply,
    sub_opcode: h.sub_opcode,
    status: d.status,
    src_san: h.src_san,
    dst_san: h.dst_san,
    client_id: h.client_id === null ? null : hexId(h.client_id),
    server_id: h.server_id === null ? null : hexId(h.server_id),
    transaction_id: h.transaction_id,
    length: h.length,
    checksum: h.checksum,
  };
}

export function payloadJson(p: Payload | null): JsonValue {
  return p as JsonValue;
}

export function frameRecord(d: DecodedFrame, c: FrameContext): Record<string, JsonValue> {
  const h = headerJson(d);
  return {
    frame: c.frame,
    packet: c.packet,
    time: new RawNumber(formatTime(c.tsSec, c.tsNsec, c.tsDigits)),
    transport: c.transport,
    src: c.src,
    dst: c.dst,
    opcode: h.opcode,
    name: h.name,
    reply: h.reply,
    sub_opcode: h.sub_opcode,
    status: h.status,
    src_san: h.src_san,
    dst_san: h.dst_san,
    client_id: h.client_id,
    server_id: h.server_id,
    transaction_id: h.transaction_id,
    length: h.length,
    checksum: h.checksum,
    checksum_ok: d.checksumOk,
    payload: payloadJson(d.payload),
    session: c.session,
    expert: c.expert.map((f) => ({ code: f.code, severity: f.severity, message: f.message })),
  };
}

const q = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));
const n = (v: number | null): string => (v === null ? 'null' : String(v));
const id = (v: bigint | null): string => (v === null ? 'null' : `"${hexId(v)}"`);

/** A block record as JSON: field names from the table, u64 values as exact digits. */
function recordJson(rec: BlockRecord): string {
  let out = '{';
  let first = true;
  for (const k in rec) {
    out += `${first ? '' : ','}"${k}":${rec[k]}`;
    first = false;
  }
  return out + '}';
}

function payloadText(p: Payload | null): string {
  if (p === null) return 'null';
  if (isDevicesPayload(p)) return `{"devices":[${p.devices.map(recordJson).join(',')}]}`;
  return recordJson(p);
}

/**
 * One NDJSON record, written directly (the hot path of `read --json`): the
 * same keys and values as `frameRecord`, which the tests compare it with.
 */
export function frameJsonLine(d: DecodedFrame, c: FrameContext): string {
  const h = d.header;
  let expert = '';
  for (const x of c.expert) expert += `${expert ? ',' : ''}{"code":"${x.code}","severity":"${x.severity}","message":${JSON.stringify(x.message)}}`;
  return `{"frame":${c.frame},"packet":${c.packet},"time":${formatTime(c.tsSec, c.tsNsec, c.tsDigits)},"transport":"${c.transport}",`
    + `"src":${q(c.src)},"dst":${q(c.dst)},"opcode":${n(h.opcode)},"name":${q(d.name)},"reply":${d.reply === null ? 'null' : d.reply},`
    + `"sub_opcode":${n(h.sub_opcode)},"status":${q(d.status)},"src_san":${n(h.src_san)},"dst_san":${n(h.dst_san)},`
    + `"client_id":${id(h.client_id)},"server_id":${id(h.server_id)},"transaction_id":${n(h.transaction_id)},"length":${n(h.length)},`
    + `"checksum":${n(h.checksum)},"checksum_ok":${d.checksumOk},"payload":${payloadText(d.payload)},"session":${q(c.session)},"expert":[${expert}]}`;
}
