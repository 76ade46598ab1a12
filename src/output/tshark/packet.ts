// One captured packet as tshark shows it: the packet and the VVMP frames that
// end in it (tshark dissects PDUs in the packet holding their last byte).

import type { AnalyzedFrame } from '../../analysis/frame.js';
import type { Stamp } from './time.js';

export interface PacketInfo {
  /** Packet number in the capture, from 1 (tshark's frame.number). */
  number: number;
  tsSec: number;
  tsNsec: number;
  /** Decimal digits of the capture's time resolution. */
  tsDigits: number;
  /** Bytes on the wire (frame.len) and captured (frame.cap_len). */
  origLen: number;
  capLen: number;
  linkType: number;
  /** The captured bytes, kept only when the output shows them (-x). */
  data: Uint8Array | null;
  /** The packet read before this one (itself for the first). */
  prev: Stamp;
}

export interface PacketRecord {
  packet: PacketInfo;
  /** VVMP frames completed by this packet, in frame order (at least one). */
  frames: AnalyzedFrame[];
  /** The capture's first packet. */
  first: Stamp;
  /** The packet shown before this one (itself for the first shown). */
  prevDisplayed: Stamp;
  /**
   * The capture packet holding a VVMP frame's last byte, by frame number:
   * tshark names the other frame of an exchange (response_in/response_to) by
   * its packet number.
   */
  packetOf?: (frameNumber: number) => number | undefined;
}

export function stampOf(p: { tsSec: number; tsNsec: number }): Stamp {
  return { sec: p.tsSec, nsec: p.tsNsec };
}
