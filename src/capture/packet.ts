// What the capture layer hands on: one captured packet, whatever the file format or live backend.
//
// The rule (no allocation per packet on the read path): a Packet handed to a
// PacketHandler is valid only during that call. The file/stream parser hands
// on ONE object, refilled for every packet, and `data` is a view into the
// reader's chunk, which is reused. Whoever keeps anything past the call copies
// it: the numbers it needs (the analysis copies index and times into its
// frames; the UI store, the file offset and length), `data` with
// `Buffer.from` (the analysis for frames it holds, `read -x`, `live -w`
// writes at once), or the whole packet (`{ ...p, data: Buffer.from(p.data) }`:
// TCP segments queued out of order, replay's recorder). net/stream.ts keeps a
// copy of the last packet of a stream for end-of-capture attribution.
// FrameEvent.packet / SegmentEvent.packet are this same object: valid during
// the sink call only.

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

const NO_BYTES = Buffer.alloc(0);

/**
 * A Packet to refill (a parser's slot). Its bytes are a range of the
 * reader's chunk (`fill`): the network layers read them there (net/decoder.ts),
 * and the `data` view is made only when someone asks for it, so a packet
 * costs no object on the read path. A copy (`{ ...p, data }`) is a plain Packet.
 */
export class PacketSlot implements Packet {
  index = 0;
  tsSec = 0;
  tsNsec = 0;
  tsDigits = 6;
  linkType = 0;
  origLen = 0;
  interfaceId = 0;
  fileOffset = 0;
  /** The buffer holding the bytes, and where they lie in it: [start, end). */
  chunk: Buffer = NO_BYTES;
  start = 0;
  end = 0;
  private view: Buffer | null = NO_BYTES;
  declare data: Buffer;

  constructor() {
    // An own enumerable accessor, not a class getter: `{ ...p }` copies the bytes' view like any field.
    Object.defineProperty(this, 'data', {
      enumerable: true,
      get: (): Buffer => (this.view ??= this.chunk.subarray(this.start, this.end)),
      set: (b: Buffer) => {
        this.chunk = b;
        this.start = 0;
        this.end = b.length;
        this.view = b;
      },
    });
  }

  /** The packet's bytes are chunk[start, end). */
  fill(chunk: Buffer, start: number, end: number): void {
    this.chunk = chunk;
    this.start = start;
    this.end = end;
    this.view = null;
  }
}

/** Captured bytes of `p` (no view made for a slot). */
export function capturedLength(p: Packet): number {
  return p instanceof PacketSlot ? p.end - p.start : p.data.length;
}

/** A plain Packet to refill (events' slots, kept copies); every field present, so its shape never changes. */
export function newPacketSlot(): Packet {
  return { index: 0, tsSec: 0, tsNsec: 0, tsDigits: 6, linkType: 0, data: NO_BYTES, origLen: 0, interfaceId: 0, fileOffset: 0 };
}
