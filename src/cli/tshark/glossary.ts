// `-G fields`: every field and filter name, one per line, tab-separated as
// tshark -G fields writes its glossary:
//   P  name  abbreviation                                       (a protocol)
//   F  name  abbreviation  type  protocol  base  bitmask  description
// The names come from the display filter's field registry.

import { tsharkFieldList } from '../../output/tshark/values.js';

/** The short name of a field: its help up to the block or unit detail. */
function label(help: string): string {
  return help.split(' — ')[0]!.replace(/\t/g, ' ');
}

export function fieldListing(): string {
  let out = '';
  for (const f of tsharkFieldList()) {
    if (!f.name.includes('.')) {
      out += `P\t${label(f.help)}\t${f.name}\n`;
      continue;
    }
    const proto = f.name.split('.')[0]!;
    out += `F\t${label(f.help)}\t${f.name}\t${f.type}\t${proto}\t${f.base}\t0x0\t${f.help.replace(/\t/g, ' ')}\n`;
  }
  return out;
}
