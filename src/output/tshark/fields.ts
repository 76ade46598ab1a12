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

/** Writes the packet's line into `tb` (one record). */
export function writeFieldsLine(tb: TextBuilder, l: FieldsLayout, r: PacketRecord): void {
  const fields = l.fields;
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) tb.str(l.separator);
    const vs = fields[i]!.values(r);
    if (vs.length === 0) continue;
    tb.str(l.quote);
    if (l.occurrence === 'f') tb.str(vs[0]!);
    else if (l.occurrence === 'l') tb.str(vs[vs.length - 1]!);
    else {
      for (let j = 0; j < vs.length; j++) {
        if (j > 0) tb.str(l.aggregator);
        tb.str(vs[j]!);
      }
    }
    tb.str(l.quote);
  }
  tb.char(0x0a).endRecord();
}

const line = new TextBuilder();

export function fieldsLine(l: FieldsLayout, r: PacketRecord): string {
  writeFieldsLine(line, l, r);
  return line.take();
}
