// The display-filter field registry: the `vvmp.*` fields derived from the
// protocol field table (vvmpFields.ts) and the capture-level ones
// (frameFields.ts), by name, in help order. Types are in fieldTypes.ts.

import type { FilterField } from './fieldTypes.js';
import { frameFields } from './frameFields.js';
import { vvmpFields } from './vvmpFields.js';

export type * from './fieldTypes.js';

function buildRegistry(): ReadonlyMap<string, FilterField> {
  const vvmp = vvmpFields();
  // Help order: the protocol and its header and derived fields, the capture-level fields, then the blocks.
  const firstBlock = vvmp.findIndex((f, i) => i > 0 && f.type === 'proto');
  const all = [...vvmp.slice(0, firstBlock), ...frameFields(), ...vvmp.slice(firstBlock)];
  const map = new Map<string, FilterField>();
  for (const f of all) {
    if (map.has(f.name)) throw new Error(`display filters: field ${f.name} declared twice`);
    map.set(f.name, f);
  }
  return map;
}

/** Every filter field by name, in help order. */
export const FILTER_FIELDS: ReadonlyMap<string, FilterField> = buildRegistry();
