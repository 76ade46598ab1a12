// Reading and writing single field values at the offsets the field table gives.

import type { BlockLayout, FieldDef, RecordOf } from './fields.js';

export type FieldValue = number | bigint;
/** One decoded block: field name → value (u64 fields as bigint, others as number). */
export type BlockRecord = Record<string, FieldValue>;

/** Reads an unsigned big-endian integer of the field's width at `base + field.offset`. */
export function readField(buf: Uint8Array, base: number, f: FieldDef): FieldValue {
  return readUint(buf, base + f.offset, f.width);
}

function u32At(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) >>> 0) + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}

export function readUint(buf: Uint8Array, at: number, width: number): FieldValue {
  switch (width) {
    case 1:
      return buf[at]!;
    case 2:
      return (buf[at]! << 8) | buf[at + 1]!;
    case 3:
      return (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    case 4:
      return u32At(buf, at);
    case 8:
      return (BigInt(u32At(buf, at)) << 32n) | BigInt(u32At(buf, at + 4));
    default:
      throw new RangeError(`unsupported width ${width}`);
  }
}

/**
 * Recently read 64-bit ids, in a direct-mapped cache (slot = low bits of
 * hi ^ lo). A capture names few distinct client and server ids, so most
 * header reads find theirs here instead of building a BigInt (about 80 bytes
 * of garbage, three BigInt operations) twice per frame. A collision only
 * means building one.
 */
const ID_SLOTS = 1 << 12;
const idHi = new Float64Array(ID_SLOTS).fill(-1);
const idLo = new Float64Array(ID_SLOTS);
const idValue: bigint[] = new Array<bigint>(ID_SLOTS).fill(0n);

/** A u64 id at `at` (as readUint width 8), the same bigint for repeated values. */
export function readId(buf: Uint8Array, at: number): bigint {
  const hi = u32At(buf, at);
  const lo = u32At(buf, at + 4);
  const slot = (hi ^ lo) & (ID_SLOTS - 1);
  if (idHi[slot] === hi && idLo[slot] === lo) return idValue[slot]!;
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  idHi[slot] = hi;
  idLo[slot] = lo;
  idValue[slot] = v;
  return v;
}

/** Writes `value` truncated to the field's width (fuzzing relies on wrap-around, not errors). */
export function writeUint(buf: Uint8Array, at: number, width: number, value: FieldValue): void {
  let v = BigInt.asUintN(width * 8, typeof value === 'bigint' ? value : BigInt(Math.trunc(value)));
  for (let i = width - 1; i >= 0; i--) {
    buf[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function writeField(buf: Uint8Array, base: number, f: FieldDef, value: FieldValue): void {
  writeUint(buf, base + f.offset, f.width, value);
}

type BlockReader = (buf: Uint8Array, base: number) => BlockRecord;
const readers = new WeakMap<BlockLayout, BlockReader>();

/** Source of an expression reading `width` bytes big-endian at `base + at` from `b`. */
function readExpr(at: number, width: number): string {
  const byte = (i: number) => `b[base + ${at + i}]`;
  switch (width) {
    case 1: return byte(0);
    case 2: return `((${byte(0)} << 8) | ${byte(1)})`;
    case 3: return `((${byte(0)} << 16) | (${byte(1)} << 8) | ${byte(2)})`;
    case 4: return `(((${byte(0)} << 24) >>> 0) + ((${byte(1)} << 16) | (${byte(2)} << 8) | ${byte(3)}))`;
    default: return `readUint(b, base + ${at}, ${width})`;
  }
}

/**
 * A reader made from the layout once: one object literal with the table's
 * field names, so every record of a layout has the same shape (fast
 * property access, little garbage) and the table stays the only list of fields.
 */
function compileReader(layout: BlockLayout): BlockReader {
  const props = layout.fields.map((f) => `${JSON.stringify(f.name)}: ${readExpr(f.offset, f.width)}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('readUint', `return function read(b, base) { return { ${props.join(', ')} }; };`)(readUint) as BlockReader;
}

/** The index of the first field whose bits under `mask` are set (-1 for all bits), or -1 (see `compileBitsTest`). */
export type BitsTest = (buf: Uint8Array, base: number) => number;

/**
 * A test made once from field declarations: reads each field in place at
 * `base + offset` and returns the `index` of the first whose bits under
 * `mask` are not all zero, or -1. One straight function, no loop or
 * allocation per record (the decoder's reserved-bits check).
 */
export function compileBitsTest(fields: readonly { index: number; offset: number; width: number; mask: number }[]): BitsTest {
  const lines = fields.map((f) => f.width === 8
    ? `if ((readUint(b, base + ${f.offset}, 8) & ${BigInt.asUintN(64, BigInt(f.mask))}n) !== 0n) return ${f.index};`
    : `if ((${readExpr(f.offset, f.width)} & ${f.mask}) !== 0) return ${f.index};`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('readUint', `return function test(b, base) { ${lines.join(' ')} return -1; };`)(readUint) as BitsTest;
}

/** One whole record of `layout` at `base`, typed from the table (`RecordOf<typeof ALLOC_BLOCK>` …). */
export function readBlock<L extends BlockLayout>(buf: Uint8Array, base: number, layout: L): RecordOf<L> & BlockRecord {
  let read = readers.get(layout);
  if (!read) readers.set(layout, (read = compileReader(layout)));
  return read(buf, base) as RecordOf<L> & BlockRecord;
}

export function writeBlock(buf: Uint8Array, base: number, layout: BlockLayout, rec: Partial<BlockRecord>): void {
  for (const f of layout.fields) writeField(buf, base, f, rec[f.name] ?? 0);
}

/** `0x` + 16 lower-case hex digits, as OUTPUT.md writes 64-bit ids. */
export function hexId(v: bigint): string {
  return '0x' + v.toString(16).padStart(16, '0');
}
