// The whole packet behind a frame, for the hex pane: its captured bytes read
// back from the capture file, and where the VVMP frame sits in them. A frame
// spanning TCP segments shows its last packet, with the part of the frame
// that packet carries.

import { indexOfBytes } from './search.js';
import type { Source } from './source.js';
import type { FrameStore } from './store.js';

export interface PacketBytes {
  packet: number;
  data: Buffer;
  /** The VVMP bytes in `data`: [start, length]; `frameStart` is their offset within the frame. */
  vvmp: [number, number];
  frameStart: number;
}

/** The packet and the VVMP part in it, or null when the packet cannot be read back (live, file gone). */
export function packetBytes(store: FrameStore, source: Source, seq: number): PacketBytes | null {
  const rec = store.packetRecord(seq);
  if (!rec) return null;
  const data = source.packetData(rec[0], rec[1]);
  if (!data) return null;
  const frame = store.bytesOf(seq);
  const at = indexOfBytes(data, frame);
  if (at >= 0) return { packet: store.packetOf(seq), data, vvmp: [at, frame.length], frameStart: 0 };
  // Spanning segments: find the frame's last bytes, then walk back while packet and frame agree.
  const probe = Math.min(16, frame.length);
  const i = indexOfBytes(data, frame.subarray(frame.length - probe));
  if (i < 0) return null;
  let start = i;
  let m = frame.length - probe;
  while (start > 0 && m > 0 && data[start - 1] === frame[m - 1]) {
    start--;
    m--;
  }
  return { packet: store.packetOf(seq), data, vvmp: [start, i + probe - start], frameStart: m };
}
