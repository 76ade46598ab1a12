// UDP: one datagram, one candidate frame (the decoder judges short, truncated and trailing bytes).

import { newPacketSlot, type Packet } from '../capture/packet.js';
import { looksLikeVvmp } from '../protocol/decode.js';
import { ipText } from './addr.js';
import { flowKeyOf } from './endpoint.js';
import { CONV_UDP, type Conversations } from './conversations.js';
import type { IpOut } from './ip.js';
import { newFrameEventSlot, type Endpoint, type FrameEvent, type NetOptions, type NetSink } from './types.js';

interface UdpFlow {
  src: Endpoint;
  dst: Endpoint;
  flowKey: string;
}

/**
 * Directed flows remembered for their texts, in two generations: a flow seen
 * again moves to the newer one, and when that fills, the older is dropped.
 * Busy flows stay cached; at most 2 × this many are kept.
 */
const FLOWS_PER_GENERATION = 8192;

export class UdpDecoder {
  /** By conversation index × 2 + direction. */
  private flows = new Map<number, UdpFlow>();
  private olderFlows = new Map<number, UdpFlow>();
  /** The event refilled for every datagram (see FrameEvent). */
  private readonly ev: FrameEvent = newFrameEventSlot('udp', newPacketSlot());

  constructor(
    private readonly opts: NetOptions,
    private readonly sink: NetSink,
    private readonly undecoded: (reason: string) => void,
    /** Every UDP conversation seen, on any port, gets its udp.stream there (Wireshark numbers them all). */
    private readonly convs: Conversations,
  ) {}

  datagram(p: Packet, ip: IpOut): void {
    const d = ip.buf;
    const o = ip.start;
    const avail = ip.end - o;
    if (avail < 8) return this.undecoded('UDP header truncated');
    const sport = (d[o]! << 8) | d[o + 1]!;
    const dport = (d[o + 2]! << 8) | d[o + 3]!;
    const ulen = (d[o + 4]! << 8) | d[o + 5]!;
    let end = ip.end;
    if (ulen !== 0) {
      // 0: IPv6 jumbogram or offload; take what the IP layer gave.
      if (ulen < 8) return this.undecoded('UDP bad length');
      if (ulen < avail) end = o + ulen; // more than its length: trim; less: the snaplen cut it
    }
    const ps = o + 8;
    const ports = this.opts.ports;
    const conv = this.convs.lookup(CONV_UDP, d, ip.addrAt, ip.addrLen, sport, dport);
    if (!ports.has(sport) && !ports.has(dport)) {
      if (!this.opts.heuristic || !looksLikeVvmp(d, ps, end - ps, this.opts.maxPayload)) return;
    }
    const flow = this.flow(conv * 2 + this.convs.dir, d, ip.addrAt, ip.addrLen, sport, dport);
    const e = this.ev;
    e.packet = p;
    e.src = flow.src;
    e.dst = flow.dst;
    e.flowKey = flow.flowKey;
    e.data = d.subarray(ps, end);
    e.stream = this.convs.stream(conv);
    e.flow = conv;
    this.sink.frame(e);
  }

  private flow(key: number, d: Buffer, aa: number, al: number, sport: number, dport: number): UdpFlow {
    let f = this.flows.get(key);
    if (f) return f;
    f = this.olderFlows.get(key);
    if (!f) {
      const src: Endpoint = { ip: ipText(d, aa, al), port: sport };
      const dst: Endpoint = { ip: ipText(d, aa + al, al), port: dport };
      f = { src, dst, flowKey: flowKeyOf('udp', src, dst) };
    }
    if (this.flows.size >= FLOWS_PER_GENERATION) {
      this.olderFlows = this.flows;
      this.flows = new Map();
    }
    this.flows.set(key, f);
    return f;
  }
}
