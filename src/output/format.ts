// Human display of field values, driven by the field table's kinds and units.

import type { FieldValue } from '../protocol/codec.js';
import { hexId } from '../protocol/codec.js';
import type { FieldDef } from '../protocol/fields.js';

export const UNITS: readonly string[] = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 → "1.5 KiB"; exact small values stay integers ("512 B"). */
export function humanBytes(bytes: number | bigint): string {
  let v = Number(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

export function humanKb(kb: number | bigint): string {
  return humanBytes(Number(kb) * 1024);
}

export function groupDigits(v: number | bigint): string {
  return v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function hexOf(v: FieldValue, width: number): string {
  return '0x' + v.toString(16).padStart(width * 2, '0');
}

export function enumName(f: FieldDef, v: FieldValue): string | undefined {
  return f.names?.[Number(v)];
}

export function flagNames(f: FieldDef, v: FieldValue): string[] {
  const n = Number(v);
  const names = (f.bits ?? []).filter((b) => n & (1 << b.bit)).map((b) => b.name);
  if (f.reservedMask && n & f.reservedMask) names.push(`reserved ${hexOf(n & f.reservedMask, 1)}`);
  return names;
}

/** The value as the detail tree shows it: `RAID5 (0x05)`, `100.0 GiB (104857600 KB)`. */
export function formatFieldValue(f: FieldDef, v: FieldValue): string {
  switch (f.kind) {
    case 'id':
      return hexId(BigInt(v));
    case 'enum': {
      const name = enumName(f, v);
      return name ? `${name} (${hexOf(v, f.width)})` : `unknown (${hexOf(v, f.width)})`;
    }
    case 'flags': {
      const names = flagNames(f, v);
      return `${hexOf(v, f.width)}${names.length ? ' ' + names.join(', ') : ' (none)'}`;
    }
    case 'reserved':
      return String(v);
    case 'uint':
      break;
  }
  switch (f.unit) {
    case 'hex':
      return hexOf(v, f.width);
    case 'kb':
      return `${humanKb(v)} (${groupDigits(v)} KB)`;
    case 'kbps':
      return `${humanKb(v)}/s (${groupDigits(v)} KB/s)`;
    case 'bytes':
      return Number(v) >= 1024 ? `${humanBytes(v)} (${groupDigits(v)} B)` : `${v} B`;
    case 'ms':
      return `${groupDigits(v)} ms`;
    case 'words':
      return `${v} words (${4 * Number(v)} bytes)`;
    default:
      return String(v);
  }
}
