// The field table: every VVMP field declared once (VVMP.md sections 2 and 6).
// The decoder, encoder, JSON, detail tree, display filters, hex highlighting
// and fuzz mutators all read these declarations; nothing else lists fields.

export type FieldWidth = 1 | 2 | 3 | 4 | 8;

/** How a value is shown and what a filter may compare it with. */
export type FieldKind =
  | 'uint' // plain unsigned integer
  | 'id' // 64-bit identifier, shown as 0x + 16 hex digits
  | 'enum' // integer with names
  | 'flags' // bit set with names
  | 'reserved'; // must be zero (reserved_nonzero otherwise)

/** Units used by the human display of a value. */
export type FieldUnit = 'kb' | 'kbps' | 'bytes' | 'ms' | 'words' | 'hex' | 'none';

export interface FlagBit {
  bit: number;
  name: string;
}

export interface FieldDef<N extends string = string, W extends FieldWidth = FieldWidth> {
  /** JSON key and VVMP.md name. */
  readonly name: N;
  /** Display-filter name, e.g. `vvmp.alloc.capacity_kb`. */
  readonly filter: string;
  /** Human label for the detail tree. */
  readonly label: string;
  /** Offset inside its block (header or one payload record). */
  readonly offset: number;
  readonly width: W;
  readonly kind: FieldKind;
  readonly unit?: FieldUnit;
  /** Value names for enums (also accepted by display filters). */
  readonly names?: Readonly<Record<number, string>>;
  /** Named bits for flags. */
  readonly bits?: readonly FlagBit[];
  /** Bits of a flags field that are reserved and must be zero. */
  readonly reservedMask?: number;
}

export interface BlockLayout<Fs extends readonly FieldDef[] = readonly FieldDef[]> {
  /** Short id used in filters and code: header, alloc, device, init, free, sessref, stats. */
  readonly id: string;
  /** Label for the detail tree. */
  readonly label: string;
  /** Filter prefix, e.g. `vvmp.alloc`. */
  readonly prefix: string;
  readonly size: number;
  readonly fields: Fs;
  /** True when the payload is a sequence of these records (device records). */
  readonly repeated: boolean;
}

function field<const N extends string, const W extends FieldWidth>(
  prefix: string,
  name: N,
  label: string,
  offset: number,
  width: W,
  kind: FieldKind,
  extra: Partial<Pick<FieldDef, 'unit' | 'names' | 'bits' | 'reservedMask'>> = {},
): FieldDef<N, W> {
  return { name, filter: `${prefix}.${name}`, label, offset, width, kind, ...extra };
}

function block<const Fs extends readonly FieldDef[]>(
  id: string,
  label: string,
  prefix: string,
  size: number,
  repeated: boolean,
  fields: (prefix: string) => Fs,
): BlockLayout<Fs> {
  const list = fields(prefix);
  for (const f of list) {
    if (f.offset + f.width > size) throw new Error(`field table: ${f.filter} overruns ${id}`);
  }
  return { id, label, prefix, size, fields: list, repeated };
}

/** The value type of a field: u64 ids and counters as bigint, the rest as number. */
export type ValueOf<F extends FieldDef> = [F['width']] extends [8] ? bigint : 8 extends F['width'] ? number | bigint : number;
/** The names of a layout's fields, as the compiler knows them. */
export type FieldName<L extends BlockLayout> = L['fields'][number]['name'];
/** One record of a layout, typed field by field from the table (what `readBlock` returns for it). */
export type RecordOf<L extends BlockLayout> = {
  -readonly [F in L['fields'][number] as F['name']]: ValueOf<F>;
};

// ---- value names -------------------------------------------------------

export const STORAGE_TYPES: Readonly<Record<number, string>> = {
  0x00: 'JBOD', 0x01: 'RAID0', 0x02: 'RAID2', 0x03: 'RAID3', 0x04: 'RAID4', 0x05: 'RAID5', 0xff: 'ANY',
};
export const ACCESS_TYPES: Readonly<Record<number, string>> = {
  0x01: 'SCSI', 0x02: 'FC', 0x03: 'HiPPI', 0x04: 'ATM', 0xff: 'ANY',
};
export const DEVICE_ACCESS_TYPES: Readonly<Record<number, string>> = { 0x00: 'NONE', ...ACCESS_TYPES };
export const QOS_CLASSES: Readonly<Record<number, string>> = {
  0: 'BEST_EFFORT', 1: 'BRONZE', 2: 'SILVER', 3: 'GOLD', 4: 'PLATINUM',
};
export const DEVICE_CLASSES: Readonly<Record<number, string>> = {
  0: 'DISK', 1: 'TAPE', 2: 'RAID_CONTROLLER', 3: 'SPECIAL_HARDWARE', 4: 'SWITCH',
};
export const ALLOC_FLAG_BITS: readonly FlagBit[] = [
  { bit: 0, name: 'EXCLUSIVE' }, { bit: 1, name: 'MIRROR' }, { bit: 2, name: 'BACKUP' }, { bit: 3, name: 'WAIT' },
];
export const DEVICE_FLAG_BITS: readonly FlagBit[] = [
  { bit: 0, name: 'BROADCASTS' }, { bit: 1, name: 'DOWNLOADS' }, { bit: 2, name: 'DUMB' }, { bit: 3, name: 'OTHER_PROTOCOL' },
];

