// The one-line summary of a frame (text `read`, the terminal UI's list).

import type { AnalyzedFrame } from '../analysis/frame.js';
import type { BlockRecord } from '../protocol/codec.js';
import { isDevicesPayload } from '../protocol/decode.js';
import type { Finding } from '../protocol/expert.js';
import {
  ACCESS_TYPES, ALLOC_FLAG_BITS, OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS,
  QOS_CLASSES, STORAGE_TYPES,
} from '../protocol/fields.js';
import { groupDigits, humanBytes, humanKb } from './format.js';
import { TextBuilder } from './textBuilder.js';

function nameOr(names: Readonly<Record<number, string>>, v: unknown): string {
  return names[Number(v)] ?? `0x${Number(v).toString(16)}`;
}

function allocText(p: BlockRecord, reply: boolean): string {
  const flags = ALLOC_FLAG_BITS.filter((b) => Number(p.flags) & (1 << b.bit)).map((b) => b.name.toLowerCase());
  const parts = [
    nameOr(STORAGE_TYPES, p.storage_type),
    nameOr(ACCESS_TYPES, p.access_type),
    humanKb(p.capacity_kb!),
    `${humanKb(p.bandwidth_kb!)}/s`,
    (QOS_CLASSES[Number(p.qos)] ?? `qos=${p.qos}`).toLowerCase().replace('_', '-'),
  ];
  if (flags.length) parts.push(flags.join('+'));
  if (reply || Number(p.session_id) !== 0) parts.push(`session=${p.session_id}`);
  return parts.join(' ');
}

function payloadText(f: AnalyzedFrame): string {
  const d = f.decoded;
  const p = d.payload;
  const base = (d.header.opcode ?? 0) & 0x7fff;
  if (!p || !d.def) return '';
  if (isDevicesPayload(p)) return `${p.devices.length} device${p.devices.length === 1 ? '' : 's'}`;
  switch (base) {
    case OP_ALLOCATE:
    case OP_MODIFY:
      return allocText(p, d.reply === true);
    case OP_INITIALIZE: {
      const extra: string[] = [];
      if (Number(p.stripe_size)) extra.push(`stripe=${humanBytes(p.stripe_size!)}`);
      if (Number(p.cache_line_size)) extra.push(`cache-line=${humanBytes(p.cache_line_size!)}`);
      if (Number(p.block_size)) extra.push(`block=${humanBytes(p.block_size!)}`);
      if (Number(p.include_device_id)) extra.push(`include=${p.include_device_id}`);
      if (Number(p.exclude_device_id)) extra.push(`exclude=${p.exclude_device_id}`);
      return [`session=${p.session_id}`, ...extra].join(' ');
    }
    case OP_FREE:
      return `session=${p.session_id} release=${Number(p.release_kb) === 0 ? 'all' : humanKb(p.release_kb!)}`;
    case OP_STATISTICS:
      if (!d.reply) return `session=${p.session_id}`;
      return `session=${p.session_id} age=${groupDigits(p.age_ms!)} ms read=${humanBytes(p.bytes_read!)} written=${humanBytes(p.bytes_written!)} ops=${groupDigits(p.io_ops!)} errors=${p.io_errors}`;
    default:
      return '';
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
  part(tb, start, payloadText(f));
  const txid = d.header.transaction_id;
  if (txid !== null && base !== OP_ANNOUNCE) {
    if (tb.length > start) tb.char(0x20);
    tb.str('txid=').uint(txid);
  }
  if (f.latencyMs !== null) {
    if (tb.length > start) tb.char(0x20);
    tb.char(0x28).str(String(f.latencyMs)).str(' ms)');
  }
}

const summaryBuilder = new TextBuilder();

export function frameSummary(f: AnalyzedFrame): string {
  writeFrameSummary(summaryBuilder, f);
  return summaryBuilder.take();
}
