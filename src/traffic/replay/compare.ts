// Comparing a reply from the target with the reply the capture holds, field
// by field over the field table (header, then payload records).
//
// Ignored — what legitimately differs between two runs or two servers:
//   vvmp.checksum                      follows from the other bytes
//   vvmp.server_id                     another server has another id (compared
//                                      with --strict-server-id, after --server-id)
//   vvmp.src_san, vvmp.dst_san         only when --san maps SANs
//   vvmp.stats.age_ms, bytes_read,     counters of time and traffic
//   bytes_written, io_ops, io_errors
//   anything named with --ignore
// Mapped, not ignored:
//   session ids (every payload's session_id): the captured id is translated
//     through the session map learned from Allocate replies; an Allocate reply
//     teaches the map (captured id ↔ the target's id) and so always agrees
//   client_id through --client-id; transaction_id is the one sent (--renumber)
// When the status differs, the length and the payload are not compared (an
// error reply carries no payload worth comparing): one difference, the status.

import { hexId, readUint, type FieldValue } from '../../protocol/codec.js';
import type { DecodedFrame } from '../../protocol/decode.js';
import { Header, SESSION_ID_FIELDS, Stats } from '../../protocol/access.js';
import {
  FIELDS_BY_FILTER, HEADER, HEADER_SIZE, OP_ALLOCATE, REPLY_BIT, STATUS_OK, statusName, type BlockLayout, type FieldDef,
} from '../../protocol/fields.js';

export interface FieldDifference {
  field: string;
  expected: string;
  got: string;
}

export const STATUS_FIELD = `${HEADER.prefix}.status`;
export const PAYLOAD_FIELD = `${HEADER.prefix}.payload`;

/** Ignored unless asked for. */
export const DEFAULT_IGNORED: readonly string[] = [
  Header.field.checksum.filter,
  Stats.field.age_ms.filter, Stats.field.bytes_read.filter, Stats.field.bytes_written.filter, Stats.field.io_ops.filter,
  Stats.field.io_errors.filter,
];

/** The session ids of payloads (mapped through the session map, not compared as they are), with their readers. */
const SESSION_FIELDS: ReadonlyMap<FieldDef, (b: Uint8Array, base: number) => number> = new Map(
  [...SESSION_ID_FIELDS.values()].map((s) => [s.field, s.get] as const),
);

/** Names `--ignore` accepts: every field-table filter name, plus vvmp.status and vvmp.payload. */
export function isComparableField(name: string): boolean {
  return FIELDS_BY_FILTER.has(name) || name === STATUS_FIELD || name === PAYLOAD_FIELD;
}

export interface CompareOptions {
  ignore: ReadonlySet<string>;
  clientIds: ReadonlyMap<bigint, bigint>;
  serverIds: ReadonlyMap<bigint, bigint>;
}

/** Builds the ignore set from the options (see the header comment). */
export function ignoreSet(o: { strictServerId: boolean; sanMapped: boolean; extra: readonly string[] }): Set<string> {
  const s = new Set(DEFAULT_IGNORED);
  if (!o.strictServerId) s.add(Header.field.server_id.filter);
  if (o.sanMapped) {
    s.add(Header.field.src_san.filter);
    s.add(Header.field.dst_san.filter);
  }
  for (const x of o.extra) {
    s.add(x);
    if (x === Header.field.sub_opcode.filter) s.add(STATUS_FIELD);
    if (x === STATUS_FIELD) s.add(Header.field.sub_opcode.filter);
  }
  return s;
}

function hex(v: FieldValue, width: number): string {
  return '0x' + v.toString(16).padStart(width * 2, '0');
}

/** A value as the report shows it: names for enums and flags, 0x… for ids and hex fields, else decimal. */
export function displayValue(f: FieldDef, v: FieldValue): string {
  switch (f.kind) {
    case 'id':
      return hexId(BigInt(v));
    case 'enum':
      return f.names?.[Number(v)] ?? String(v);
    case 'flags': {
      const n = Number(v);
      if (n === 0) return '0';
      const names: string[] = [];
      let rest = n;
      for (const b of f.bits ?? []) {
        if (n & (1 << b.bit)) {
          names.push(b.name);
          rest &= ~(1 << b.bit);
        }
      }
      if (rest) names.push(hex(rest, f.width));
      return names.join('|');
    }
    default:
      return f.unit === 'hex' ? hex(v, f.width) : String(v);
  }
}

function sameBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

const F_OPCODE: FieldDef = Header.field.opcode;
const F_SUBOP: FieldDef = Header.field.sub_opcode;
const F_LENGTH: FieldDef = Header.field.length;
const F_CLIENT: FieldDef = Header.field.client_id;
const F_SERVER: FieldDef = Header.field.server_id;
const F_TXID: FieldDef = Header.field.transaction_id;

export interface ReplyContext {
  /** Transaction id the replayed request carried. */
  sentTxid: number;
  /** The target's session id for a captured (server, session), if learned. */
  sessionFor(server: bigint, sid: number): number | undefined;
  /** An Allocate reply granted `got` where the capture shows `expected` on `server`. */
  learn?(server: bigint, expected: number, got: number): void;
}

/**
 * Differences between the captured reply `exp` and the target's reply `got`
 * (whole frame bytes; UDP trailing bytes already cut). Empty: they match.
 */