// ---- defaults the spec sets (VVMP.md sections 1 and 7) ----------------------

/** The reserved port, UDP and TCP (section 1). */
export const DEFAULT_PORT = 7369;
/** Receivers' default payload limit in bytes (section 1): Length ≤ 16,384. */
export const DEFAULT_MAX_PAYLOAD = 65536;
/** Reply timeout of a request without its own (section 7; Allocate/Modify timeout_ms 0). */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The value of the named bits of a flags table (`flagMask(ALLOC_FLAG_BITS, 'WAIT')` = 0x08); throws on an unknown name. */
export function flagMask(bits: readonly FlagBit[], ...names: string[]): number {
  let v = 0;
  for (const n of names) {
    const b = bits.find((x) => x.name === n);
    if (!b) throw new Error(`field table: no flag ${n}`);
    v |= 1 << b.bit;
  }
  return v;
}

// ---- the header (32 bytes) ----------------------------------------------

export const HEADER_SIZE = 32;

export const HEADER = block('header', 'VVMP header', 'vvmp', HEADER_SIZE, false, (p) => [
  field(p, 'opcode', 'Opcode', 0, 2, 'uint', { unit: 'hex' }),
  field(p, 'src_san', 'Source SAN', 2, 3, 'uint'),
  field(p, 'dst_san', 'Destination SAN', 5, 3, 'uint'),
  field(p, 'client_id', 'Client ID', 8, 8, 'id'),
  field(p, 'server_id', 'Server ID', 16, 8, 'id'),
  field(p, 'transaction_id', 'Transaction ID', 24, 4, 'uint'),
  field(p, 'sub_opcode', 'Sub-opcode', 28, 1, 'uint', { unit: 'hex' }),
  field(p, 'length', 'Length', 29, 2, 'uint', { unit: 'words' }),
  field(p, 'checksum', 'Checksum', 31, 1, 'uint', { unit: 'hex' }),
]);

// ---- payload blocks (section 6) ------------------------------------------

export const ALLOC_BLOCK = block('alloc', 'Allocate block', 'vvmp.alloc', 20, false, (p) => [
  field(p, 'storage_type', 'Storage type', 0, 1, 'enum', { names: STORAGE_TYPES }),
  field(p, 'access_type', 'Access type', 1, 1, 'enum', { names: ACCESS_TYPES }),
  field(p, 'session_id', 'Session', 2, 2, 'uint'),
  field(p, 'capacity_kb', 'Capacity', 4, 4, 'uint', { unit: 'kb' }),
  field(p, 'bandwidth_kb', 'Bandwidth', 8, 4, 'uint', { unit: 'kbps' }),
  field(p, 'qos', 'QoS', 12, 4, 'enum', { names: QOS_CLASSES }),
  field(p, 'flags', 'Flags', 16, 1, 'flags', { bits: ALLOC_FLAG_BITS, reservedMask: 0xf0 }),
  field(p, 'timeout_ms', 'Timeout', 17, 3, 'uint', { unit: 'ms' }),
]);

export const DEVICE_RECORD = block('device', 'Device record', 'vvmp.device', 20, true, (p) => [
  field(p, 'device_id', 'Device', 0, 4, 'uint'),
  field(p, 'storage_type', 'Storage type', 4, 1, 'enum', { names: STORAGE_TYPES }),
  field(p, 'access_type', 'Access type', 5, 1, 'enum', { names: DEVICE_ACCESS_TYPES }),
  field(p, 'device_class', 'Class', 6, 1, 'enum', { names: DEVICE_CLASSES }),
  field(p, 'device_flags', 'Device flags', 7, 1, 'flags', { bits: DEVICE_FLAG_BITS }),
  field(p, 'free_kb', 'Free', 8, 4, 'uint', { unit: 'kb' }),
  field(p, 'bandwidth_kb', 'Bandwidth', 12, 4, 'uint', { unit: 'kbps' }),
  field(p, 'san_id', 'SAN', 16, 3, 'uint'),
  field(p, 'reserved', 'Reserved', 19, 1, 'reserved'),
]);

