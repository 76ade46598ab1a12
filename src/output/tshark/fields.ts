// `-T fields -e NAME … -E …`: one line per packet, as tshark writes it.

import type { PacketRecord } from './packet.js';
import type { TsharkField } from './values.js';

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

export function fieldsLine(l: FieldsLayout, r: PacketRecord): string {
  return l.fields.map((f) => {
    const vs = f.values(r);
    if (vs.length === 0) return '';
    const text = l.occurrence === 'f' ? vs[0]! : l.occurrence === 'l' ? vs[vs.length - 1]! : vs.join(l.aggregator);
    return l.quote + text + l.quote;
  }).join(l.separator) + '\n';
}
