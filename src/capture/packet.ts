// What the capture layer hands on: one captured packet, whatever the file format or live backend.

export interface Packet {
  /** Packet number in the capture, from 1. */
  index: number;
  /** Timestamp: whole seconds since the epoch. */
  tsSec: number;
  /** Timestamp: nanoseconds within the second (0..999,999,999), exact for every resolution up to 1 ns. */
  tsNsec: number;
  /** Decimal digits of the capture's own time resolution (6 for µs pcap, 9 for ns, if_tsresol for pcapng). */
  tsDigits: number;
  /** Link-layer type (LINKTYPE_* value, e.g. 1 Ethernet, 113 LINUX_SLL). */
  linkType: number;
  /** Captured bytes. A view into the reader's chunk: valid only during the callback; copy what must outlive it. */
  data: Buffer;
  /** Length on the wire (≥ data.length when the snaplen cut it). */
  origLen: number;
  /** pcapng interface id (0 for classic pcap and live capture). */
  interfaceId: number;
  /** Byte offset of this packet's record in the file or stream (for indexes that re-read on demand). */
  fileOffset: number;
}

export type PacketHandler = (p: Packet) => void;
