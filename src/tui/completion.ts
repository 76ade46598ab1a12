// Tab completion for the filter bar and the `:` command line: field names
// from the display filter's registry, and after a comparison the value names
// the field accepts (enum names, statuses, opcode names).

import { filterFields, type FilterFieldInfo } from '../analysis/filter/index.js';

let fields: FilterFieldInfo[] | null = null;
let byName: Map<string, FilterFieldInfo> | null = null;

function registry(): Map<string, FilterFieldInfo> {
  if (!byName) {
    fields = filterFields();
    byName = new Map(fields.map((f) => [f.name, f]));
  }
  return byName;
}

/** Every filter field name, sorted. */
export function fieldNames(): string[] {
  return [...registry().keys()].sort();
}

export function isFieldName(name: string): boolean {
  return registry().has(name);
}

/**
 * Completions of `word` typed after `before` in a display filter: a value
 * name when `before` ends with `FIELD ==` (or !=, in, …), else field names.
 * Only the next dotted part is offered (`vvmp.` → `vvmp.alloc.`, `vvmp.opcode`).
 */
export function completeFilter(word: string, before: string): string[] {
  const cmp = /([A-Za-z0-9_.]+)\s*(==|!=|eq|ne|in\s*\{[^}]*)\s*$/.exec(before);
  if (cmp) {
    const f = registry().get(cmp[1]!);
    if (f && f.values.length > 0) return f.values.filter((v) => v.toLowerCase().startsWith(word.toLowerCase()))
      .map((v) => word + v.slice(word.length));
  }
  const out = new Set<string>();
  for (const name of registry().keys()) {
    if (!name.startsWith(word)) continue;
    const dot = name.indexOf('.', word.length);
    out.add(dot < 0 ? name : name.slice(0, dot + 1));
  }
  return [...out].sort();
}
