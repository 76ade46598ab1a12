// `-G fields`: every field and filter name, one per line, tab-separated as
// tshark -G fields writes its glossary: F, description, name, type, protocol.

import { tsharkFieldList } from '../../output/tshark/values.js';

/** tshark's type names for our field types. */
const FT: Readonly<Record<string, string>> = {
  uint: 'FT_UINT64', float: 'FT_DOUBLE', time: 'FT_ABSOLUTE_TIME', string: 'FT_STRING',
  bool: 'FT_BOOLEAN', ip: 'FT_IPv4', proto: 'FT_PROTOCOL',
};

export function fieldListing(): string {
  let out = '';
  for (const f of tsharkFieldList()) {
    const proto = f.name.split('.')[0]!;
    if (!f.name.includes('.')) {
      // A protocol line: P, description, name.
      out += `P\t${f.help}\t${f.name}\n`;
      continue;
    }
    out += `F\t${f.help.replace(/\t/g, ' ')}\t${f.name}\t${FT[f.type] ?? f.type}\t${proto}\n`;
  }
  return out;
}
