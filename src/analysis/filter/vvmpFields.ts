// The `vvmp.*` filter fields: every field of the protocol field table
// (HEADER and PAYLOAD_BLOCKS in src/protocol/fields.ts) with its flag bits and
// reserved bits, each block, and the fields the analysis derives (reply,
// status, session, request/response links). A field added to the table is
// filterable with no edit here.

import type { AnalyzedFrame } from '../frame.js';
import { accessFor, Header } from '../../protocol/access.js';
import { hexId } from '../../protocol/codec.js';
import { EXPERT_CODES } from '../../protocol/expert.js';
import {
  HEADER, HEADER_SIZE, OPCODES, PAYLOAD_BLOCKS, REPLY_BIT, STATUSES,
  type BlockLayout, type FieldDef,
} from '../../protocol/fields.js';
import type { BytesField, FilterField, NameTable, TimeField, Visit } from './fieldTypes.js';
import { bool, float, nameTable, namesOf, narrow, proto, single, str, withPresent, yes } from './helpers.js';

const P = HEADER.prefix;

/** Opcode names: requests and replies of the opcode (reply bit masked off) when it has replies. */
function opcodeNames(): NameTable {
  return nameTable(OPCODES.map((o) => [o.name, o.hasReply
    ? { value: BigInt(o.code), mask: BigInt(0xffff & ~REPLY_BIT) }
    : { value: BigInt(o.code) }] as const));
}

/** Value names that the field table does not carry, keyed by filter name. */
const EXTRA_NAMES: Readonly<Record<string, () => NameTable>> = {
  [`${P}.opcode`]: opcodeNames,
};

const UNIT_TEXT: Readonly<Record<string, string>> = {
  kb: 'KiB', kbps: 'KiB/s', bytes: 'bytes', ms: 'ms', words: '4-byte words',
};

function tableHelp(block: BlockLayout, def: FieldDef): string {
  const unit = def.unit ? UNIT_TEXT[def.unit] : undefined;
  let h = `${def.label}${unit ? ` (${unit})` : ''} — ${block.label}`;
  if (def.kind === 'id') h += ', 64-bit id';
  if (def.names) h += `: ${Object.values(def.names).join(', ')}`;
  if (def.bits) h += `; flags: ${def.bits.map((b) => b.name).join(', ')}`;
  return h;
}

/** The frame's bytes with a UDP datagram's trailing bytes (what the `vvmp` tree item covers). */
export function vvmpBytes(f: AnalyzedFrame): Buffer {
  const d = f.decoded;
  const b = d.bytes;
  return d.trailing > 0 && b.length > 0 ? Buffer.from(b.buffer, b.byteOffset, b.length + d.trailing) : b;
}

/**
 * Records of `block` in the frame (0 when its payload was not decoded with
 * it): read from the frame's length, as the decoder lays them out.
 */
function recordCount(f: AnalyzedFrame, block: BlockLayout): number {
  const d = f.decoded;
  if (d.payloadBlock !== block) return 0;
  return block.repeated ? (d.bytes.length - HEADER_SIZE) / block.size : 1;
}

/** Calls `p` with the start offset of each of the block's records in the frame; true when one satisfies it. */
function eachRecord(f: AnalyzedFrame, block: BlockLayout, p: (at: number, i: number) => boolean): boolean {
  const n = recordCount(f, block);
  for (let i = 0; i < n; i++) if (p(HEADER_SIZE + i * block.size, i)) return true;
  return false;
}

/**
 * A table field read in place from the frame's bytes (the field table's
 * accessor; no header object or payload record is read): a header field is
 * present when its bytes are, a payload field in each record of its block.
 */
function tableVisit<T>(block: BlockLayout, def: FieldDef): Visit<T> {
  const get = accessFor(block).get[def.name]! as (b: Uint8Array, base: number) => T;
  const end = def.offset + def.width;
  if (block === HEADER) {
    return (f, p) => {
      const b = f.decoded.bytes;
      return b.length >= end && p(get(b, 0));
    };
  }
  const size = block.size;
  if (block.repeated) {
    return (f, p) => {
      const d = f.decoded;
      if (d.payloadBlock !== block) return false;
      const b = d.bytes;
      for (let at = HEADER_SIZE; at < b.length; at += size) if (p(get(b, at))) return true;
      return false;
    };
  }
  return (f, p) => {
    const d = f.decoded;
    return d.payloadBlock === block && p(get(d.bytes, HEADER_SIZE));
  };
}

