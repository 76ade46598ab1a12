// Shared helpers for the capture tests.

import { CaptureParser } from '../../src/capture/parser.js';
import type { Packet } from '../../src/capture/packet.js';

/** A Packet with its bytes copied (Packet.data is only valid during the callback). */
export interface Rec {
  index: number;
  tsSec: number;
  tsNsec: number;
  tsDigits: number;
  linkType: number;
  data: string; // hex
  origLen: number;
  interfaceId: number;
  fileOffset: number;
}

export function rec(p: Packet): Rec {
  return {
    index: p.index,
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    tsDigits: p.tsDigits,
    linkType: p.linkType,
    data: p.data.toString('hex'),
    origLen: p.origLen,
    interfaceId: p.interfaceId,
    fileOffset: p.fileOffset,
  };
}

export interface Parsed {
  format: 'pcap' | 'pcapng' | null;
  packets: Rec[];
  count: number;
  damage: string | null;
}

/** Parses `bytes` fed in chunks of `chunkSize` (or at the given cut points). Throws what the parser throws. */
export function parseBytes(bytes: Buffer, chunkSize: number | number[] = bytes.length || 1, source = 'test.cap'): Parsed {
  const packets: Rec[] = [];
  const parser = new CaptureParser((p) => packets.push(rec(p)), source);
  const cuts: number[] = [];
  if (typeof chunkSize === 'number') {
    for (let i = chunkSize; i < bytes.length; i += chunkSize) cuts.push(i);
  } else {
    cuts.push(...chunkSize.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b));
  }
  let start = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > start) parser.push(bytes.subarray(start, c));
    start = c;
  }
  parser.end();
  return { format: parser.format, packets, count: parser.packets, damage: parser.damage };
}

/** Time as the exact decimal string tshark 4.0 prints for frame.time_epoch (always 9 digits). */
export function epoch9(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/** Time with the capture's own number of digits (how vvmp prints it). */
export function epochDigits(sec: number, nsec: number, digits: number): string {
  if (digits === 0) return String(sec);
  return `${sec}.${String(nsec).padStart(9, '0').slice(0, digits)}`;
}
