// Interesting values for a field, derived from its declaration in the field
// table (width, kind, enum names, flag bits, reserved mask): boundaries (0, 1,
// 2, max, max−1, max−2, the sign bit and its neighbours, byte-width edges),
// every valid enum value with v−1 and v+1, flag bits alone / together /
// reserved bits set. No field is listed here by name.

import { fieldMax, type FieldDef } from '../../protocol/fields.js';

export interface InterestingValue {
  value: bigint;
  /** Short label for case descriptions: `max`, `sign`, `RAID5+1`, `reserved-bits`. */
  label: string;
}

function hex(v: bigint): string {
  return '0x' + v.toString(16);
}

/** Boundary values of an unsigned integer of `width` bytes, with labels. */
export function boundaryValues(width: number): InterestingValue[] {
  const bits = BigInt(width * 8);
  const max = (1n << bits) - 1n;
  const sign = 1n << (bits - 1n);
  const out: InterestingValue[] = [
    { value: 0n, label: '0' },
    { value: 1n, label: '1' },
    { value: 2n, label: '2' },
    { value: max, label: 'max' },
    { value: max - 1n, label: 'max-1' },
    { value: max - 2n, label: 'max-2' },
    { value: sign, label: 'sign' },
    { value: sign - 1n, label: 'sign-1' },
    { value: sign + 1n, label: 'sign+1' },
  ];
  // Edges of narrower widths inside this one (a u32 holding 0xFF, 0x100, 0xFFFF, …).
  for (let w = 1n; w < BigInt(width); w++) {
    const edge = (1n << (8n * w)) - 1n;
    out.push({ value: edge, label: hex(edge) }, { value: edge + 1n, label: hex(edge + 1n) });
  }
  return dedupe(out, max);
}

function dedupe(values: InterestingValue[], max: bigint): InterestingValue[] {
  const seen = new Set<bigint>();
  const out: InterestingValue[] = [];
  for (const v of values) {
    if (v.value < 0n || v.value > max || seen.has(v.value)) continue;
    seen.add(v.value);
    out.push(v);
  }
  return out;
}

/**
 * Every interesting value of a field: its boundaries, plus for enums each
 * valid value and its neighbours, for flags each bit alone, all named bits,
 * the reserved bits and everything; for reserved fields the boundaries
 * (all non-zero but 0).
 */
export function interestingValues(f: FieldDef): InterestingValue[] {
  const max = fieldMax(f);
  const out: InterestingValue[] = [];
  if (f.kind === 'enum' && f.names) {
    for (const [k, name] of Object.entries(f.names)) {
      const v = BigInt(k);
      out.push({ value: v, label: name }, { value: v - 1n, label: `${name}-1` }, { value: v + 1n, label: `${name}+1` });
    }
  }
  if (f.kind === 'flags') {
    let named = 0n;
    for (const b of f.bits ?? []) {
      out.push({ value: 1n << BigInt(b.bit), label: b.name });
      named |= 1n << BigInt(b.bit);
    }
    if (named) out.push({ value: named, label: 'all-flags' });
    if (f.reservedMask) {
      const r = BigInt(f.reservedMask);
      out.push({ value: r, label: 'reserved-bits' }, { value: r | named, label: 'reserved+all-flags' });
      for (let bit = 0n; bit < BigInt(f.width * 8); bit++) {
        if (r & (1n << bit)) out.push({ value: 1n << bit, label: `reserved-bit${bit}` });
      }
    }
  }
  out.push(...boundaryValues(f.width));
  return dedupe(out, max);
}

/** True when `value` is a value the field's declaration allows (enum names, no reserved bits, reserved = 0). */
export function isDeclaredValue(f: FieldDef, value: bigint): boolean {
  if (f.kind === 'reserved') return value === 0n;
  if (f.kind === 'enum' && f.names) return Object.prototype.hasOwnProperty.call(f.names, Number(value));
  if (f.kind === 'flags' && f.reservedMask) return (value & BigInt(f.reservedMask)) === 0n;
  return true;
}
