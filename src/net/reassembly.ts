// The contract between TCP reassembly and the protocol above it, as gopacket's
// assembler has with its streams. stream.ts and tcp.ts put segments in order
// and know nothing of VVMP: each direction's in-order bytes go to a
// StreamConsumer made by a factory the decoder passes in (net/framer.ts makes
// VVMP frames of them), and the consumer reports back through a ConsumerHost.

import type { Packet } from '../capture/packet.js';

/** One direction's bytes, in sequence order. A consumer starts undecided. */
export interface StreamConsumer {
  /** Bytes held and not yet handed on (a partial unit, bytes still being judged). */
  readonly pending: number;
  /** Not yet decided whether the bytes are the protocol's (a heuristic still looking). */
  readonly undecided: boolean;
  /** The bytes are not the protocol's: the reassembler keeps none of this direction's. */
  readonly refused: boolean;
  /** The connection is the protocol's and the next byte is the direction's first (its SYN was seen). */
  beginAtStart(): void;
  /** The connection is the protocol's and the next byte's place in the stream is unknown (capture began mid-connection). */
  beginMidStream(): void;
  /** In-order bytes `buf[s, e)`; units completed by them belong to `pkt`. */
  data(buf: Buffer, s: number, e: number, pkt: Packet): void;
  /** `n` bytes are missing here: `gap` true lost by the capture, false cut by the snaplen. */
  missing(n: number, gap: boolean, pkt: Packet): void;
  /** The direction ended (FIN, RST, end of capture): hand on what is held. May come again (the peer's FIN closes both). */
  end(pkt: Packet): void;
  /** The other direction found the protocol: leave `undecided`; `trusted`: the bytes held start the stream. */
  accept(trusted: boolean, pkt: Packet): void;
  /** Forget everything (the direction was refused, then the other one found the protocol). */
  restart(): void;
}

/** What a consumer tells the reassembler (one direction of one connection). */
export interface ConsumerHost {
  /** A unit (or what is present of it). `data` may be a view valid during the call. `desync`: nothing after it can be cut. */
  frame(data: Buffer, packet: Packet, desync: boolean, firstPacket: number): void;
  /** An undecided consumer decided: the direction is the protocol's or not. */
  decide(claimed: boolean, packet: Packet): void;
  /** `n` captured bytes were given up without a unit (`message` says why, for the tcp_gap finding); once per run. */
  skipped(n: number, packet: Packet, message: string): void;
  /** Lost bytes cut the current unit: its `have` bytes (of `size`, -1 unknown) are dropped, not handed on. */
  dropped(have: number, size: number): void;
}

/** Makes the consumer of one direction of a new connection. */
export type ConsumerFactory = (host: ConsumerHost) => StreamConsumer;
