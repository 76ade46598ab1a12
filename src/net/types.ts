// What the network layers hand to the VVMP layer.

import type { Packet } from '../capture/packet.js';

export type Transport = 'udp' | 'tcp';

export interface Endpoint {
  /** Dotted IPv4 or compressed IPv6 text. */
  ip: string;
  port: number;
  /** `endpointText` of it, cached on the object (see net/endpoint.ts). */
  text?: string;
}

/**
 * One candidate VVMP frame, cut out of a UDP datagram or a TCP stream. The
 * network layers refill one object per frame (no allocation per frame): it,
 * like its `packet`, is valid during the sink call only; keep what you need
 * (the analysis copies its fields into its own frame).
 */
export interface FrameEvent {
  /** The packet after which the frame was complete (for IPv4 fragments: the last fragment). */
  packet: Packet;
  transport: Transport;
  src: Endpoint;
  dst: Endpoint;
  /** Transport + unordered endpoint pair: both directions of a flow share it. */
  flowKey: string;
  /**
   * UDP: the whole datagram payload as captured (the decoder judges short,
   * truncated and trailing bytes). TCP: exactly one frame's bytes, fewer when
   * the stream ended or the snaplen cut them. Copied out of the packet when
   * it spans segments; otherwise may be a view valid during the callback.
   */
  data: Buffer;
  /** TCP: the packet holding the frame's first byte, when not `packet` (a frame spanning segments). */
  firstPacket?: number;
  /** TCP: this header's length exceeds the receiver limit; the rest of this direction cannot be framed. */
  desync?: boolean;
  /**
   * Index of the frame's TCP connection or UDP conversation, from 0 in order
   * of first appearance among all TCP (UDP) traffic of the capture, on any
   * port: Wireshark's tcp.stream / udp.stream.
   */
  stream?: number;
  /**
   * The conversation's index in the network layers' one table
   * (net/conversations.ts): one per UDP address/port pair or TCP tuple, both
   * transports together, kept across port reuse (unlike `stream`), from 0 in
   * order of first appearance. Flow tables key by it instead of `flowKey`.
   */
  flow: number;
}

/** What a `tcp_gap` event says was lost (counted by `stats`). */
export interface SegmentLoss {
  /** Stream bytes no captured segment held. */
  notCaptured: number;
  /** Captured bytes given up without a frame (no frame boundary found in them, or after tcp_desync). */
  skipped: number;
  /** Frames the lost bytes cut, dropped instead of emitted. */
  droppedFrames: number;
}

/** A finding that belongs to a TCP segment, not to a frame (OUTPUT.md convention 8). */
export interface SegmentEvent {
  packet: Packet;
  flowKey: string;
  src: Endpoint;
  dst: Endpoint;
  code: 'tcp_retransmission' | 'tcp_gap';
  message: string;
  /** tcp_gap: what was lost. */
  loss?: SegmentLoss;
}

/** A FrameEvent to refill; every field present, so its shape never changes. */
export function newFrameEventSlot(transport: Transport, packet: Packet): FrameEvent {
  const none: Endpoint = { ip: '', port: 0 };
  return {
    packet, transport, src: none, dst: none, flowKey: '', data: Buffer.alloc(0),
    firstPacket: undefined, desync: undefined, stream: 0, flow: 0,
  };
}

export interface NetSink {
  frame(e: FrameEvent): void;
  segment(e: SegmentEvent): void;
}

export interface NetOptions {
  /** Ports decoded as VVMP (default 7369). */
  ports: ReadonlySet<number>;
  /** Also find VVMP on other ports by its header (opcode, length, checksum). */
  heuristic: boolean;
  /** Largest payload a receiver accepts; a TCP frame above it is tcp_desync. Default 65,536 bytes. */
  maxPayload: number;
}

// Spec defaults, declared once in the field table.
export { DEFAULT_MAX_PAYLOAD, DEFAULT_PORT } from '../protocol/fields.js';
