// TCP: segment header, the connection table, SYN/FIN/RST, ACKs to the other direction.

import { newPacketSlot, type Packet } from '../capture/packet.js';
import { ipText } from './addr.js';
import { CONV_TCP, type Conversations } from './conversations.js';
import { flowKeyOf } from './endpoint.js';
import type { IpOut } from './ip.js';
import type { ConsumerFactory } from './reassembly.js';
import { TcpStream, type StreamOwner } from './stream.js';
import { newFrameEventSlot, type Endpoint, type FrameEvent, type NetOptions, type NetSink, type SegmentEvent, type SegmentLoss } from './types.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** Open connections kept at most; the oldest is flushed and dropped beyond it. */
export const MAX_CONNECTIONS = 1 << 16;
/** Closed connections remembered (to tell retransmissions after the close from a new connection). */
export const MAX_CLOSED = 4096;

function diff(a: number, b: number): number {
  return (a - b) | 0;
}

export class TcpConn implements StreamOwner {
  /** The connection is the protocol's (a port in `ports`, or a direction's consumer recognised it): both directions are cut. */
  claimed: boolean;
  readonly dirs: [TcpStream, TcpStream];
  closed = false;
  /** tcp.stream: set by the table when the connection is made. */
  stream = 0;

  constructor(
    private readonly sink: NetSink,
    /** The table's event, refilled for every frame (see FrameEvent). */
    private readonly ev: FrameEvent,
    /** The conversation index (net/conversations.ts). */
    readonly key: number,
    /** ep[0] → ep[1] is direction 0. */
    readonly ep: [Endpoint, Endpoint],
    readonly flowKey: string,
    claimed: boolean,
    consumers: ConsumerFactory,
  ) {
    this.claimed = claimed;
    this.dirs = [new TcpStream(this, 0, consumers), new TcpStream(this, 1, consumers)];
  }

  frame(dir: number, data: Buffer, packet: Packet, desync: boolean, firstPacket: number): void {
    const e = this.ev;
    e.packet = packet;
    e.src = this.ep[dir]!;
    e.dst = this.ep[1 - dir]!;
    e.flowKey = this.flowKey;
    e.data = data;
    e.stream = this.stream;
    e.flow = this.key;
    e.firstPacket = firstPacket !== packet.index ? firstPacket : undefined;
    e.desync = desync ? true : undefined;
    this.sink.frame(e);
  }

  segment(dir: number, packet: Packet, code: 'tcp_retransmission' | 'tcp_gap', message: string, loss?: SegmentLoss): void {
    const e: SegmentEvent = { packet, flowKey: this.flowKey, src: this.ep[dir]!, dst: this.ep[1 - dir]!, code, message };
    if (loss) e.loss = loss;
    this.sink.segment(e);
  }

  decide(dir: number, claimed: boolean, packet: Packet): void {
    if (!claimed || this.claimed) return;
    this.claimed = true;
    const other = this.dirs[1 - dir]!;
    if (other.consumer.undecided) other.consumer.accept(other.hasIsn, packet);
    else if (other.consumer.refused) other.restart();
  }
}

/**
 * What a closed connection leaves behind: where each direction's sequence
 * ended, to recognise retransmissions after the close. Small on purpose: it
 * is kept for the next MAX_CLOSED closes, long enough to reach V8's old
 * generation, where whole connections (streams, framers, buffers) made most
 * of the garbage of a long capture.
 */
class ClosedConn {
  private readonly started0: boolean;
  private readonly started1: boolean;
  private readonly next0: number;
  private readonly next1: number;
  private readonly claimed: boolean;
  private readonly ep: [Endpoint, Endpoint];
  private readonly flowKey: string;

  constructor(private readonly sink: NetSink, conn: TcpConn) {
    const [d0, d1] = conn.dirs;
    this.started0 = d0.started;
    this.next0 = d0.next;
    this.started1 = d1.started;
    this.next1 = d1.next;
    this.claimed = conn.claimed;
    this.ep = conn.ep;
    this.flowKey = conn.flowKey;
  }

  /** `dataLen` bytes at `seq` in direction `dir` were all seen before the close. */
  isRetransmission(dir: number, seq: number, dataLen: number): boolean {
    const started = dir === 0 ? this.started0 : this.started1;
    return started && diff(seq, dir === 0 ? this.next0 : this.next1) + dataLen <= 0;
  }

  reportRetransmission(dir: number, packet: Packet, dataLen: number): void {
    if (!this.claimed) return;
    this.sink.segment({
      packet, flowKey: this.flowKey, src: this.ep[dir]!, dst: this.ep[1 - dir]!,
      code: 'tcp_retransmission', message: `retransmission: all ${dataLen} bytes already seen`,
    });
  }
}

export class TcpTable {
  /** By conversation index (net/conversations.ts), which also numbers tcp.stream for every TCP conversation. */
  private readonly conns = new Map<number, TcpConn>();
  private readonly closed = new Map<number, ClosedConn>();
  private readonly ev: FrameEvent = newFrameEventSlot('tcp', newPacketSlot());

