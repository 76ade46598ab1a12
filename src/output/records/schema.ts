// The export records (issue 16): one declaration of the four tables that
// `vvmp export` writes to files and to ClickHouse, and that `vvmp live
// --clickhouse` streams. VVMP columns come from the field table (header
// fields, request/payload block fields, enum names); the rest from the
// analysis (exchanges, sessions, flows). Every writer (NDJSON, Parquet,
// ClickHouse DDL, OpenSearch bulk) reads these declarations and nothing else.
//
// Conventions: flat names (no dots), 64-bit ids as `0x`+16 hex strings,
// times as integer nanoseconds (`*_ns`, UInt64) and ISO-8601 UTC strings,
// a missing value is null (never "-"), `row_id` is deterministic (capture
// digest + the row's number), `shard_key` keeps a session's rows together.

import {
  ALLOC_BLOCK, FREE_BLOCK, HEADER, INIT_BLOCK, SESSION_REF, STATS_BLOCK,
  type BlockLayout, type FieldDef,
} from '../../protocol/fields.js';

export type ColumnType =
  | 'String' | 'UInt8' | 'UInt16' | 'UInt32' | 'UInt64' | 'Int64' | 'Float64' | 'Array(String)';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

export type TableName = 'frames' | 'transactions' | 'sessions' | 'flows';
export const TABLE_NAMES: readonly TableName[] = ['frames', 'transactions', 'sessions', 'flows'];

export interface TableSchema {
  readonly name: TableName;
  readonly columns: readonly Column[];
  /** MergeTree sort key and partition expression (ClickHouse DDL). */
  readonly orderBy: readonly string[];
  readonly partitionBy: string;
}

/** A row: one value per column, in column order. UInt64/Int64 values may be bigint. */
export type Value = string | number | bigint | null | readonly string[];
export type Row = Value[];

const col = (name: string, type: ColumnType, nullable = false): Column => ({ name, type, nullable });

/** The ClickHouse integer type that holds a field of the table. */
function fieldType(f: FieldDef): ColumnType {
  if (f.kind === 'id') return 'String';
  switch (f.width) {
    case 1: return 'UInt8';
    case 2: return 'UInt16';
    case 3:
    case 4: return 'UInt32';
    default: return 'UInt64';
  }
}

/** How a payload column is filled from a decoded block. */
export interface PayloadColumn {
  readonly column: Column;
  readonly field: string;
  /** Enum value names (the `<field>_name` column) or flag names (`<field>_names`, joined with `|`). */
  readonly names?: 'enum' | 'flags';
  readonly def: FieldDef;
}

/**
 * Payload columns: every non-reserved field of the given blocks, once per
 * field name (the same name means the same thing in every block: session_id,
 * storage_type, bandwidth_kb …), plus a name column for enums and flags.
 */
function payloadColumns(blocks: readonly BlockLayout[]): PayloadColumn[] {
  const out: PayloadColumn[] = [];
  const seen = new Set<string>();
  for (const b of blocks) {
    for (const f of b.fields) {
      if (f.kind === 'reserved' || seen.has(f.name)) continue;
      seen.add(f.name);
      out.push({ column: col(f.name, fieldType(f), true), field: f.name, def: f });
      if (f.kind === 'enum') out.push({ column: col(`${f.name}_name`, 'String', true), field: f.name, names: 'enum', def: f });
      if (f.kind === 'flags') out.push({ column: col(`${f.name}_names`, 'String', true), field: f.name, names: 'flags', def: f });
    }
  }
  return out;
}

/** Payload columns of a request (Announce is no exchange: its device records stay in `frames`). */
export const REQUEST_PAYLOAD: readonly PayloadColumn[] = payloadColumns([ALLOC_BLOCK, INIT_BLOCK, FREE_BLOCK, SESSION_REF]);
/** Payload columns of a frame: every single-record block; device records go to `devices` (JSON). */
export const FRAME_PAYLOAD: readonly PayloadColumn[] = payloadColumns([ALLOC_BLOCK, INIT_BLOCK, FREE_BLOCK, SESSION_REF, STATS_BLOCK]);

/** Header columns from the field table; ids as hex strings; null where the bytes are absent. */
export const HEADER_COLUMNS: readonly Column[] = HEADER.fields.map((f) => col(f.name, fieldType(f), true));

const IDENTITY: readonly Column[] = [
  col('row_id', 'String'),
  col('site', 'String'),
  col('capture', 'String'),
  col('capture_digest', 'String'),
  col('shard_key', 'UInt64'),
];

