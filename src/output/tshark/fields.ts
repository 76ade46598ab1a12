// `-T fields -e NAME … -E …`: one line per packet, as tshark writes it.

import type { PacketRecord } from './packet.js';
import type { TsharkField } from './values.js';
import { TextBuilder } from '../textBuilder.js';

export interface FieldsLayout {
  fields: TsharkField[];
  /** -E header=y: a first line with the field names. */
  header: boolean;
  /** -E separator: between fields (default tab). */
  separator: string;
  /** -E quote: wraps every non-empty value (default none). */
  quote: string;
  /** -E occurrence: first, last or all values of a field (default all). */
  occurrence: 'f' | 'l' | 'a';
  /** -E aggregator: between the values of one field (default ","). */
  aggregator: string;
}

export const DEFAULT_FIELDS_LAYOUT: Omit<FieldsLayout, 'fields'> = {
  header: false, separator: '\t', quote: '', occurrence: 'a', aggregator: ',',
};

export function fieldsHeader(l: FieldsLayout): string {
  return l.fields.map((f) => l.quote + f.name + l.quote).join(l.separator) + '\n';
}

const line = new TextBuilder();

export function fieldsLine(l: FieldsLayout, r: PacketRecord): string {
  const fields = l.fields;
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line.str(l.separator);
    const vs = fields[i]!.values(r);
    if (vs.length === 0) continue;
    line.str(l.quote);
    if (l.occurrence === 'f') line.str(vs[0]!);
    else if (l.occurrence === 'l') line.str(vs[vs.length - 1]!);
    else {
      for (let j = 0; j < vs.length; j++) {
        if (j > 0) line.str(l.aggregator);
        line.str(vs[j]!);
      }
    }
    line.str(l.quote);
  }
  return line.char(0x0a).take();
}