  constructor(
    private readonly opts: NetOptions,
    private readonly sink: NetSink,
    private readonly undecoded: (reason: string) => void,
    /** Makes each direction's consumer of in-order bytes (for VVMP: net/framer.ts vvmpFramers). */
    private readonly consumers: ConsumerFactory,
    private readonly convs: Conversations,
  ) {}

  /** Open connections (for tests and memory checks). */
  get open(): number {
    return this.conns.size;
  }

  /** Bytes held by all open connections. */
  get held(): number {
    let n = 0;
    for (const c of this.conns.values()) n += c.dirs[0].held + c.dirs[1].held;
    return n;
  }

  segment(p: Packet, ip: IpOut): void {
    const d = ip.buf;
    const o = ip.start;
    const end = ip.end;
    if (end - o < 20) return this.undecoded('TCP header truncated');
    const hl = (d[o + 12]! >> 4) * 4;
    if (hl < 20) return this.undecoded('TCP bad header length');
    if (end - o < hl) return this.undecoded('TCP header truncated');
    const sport = (d[o]! << 8) | d[o + 1]!;
    const dport = (d[o + 2]! << 8) | d[o + 3]!;
    const ports = this.opts.ports;
    const match = ports.has(sport) || ports.has(dport);
    const aa = ip.addrAt;
    const al = ip.addrLen;
    const key = this.convs.lookup(CONV_TCP, d, aa, al, sport, dport);
    if (!match && !this.opts.heuristic) return;

    const seq = ((d[o + 4]! << 24) | (d[o + 5]! << 16) | (d[o + 6]! << 8) | d[o + 7]!) >>> 0;
    const ack = ((d[o + 8]! << 24) | (d[o + 9]! << 16) | (d[o + 10]! << 8) | d[o + 11]!) >>> 0;
    const flags = d[o + 13]!;
    const syn = (flags & SYN) !== 0;
    const ps = o + hl;
    const missing = ip.missing;
    const dataLen = end - ps + missing;

    const dir = this.convs.dir;

    let conn = this.conns.get(key);
    /** A SYN starting a new connection on ports used before: Wireshark starts a new tcp.stream. */
    let reused = false;
    if (conn && syn) {
      const st = conn.dirs[dir]!;
      if (st.started && !(st.hasIsn && st.isn === seq)) {
        // A new connection on the same ports whose close was not captured.
        this.close(conn, p);
        conn = undefined;
        reused = true;
      }
    }
    if (!conn) {
      const old = this.closed.get(key);
      if (old && !syn) {
        if (dataLen <= 0) return;
        if (old.isRetransmission(dir, seq, dataLen)) {
          old.reportRetransmission(dir, p, dataLen);
          return;
        }
      }
      if (!syn && dataLen <= 0) return;
      if (old) this.closed.delete(key);
      const fresh = this.convs.created;
      conn = this.create(d, aa, al, sport, dport, dir, key, match);
      conn.stream = !fresh && (reused || old !== undefined) && syn ? this.convs.renumber(key) : this.convs.stream(key);
    }

    const st = conn.dirs[dir]!;
    if (syn && !st.started) st.syn(seq);
    if (dataLen > 0 && !st.consumer.refused) {
      st.segment(p, d, ps, end, missing, syn ? (seq + 1) >>> 0 : seq);
    }
    if (flags & ACK) {
      const other = conn.dirs[1 - dir]!;
      if (!other.consumer.refused) other.ack(ack, p);
    }
    if (flags & RST) {
      this.close(conn, p);
    } else if (flags & FIN && !st.finished) {
      st.close(p, (seq + (syn ? 1 : 0) + dataLen) >>> 0);
      st.finished = true;
      if (conn.dirs[1 - dir]!.finished) this.close(conn, p);
    }
  }

  /** End of capture: every open stream is flushed as at FIN. */
  end(): void {
    for (const c of [...this.conns.values()]) this.close(c, null);
    this.conns.clear();
    this.closed.clear();
  }

  private create(
    d: Buffer, aa: number, al: number, sport: number, dport: number, dir: number, key: number, match: boolean,
  ): TcpConn {
    const src: Endpoint = { ip: ipText(d, aa, al), port: sport };
    const dst: Endpoint = { ip: ipText(d, aa + al, al), port: dport };
    const ep: [Endpoint, Endpoint] = dir === 0 ? [src, dst] : [dst, src];
    const conn = new TcpConn(this.sink, this.ev, key, ep, flowKeyOf('tcp', src, dst), match, this.consumers);
    if (this.conns.size >= MAX_CONNECTIONS) {
      const oldest = this.conns.values().next();
      if (!oldest.done) this.close(oldest.value, null);
    }
    this.conns.set(key, conn);
    return conn;
  }

  /** Flushes both directions (as at FIN) and forgets the connection but for its sequence numbers. */
  private close(conn: TcpConn, p: Packet | null): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.dirs[0].close(p);
    conn.dirs[1].close(p);
    this.conns.delete(conn.key);
    if (this.closed.size >= MAX_CLOSED) {
      const oldest = this.closed.keys().next();
      if (!oldest.done) this.closed.delete(oldest.value);
    }
    this.closed.set(conn.key, new ClosedConn(this.sink, conn));
  }
}
