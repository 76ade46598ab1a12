// The display-filter field registry. VVMP fields come from the field table
// (HEADER and PAYLOAD_BLOCKS in src/protocol/fields.ts): a field added there is
// filterable here with no edit. Derived fields (reply, status, session,
// latency, addresses, ports, expert findings) are declared below.
//
// Every field is read with `some(frame, pred)`: true when ANY of the field's
// values in the frame satisfies `pred` (Wireshark semantics for repeated
// fields such as device records or ip.addr). Nothing allocates per frame.

import type { AnalyzedFrame } from '../frame.js';
import { hexId, type BlockRecord } from '../../protocol/codec.js';
import type { DevicesPayload } from '../../protocol/decode.js';
import { EXPERT_CODES, severityRank, type Severity } from '../../protocol/expert.js';
import {
  HEADER, OPCODES, PAYLOAD_BLOCKS, REPLY_BIT, STATUSES,
  type BlockLayout, type FieldDef, type FlagBit,
} from '../../protocol/fields.js';

export type Visit<T> = (f: AnalyzedFrame, pred: (v: T) => boolean) => boolean;

/** A named integer value. With a mask, `==` compares `value & mask` (opcode names match requests and replies). */
export interface IntConst {
  value: bigint;
  mask?: bigint;
}

export interface NameTable {
  /** Lower-case name → value. */
  byName: ReadonlyMap<string, IntConst>;
  /** Names as shown, in value order. */
  list: readonly string[];
}

interface Common {
  name: string;
  /** One line for help and completion. */
  help: string;
  /** The field has at least one value in the frame. */
  present: (f: AnalyzedFrame) => boolean;
}

/** Unsigned integer up to 32 bits (JS number at run time). */
export interface NarrowUintField extends Common {
  type: 'uint';
  wide: false;
  some: Visit<number>;
  names?: NameTable;
  bits?: readonly FlagBit[];
}

/** 64-bit unsigned integer (bigint at run time): ids, byte counters. */
export interface WideUintField extends Common {
  type: 'uint';
  wide: true;
  some: Visit<bigint>;
  names?: NameTable;
  bits?: readonly FlagBit[];
}

export interface FloatField extends Common {
  type: 'float';
  some: Visit<number>;
}

/** The capture timestamp, compared exactly as (seconds, nanoseconds). */
export interface TimeField extends Common {
  type: 'time';
}

export interface StringField extends Common {
  type: 'string';
  some: Visit<string>;
  /** Closed set of values (canonical spelling); `==` and `in` accept them case-insensitively and nothing else. */
  names?: readonly string[];
  /** Normalises a value typed by the user before `==` and `in`. */
  canon?: (s: string) => string;
}

export interface BoolField extends Common {
  type: 'bool';
  some: Visit<boolean>;
}

/** IPv4 or IPv6 address, as the endpoint's text. */
export interface IpField extends Common {
  type: 'ip';
  some: Visit<string>;
}

/** A protocol or block: only tested for presence. */
export interface ProtoField extends Common {
  type: 'proto';
}

export type FilterField =
  | NarrowUintField | WideUintField | FloatField | TimeField | StringField | BoolField | IpField | ProtoField;

export type FieldType = FilterField['type'];

// ---- helpers ----------------------------------------------------------------

const yes = (): boolean => true;

function nameTable(entries: Iterable<readonly [string, IntConst]>): NameTable {
  const byName = new Map<string, IntConst>();
  const list: string[] = [];
  for (const [name, c] of entries) {
    byName.set(name.toLowerCase(), c);
    list.push(name);
  }
  return { byName, list };
}

function namesOf(names: Readonly<Record<number, string>>): NameTable {
  return nameTable(Object.entries(names).map(([v, n]) => [n, { value: BigInt(v) }] as const));
}

/** Opcode names: requests and replies of the opcode (reply bit masked off) when it has replies. */
function opcodeNames(): NameTable {
  return nameTable(OPCODES.map((o) => [o.name, o.hasReply
    ? { value: BigInt(o.code), mask: BigInt(0xffff & ~REPLY_BIT) }
    : { value: BigInt(o.code) }] as const));
}