const ENDPOINTS = (a: string, b: string): Column[] => [
  col(a, 'String'), col(`${a}_addr`, 'String'), col(`${a}_port`, 'UInt16'),
  col(b, 'String'), col(`${b}_addr`, 'String'), col(`${b}_port`, 'UInt16'),
];

export const FRAMES: TableSchema = {
  name: 'frames',
  columns: [
    ...IDENTITY,
    col('frame', 'UInt64'), col('packet', 'UInt64'), col('first_packet', 'UInt64'),
    col('time_ns', 'UInt64'), col('time', 'String'),
    col('transport', 'String'), ...ENDPOINTS('src', 'dst'),
    ...HEADER_COLUMNS.filter((c) => c.name === 'opcode'),
    col('name', 'String', true), col('reply', 'UInt8', true), col('status', 'String', true),
    ...HEADER_COLUMNS.filter((c) => c.name !== 'opcode'),
    col('checksum_ok', 'UInt8'), col('frame_bytes', 'UInt32'),
    col('session', 'String', true), col('peer_frame', 'UInt64', true), col('response_time_ns', 'Int64', true),
    col('findings', 'Array(String)'), col('finding_messages', 'Array(String)'), col('max_severity', 'String', true),
    ...FRAME_PAYLOAD.map((p) => p.column),
    col('device_count', 'UInt32', true), col('devices', 'String', true),
  ],
  orderBy: ['capture_digest', 'frame'],
  partitionBy: 'toYYYYMM(toDateTime(intDiv(time_ns, 1000000000)))',
};

export const TRANSACTIONS: TableSchema = {
  name: 'transactions',
  columns: [
    ...IDENTITY,
    col('request_frame', 'UInt64'), col('request_packet', 'UInt64'),
    col('reply_frame', 'UInt64', true), col('reply_packet', 'UInt64', true),
    col('final_reply_frame', 'UInt64', true),
    col('time_ns', 'UInt64'), col('time', 'String'),
    col('opcode', 'UInt16'), col('name', 'String'), col('sub_opcode', 'UInt8'),
    col('status', 'String', true), col('final_status', 'String', true),
    col('response_time_ns', 'Int64', true), col('answered', 'UInt8'), col('timed_out', 'UInt8'),
    col('client_id', 'String'), col('server_id', 'String'), col('reply_server_id', 'String', true),
    col('src_san', 'UInt32'), col('dst_san', 'UInt32'), col('transaction_id', 'UInt32'),
    col('session', 'String', true),
    col('transport', 'String'), ...ENDPOINTS('client', 'server'),
    col('findings', 'Array(String)'),
    ...REQUEST_PAYLOAD.map((p) => p.column),
  ],
  orderBy: ['capture_digest', 'request_frame'],
  partitionBy: 'toYYYYMM(toDateTime(intDiv(time_ns, 1000000000)))',
};

export const SESSIONS: TableSchema = {
  name: 'sessions',
  columns: [
    ...IDENTITY,
    col('session', 'String', true), col('server_id', 'String'), col('session_id', 'UInt16'), col('client_id', 'String'),
    col('state', 'String'), col('storage_type', 'UInt8', true), col('storage_type_name', 'String', true),
    col('capacity_kb', 'UInt32', true),
    col('opened_ns', 'UInt64'), col('opened', 'String'),
    col('closed_ns', 'UInt64', true), col('closed', 'String', true), col('duration_ns', 'Int64', true),
  ],
  orderBy: ['capture_digest', 'server_id', 'session_id', 'opened_ns'],
  partitionBy: 'toYYYYMM(toDateTime(intDiv(opened_ns, 1000000000)))',
};

export const FLOWS: TableSchema = {
  name: 'flows',
  columns: [
    ...IDENTITY,
    col('community_id', 'String'), col('transport', 'String'), ...ENDPOINTS('a', 'b'),
    col('frames', 'UInt64'), col('bytes', 'UInt64'), col('errors', 'UInt64'),
    col('first_ns', 'UInt64'), col('first', 'String'), col('last_ns', 'UInt64'), col('last', 'String'),
  ],
  orderBy: ['capture_digest', 'community_id'],
  partitionBy: 'toYYYYMM(toDateTime(intDiv(first_ns, 1000000000)))',
};

export const SCHEMAS: Readonly<Record<TableName, TableSchema>> = {
  frames: FRAMES, transactions: TRANSACTIONS, sessions: SESSIONS, flows: FLOWS,
};

/** Column position by name, for the row builders. */
export function columnIndex(t: TableSchema): Readonly<Record<string, number>> {
  const out: Record<string, number> = {};
  t.columns.forEach((c, i) => { out[c.name] = i; });
  return out;
}
