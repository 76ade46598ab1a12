// The one-line summary of a frame (text `read`, the terminal UI's list).

import type { AnalyzedFrame } from '../analysis/frame.js';
import type { BlockRecord } from '../protocol/codec.js';
import { isDevicesPayload } from '../protocol/decode.js';
import type { Finding } from '../protocol/expert.js';
import {
  ACCESS_TYPES, ALLOC_FLAG_BITS, OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS,
  QOS_CLASSES, STORAGE_TYPES,
} from '../protocol/fields.js';
import { UNITS, groupDigits } from './format.js';
import { TextBuilder } from './textBuilder.js';

function nameOr(names: Readonly<Record<number, string>>, v: unknown): string {
  return names[Number(v)] ?? `0x${Number(v).toString(16)}`;
}

const FLAG_NAMES = ALLOC_FLAG_BITS.map((b) => ({ bit: b.bit, name: b.name.toLowerCase() }));
const qosTexts = new Map<number, string>();

/** `realtime`, `best-effort`, or `qos=N` for values the table does not name. */
function qosText(v: number | bigint): string {
  const n = Number(v);
  let t = qosTexts.get(n);
  if (t === undefined) {
    t = (QOS_CLASSES[n] ?? `qos=${v}`).toLowerCase().replace('_', '-');
    if (n in QOS_CLASSES) qosTexts.set(n, t);
  }
  return t;
}

// The summary is written piece by piece into the builder (no string per
// part, no array to join): each writer below writes what the string
// functions of format.ts (humanBytes, humanKb, groupDigits) return.

/** humanBytes(bytes). */
function writeBytes(tb: TextBuilder, bytes: number | bigint): void {
  let v = Number(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) tb.uint(v).str(' B');
  else tb.str(v.toFixed(1)).char(0x20).str(UNITS[u]!);
}

/** humanKb(kb). */
function writeKb(tb: TextBuilder, kb: number | bigint): void {
  writeBytes(tb, Number(kb) * 1024);
}

/** groupDigits(v). */
function writeGrouped(tb: TextBuilder, v: number | bigint): void {
  const s = v.toString();
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) {
      // Not a plain digit string: the string function's own rule.
      tb.str(groupDigits(v));
      return;
    }
  }
  for (let i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 === 0) tb.char(0x2c);
    tb.char(s.charCodeAt(i));
  }
}

function writeAlloc(tb: TextBuilder, p: BlockRecord, reply: boolean): void {
  tb.str(nameOr(STORAGE_TYPES, p.storage_type)).char(0x20).str(nameOr(ACCESS_TYPES, p.access_type)).char(0x20);
  writeKb(tb, p.capacity_kb!);
  tb.char(0x20);
  writeKb(tb, p.bandwidth_kb!);
  tb.str('/s ').str(qosText(p.qos!));
  const flags = Number(p.flags);
  let first = true;
  for (const b of FLAG_NAMES) {
    if (!(flags & (1 << b.bit))) continue;
    tb.char(first ? 0x20 : 0x2b).str(b.name);
    first = false;
  }
  if (reply || Number(p.session_id) !== 0) tb.str(' session=').num(p.session_id!);
}

/** The space before a part of a summary begun at `start` (none before the first). */
function space(tb: TextBuilder, start: number): void {
  if (tb.length > start) tb.char(0x20);
}

/** Writes the payload's part of the summary (what payloadText was), with its separating space; nothing when it has none. */
function writePayloadPart(tb: TextBuilder, start: number, f: AnalyzedFrame): void {
  const d = f.decoded;
  const p = d.payload;
  if (!p || !d.def) return;
  const base = (d.header.opcode ?? 0) & 0x7fff;
  if (isDevicesPayload(p)) {
    space(tb, start);
    tb.uint(p.devices.length).str(p.devices.length === 1 ? ' device' : ' devices');
    return;
  }
  switch (base) {
    case OP_ALLOCATE:
    case OP_MODIFY:
      space(tb, start);
      writeAlloc(tb, p, d.reply === true);
      return;
    case OP_INITIALIZE:
      space(tb, start);
      tb.str('session=').num(p.session_id!);
      if (Number(p.stripe_size)) writeBytes(tb.str(' stripe='), p.stripe_size!);
      if (Number(p.cache_line_size)) writeBytes(tb.str(' cache-line='), p.cache_line_size!);
      if (Number(p.block_size)) writeBytes(tb.str(' block='), p.block_size!);
      if (Number(p.include_device_id)) tb.str(' include=').num(p.include_device_id!);
      if (Number(p.exclude_device_id)) tb.str(' exclude=').num(p.exclude_device_id!);
      return;
    case OP_FREE:
      space(tb, start);
      tb.str('session=').num(p.session_id!).str(' release=');
      if (Number(p.release_kb) === 0) tb.str('all');
      else writeKb(tb, p.release_kb!);
      return;
    case OP_STATISTICS:
      space(tb, start);
      tb.str('session=').num(p.session_id!);
      if (!d.reply) return;
      writeGrouped(tb.str(' age='), p.age_ms!);
      writeBytes(tb.str(' ms read='), p.bytes_read!);
      writeBytes(tb.str(' written='), p.bytes_written!);
      writeGrouped(tb.str(' ops='), p.io_ops!);
      tb.str(' errors=').num(p.io_errors!);
      return;
    default:
      return;
  }
}

const MARK = { error: '✗', warning: '⚠', note: '•' } as const;

export function findingMarks(expert: readonly Finding[]): string {
  return expert.map((x) => `${MARK[x.severity]} ${x.code}`).join(' ');
}

/** Writes `text` as the next space-separated part of a summary begun at `start` (empty parts are left out). */
function part(tb: TextBuilder, start: number, text: string): void {
  if (text === '') return;
  if (tb.length > start) tb.char(0x20);
  tb.str(text);
}

/** Writes the summary of `f` into `tb` (the hot path of text `read`). */
export function writeFrameSummary(tb: TextBuilder, f: AnalyzedFrame): void {
  const d = f.decoded;
  const opcode = d.header.opcode;
  if (opcode === null) {
    tb.str('VVMP fragment (').uint(d.bytes.length).str(' bytes)');
    return;
  }
  const start = tb.length;
  const base = opcode & 0x7fff;
  part(tb, start, d.def ? d.name! : `Unknown 0x${opcode.toString(16).padStart(4, '0')}`);
  if (!(base === OP_ANNOUNCE && !d.reply)) part(tb, start, d.reply ? 'Reply' : 'Request');
  if (d.reply && d.status) part(tb, start, d.status);
  const sub = d.header.sub_opcode;
  if (!d.reply && d.def && sub !== null && (base === OP_QUERY || base === OP_ANNOUNCE || (base === OP_ALLOCATE && sub !== 0x01))) {
    const meaning = d.def.subops[sub];
    if (meaning) part(tb, start, meaning);
  }
  writePayloadPart(tb, start, f);
  const txid = d.header.transaction_id;
  if (txid !== null && base !== OP_ANNOUNCE) {
    if (tb.length > start) tb.char(0x20);
    tb.str('txid=').uint(txid);
  }
  if (f.latencyMs !== null) {
    if (tb.length > start) tb.char(0x20);
    tb.char(0x28).millis(f.latencyMs).str(' ms)');
  }
}

const summaryBuilder = new TextBuilder();

export function frameSummary(f: AnalyzedFrame): string {
  writeFrameSummary(summaryBuilder, f);
  return summaryBuilder.take();
}
