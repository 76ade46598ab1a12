// Wireshark-style display filters (`-Y EXPR`, the TUI filter bar).
//
//   const flt = compileFilter('vvmp.alloc.storage_type == RAID5 && !vvmp.checksum_ok');
//   frames.filter((f) => flt.test(f));
//
// text → lexer.ts (tokens) → parser.ts (AST) → compile.ts (closure). Fields
// come from fields.ts, which derives the VVMP ones from the protocol field
// table. Errors are FilterError: one line, `column N: …`.

import type { AnalyzedFrame } from '../frame.js';
import { compileNode } from './compile.js';
import { FILTER_FIELDS, type FieldType } from './fields.js';
import { parse } from './parser.js';

export { FilterError } from './errors.js';

export interface CompiledFilter {
  /** The filter as given. */
  readonly text: string;
  test(f: AnalyzedFrame): boolean;
  /** Field names the filter reads, in order of first use (empty for match-all). */
  readonly fields: string[];
}

/** Empty or whitespace only: the filter matches every frame (how the TUI clears it). */
export function isEmptyFilter(text: string): boolean {
  return text.trim() === '';
}

/** Parses and compiles `text`; throws FilterError. An empty filter matches everything. */
export function compileFilter(text: string): CompiledFilter {
  if (isEmptyFilter(text)) return { text, test: () => true, fields: [] };
  const used = new Set<string>();
  const test = compileNode(parse(text), used);
  return { text, test, fields: [...used] };
}

/** Every field name a filter may use, for help and completion. */
export function filterFieldNames(): string[] {
  return [...FILTER_FIELDS.keys()];
}

export interface FilterFieldInfo {
  name: string;
  type: FieldType;
  help: string;
  /** Value names the field accepts (enum names, statuses, opcode names, flag names, closed string sets). */
  values: string[];
}

/** Every field with its type, one-line help and accepted value names. */
export function filterFields(): FilterFieldInfo[] {
  return [...FILTER_FIELDS.values()].map((f) => {
    let values: string[] = [];
    if (f.type === 'uint') values = [...(f.names?.list ?? []), ...(f.bits?.map((b) => b.name) ?? [])];
    else if (f.type === 'string') values = [...(f.names ?? [])];
    else if (f.type === 'bool') values = ['true', 'false'];
    return { name: f.name, type: f.type, help: f.help, values };
  });
}