export const INIT_BLOCK = block('init', 'Initialize block', 'vvmp.init', 24, false, (p) => [
  field(p, 'session_id', 'Session', 0, 2, 'uint'),
  field(p, 'reserved', 'Reserved', 2, 2, 'reserved'),
  field(p, 'stripe_size', 'Stripe size', 4, 4, 'uint', { unit: 'bytes' }),
  field(p, 'cache_line_size', 'Cache line size', 8, 4, 'uint', { unit: 'bytes' }),
  field(p, 'block_size', 'Block size', 12, 4, 'uint', { unit: 'bytes' }),
  field(p, 'include_device_id', 'Include device', 16, 4, 'uint'),
  field(p, 'exclude_device_id', 'Exclude device', 20, 4, 'uint'),
]);

export const FREE_BLOCK = block('free', 'Free block', 'vvmp.free', 8, false, (p) => [
  field(p, 'session_id', 'Session', 0, 2, 'uint'),
  field(p, 'reserved', 'Reserved', 2, 2, 'reserved'),
  field(p, 'release_kb', 'Release', 4, 4, 'uint', { unit: 'kb' }),
]);

export const SESSION_REF = block('sessref', 'Session reference', 'vvmp.sessref', 4, false, (p) => [
  field(p, 'session_id', 'Session', 0, 2, 'uint'),
  field(p, 'reserved', 'Reserved', 2, 2, 'reserved'),
]);

export const STATS_BLOCK = block('stats', 'Statistics block', 'vvmp.stats', 32, false, (p) => [
  field(p, 'session_id', 'Session', 0, 2, 'uint'),
  field(p, 'reserved', 'Reserved', 2, 2, 'reserved'),
  field(p, 'age_ms', 'Age', 4, 4, 'uint', { unit: 'ms' }),
  field(p, 'bytes_read', 'Bytes read', 8, 8, 'uint', { unit: 'bytes' }),
  field(p, 'bytes_written', 'Bytes written', 16, 8, 'uint', { unit: 'bytes' }),
  field(p, 'io_ops', 'I/O operations', 24, 4, 'uint'),
  field(p, 'io_errors', 'I/O errors', 28, 4, 'uint'),
]);

export const PAYLOAD_BLOCKS: readonly BlockLayout[] = [
  ALLOC_BLOCK, DEVICE_RECORD, INIT_BLOCK, FREE_BLOCK, SESSION_REF, STATS_BLOCK,
];

// ---- opcodes (section 3) and sub-opcodes (section 4) -----------------------

/**
 * What an opcode does to a session (VVMP.md section 7): `assigns` — its OK
 * reply's session_id names a new session (Allocate); `names` — its request and
 * reply payloads carry the session_id of an allocated session (Initialize,
 * Free, Modify, Statistics); null — it has nothing to do with sessions.
 */
export type SessionRole = 'assigns' | 'names' | null;

export interface OpcodeDef {
  readonly code: number;
  readonly name: string;
  readonly request: BlockLayout | null;
  /** null: the opcode has no reply (Announce); undefined never. */
  readonly reply: BlockLayout | null;
  readonly hasReply: boolean;
  /** Valid request sub-opcodes with their meaning. */
  readonly subops: Readonly<Record<number, string>>;
  readonly session: SessionRole;
  /** The request's `timeout_ms` sets its own timeout when non-zero (Allocate, Modify); otherwise DEFAULT_TIMEOUT_MS. */
  readonly ownTimeout: boolean;
}

const NO_QUALIFIER = { 0x00: 'no qualifier' };

export const OPCODES: readonly OpcodeDef[] = [
  {
    code: 0x0001, name: 'Query', request: null, reply: DEVICE_RECORD, hasReply: true,
    subops: { 0x01: 'this SAN', 0x02: 'all devices', 0x03: 'local devices', 0xff: 'all SANs' },
    session: null, ownTimeout: false,
  },
  {
    code: 0x0002, name: 'Allocate', request: ALLOC_BLOCK, reply: ALLOC_BLOCK, hasReply: true,
    subops: { 0x01: 'local SAN only', 0x02: 'expandable', 0xff: 'anywhere' },
    session: 'assigns', ownTimeout: true,
  },
  {
    code: 0x0003, name: 'Initialize', request: INIT_BLOCK, reply: INIT_BLOCK, hasReply: true, subops: NO_QUALIFIER,
    session: 'names', ownTimeout: false,
  },
  {
    code: 0x0004, name: 'Free', request: FREE_BLOCK, reply: FREE_BLOCK, hasReply: true, subops: NO_QUALIFIER,
    session: 'names', ownTimeout: false,
  },
  {
    code: 0x0005, name: 'Modify', request: ALLOC_BLOCK, reply: ALLOC_BLOCK, hasReply: true, subops: NO_QUALIFIER,
    session: 'names', ownTimeout: true,
  },
  {
    code: 0x0006, name: 'Statistics', request: SESSION_REF, reply: STATS_BLOCK, hasReply: true, subops: NO_QUALIFIER,
    session: 'names', ownTimeout: false,
  },
  {
    code: 0x0007, name: 'Announce', request: DEVICE_RECORD, reply: null, hasReply: false,
    subops: { 0x01: 'periodic', 0x02: 'boot', 0x03: 'leaving' },
    session: null, ownTimeout: false,
  },
];