export function compareReply(exp: DecodedFrame, got: Buffer, o: CompareOptions, ctx: ReplyContext): FieldDifference[] {
  const out: FieldDifference[] = [];
  const e = exp.bytes;
  const ign = o.ignore;
  if (got.length < HEADER_SIZE || e.length < HEADER_SIZE) {
    if (!ign.has(F_LENGTH.filter)) out.push({ field: F_LENGTH.filter, expected: `${e.length} bytes`, got: `${got.length} bytes` });
    return out;
  }
  const expServer = Header.get.server_id(e, 0);
  for (const f of HEADER.fields) {
    const name = f === F_SUBOP ? STATUS_FIELD : f.filter;
    if (f === F_LENGTH || ign.has(name) || ign.has(f.filter)) continue;
    if (f === F_SUBOP) {
      const es = Header.get.sub_opcode(e, 0);
      const gs = Header.get.sub_opcode(got, 0);
      if (es !== gs) out.push({ field: STATUS_FIELD, expected: statusName(es), got: statusName(gs) });
      continue;
    }
    let want: FieldValue;
    if (f === F_TXID) want = ctx.sentTxid;
    else if (f === F_CLIENT) {
      const c = Header.get.client_id(e, 0);
      want = o.clientIds.get(c) ?? c;
    }
    else if (f === F_SERVER) want = o.serverIds.get(expServer) ?? expServer;
    else if (f.width !== 8 && f !== F_OPCODE) want = readUint(e, f.offset, f.width);
    else {
      if (!sameBytes(e, f.offset, got, f.offset, f.width)) {
        out.push({ field: name, expected: displayValue(f, readUint(e, f.offset, f.width)), got: displayValue(f, readUint(got, f.offset, f.width)) });
      }
      continue;
    }
    const have = readUint(got, f.offset, f.width);
    if (have !== want) out.push({ field: name, expected: displayValue(f, want), got: displayValue(f, have) });
  }
  const eStatus = Header.get.sub_opcode(e, 0);
  const gStatus = Header.get.sub_opcode(got, 0);
  if (eStatus !== gStatus && !ign.has(STATUS_FIELD)) return out;

  const eLen = Header.get.length(e, 0);
  const gLen = Header.get.length(got, 0);
  if (eLen !== gLen && !ign.has(F_LENGTH.filter)) out.push({ field: F_LENGTH.filter, expected: String(eLen), got: String(gLen) });
  const block = exp.payloadBlock;
  const eEnd = Math.min(e.length, HEADER_SIZE + 4 * eLen);
  const gEnd = Math.min(got.length, HEADER_SIZE + 4 * gLen);
  if (!block) {
    // No decodable payload in the capture: compare the bytes, if any.
    if (eLen === gLen && eEnd > HEADER_SIZE && !ign.has(PAYLOAD_FIELD)
      && (eEnd !== gEnd || !sameBytes(e, HEADER_SIZE, got, HEADER_SIZE, eEnd - HEADER_SIZE))) {
      out.push({ field: PAYLOAD_FIELD, expected: e.subarray(HEADER_SIZE, eEnd).toString('hex'), got: got.subarray(HEADER_SIZE, gEnd).toString('hex') });
    }
    return out;
  }
  const okStatus = eStatus === STATUS_OK && gStatus === STATUS_OK;
  comparePayload(block, e, eEnd, got, gEnd, expServer, out, ign, ctx, okStatus && (exp.header.opcode! & ~REPLY_BIT) === OP_ALLOCATE);
  return out;
}

function comparePayload(
  block: BlockLayout, e: Buffer, eEnd: number, got: Buffer, gEnd: number, expServer: bigint,
  out: FieldDifference[], ign: ReadonlySet<string>, ctx: ReplyContext, grantedAllocate: boolean,
): void {
  const eRecs = Math.floor((eEnd - HEADER_SIZE) / block.size);
  const gRecs = Math.floor((gEnd - HEADER_SIZE) / block.size);
  const n = block.repeated ? Math.min(eRecs, gRecs) : eRecs >= 1 && gRecs >= 1 ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const eb = HEADER_SIZE + i * block.size;
    for (const f of block.fields) {
      if (ign.has(f.filter)) continue;
      const session = SESSION_FIELDS.get(f);
      if (session) {
        const s = session(e, eb);
        const g = session(got, eb);
        if (grantedAllocate && s !== 0 && g !== 0) {
          ctx.learn?.(expServer, s, g);
          continue;
        }
        const want = s === 0 ? 0 : ctx.sessionFor(expServer, s) ?? s;
        if (g !== want) out.push({ field: f.filter, expected: String(want), got: String(g) });
        continue;
      }
      if (f.width === 8) {
        if (!sameBytes(e, eb + f.offset, got, eb + f.offset, 8)) {
          out.push({ field: f.filter, expected: displayValue(f, readUint(e, eb + f.offset, 8)), got: displayValue(f, readUint(got, eb + f.offset, 8)) });
        }
        continue;
      }
      const a = readUint(e, eb + f.offset, f.width);
      const b = readUint(got, eb + f.offset, f.width);
      if (a !== b) out.push({ field: f.filter, expected: displayValue(f, a), got: displayValue(f, b) });
    }
  }
}
