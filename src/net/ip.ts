// What the IP layers hand to the transport layers, and their result codes.

/** The transport-layer bytes of one IP datagram. Reused from packet to packet. */
export interface IpOut {
  /** Buffer holding the addresses and the transport bytes: the packet's data or a reassembled datagram. */
  buf: Buffer;
  /** Offset of the source address; the destination address follows it. */
  addrAt: number;
  /** 4 (IPv4) or 16 (IPv6). */
  addrLen: number;
  /** Transport header and payload: [start, end) as captured. */
  start: number;
  end: number;
  /** Bytes of the datagram the snaplen cut off after `end`. */
  missing: number;
  /** Upper-layer protocol: 6 TCP, 17 UDP, ... */
  proto: number;
  /** With IP_UNDECODED: why the packet could not be decoded (the undecoded counter's name). */
  reason: string;
}

export function newIpOut(): IpOut {
  return { buf: Buffer.alloc(0), addrAt: 0, addrLen: 4, start: 0, end: 0, missing: 0, proto: 0, reason: '' };
}

/** What an IP layer made of a packet. */
export type IpResult = typeof IP_OK | typeof IP_HELD | typeof IP_UNDECODED;
/** The datagram is in `IpOut`. */
export const IP_OK = 0;
/** A fragment was stored; nothing to hand on yet. */
export const IP_HELD = 1;
/** The packet cannot be decoded; `IpOut.reason` says why. */
export const IP_UNDECODED = 2;

/** Sets `out.reason` and returns IP_UNDECODED. */
export function undecoded(out: IpOut, reason: string): IpResult {
  out.reason = reason;
  return IP_UNDECODED;
}

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Bytes missing after `capturedEnd` when the header says `declaredEnd`, limited by what the snaplen cut. */
export function cutBytes(declaredEnd: number, capturedEnd: number, snapCut: number): number {
  const m = declaredEnd - capturedEnd;
  return m <= 0 ? 0 : m < snapCut ? m : snapCut;
}
