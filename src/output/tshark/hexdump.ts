// `-x`: the bytes of each shown packet, all layers, in tshark's layout
// (offset, 16 hex bytes, ASCII). A VVMP frame carried by several TCP segments
// is also shown whole, as tshark's "Reassembled TCP" data source.

import type { PacketRecord } from './packet.js';

function hexLines(bytes: Uint8Array): string {
  const lines: string[] = [];
  const width = bytes.length > 0xffff ? 8 : 4;
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, bytes.length));
    let hex = '';
    let ascii = '';
    for (let i = 0; i < row.length; i++) {
      const b = row[i]!;
      hex += (i ? ' ' : '') + b.toString(16).padStart(2, '0');
      ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${off.toString(16).padStart(width, '0')}  ${hex.padEnd(47)}   ${ascii}\n`);
  }
  return lines.join('');
}

/** The dump of one packet, ending with an empty line (as tshark separates packets). */
export function hexDump(r: PacketRecord): string {
  const data = r.packet.data ?? new Uint8Array(0);
  const spanning = r.frames.filter((f) => f.firstPacket !== f.packet);
  if (spanning.length === 0) return hexLines(data) + '\n';
  let out = `Frame (${data.length} bytes):\n${hexLines(data)}`;
  for (const f of spanning) out += `Reassembled TCP (${f.decoded.bytes.length} bytes):\n${hexLines(f.decoded.bytes)}`;
  return out + '\n';
}
