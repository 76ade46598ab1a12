// Typed field access derived from the field table: the only way code outside
// src/protocol reads or writes a VVMP field. Every accessor is made from the
// table once, so the compiler checks the field names (`Header.get.opcode`)
// and no offset is written twice.
//
// Reads happen in place: `get.x(bytes, base)` reads the field where it lies
// (base = the frame's first byte for the header, the record's first byte for
// a payload block) and returns a number, or a bigint for the 8-byte fields,
// without allocating (ids come from the codec's cache of recent values).
// Nothing is decoded that is not asked for: the Wireshark tvb way.

import { readId, readUint, writeUint, type FieldValue } from './codec.js';
import {
  ALLOC_BLOCK, DEVICE_RECORD, FREE_BLOCK, HEADER, INIT_BLOCK, SESSION_REF, STATS_BLOCK,
  type BlockLayout, type FieldDef, type FieldName, type RecordOf, type ValueOf,
} from './fields.js';

type FieldOf<L extends BlockLayout, N extends string> = Extract<L['fields'][number], { name: N }>;

export interface BlockAccess<L extends BlockLayout> {
  readonly layout: L;
  /** Each field's declaration, by name (offset, width, filter name, label…). */
  readonly field: { readonly [N in FieldName<L>]: FieldOf<L, N> };
  /** Reads a field in place at `base` (no allocation; u64 ids are cached bigints). */
  readonly get: { readonly [N in FieldName<L>]: (b: Uint8Array, base: number) => ValueOf<FieldOf<L, N>> };
  /** Writes a field at `base`, truncated to its width (fuzzing relies on wrap-around). */
  readonly set: { readonly [N in FieldName<L>]: (b: Uint8Array, base: number, v: FieldValue) => void };
  /** Whether the field's bytes lie within the first `n` bytes of the block. */
  readonly has: { readonly [N in FieldName<L>]: (n: number) => boolean };
}

/** Source of a big-endian read of `width` bytes at `base + at` from `b` (4-byte reads stay unsigned). */
function readSource(at: number, width: number): string {
  const byte = (i: number) => `b[base + ${at + i}]`;
  switch (width) {
    case 1: return byte(0);
    case 2: return `((${byte(0)} << 8) | ${byte(1)})`;
    case 3: return `((${byte(0)} << 16) | (${byte(1)} << 8) | ${byte(2)})`;
    case 4: return `(((${byte(0)} << 24) >>> 0) + ((${byte(1)} << 16) | (${byte(2)} << 8) | ${byte(3)}))`;
    default: return `readId(b, base + ${at})`;
  }
}

/**
 * The accessors of a layout. Readers are compiled from the table (one small
 * monomorphic function per field, which V8 inlines at the call site), so a
 * read costs what a hand-written `(b[i] << 8) | b[i + 1]` costs.
 */
export function accessOf<L extends BlockLayout>(layout: L): BlockAccess<L> {
  const field: Record<string, FieldDef> = {};
  const get: Record<string, (b: Uint8Array, base: number) => FieldValue> = {};
  const set: Record<string, (b: Uint8Array, base: number, v: FieldValue) => void> = {};
  const has: Record<string, (n: number) => boolean> = {};
  for (const f of layout.fields) {
    field[f.name] = f;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    get[f.name] = new Function('readId', 'readUint',
      `return function ${f.name}(b, base) { return ${readSource(f.offset, f.width)}; };`)(readId, readUint) as
      (b: Uint8Array, base: number) => FieldValue;
    const { offset, width } = f;
    set[f.name] = (b, base, v) => writeUint(b, base + offset, width, v);
    const end = offset + width;
    has[f.name] = (n) => n >= end;
  }
  return { layout, field, get, set, has } as unknown as BlockAccess<L>;
}

/** The header (VVMP.md section 2). `base` is the frame's first byte. */
export const Header = accessOf(HEADER);
/** Payload blocks (section 6). `base` is the record's first byte (frame start + HEADER_SIZE for the first). */
export const Alloc = accessOf(ALLOC_BLOCK);
export const Device = accessOf(DEVICE_RECORD);
export const Init = accessOf(INIT_BLOCK);
export const Free = accessOf(FREE_BLOCK);
export const SessionRef = accessOf(SESSION_REF);
export const Stats = accessOf(STATS_BLOCK);