/** The bytes of a table field in each record (or the header). */
function tableRaw(block: BlockLayout, def: FieldDef): Visit<Buffer> {
  const { offset, width } = def;
  if (block === HEADER) {
    return (f, p) => {
      const b = f.decoded.bytes;
      return b.length >= offset + width && p(b.subarray(offset, offset + width));
    };
  }
  return (f, p) => eachRecord(f, block, (at) => p(f.decoded.bytes.subarray(at + offset, at + offset + width)));
}

function tableField(block: BlockLayout, def: FieldDef): FilterField {
  const extra = EXTRA_NAMES[def.filter];
  const names = def.names ? namesOf(def.names) : extra ? extra() : undefined;
  const base = { name: def.filter, help: tableHelp(block, def), names, bits: def.bits, raw: tableRaw(block, def) };
  if (def.width === 8) return { ...base, type: 'uint', wide: true, ...withPresent(tableVisit<bigint>(block, def)) };
  return { ...base, type: 'uint', wide: false, ...withPresent(tableVisit<number>(block, def)) };
}

/**
 * Sub-fields of a flags field, as Wireshark bitfields: one boolean per named
 * bit (`vvmp.alloc.flags.exclusive`), present wherever the flags are, and
 * `<flags>.reserved` (the reserved bits, shifted down) when it has any.
 */
function bitFields(block: BlockLayout, def: FieldDef): FilterField[] {
  const parent = tableVisit<number>(block, def);
  const raw = tableRaw(block, def);
  const out: FilterField[] = [];
  for (const b of def.bits ?? []) {
    const bit = b.bit;
    out.push({
      name: `${def.filter}.${b.name.toLowerCase()}`, type: 'bool', raw,
      help: `${b.name} flag (bit ${bit} of ${def.filter}): 1 or 0 — ${block.label}`,
      ...withPresent<boolean>((f, p) => parent(f, (v) => p(((v >>> bit) & 1) === 1))),
    });
  }
  const mask = def.reservedMask;
  if (mask) {
    let shift = 0;
    while (!((mask >>> shift) & 1)) shift++;
    out.push(narrow(`${def.filter}.reserved`, `Reserved bits of ${def.filter} (mask 0x${mask.toString(16)}), must be 0`,
      (f, p) => parent(f, (v) => p((v & mask) >>> shift))));
    out[out.length - 1]!.raw = raw;
  }
  return out;
}

function blockField(block: BlockLayout): FilterField {
  const present = (f: AnalyzedFrame) => recordCount(f, block) > 0;
  const raw: Visit<Buffer> = (f, p) => eachRecord(f, block, (at) => p(f.decoded.bytes.subarray(at, at + block.size)));
  return proto(block.prefix, `${block.label}${block.repeated ? 's (at least one)' : ''} present`, present, raw);
}

/** `<server_id>/<session_id>` as users may type it (`0xaa/17`) → as frames carry it (`0x00000000000000aa/17`). */
function canonSession(s: string): string {
  const m = /^(0x[0-9a-f]+|\d+)\/(\d+)$/i.exec(s.trim());
  return m ? `${hexId(BigInt(m[1]!))}/${BigInt(m[2]!)}` : s;
}

/** Blocks whose u16 session_id the derived `vvmp.session_id` shows (as the Lua dissector does): its declaration and reader. */
const SESSION_FIELD: ReadonlyMap<BlockLayout, { def: FieldDef; get: (b: Uint8Array, base: number) => number }> = new Map(
  PAYLOAD_BLOCKS.flatMap((b) => {
    const acc = accessFor(b);
    const def = acc.field['session_id'];
    return !b.repeated && def && def.width === 2
      ? [[b, { def, get: acc.get['session_id'] as (b: Uint8Array, base: number) => number }] as const] : [];
  }),
);

const SUB_OPCODE = Header.field.sub_opcode;

/** Response time of a reply: its latency, kept to the microsecond. */
const responseTime: TimeField = {
  name: `${P}.time`, type: 'time', relative: true,
  help: 'Response time of a reply, seconds from its request (as dns.time); the first reply of an exchange',
  present: (f) => f.decoded.reply === true && f.latencyMs !== null,
  get: (f, out) => {
    if (f.decoded.reply !== true || f.latencyMs === null) return false;
    const us = Math.round(f.latencyMs * 1000);
    out.sec = Math.floor(us / 1e6);
    out.nsec = (us - out.sec * 1e6) * 1000;
    return true;
  },
};

