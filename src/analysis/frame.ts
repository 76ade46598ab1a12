// One VVMP frame as the analysis sees it: decoded bytes plus where and when
// it was captured, and the findings of its exchange. Front ends (text, JSON,
// filters, the terminal UI) read this and nothing lower.

import type { DecodedFrame } from '../protocol/decode.js';
import type { Finding } from '../protocol/expert.js';
import type { Endpoint, Transport } from '../net/types.js';

export interface AnalyzedFrame {
  /** VVMP frame number, from 1, in completion order. */
  number: number;
  /** Capture packet number (from 1) holding the frame's last byte. */
  packet: number;
  /** Packet number holding its first byte (differs from `packet` for frames spanning TCP segments). */
  firstPacket: number;
  tsSec: number;
  tsNsec: number;
  tsDigits: number;
  transport: Transport;
  src: Endpoint;
  dst: Endpoint;
  /** `"a.b.c.d:port"` / `"[v6]:port"`. */
  srcText: string;
  dstText: string;
  flowKey: string;
  decoded: DecodedFrame;
  /** `"<server_id>/<session_id>"` when the frame belongs to a session. */
  session: string | null;
  /** The frame's own findings followed by exchange-level ones (timeout may be added later). */
  expert: Finding[];
  /** Milliseconds from the request to this reply, for matched replies. */
  latencyMs: number | null;
  /** Frame number of the request this reply answers, or of the reply that answered this request. */
  peer: number | null;
  // What display filters read besides the above (frame.time_relative,
  // frame.time_delta, frame[…], tcp.stream); absent where a front end
  // rebuilds frames without them.
  /** Capture time of the capture's first packet. */
  firstSec?: number;
  firstNsec?: number;
  /** Capture time of the packet before this frame's packet (this packet's own time for the first). */
  prevSec?: number;
  prevNsec?: number;
  /** The captured packet holding the frame's last byte, all layers (a copy once the frame is kept). */
  packetData?: Buffer;
  /** tcp.stream / udp.stream: the conversation's index among all of the capture's, from 0. */
  stream?: number;
  /** The conversation index from the network layers (FrameEvent.flow): flow tables key by it. Absent on frames made otherwise. */
  flow?: number;
}
