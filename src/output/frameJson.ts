// The per-frame JSON record of OUTPUT.md (`vvmp read --json`), built from a
// decoded frame and its place in the capture.

import { hexId } from '../protocol/codec.js';
import { isDevicesPayload, type DecodedFrame, type Payload } from '../protocol/decode.js';
import type { BlockRecord } from '../protocol/codec.js';
import { HEADER, HEADER_SIZE, type BlockLayout } from '../protocol/fields.js';
import type { Finding } from '../protocol/expert.js';
import { RawNumber, type JsonValue } from './jsonText.js';
import { TextBuilder, fractionDigits, utf8 } from './textBuilder.js';

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

/** A block record as JSON: field names from the record, u64 values as exact digits (frames made otherwise). */
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

/** A layout's record written from the frame's bytes at `base` (see layoutJsonOf). */
type BlockJson = (tb: TextBuilder, b: Uint8Array, base: number) => void;

/** Source of a statement writing a field of `width` bytes at `base + at` as JSON (`num` of the value the decoder reads). */
function valueSource(at: number, width: number): string | null {
  const byte = (i: number): string => `b[base + ${at + i}]`;
  switch (width) {
    case 1: return `tb.uint(${byte(0)});`;
    case 2: return `tb.uint((${byte(0)} << 8) | ${byte(1)});`;
    case 3: return `tb.uint((${byte(0)} << 16) | (${byte(1)} << 8) | ${byte(2)});`;
    case 4: return `tb.uint(u32(b, base + ${at}));`;
    case 8: return `u64(tb, b, base + ${at});`;
    default: return null;
  }
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** A u64 field as its decimal digits (the decoder's BigInt's), without a BigInt below 2^53. */
function u64(tb: TextBuilder, b: Uint8Array, at: number): void {
  const hi = u32(b, at);
  if (hi < 0x200000) tb.uint(hi * 4294967296 + u32(b, at + 4));
  else tb.str(((BigInt(hi) << 32n) | BigInt(u32(b, at + 4))).toString());
}

/**
 * A layout's record as JSON, made once per layout (as codec.ts makes its
 * readers): one straight function that copies each key's precomputed bytes
 * (`{"name":`, `,"name":`) and writes each value read where it lies in the
 * frame's bytes, as the decoder read it into the record (same order: the
 * record is one object literal of the layout's fields). Null when a field
 * cannot be written so (then the record itself is written).
 */
interface LayoutJson {
  write: BlockJson;
  size: number;
}

const layoutJson = new WeakMap<BlockLayout, LayoutJson | null>();

function layoutJsonOf(layout: BlockLayout): LayoutJson | null {
  let j = layoutJson.get(layout);
  if (j !== undefined) return j;
  const names = layout.fields.map((f) => f.name);
  const values = layout.fields.map((f) => valueSource(f.offset, f.width));
  // Integer-like or repeated names would change the record's key order: write the record then.
  const plain = names.every((n) => !/^\d+$/.test(n)) && new Set(names).size === names.length && values.every((v) => v !== null);
  if (plain) {
    const keys = names.map((n, i) => utf8(`${i === 0 ? '{' : ','}${JSON.stringify(n)}:`));
    const body = names.length === 0 ? 'tb.char(0x7b);' : values.map((v, i) => `tb.lit(K[${i}]); ${v}`).join(' ');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const write = new Function('K', 'u32', 'u64', `return function writeBlock(tb, b, base) { ${body} tb.char(0x7d); };`)(keys, u32, u64) as BlockJson;
    j = { write, size: layout.size };
  } else {
    j = null;
  }
  layoutJson.set(layout, j);
  return j;
}

function writeBlock(tb: TextBuilder, rec: BlockRecord, j: LayoutJson | null, b: Uint8Array, base: number): void {
  if (j === null || base + j.size > b.length) writeRecord(tb, rec);
  else j.write(tb, b, base);
}

/** `,"payload":` and the payload. */
function writePayload(tb: TextBuilder, d: DecodedFrame): void {
  const p = d.payload;
  if (p === null) {
    tb.lit(K_PAYLOAD_NULL);
    return;
  }
  tb.lit(K_PAYLOAD);
  const layout = d.payloadBlock;
  const j = layout ? layoutJsonOf(layout) : null;
  if (!isDevicesPayload(p)) {
    writeBlock(tb, p, j, d.bytes, HEADER_SIZE);
    return;
  }
  tb.lit(DEVICES);
  for (let i = 0; i < p.devices.length; i++) {
    if (i > 0) tb.char(0x2c);
    writeBlock(tb, p.devices[i]!, j, d.bytes, HEADER_SIZE + i * (layout?.size ?? 0));
  }
  tb.lit(END_DEVICES);
}

/** A u64 id as a JSON string: from the frame's bytes where they hold it (no BigInt arithmetic), else from its value. */
function writeId(tb: TextBuilder, v: bigint | null, b: Uint8Array, at: number): void {
  if (v === null) tb.lit(NULL);
  else if (b.length >= at + 8) tb.char(0x22).hexId8(b, at).char(0x22);
  else tb.char(0x22).hexId(v).char(0x22);
}

const CLIENT_AT = HEADER.fields.find((f) => f.name === 'client_id')!.offset;
const SERVER_AT = HEADER.fields.find((f) => f.name === 'server_id')!.offset;

// The record's constant parts, as bytes made once.
const NULL = utf8('null');
const K_FRAME = utf8('{"frame":');
const K_PACKET = utf8(',"packet":');
const K_TIME = utf8(',"time":');
const K_TRANSPORT = utf8(',"transport":"');
const K_SRC = utf8('","src":');
const K_DST = utf8(',"dst":');
const K_OPCODE = utf8(',"opcode":');
const K_NAME = utf8(',"name":');
const K_UDP_SRC = utf8(',"transport":"udp","src":');
const K_TCP_SRC = utf8(',"transport":"tcp","src":');
const K_REPLY_NULL = utf8(',"reply":null');
const K_REPLY_TRUE = utf8(',"reply":true');
const K_REPLY_FALSE = utf8(',"reply":false');
const K_SUB_OPCODE = utf8(',"sub_opcode":');
const K_STATUS = utf8(',"status":');
const K_SRC_SAN = utf8(',"src_san":');
const K_DST_SAN = utf8(',"dst_san":');
const K_CLIENT_ID = utf8(',"client_id":');
const K_SERVER_ID = utf8(',"server_id":');
const K_TRANSACTION_ID = utf8(',"transaction_id":');
const K_LENGTH = utf8(',"length":');
const K_CHECKSUM = utf8(',"checksum":');
const K_CHECKSUM_OK_TRUE = utf8(',"checksum_ok":true');
const K_CHECKSUM_OK_FALSE = utf8(',"checksum_ok":false');
const K_PAYLOAD = utf8(',"payload":');
const K_PAYLOAD_NULL = utf8(',"payload":null');
const K_SESSION = utf8(',"session":');
const K_EXPERT = utf8(',"expert":[');
const K_CODE = utf8('{"code":"');
const K_SEVERITY = utf8('","severity":"');
const K_MESSAGE = utf8('","message":');
const DEVICES = utf8('{"devices":[');
const END_DEVICES = utf8(']}');
const END = utf8(']}');

/**
 * Writes one NDJSON record (no newline) into `tb` (the hot path of
 * `read --json`): the same keys and values as `frameRecord`, which the tests
 * compare it with.
 */
export function writeFrameJson(tb: TextBuilder, d: DecodedFrame, c: FrameJsonPlace): void {
  const h = d.header;
  const b = d.bytes;
  tb.lit(K_FRAME).uint(c.number).lit(K_PACKET).uint(c.packet).lit(K_TIME).uint(c.tsSec);
  if (c.tsDigits > 0) tb.char(0x2e).frac(c.tsNsec, c.tsDigits);
  if (c.transport === 'udp') tb.lit(K_UDP_SRC);
  else if (c.transport === 'tcp') tb.lit(K_TCP_SRC);
  else tb.lit(K_TRANSPORT).rep(c.transport).lit(K_SRC);
  tb.json(c.srcText).lit(K_DST).json(c.dstText)
    .lit(K_OPCODE).numOrNull(h.opcode).lit(K_NAME).repJson(d.name)
    .lit(d.reply === null ? K_REPLY_NULL : d.reply ? K_REPLY_TRUE : K_REPLY_FALSE)
    .lit(K_SUB_OPCODE).numOrNull(h.sub_opcode).lit(K_STATUS).repJson(d.status)
    .lit(K_SRC_SAN).numOrNull(h.src_san).lit(K_DST_SAN).numOrNull(h.dst_san).lit(K_CLIENT_ID);
  writeId(tb, h.client_id, b, CLIENT_AT);
  tb.lit(K_SERVER_ID);
  writeId(tb, h.server_id, b, SERVER_AT);
  tb.lit(K_TRANSACTION_ID).numOrNull(h.transaction_id).lit(K_LENGTH).numOrNull(h.length)
    .lit(K_CHECKSUM).numOrNull(h.checksum).lit(d.checksumOk ? K_CHECKSUM_OK_TRUE : K_CHECKSUM_OK_FALSE);
  writePayload(tb, d);
  tb.lit(K_SESSION).json(c.session).lit(K_EXPERT);
  const ex = c.expert;
  for (let i = 0; i < ex.length; i++) {
    const x = ex[i]!;
    if (i > 0) tb.char(0x2c);
    tb.lit(K_CODE).rep(x.code).lit(K_SEVERITY).rep(x.severity).lit(K_MESSAGE).json(x.message).char(0x7d);
  }
  tb.lit(END);
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