export const OPCODE_BY_CODE: ReadonlyMap<number, OpcodeDef> = new Map(OPCODES.map((o) => [o.code, o]));
export const OPCODE_BY_NAME: ReadonlyMap<string, OpcodeDef> = new Map(OPCODES.map((o) => [o.name.toLowerCase(), o]));

/** Opcode definitions indexed by code (the codes are small): a lookup per frame without hashing. */
const OPCODE_AT: readonly (OpcodeDef | undefined)[] = Array.from(
  { length: Math.max(...OPCODES.map((o) => o.code)) + 1 }, (_, code) => OPCODE_BY_CODE.get(code),
);

export const REPLY_BIT = 0x8000;
export const OP_QUERY = 0x0001;
export const OP_ALLOCATE = 0x0002;
export const OP_INITIALIZE = 0x0003;
export const OP_FREE = 0x0004;
export const OP_MODIFY = 0x0005;
export const OP_STATISTICS = 0x0006;
export const OP_ANNOUNCE = 0x0007;
export const ANNOUNCE_BOOT = 0x02;

/**
 * The opcode definition for a raw 16-bit opcode, or undefined for an unknown
 * one. 0x8007 (a reply to Announce) is unknown: Announce has no reply.
 */
export function opcodeDef(opcode: number): OpcodeDef | undefined {
  const code = opcode & 0x7fff;
  const def = code < OPCODE_AT.length ? OPCODE_AT[code] : undefined;
  if (!def) return undefined;
  if (opcode & REPLY_BIT && !def.hasReply) return undefined;
  return def;
}

// ---- statuses (section 5) --------------------------------------------------

export const STATUSES: Readonly<Record<number, string>> = {
  0x00: 'OK', 0x01: 'PENDING', 0x10: 'NO_CAPACITY', 0x11: 'NO_MATCH', 0x20: 'UNKNOWN_SESSION',
  0x21: 'DENIED', 0x22: 'CONFLICT', 0x30: 'MALFORMED', 0x31: 'BAD_CHECKSUM', 0x32: 'UNSUPPORTED', 0x40: 'TIMEOUT',
  // Extension of the reference server (spec/SERVER.md): the whole answer does
  // not fit this exchange (UDP amplification bound, payload limit); never a
  // cut-off list. Ask over TCP.
  0x33: 'TOO_LARGE',
};
export const STATUS_OK = 0x00;
export const STATUS_PENDING = 0x01;
export const STATUS_TOO_LARGE = 0x33;
export const STATUS_BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries(STATUSES).map(([v, n]) => [n, Number(v)]),
);

/**
 * A reply's status is its header's sub_opcode (VVMP.md section 5); a request
 * has none. `opcode` and `subOpcode` as read from the header.
 */
export function replyStatus(opcode: number, subOpcode: number): number | null {
  return (opcode & REPLY_BIT) !== 0 ? subOpcode : null;
}

/** A status that refuses the request: neither OK nor PENDING (an error reply). */
export function isErrorStatus(status: number): boolean {
  return status !== STATUS_OK && status !== STATUS_PENDING;
}

/** The session role of a raw opcode, request or reply (null when unknown). */
export function sessionRole(opcode: number): SessionRole {
  return opcodeDef(opcode)?.session ?? null;
}

/** Status name as OUTPUT.md writes it: the table name, or `0x7E` for an unknown value. */
export function statusName(value: number): string {
  return STATUSES[value] ?? `0x${value.toString(16).toUpperCase().padStart(2, '0')}`;
}

// ---- the whole table, for readers that walk every field ----------------------

export interface FieldRef {
  readonly block: BlockLayout;
  readonly field: FieldDef;
}

/** Every declared field with its block, keyed by filter name. */
export const FIELDS_BY_FILTER: ReadonlyMap<string, FieldRef> = new Map(
  [HEADER, ...PAYLOAD_BLOCKS].flatMap((b) => b.fields.map((f) => [f.filter, { block: b, field: f }] as const)),
);

/** Largest value a field can hold. */
export function fieldMax(f: FieldDef): bigint {
  return (1n << BigInt(f.width * 8)) - 1n;
}
