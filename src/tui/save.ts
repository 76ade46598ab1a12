// Saving frames from the UI (`:save FILE`): the packets that carry them, in a
// pcapng file, as `vvmp read -Y … -w` writes it: a second pass over the
// capture file copies those packets with the same pcapng writer. A frame
// spanning TCP segments brings every packet from its first byte's to its
// last byte's.

import * as fs from 'node:fs';
import { describeFsError, readCaptureFile } from '../capture/file.js';
import type { Packet } from '../capture/packet.js';
import { fileSink, PcapngWriter } from '../capture/writer.js';

/**
 * Writes the packets `keep` (packet numbers, from 1) of capture `input` to
 * `output`. Throws a one-line Error when `output` cannot be written.
 */
export function savePackets(input: string, output: string, keep: ReadonlySet<number>, comment: string): number {
  if (fs.existsSync(output)) {
    if (fs.statSync(output).isDirectory()) throw new Error(`${output}: is a directory`);
    // Writing over the capture being read would destroy it half-way through the copy.
    if (fs.realpathSync(output) === fs.realpathSync(input)) throw new Error(`${output}: is the capture being shown; choose another file`);
  }
  let sink: ReturnType<typeof fileSink>;
  try {
    sink = fileSink(output);
  } catch (e) {
    throw new Error(`${output}: cannot write (${describeFsError(e)})`);
  }
  const w = new PcapngWriter(sink, { userAppl: 'vvmp', comment });
  const ifaces = new Map<string, number>();
  let written = 0;
  try {
    readCaptureFile(input, (p: Packet) => {
      if (!keep.has(p.index)) return;
      const key = `${p.linkType}/${p.tsDigits}`;
      let id = ifaces.get(key);
      if (id === undefined) ifaces.set(key, (id = w.addInterface(p.linkType, { tsDigits: p.tsDigits >= 9 ? 9 : 6 })));
      w.writePacket(id, p.tsSec, p.tsNsec, p.data, p.origLen);
      written++;
    });
  } finally {
    sink.close();
  }
  return written;
}
