// Reading a capture file for the net tests: the project's reader when it loads, else a
// minimal classic-pcap reader (enough for tcpdump's own output).

import * as fs from 'node:fs';
import type { Packet } from '../../src/capture/packet.js';

type ReadFn = (path: string, onPacket: (p: Packet) => void) => unknown;

/** A minimal classic pcap reader (either byte order, µs or ns); pcapng is not read. */
export function readClassicPcap(path: string, onPacket: (p: Packet) => void): number {
  const b = fs.readFileSync(path);
  if (b.length < 24) throw new Error(`${path}: too short for a pcap header`);
  const magicLE = b.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = b.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error(`${path}: not a classic pcap`);
    le = false;
    nano = magicBE === 0xa1b23c4d;
  }
  const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const linkType = u32(20) & 0x0fffffff;
  let at = 24;
  let index = 0;
  while (at + 16 <= b.length) {
    const caplen = u32(at + 8);
    if (at + 16 + caplen > b.length) break;
    onPacket({
      index: ++index, tsSec: u32(at), tsNsec: nano ? u32(at + 4) : u32(at + 4) * 1000, tsDigits: nano ? 9 : 6,
      linkType, data: b.subarray(at + 16, at + 16 + caplen), origLen: u32(at + 12), interfaceId: 0, fileOffset: at,
    });
    at += 16 + caplen;
  }
  return index;
}

/** The project's readCaptureFile when it can be loaded, else the classic reader. */
export async function captureReader(): Promise<{ read: ReadFn; name: string }> {
  try {
    const mod = (await import('../../src/capture/file.js')) as { readCaptureFile?: ReadFn };
    if (typeof mod.readCaptureFile === 'function') return { read: mod.readCaptureFile, name: 'src/capture/file.ts' };
  } catch {
    // fall through
  }
  return { read: readClassicPcap, name: 'inline classic pcap reader' };
}
