// The network layers in one place: packets in, candidate VVMP frames and TCP segment findings out.

import { PacketSlot, type Packet } from '../capture/packet.js';
import type { FragmentDrop } from './fragments.js';
import { IP_OK, IP_UNDECODED, PROTO_TCP, PROTO_UDP, newIpOut, type IpOut } from './ip.js';
import { Ipv4 } from './ipv4.js';
import { Ipv6 } from './ipv6.js';
import { NET_IPV4, NET_IPV6, NET_SHORT, NET_UNSUPPORTED, decodeLink, type LinkOut } from './link.js';
import { Conversations } from './conversations.js';
import { vvmpFramers } from './framer.js';
import type { ConsumerFactory } from './reassembly.js';
import { TcpTable } from './tcp.js';
import { DEFAULT_MAX_PAYLOAD, DEFAULT_PORT } from '../protocol/fields.js';
import type { NetOptions, NetSink } from './types.js';
import { UdpDecoder } from './udp.js';

/** IP datagrams waiting for fragments at most, per IP version; the oldest is given up beyond it. */
export const MAX_PENDING_DATAGRAMS = 256;

export interface NetCounters {
  /** Packets handed to `packet`. */
  packets: number;
  /**
   * Reason → packets not decoded down to UDP/TCP for it: `link type 105`,
   * `not IP`, `IP protocol 1`, `IPv4 fragment incomplete` (each packet of a
   * datagram given up), ... Packets on non-VVMP ports are decoded, not counted.
   */
  undecoded: Map<string, number>;
}

/** What netOptions accepts: any NetOptions left out, ports as a set or a list. */
export interface NetOptionsInput {
  ports?: ReadonlySet<number> | readonly number[] | undefined;
  heuristic?: boolean | undefined;
  maxPayload?: number | undefined;
}

/** NetOptions with defaults: port 7369, no heuristic, 65,536-byte payload limit. The one place they are filled in. */
export function netOptions(o: NetOptionsInput = {}): NetOptions {
  return {
    ports: o.ports === undefined ? new Set([DEFAULT_PORT]) : new Set(o.ports),
    heuristic: o.heuristic ?? false,
    maxPayload: o.maxPayload ?? DEFAULT_MAX_PAYLOAD,
  };
}

export class NetDecoder {
  readonly counters: NetCounters = { packets: 0, undecoded: new Map() };
  private readonly opts: NetOptions;
  private readonly link: LinkOut = { offset: 0 };
  private readonly ip: IpOut = newIpOut();
  private readonly ipv4: Ipv4;
  private readonly ipv6: Ipv6;
  private readonly udp: UdpDecoder;
  readonly tcp: TcpTable;
  /** Every UDP and TCP conversation of the capture, one index each (FrameEvent.flow). */
  readonly conversations = new Conversations();
  private readonly reasons = new Map<number, string>();
  /** The error a sink threw (passed on, never counted as ours). */
  private sinkError: unknown = undefined;

  /**
   * `consumers` makes what each TCP direction's in-order bytes go to; by
   * default VVMP framing (net/framer.ts). Reassembly itself knows no protocol.
   */
  constructor(opts: Partial<NetOptions>, sink: NetSink, consumers?: ConsumerFactory) {
    this.opts = netOptions(opts);
    const guarded: NetSink = {
      frame: (e) => {
        try {
          sink.frame(e);
        } catch (err) {
          this.sinkError = err;
          throw err;
        }
      },
      segment: (e) => {
        try {
          sink.segment(e);
        } catch (err) {
          this.sinkError = err;
          throw err;
        }
      },
    };
    const count = (reason: string): void => this.count(reason, 1);
    const drop = (v: string) => (why: FragmentDrop, packets: number): void => this.count(`${v} fragment ${why}`, packets);
    this.ipv4 = new Ipv4(MAX_PENDING_DATAGRAMS, drop('IPv4'));
    this.ipv6 = new Ipv6(MAX_PENDING_DATAGRAMS, drop('IPv6'));
    this.udp = new UdpDecoder(this.opts, guarded, count, this.conversations);
    this.tcp = new TcpTable(this.opts, guarded, count, consumers ?? vvmpFramers(this.opts.maxPayload), this.conversations);
  }

  packet(p: Packet): void {
    this.counters.packets++;
    try {
      this.decode(p);
    } catch (err) {
      this.rethrowSinkError(err);
      this.count('internal error', 1);
    }
  }

  /** End of capture: open streams are flushed as at FIN, pending fragments given up. */
  end(): void {
    try {
      this.tcp.end();
    } catch (err) {
      this.rethrowSinkError(err);
      this.count('internal error', 1);
    }
    this.ipv4.frags.end();
    this.ipv6.frags.end();
  }

  private rethrowSinkError(err: unknown): void {
    if (this.sinkError !== undefined && err === this.sinkError) {
      this.sinkError = undefined;
      throw err;
    }
  }

  private decode(p: Packet): void {
    // The slot's bytes where they lie in the reader's chunk (no view made); any other packet's data.
    let d: Buffer;
    let s = 0;
    let e: number;
    if (p instanceof PacketSlot) {
      d = p.chunk;
      s = p.start;
      e = p.end;
    } else {
      d = p.data;
      e = d.length;
    }
    const net = decodeLink(p.linkType, d, s, e, this.link);
    if (net !== NET_IPV4 && net !== NET_IPV6) {
      this.count(net === NET_UNSUPPORTED ? this.reason(0x10000 + p.linkType, 'link type ')
        : net === NET_SHORT ? 'link header truncated' : 'not IP', 1);
      return;
    }
    const snapCut = p.origLen - (e - s);
    const r = net === NET_IPV4 ? this.ipv4.decode(d, e, snapCut, this.link.offset, this.ip) : this.ipv6.decode(d, e, snapCut, this.link.offset, this.ip);
    if (r !== IP_OK) {
      if (r === IP_UNDECODED) this.count(this.ip.reason, 1);
      return;
    }
    const proto = this.ip.proto;
    if (proto === PROTO_UDP) this.udp.datagram(p, this.ip);
    else if (proto === PROTO_TCP) this.tcp.segment(p, this.ip);
    else this.count(this.reason(proto, 'IP protocol '), 1);
  }

  /** A cached reason text for a number (link types above 0xffff, protocols below). */
  private reason(n: number, prefix: string): string {
    let r = this.reasons.get(n);
    if (r === undefined) {
      if (this.reasons.size > 1024) this.reasons.clear();
      r = prefix + (n >= 0x10000 ? n - 0x10000 : n);
      this.reasons.set(n, r);
    }
    return r;
  }

  private count(reason: string, n: number): void {
    const u = this.counters.undecoded;
    u.set(reason, (u.get(reason) ?? 0) + n);
  }
}
