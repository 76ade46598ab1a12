// Custom columns of the Frames view (as termshark's and Wireshark's custom
// columns): any display-filter field, its values in the frame read through
// the filter registry, so a column shows exactly what a filter compares.

import type { AnalyzedFrame } from '../analysis/frame.js';
import { FILTER_FIELDS, type FilterField, type NameTable } from '../analysis/filter/fields.js';

export interface Column {
  field: string;
  /** Cells wide (the title's length, at least 6, at most 24). */
  width: number;
}

/** A column for `name`; throws a one-line error for an unknown field or one without values. */
export function makeColumn(name: string): Column {
  const f = FILTER_FIELDS.get(name);
  if (!f) throw new Error(`no display-filter field "${name}" (Tab completes names)`);
  if (f.type === 'proto') throw new Error(`"${name}" is a protocol, it has no value to show (try one of its fields)`);
  return { field: name, width: Math.min(24, Math.max(6, shortTitle(name).length, valueWidth(f))) };
}

/** Cells a typical value takes: the longest value name, a 64-bit id in hex, an address, a number. */
function valueWidth(f: FilterField): number {
  if (f.type === 'uint' && f.names) return Math.max(...f.names.list.map((n) => n.length));
  if (f.type === 'string' && f.names) return Math.max(...f.names.map((n) => n.length));
  if (f.type === 'uint' && f.wide) return 18;
  if (f.type === 'ip') return 15;
  if (f.type === 'time') return 20;
  return 8;
}

/** Title of a column: the field's last dotted part (`vvmp.alloc.capacity_kb` → `capacity_kb`). */
export function shortTitle(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function nameOf(t: NameTable | undefined, v: bigint): string | null {
  if (!t) return null;
  // Exact value first (a reply's own opcode name), then masked matches.
  for (const n of t.list) {
    const c = t.byName.get(n.toLowerCase())!;
    if (c.mask === undefined && c.value === v) return n;
  }
  for (const n of t.list) {
    const c = t.byName.get(n.toLowerCase())!;
    if (c.mask !== undefined && (v & c.mask) === c.value) return n;
  }
  return null;
}

/** The field's values in the frame as text (several joined by commas), '' when absent. */
export function cellText(f: AnalyzedFrame, name: string): string {
  const field: FilterField | undefined = FILTER_FIELDS.get(name);
  if (!field || !field.present(f)) return '';
  const out: string[] = [];
  switch (field.type) {
    case 'uint':
      if (field.wide) {
        field.some(f, (v) => {
          out.push(nameOf(field.names, v) ?? (name.endsWith('_id') ? `0x${v.toString(16)}` : v.toString()));
          return false;
        });
      } else {
        field.some(f, (v) => {
          out.push(nameOf(field.names, BigInt(v)) ?? String(v));
          return false;
        });
      }
      break;
    case 'float': field.some(f, (v) => { out.push(String(v)); return false; }); break;
    case 'string': case 'ip': field.some(f, (v) => { out.push(v); return false; }); break;
    case 'bool': field.some(f, (v) => { out.push(v ? 'true' : 'false'); return false; }); break;
    case 'time': out.push(`${f.tsSec}.${String(f.tsNsec).padStart(9, '0').slice(0, f.tsDigits)}`); break;
    default: break;
  }
  return out.join(',');
}