function derivedFields(): FilterField[] {
  const status = narrow(`${P}.status`, `Reply status: ${Object.values(STATUSES).join(', ')} or a number`,
    (f, p) => {
      const b = f.decoded.bytes;
      return f.decoded.reply === true && Header.has.sub_opcode(b.length) && p(Header.get.sub_opcode(b, 0));
    }, namesOf(STATUSES));
  status.raw = (f, p) => f.decoded.reply === true && f.decoded.bytes.length > SUB_OPCODE.offset
    && p(f.decoded.bytes.subarray(SUB_OPCODE.offset, SUB_OPCODE.offset + 1));
  const sessionId = narrow(`${P}.session_id`, 'Session id of any payload that carries one',
    (f, p) => {
      const d = f.decoded;
      const sf = d.payloadBlock ? SESSION_FIELD.get(d.payloadBlock) : undefined;
      return sf !== undefined && p(sf.get(d.bytes, HEADER_SIZE));
    });
  sessionId.raw = (f, p) => {
    const d = f.decoded;
    const sf = d.payloadBlock ? SESSION_FIELD.get(d.payloadBlock) : undefined;
    return sf !== undefined && p(d.bytes.subarray(HEADER_SIZE + sf.def.offset, HEADER_SIZE + sf.def.offset + sf.def.width));
  };
  const payload: BytesField = {
    name: `${P}.payload`, type: 'bytes', help: 'Payload bytes that were not decoded (unknown opcode, wrong size, cut off)',
    ...withPresent<Buffer>((f, p) => {
      const d = f.decoded;
      return d.payloadBlock === null && d.bytes.length > HEADER_SIZE && p(d.bytes.subarray(HEADER_SIZE));
    }),
  };
  payload.raw = payload.some;
  const trailing: BytesField = {
    name: `${P}.trailing`, type: 'bytes', help: 'Bytes after the frame in its UDP datagram',
    ...withPresent<Buffer>((f, p) => {
      const d = f.decoded;
      return d.trailing > 0 && d.bytes.length > 0 && p(vvmpBytes(f).subarray(d.bytes.length));
    }),
  };
  trailing.raw = trailing.some;
  return [
    bool(`${P}.reply`, 'Reply bit of the opcode: 1 or 0 (present in every frame with an opcode; "vvmp.reply == 1" selects replies)',
      (f) => f.decoded.reply),
    status,
    str(`${P}.name`, `Opcode name: ${OPCODES.map((o) => o.name).join(', ')}, Unknown`,
      single((f) => f.decoded.name), { names: [...OPCODES.map((o) => o.name), 'Unknown'] }),
    bool(`${P}.checksum_ok`, 'Checksum good (frame bytes sum to 0): 1 or 0 (present in every frame)', (f) => f.decoded.checksumOk),
    str(`${P}.session`, 'Session "<server_id>/<session_id>", e.g. "0xaa/17"', single((f) => f.session), { canon: canonSession }),
    sessionId,
    float(`${P}.latency`, 'Milliseconds from request to this reply (matched replies)',
      single((f) => (f.decoded.reply ? f.latencyMs : null))),
    narrow(`${P}.peer`, 'Frame number of the matching request or reply', single((f) => f.peer)),
    narrow(`${P}.response_in`, 'On a request: the frame number of its (first) reply',
      single((f) => (f.decoded.reply === false ? f.peer : null))),
    narrow(`${P}.response_to`, 'On a reply: the frame number of the request it answers',
      single((f) => (f.decoded.reply === true ? f.peer : null))),
    responseTime,
    payload,
    trailing,
    // One presence field per expert code, as the Lua dissector's expert infos are named.
    ...Object.keys(EXPERT_CODES).map((code) => proto(`${P}.expert.${code}`, `Expert finding ${code} (as expert.code == ${code})`,
      (f) => {
        const xs = f.expert;
        for (let i = 0; i < xs.length; i++) if (xs[i]!.code === code) return true;
        return false;
      })),
  ];
}

/** Every `vvmp.*` field, in help order: the protocol, the header, derived fields, each block with its fields. */
export function vvmpFields(): FilterField[] {
  const all: FilterField[] = [proto(P, 'Any VVMP frame (its bytes, with a UDP datagram\'s trailing bytes)', yes,
    (f, p) => p(vvmpBytes(f)))];
  for (const def of HEADER.fields) all.push(tableField(HEADER, def), ...bitFields(HEADER, def));
  all.push(...derivedFields());
  for (const block of PAYLOAD_BLOCKS) {
    all.push(blockField(block));
    for (const def of block.fields) all.push(tableField(block, def), ...bitFields(block, def));
  }
  return all;
}
