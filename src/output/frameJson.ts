// The per-frame JSON record of OUTPUT.md (`vvmp read --json`), built from a
// decoded frame and its place in the capture.

import { hexId } from '../protocol/codec.js';
import { isDevicesPayload, type DecodedFrame, type Payload } from '../protocol/decode.js';
import type { BlockRecord } from '../protocol/codec.js';
import type { Finding } from '../protocol/expert.js';
import { RawNumber, type JsonValue } from './jsonText.js';
import { TextBuilder, fractionDigits } from './textBuilder.js';

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
  return `${sec}.${fractionDigits(nsec, digits)}`;
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

/** The frame fields of one JSON record besides the decoded frame (FrameContext, without an object). */
export interface FrameJsonPlace {
  number: number;
  packet: number;
  tsSec: number;
  tsNsec: number;
  tsDigits: number;
  transport: string;
  srcText: string;
  dstText: string;
  session: string | null;
  expert: readonly Finding[];
}

/** A block record as JSON: field names from the table, u64 values as exact digits. */
function writeRecord(tb: TextBuilder, rec: BlockRecord): void {
  tb.char(0x7b);
  let first = true;
  for (const k in rec) {
    if (!first) tb.char(0x2c);
    tb.char(0x22).str(k).str('":').num(rec[k]!);
    first = false;
  }
  tb.char(0x7d);
}

function writePayload(tb: TextBuilder, p: Payload | null): void {
  if (p === null) {
    tb.str('null');
    return;
  }
  if (!isDevicesPayload(p)) {
    writeRecord(tb, p);
    return;
  }
  tb.str('{"devices":[');
  for (let i = 0; i < p.devices.length; i++) {
    if (i > 0) tb.char(0x2c);
    writeRecord(tb, p.devices[i]!);
  }
  tb.str(']}');
}

function writeId(tb: TextBuilder, v: bigint | null): void {
  if (v === null) tb.str('null');
  else tb.char(0x22).hexId(v).char(0x22);
}

/**
 * Writes one NDJSON record (no newline) into `tb` (the hot path of
 * `read --json`): the same keys and values as `frameRecord`, which the tests
 * compare it with.
 */
export function writeFrameJson(tb: TextBuilder, d: DecodedFrame, c: FrameJsonPlace): void {
  const h = d.header;
  tb.str('{"frame":').uint(c.number).str(',"packet":').uint(c.packet).str(',"time":').uint(c.tsSec);
  if (c.tsDigits > 0) tb.char(0x2e).str(fractionDigits(c.tsNsec, c.tsDigits));
  tb.str(',"transport":"').str(c.transport).str('","src":').json(c.srcText).str(',"dst":').json(c.dstText)
    .str(',"opcode":').numOrNull(h.opcode).str(',"name":').json(d.name)
    .str(',"reply":').str(d.reply === null ? 'null' : d.reply ? 'true' : 'false')
    .str(',"sub_opcode":').numOrNull(h.sub_opcode).str(',"status":').json(d.status)
    .str(',"src_san":').numOrNull(h.src_san).str(',"dst_san":').numOrNull(h.dst_san).str(',"client_id":');
  writeId(tb, h.client_id);
  tb.str(',"server_id":');
  writeId(tb, h.server_id);
  tb.str(',"transaction_id":').numOrNull(h.transaction_id).str(',"length":').numOrNull(h.length)
    .str(',"checksum":').numOrNull(h.checksum).str(',"checksum_ok":').str(d.checksumOk ? 'true' : 'false').str(',"payload":');
  writePayload(tb, d.payload);
  tb.str(',"session":').json(c.session).str(',"expert":[');
  const ex = c.expert;
  for (let i = 0; i < ex.length; i++) {
    const x = ex[i]!;
    if (i > 0) tb.char(0x2c);
    tb.str('{"code":"').str(x.code).str('","severity":"').str(x.severity).str('","message":').json(x.message).char(0x7d);
  }
  tb.str(']}');
}

const lineBuilder = new TextBuilder();

/** One NDJSON record as a string (no newline). */
export function frameJsonLine(d: DecodedFrame, c: FrameContext): string {
  writeFrameJson(lineBuilder, d, {
    number: c.frame, packet: c.packet, tsSec: c.tsSec, tsNsec: c.tsNsec, tsDigits: c.tsDigits, transport: c.transport,
    srcText: c.src, dstText: c.dst, session: c.session, expert: c.expert,
  });
  return lineBuilder.take();
}