/** Value names that the field table does not carry, keyed by filter name. */
const EXTRA_NAMES: Readonly<Record<string, () => NameTable>> = {
  [`${HEADER.prefix}.opcode`]: opcodeNames,
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

function withPresent<T>(some: Visit<T>): { some: Visit<T>; present: (f: AnalyzedFrame) => boolean } {
  return { some, present: (f) => some(f, yes) };
}

/** A getter for a table field of `block`; null/undefined values mean absent. */
function tableVisit<T>(block: BlockLayout, def: FieldDef): Visit<T> {
  const key = def.name;
  if (block === HEADER) {
    return (f, p) => {
      const v = (f.decoded.header as unknown as Record<string, T | null>)[key];
      return v !== null && v !== undefined && p(v);
    };
  }
  if (block.repeated) {
    return (f, p) => {
      const d = f.decoded;
      if (d.payloadBlock !== block) return false;
      const recs = (d.payload as DevicesPayload).devices;
      for (let i = 0; i < recs.length; i++) {
        if (p(recs[i]![key] as T)) return true;
      }
      return false;
    };
  }
  return (f, p) => {
    const d = f.decoded;
    if (d.payloadBlock !== block) return false;
    const v = (d.payload as BlockRecord)[key];
    return v !== undefined && p(v as T);
  };
}

function tableField(block: BlockLayout, def: FieldDef): FilterField {
  const extra = EXTRA_NAMES[def.filter];
  const names = def.names ? namesOf(def.names) : extra ? extra() : undefined;
  const base = { name: def.filter, help: tableHelp(block, def), names, bits: def.bits };
  if (def.width === 8) return { ...base, type: 'uint', wide: true, ...withPresent(tableVisit<bigint>(block, def)) };
  return { ...base, type: 'uint', wide: false, ...withPresent(tableVisit<number>(block, def)) };
}

function blockField(block: BlockLayout): ProtoField {
  const present = block.repeated
    ? (f: AnalyzedFrame) => f.decoded.payloadBlock === block && (f.decoded.payload as DevicesPayload).devices.length > 0
    : (f: AnalyzedFrame) => f.decoded.payloadBlock === block;
  return { name: block.prefix, type: 'proto', help: `${block.label}${block.repeated ? 's (at least one)' : ''} present`, present };
}

// ---- derived fields -----------------------------------------------------------

function narrow(name: string, help: string, some: Visit<number>, names?: NameTable): NarrowUintField {
  return { name, help, type: 'uint', wide: false, names, ...withPresent(some) };
}

function single<T>(get: (f: AnalyzedFrame) => T | null): Visit<T> {
  return (f, p) => {
    const v = get(f);
    return v !== null && p(v);
  };
}

function str(name: string, help: string, some: Visit<string>, extra: Partial<Pick<StringField, 'names' | 'canon'>> = {}): StringField {
  return { name, help, type: 'string', ...extra, ...withPresent(some) };
}

function bool(name: string, help: string, get: (f: AnalyzedFrame) => boolean | null): BoolField {
  return { name, help, type: 'bool', ...withPresent(single(get)) };
}

function proto(name: string, help: string, present: (f: AnalyzedFrame) => boolean): ProtoField {
  return { name, help, type: 'proto', present };
}

function port(name: string, help: string, transport: 'tcp' | 'udp', side: 'src' | 'dst' | 'any'): NarrowUintField {
  const some: Visit<number> = side === 'any'
    ? (f, p) => f.transport === transport && (p(f.src.port) || p(f.dst.port))
    : side === 'src'
      ? (f, p) => f.transport === transport && p(f.src.port)
      : (f, p) => f.transport === transport && p(f.dst.port);
  return narrow(name, help, some);
}

/** `<server_id>/<session_id>` as users may type it (`0xaa/17`) → as frames carry it (`0x00000000000000aa/17`). */
function canonSession(s: string): string {
  const m = /^(0x[0-9a-f]+|\d+)\/(\d+)$/i.exec(s.trim());
  return m ? `${hexId(BigInt(m[1]!))}/${BigInt(m[2]!)}` : s;
}

const SESSION_BLOCKS: ReadonlySet<BlockLayout> = new Set(
  PAYLOAD_BLOCKS.filter((b) => !b.repeated && b.fields.some((x) => x.name === 'session_id')),
);

const SEVERITIES: readonly Severity[] = ['note', 'warning', 'error'];

function derivedFields(): FilterField[] {
  const v = HEADER.prefix;
  return [
    bool(`${v}.reply`, 'Reply (opcode reply bit set)', (f) => f.decoded.reply),
    narrow(`${v}.status`, `Reply status: ${Object.values(STATUSES).join(', ')} or a number`,
      single((f) => (f.decoded.reply ? f.decoded.header.sub_opcode : null)), namesOf(STATUSES)),
    str(`${v}.name`, `Opcode name: ${OPCODES.map((o) => o.name).join(', ')}, Unknown`,
      single((f) => f.decoded.name), { names: [...OPCODES.map((o) => o.name), 'Unknown'] }),
    bool(`${v}.checksum_ok`, 'Checksum good (frame bytes sum to 0)', (f) => f.decoded.checksumOk),
    str(`${v}.session`, 'Session "<server_id>/<session_id>", e.g. "0xaa/17"', single((f) => f.session), { canon: canonSession }),
    narrow(`${v}.session_id`, 'Session id of any payload that carries one',
      single((f) => {
        const d = f.decoded;
        return d.payloadBlock && SESSION_BLOCKS.has(d.payloadBlock) ? ((d.payload as BlockRecord).session_id as number) : null;
      })),
    { name: `${v}.latency`, help: 'Milliseconds from request to this reply (matched replies)', type: 'float',
      ...withPresent(single((f) => (f.decoded.reply ? f.latencyMs : null))) },
    narrow(`${v}.peer`, 'Frame number of the matching request or reply', single((f) => f.peer)),

    proto('frame', 'Any frame', yes),
    narrow('frame.number', 'VVMP frame number (from 1)', single((f) => f.number)),
    narrow('frame.packet', 'Capture packet number holding the frame\'s last byte', single((f) => f.packet)),
    { name: 'frame.time', help: 'Capture time, epoch seconds (e.g. 1700000000.5)', type: 'time', present: yes },
    narrow('frame.len', 'Frame length in bytes', single((f) => f.decoded.bytes.length)),

    proto('ip', 'IPv4 or IPv6', yes),
    { name: 'ip.addr', help: 'Source or destination IP address (IPv4/IPv6, CIDR accepted)', type: 'ip',
      ...withPresent<string>((f, p) => p(f.src.ip) || p(f.dst.ip)) },
    { name: 'ip.src', help: 'Source IP address', type: 'ip', ...withPresent(single((f) => f.src.ip)) },
    { name: 'ip.dst', help: 'Destination IP address', type: 'ip', ...withPresent(single((f) => f.dst.ip)) },
    str('transport', 'Transport: tcp or udp', single((f) => f.transport), { names: ['tcp', 'udp'] }),
    proto('tcp', 'Carried over TCP', (f) => f.transport === 'tcp'),
    port('tcp.port', 'TCP source or destination port', 'tcp', 'any'),
    port('tcp.srcport', 'TCP source port', 'tcp', 'src'),
    port('tcp.dstport', 'TCP destination port', 'tcp', 'dst'),
    proto('udp', 'Carried over UDP', (f) => f.transport === 'udp'),
    port('udp.port', 'UDP source or destination port', 'udp', 'any'),
    port('udp.srcport', 'UDP source port', 'udp', 'src'),
    port('udp.dstport', 'UDP destination port', 'udp', 'dst'),

    proto('expert', 'Any expert finding', (f) => f.expert.length > 0),
    str('expert.code', 'Code of any expert finding, e.g. checksum_bad', (f, p) => {
      const xs = f.expert;
      for (let i = 0; i < xs.length; i++) if (p(xs[i]!.code)) return true;
      return false;
    }, { names: Object.keys(EXPERT_CODES) }),
    narrow('expert.severity', 'Severity of any expert finding: note < warning < error', (f, p) => {
      const xs = f.expert;
      for (let i = 0; i < xs.length; i++) if (p(severityRank(xs[i]!.severity))) return true;
      return false;
    }, nameTable(SEVERITIES.map((s) => [s, { value: BigInt(severityRank(s)) }] as const))),
    str('expert.message', 'Message of any expert finding', (f, p) => {
      const xs = f.expert;
      for (let i = 0; i < xs.length; i++) if (p(xs[i]!.message)) return true;
      return false;
    }),
  ];
}

function buildRegistry(): ReadonlyMap<string, FilterField> {
  const all: FilterField[] = [proto(HEADER.prefix, 'Any VVMP frame', yes)];
  for (const def of HEADER.fields) all.push(tableField(HEADER, def));
  all.push(...derivedFields());
  for (const block of PAYLOAD_BLOCKS) {
    all.push(blockField(block));
    for (const def of block.fields) all.push(tableField(block, def));
  }
  const map = new Map<string, FilterField>();
  for (const f of all) {
    if (map.has(f.name)) throw new Error(`display filters: field ${f.name} declared twice`);
    map.set(f.name, f);
  }
  return map;
}

/** Every filter field by name, in help order. */
export const FILTER_FIELDS: ReadonlyMap<string, FilterField> = buildRegistry();
