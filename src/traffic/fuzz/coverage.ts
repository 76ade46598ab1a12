// Coverage of the deterministic first pass: per opcode, which fields were
// changed and how many (field, value) pairs were sent, against what the
// field table and the boundary rules (values.ts) call for.

import { Header } from '../../protocol/access.js';
import { HEADER, OPCODES, type FieldDef } from '../../protocol/fields.js';
import type { FuzzCase } from './cases.js';
import { TEMPLATES } from './frames.js';
import { interestingValues } from './values.js';

export interface CoverageRow {
  opcode: string;
  fieldsSent: number;
  fields: number;
  valuesSent: number;
  values: number;
}

/** Fields of each template: header and payload, and what the first pass owes each opcode. */
function owed(): Map<string, FieldDef[]> {
  const m = new Map<string, FieldDef[]>();
  for (const t of TEMPLATES) {
    const fields = t.reply ? [...(t.block?.fields ?? [])] : [...HEADER.fields, ...(t.block?.fields ?? [])];
    if (t.def && !t.reply) fields.push(SUB_OPCODE_ALL);
    m.set(t.name, fields);
  }
  return m;
}

/** Sub-opcodes are walked over all 256 values, not only the boundaries. */
const SUB_OPCODE_ALL: FieldDef = { ...Header.field.sub_opcode };

function valuesOwed(t: string, f: FieldDef): number {
  if (f === SUB_OPCODE_ALL) {
    const def = OPCODES.find((o) => o.name === t);
    return def ? 256 - Object.keys(def.subops).length : 0;
  }
  return interestingValues(f).length;
}

export class Coverage {
  private readonly sent = new Map<string, Map<string, Set<string>>>();

  add(c: FuzzCase): void {
    const ch = c.change;
    if (!ch) return;
    let byField = this.sent.get(ch.opcode);
    if (!byField) this.sent.set(ch.opcode, (byField = new Map()));
    let vals = byField.get(ch.field);
    if (!vals) byField.set(ch.field, (vals = new Set()));
    vals.add(ch.value);
  }

  rows(): CoverageRow[] {
    const out: CoverageRow[] = [];
    for (const [opcode, fields] of owed()) {
      const sent = this.sent.get(opcode) ?? new Map<string, Set<string>>();
      // the header sub_opcode appears twice (boundaries, all invalid values): count it once with the larger owed set
      const uniq = new Map<string, number>();
      for (const f of fields) uniq.set(f.filter, Math.max(uniq.get(f.filter) ?? 0, valuesOwed(opcode, f)));
      let valuesSent = 0;
      let fieldsSent = 0;
      for (const [filter] of uniq) {
        const n = sent.get(filter)?.size ?? 0;
        valuesSent += n;
        if (n) fieldsSent++;
      }
      const values = [...uniq.values()].reduce((a, b) => a + b, 0);
      out.push({ opcode, fieldsSent, fields: uniq.size, valuesSent, values });
    }
    return out;
  }
}
