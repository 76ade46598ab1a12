// A TCP conversation builder for tests: keeps both sides' sequence numbers.

import type { Packet } from '../../src/capture/packet.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, eth, ipv4, ipv6, packet, tcp } from './build.js';

export interface SegOpts {
  /** Sequence number to use (default: the side's next). */
  seq?: number;
  /** Do not advance the side's sequence number (e.g. for a retransmission). */
  keep?: boolean;
  flags?: number;
  /** ACK number (default: the other side's next). */
  ack?: number;
  /** Bytes captured of the whole link-layer frame (snaplen). */
  snap?: number;
  /** Captured TCP payload bytes (snaplen expressed on the payload). */
  snapPayload?: number;
}

export class Conv {
  cseq: number;
  sseq: number;

  constructor(
    readonly client = { ip: '10.0.0.1', port: 40000 },
    readonly server = { ip: '10.0.0.2', port: 7369 },
    cisn = 1000,
    sisn = 900000,
    readonly v6 = false,
  ) {
    this.cseq = cisn >>> 0;
    this.sseq = sisn >>> 0;
  }

  private seg(fromClient: boolean, payload: Uint8Array, o: SegOpts): Packet {
    const a = fromClient ? this.client : this.server;
    const b = fromClient ? this.server : this.client;
    const seq = o.seq ?? (fromClient ? this.cseq : this.sseq);
    const ack = o.ack ?? (fromClient ? this.sseq : this.cseq);
    const t = tcp({ sport: a.port, dport: b.port, seq, ack, flags: o.flags ?? TCP_ACK | TCP_PSH }, payload);
    const data = this.v6
      ? eth(ipv6(t, { src: a.ip, dst: b.ip, nh: 6 }), 0x86dd)
      : eth(ipv4(t, { src: a.ip, dst: b.ip, proto: 6 }));
    let adv = payload.length;
    const f = o.flags ?? 0;
    if (f & TCP_SYN) adv++;
    if (f & TCP_FIN) adv++;
    if (!o.keep && o.seq === undefined) {
      if (fromClient) this.cseq = (this.cseq + adv) >>> 0;
      else this.sseq = (this.sseq + adv) >>> 0;
    }
    const hdr = data.length - payload.length;
    const snap = o.snap ?? (o.snapPayload !== undefined ? hdr + o.snapPayload : undefined);
    return packet(data, 1, snap);
  }

  /** A client → server segment. */
  c(payload: Uint8Array = new Uint8Array(0), o: SegOpts = {}): Packet {
    return this.seg(true, payload, o);
  }

  /** A server → client segment. */
  s(payload: Uint8Array = new Uint8Array(0), o: SegOpts = {}): Packet {
    return this.seg(false, payload, o);
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): Packet[] {
    const syn = this.c(undefined, { flags: TCP_SYN, ack: 0 });
    const synAck = this.s(undefined, { flags: TCP_SYN | TCP_ACK });
    const ack = this.c(undefined, { flags: TCP_ACK });
    return [syn, synAck, ack];
  }

  /** Client FIN, server FIN, client ACK. */
  close(): Packet[] {
    return [this.c(undefined, { flags: TCP_FIN | TCP_ACK }), this.s(undefined, { flags: TCP_FIN | TCP_ACK }), this.c(undefined, { flags: TCP_ACK })];
  }

  rst(fromClient = true): Packet {
    return fromClient ? this.c(undefined, { flags: TCP_RST | TCP_ACK }) : this.s(undefined, { flags: TCP_RST | TCP_ACK });
  }
}

/** Splits `b` at the given sizes (the last part takes the rest). */
export function split(b: Uint8Array, ...sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(Buffer.from(b.subarray(at, at + n)));
    at += n;
  }
  if (at < b.length) out.push(Buffer.from(b.subarray(at)));
  return out;
}
