// Wireshark-style display filters (`-Y EXPR`, the TUI filter bar).
//
//   const flt = compileFilter('vvmp.alloc.storage_type == RAID5 && vvmp.checksum_ok == 0');
//   frames.filter((f) => flt.test(f));
//
// text → lexer.ts (tokens) → parser.ts (AST) → compile.ts (closure). Fields
// come from fields.ts: vvmpFields.ts derives the VVMP ones from the protocol
// field table, frameFields.ts has frame.*, ip.*, tcp.*, udp.*, expert.*.
// Errors are FilterError: one line, `column N: …`.
//
// The registry is also the field list for other front ends (tshark-style
// `-T fields -e`, `-G fields`): filterFields() lists every field, and
// fieldAccessor(name) reads a field's values from a frame.

import type { AnalyzedFrame } from '../frame.js';
import { compileNode, type CompileContext } from './compile.js';
import { FILTER_FIELDS, type FieldType, type FilterField, type FilterState, type TimeValue } from './fields.js';
import { parse } from './parser.js';

export { FilterError } from './errors.js';
export type { FieldType, TimeValue } from './fields.js';

export interface CompiledFilter {
  /** The filter as given. */
  readonly text: string;
  /** True when the frame matches. With `ordered`, call it once per frame, in frame order. */
  test(f: AnalyzedFrame): boolean;
  /** Field names the filter reads, in order of first use (empty for match-all). */
  readonly fields: string[];
  /**
   * The filter reads what it selected before (frame.time_delta_displayed):
   * it must see every frame once, in frame order, as tshark does.
   */
  readonly ordered: boolean;
  /** Parts that may not mean what was meant (a bare boolean tests presence), one line each. */
  readonly warnings: string[];
  /** Reads packet bytes (`frame[…]`, `frame contains`): run the analysis with `keepPackets`. */
  readonly packets: boolean;
}

/** Empty or whitespace only: the filter matches every frame (how the TUI clears it). */
export function isEmptyFilter(text: string): boolean {
  return text.trim() === '';
}

/** Parses and compiles `text`; throws FilterError. An empty filter matches everything. */
export function compileFilter(text: string): CompiledFilter {
  if (isEmptyFilter(text)) return { text, test: () => true, fields: [], ordered: false, warnings: [], packets: false };
  const state: FilterState = { shown: false, lastSec: 0, lastNsec: 0 };
  const ctx: CompileContext = { used: new Set(), state, stateful: false, warnings: [], packets: false };
  const pred = compileNode(parse(text), ctx);
  const test = ctx.stateful
    ? (f: AnalyzedFrame): boolean => {
      const r = pred(f);
      if (r) {
        state.shown = true;
        state.lastSec = f.tsSec;
        state.lastNsec = f.tsNsec;
      }
      return r;
    }
    : pred;
  return { text, test, fields: [...ctx.used], ordered: ctx.stateful, warnings: ctx.warnings, packets: ctx.packets };
}

/** Every field name a filter may use, for help and completion. */
export function filterFieldNames(): string[] {
  return [...FILTER_FIELDS.keys()];
}

export interface FilterFieldInfo {
  name: string;
  /**
   * uint (number, or bigint for 64-bit fields), float, time (TimeValue:
   * absolute = epoch, relative = seconds), string, bool, ip (text), bytes
   * (Buffer), proto (a protocol or block: no value of its own but its bytes).
   */
  type: FieldType;
  help: string;
  /** Value names the field accepts (enum names, statuses, opcode names, flag names, closed string sets). */
  values: string[];
  /** uint: 64 bits wide (values are bigint). */
  wide?: boolean;
  /** time: relative (seconds) rather than absolute (capture time). */
  relative?: boolean;
  /** The field's value names by number (enum names, statuses), for display. */
  names?: ReadonlyMap<number, string>;
}

function infoOf(f: FilterField): FilterFieldInfo {
  let values: string[] = [];
  const info: FilterFieldInfo = { name: f.name, type: f.type, help: f.help, values };
  if (f.type === 'uint') {
    values = [...(f.names?.list ?? []), ...(f.bits?.map((b) => b.name) ?? [])];
    info.wide = f.wide;
    if (f.names) {
      const byValue = new Map<number, string>();
      for (const n of f.names.list) {
        const c = f.names.byName.get(n.toLowerCase())!;
        if (c.mask === undefined) byValue.set(Number(c.value), n);
      }
      if (byValue.size) info.names = byValue;
    }
  } else if (f.type === 'string') values = [...(f.names ?? [])];
  else if (f.type === 'bool') values = ['1', '0'];
  else if (f.type === 'time') info.relative = f.relative;
  info.values = values;
  return info;
}

/** Every field with its type, one-line help and accepted value names, in help order. */
export function filterFields(): FilterFieldInfo[] {
  return [...FILTER_FIELDS.values()].map(infoOf);
}

/** One value of a field: see FilterFieldInfo.type. */
export type FieldValue = number | bigint | string | boolean | Buffer | TimeValue;

/** Reads one field from frames (tshark's `-e FIELD`). */
export interface FieldAccessor {
  readonly info: FilterFieldInfo;
  /** The field is in the frame (a protocol or block: it is there). */
  present(f: AnalyzedFrame): boolean;
  /**
   * Its values in the frame, in tree order (several for repeated fields such
   * as device records, two for ip.addr and tcp.port); empty when absent. A
   * protocol or block gives its bytes where it has some. Time values are
   * fresh objects; frame.time_delta_displayed reads as 0 (no filter state).
   */
  values(f: AnalyzedFrame): FieldValue[];
}

/** The accessor for a field name, or undefined when no field has that name. */
export function fieldAccessor(name: string): FieldAccessor | undefined {
  const field = FILTER_FIELDS.get(name);
  if (!field) return undefined;
  const info = infoOf(field);
  const noState: FilterState = { shown: false, lastSec: 0, lastNsec: 0 };
  const collect = <T extends FieldValue>(some: (f: AnalyzedFrame, p: (v: T) => boolean) => boolean) =>
    (f: AnalyzedFrame): FieldValue[] => {
      const out: FieldValue[] = [];
      some(f, (v) => {
        out.push(v);
        return false;
      });
      return out;
    };
  let values: (f: AnalyzedFrame) => FieldValue[];
  switch (field.type) {
    case 'time': {
      const get = field.get;
      values = (f) => {
        const t: TimeValue = { sec: 0, nsec: 0 };
        return get(f, t, noState) ? [t] : [];
      };
      break;
    }
    case 'proto':
      values = field.raw ? collect<Buffer>(field.raw) : () => [];
      break;
    case 'uint': {
      const some: (f: AnalyzedFrame, p: (v: number | bigint) => boolean) => boolean = field.some;
      values = collect(some);
      break;
    }
    default:
      values = collect<FieldValue>(field.some as (f: AnalyzedFrame, p: (v: FieldValue) => boolean) => boolean);
  }
  return { info, present: field.present, values };
}
