// A small capture builder for the dissector tests: classic pcap, Ethernet/IPv4
// with UDP datagrams and TCP connections (framing from bench/packets.ts). It
// records, for every VVMP frame, the packet that completes it, so framing can
// be checked without any analyzer.

import { PcapWriter, fileSink, type FileSink } from '../../src/capture/writer.js';
import { TcpConnection, ip4, udpPacket, type Ep } from '../../bench/packets.js';

export interface ExpectedFrame {
  /** Packet number (from 1) after which the frame is complete. */
  packet: number;
  transport: 'udp' | 'tcp';
  /** UDP: the whole datagram payload; TCP: the frame's bytes. */
  bytes: Buffer;
}

export function ep(ip: string, port: number): Ep {
  return { ip: ip4(ip), port };
}

export class CaptureBuilder {
  private readonly sink: FileSink;
  private readonly w: PcapWriter;
  private packets = 0;
  private usec = 0;
  readonly expected: ExpectedFrame[] = [];

  constructor(readonly file: string, private readonly baseSec = 1700000000) {
    this.sink = fileSink(file);
    this.w = new PcapWriter(this.sink);
  }

  /** Writes one packet; returns its number. */
  packet(data: Buffer): number {
    this.usec += 1000;
    this.w.writePacket(this.baseSec + Math.floor(this.usec / 1e6), (this.usec % 1e6) * 1000, data);
    return ++this.packets;
  }

  /** A UDP datagram; `vvmp` false for traffic that is not VVMP (no expected frame). */
  udp(src: Ep, dst: Ep, payload: Buffer, vvmp = true): void {
    const n = this.packet(udpPacket(src, dst, payload, this.packets));
    if (vvmp) this.expected.push({ packet: n, transport: 'udp', bytes: payload });
  }

  tcp(client: Ep, server: Ep, isn = 1000): TcpStreamBuilder {
    return new TcpStreamBuilder(this, new TcpConnection(client, server, isn, isn + 7777));
  }

  close(): void {
    this.sink.close();
  }
}

/**
 * One TCP connection. `send` queues frames in a direction; `segment(side, n)`
 * sends the next n queued bytes of that side as one segment.
 */
export class TcpStreamBuilder {
  /** Per side: bytes queued but not yet sent, and the frames they hold (end offsets). */
  private readonly pending: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
  private readonly frameEnds: [Array<{ end: number; bytes: Buffer }>, Array<{ end: number; bytes: Buffer }>] = [[], []];
  private readonly sent: [number, number] = [0, 0];

  constructor(private readonly cap: CaptureBuilder, private readonly conn: TcpConnection) {
    for (const p of conn.open()) cap.packet(p);
  }

  /** Queues frames from `side` (0 client, 1 server). */
  send(side: 0 | 1, ...frames: Buffer[]): this {
    for (const f of frames) {
      this.pending[side] = Buffer.concat([this.pending[side], f]);
      this.frameEnds[side].push({ end: this.sent[side] + this.pending[side].length, bytes: f });
    }
    return this;
  }

  /** Sends the next `n` queued bytes of `side` (all of them by default) as one segment. */
  segment(side: 0 | 1, n = this.pending[side].length): this {
    const data = this.pending[side].subarray(0, n);
    if (data.length === 0) throw new Error('nothing queued');
    this.pending[side] = this.pending[side].subarray(n);
    const packet = this.cap.packet(this.conn.data(side, data));
    this.sent[side] += data.length;
    const ends = this.frameEnds[side];
    while (ends.length && ends[0]!.end <= this.sent[side]) {
      this.cap.expected.push({ packet, transport: 'tcp', bytes: ends.shift()!.bytes });
    }
    return this;
  }

  close(): void {
    for (const p of this.conn.close()) this.cap.packet(p);
  }
}