const BY_LAYOUT: ReadonlyMap<BlockLayout, BlockAccess<BlockLayout>> = new Map(
  [Header, Alloc, Device, Init, Free, SessionRef, Stats].map((a) => [a.layout as BlockLayout, a as unknown as BlockAccess<BlockLayout>]),
);

/**
 * The accessors of any layout of the table, by layout (the same objects as
 * `Header`, `Alloc`…): for code that walks the table, such as display filters.
 */
export function accessFor(layout: BlockLayout): BlockAccess<BlockLayout> {
  return BY_LAYOUT.get(layout) ?? (accessOf(layout) as unknown as BlockAccess<BlockLayout>);
}

export type HeaderRecord = RecordOf<typeof HEADER>;
export type AllocRecord = RecordOf<typeof ALLOC_BLOCK>;
export type DeviceRecord = RecordOf<typeof DEVICE_RECORD>;
export type InitRecord = RecordOf<typeof INIT_BLOCK>;
export type FreeRecord = RecordOf<typeof FREE_BLOCK>;
export type SessionRefRecord = RecordOf<typeof SESSION_REF>;
export type StatsRecord = RecordOf<typeof STATS_BLOCK>;

/**
 * The field named `name` in any layout, or undefined: for code that walks
 * every block for a field they share (each payload block that names a
 * session has `session_id`).
 */
export function fieldOf(layout: BlockLayout, name: string): FieldDef | undefined {
  for (const f of layout.fields) if (f.name === name) return f;
  return undefined;
}

/**
 * A decoded payload record seen as the record of `layout`, or null when it
 * was decoded with another layout: the typed view of `DecodedFrame.payload`
 * (no casts from `Record<string, number | bigint>` at the call sites).
 */
export function recordAs<L extends BlockLayout>(
  payloadBlock: BlockLayout | null, payload: unknown, layout: L,
): RecordOf<L> | null {
  return payloadBlock === layout && payload !== null ? (payload as RecordOf<L>) : null;
}

/**
 * The records of a repeated payload (device records) seen as records of
 * `layout`, or an empty list when the payload was decoded with another layout
 * or holds no list: the typed view of a Query reply's or Announce's devices.
 */
export function recordsAs<L extends BlockLayout>(
  payloadBlock: BlockLayout | null, payload: unknown, layout: L,
): RecordOf<L>[] {
  if (payloadBlock !== layout || payload === null || typeof payload !== 'object') return [];
  const list = (payload as { devices?: unknown }).devices;
  return Array.isArray(list) ? (list as RecordOf<L>[]) : [];
}

/** A payload block's session id: its declaration and its in-place reader. */
export interface SessionIdAccess {
  readonly field: FieldDef;
  readonly get: (b: Uint8Array, base: number) => number;
}

/**
 * The payload blocks that name a session (Allocate, Initialize, Free,
 * session reference, Statistics; device records name none), with their
 * session_id field: which requests and replies carry a session is read here,
 * not listed again by its users.
 */
export const SESSION_ID_FIELDS: ReadonlyMap<BlockLayout, SessionIdAccess> = new Map<BlockLayout, SessionIdAccess>([
  [ALLOC_BLOCK, { field: Alloc.field.session_id, get: Alloc.get.session_id }],
  [INIT_BLOCK, { field: Init.field.session_id, get: Init.get.session_id }],
  [FREE_BLOCK, { field: Free.field.session_id, get: Free.get.session_id }],
  [SESSION_REF, { field: SessionRef.field.session_id, get: SessionRef.get.session_id }],
  [STATS_BLOCK, { field: Stats.field.session_id, get: Stats.get.session_id }],
]);

/**
 * The device records of a decoded payload (Query reply, Announce) as typed
 * records, or null when the payload is not a list of DEVICE_RECORDs.
 */
export function devicesAs(payloadBlock: BlockLayout | null, payload: unknown): DeviceRecord[] | null {
  return payloadBlock === DEVICE_RECORD ? recordsAs(payloadBlock, payload, DEVICE_RECORD) : null;
}

/**
 * The session_id a payload record of `block` carries at `base`, read in
 * place; null when the block has none (device records) or no block was
 * decoded. The blocks of the opcodes whose `session` role is set all carry one.
 */
export function sessionIdIn(block: BlockLayout | null, b: Uint8Array, base: number): number | null {
  const s = block === null ? undefined : SESSION_ID_FIELDS.get(block);
  return s === undefined ? null : s.get(b, base);
}
