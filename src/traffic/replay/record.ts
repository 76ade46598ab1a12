// Recording VVMP traffic to pcapng (`vvmp replay --record OUT.pcapng`, and the
// replay tests' capture builders).
//
// Two ways, the file's SHB comment says which:
//   live       the capture module (src/capture/live.ts: tcpdump backend first,
//              then cap) on the interface that reaches the target, filtered to
//              the target's address and port: real packets, real timestamps.
//              Needs root (or CAP_NET_RAW) and a working backend.
//   synthetic  what the replay's sockets sent and received, wrapped in
//              Ethernet/IPv4|IPv6/UDP|TCP headers with the sockets' real local
//              and remote addresses and ports, stamped with the wall clock when
//              the bytes were written / read. TCP connections get a SYN,
//              SYN-ACK, ACK handshake, one segment per VVMP frame with
//              consistent sequence and acknowledgement numbers, and a FIN
//              exchange; IP/TCP/UDP checksums are correct. Nothing below the
//              socket API is seen: no retransmissions, no segmentation as the
//              kernel did it.

import { lookup } from 'node:dns/promises';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startLiveCapture, type LiveBackend, type LiveCapture } from '../../capture/live.js';
import type { Packet } from '../../capture/packet.js';
import { PcapngWriter, fileSink, type ByteSink, type FileSink } from '../../capture/writer.js';
import {
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, ipBytes, tcpPacket, udpPacket, type Hosts,
} from '../../net/build.js';

/** A capture timestamp. */
export interface Stamp {
  sec: number;
  nsec: number;
}

/** Wall-clock time with sub-millisecond digits (timeOrigin + now). */
export function wallStamp(): Stamp {
  const ms = performance.timeOrigin + performance.now();
  const sec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - sec * 1000) * 1e6);
  if (nsec >= 1e9) nsec = 999_999_999;
  return { sec, nsec };
}

export interface Addr {
  ip: string;
  port: number;
}

/** The endpoints of one TCP connection in a synthetic capture, with its sequence state. */
export interface SynthTcp {
  client: Addr;
  server: Addr;
  /** Next sequence number of each direction. */
  cseq: number;
  sseq: number;
}

const LINKTYPE_ETHERNET = 1;
const MAC_CLIENT = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
const MAC_SERVER = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);
/** Largest TCP payload per synthetic segment (an IPv4 datagram must stay under 64 KiB). */
const MAX_SEGMENT = 65000;

/** `::ffff:1.2.3.4` → `1.2.3.4`; other text unchanged. */
export function plainIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** The IP bytes of both ends; an IPv4 end beside an IPv6 one is written as `::ffff:a.b.c.d`. */
function addresses(src: string, dst: string): [Uint8Array, Uint8Array] {
  const s = plainIp(src);
  const d = plainIp(dst);
  const v6 = net.isIPv6(s) || net.isIPv6(d);
  const as6 = (ip: string) => (net.isIPv6(ip) ? ip : `::ffff:${ip}`);
  return v6 ? [ipBytes(as6(s)), ipBytes(as6(d))] : [ipBytes(s), ipBytes(d)];
}

/**
 * Whole Ethernet frames for synthetic captures, made by the one packet
 * builder (net/build.ts); IPv4 ids count up from 1.
 */
export class PacketBuilder {
  private ipId = 1;

  private hosts(src: Addr, dst: Addr, fromClient: boolean): Hosts {
    const [sa, da] = addresses(src.ip, dst.ip);
    return { srcMac: fromClient ? MAC_CLIENT : MAC_SERVER, dstMac: fromClient ? MAC_SERVER : MAC_CLIENT, src: sa, dst: da };
  }

  private nextId(h: Hosts): number {
    if (typeof h.src !== 'number' && h.src.length === 16) return 0;
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff;
    return id;
  }

  /** One Ethernet/IP/UDP packet. */
  udp(src: Addr, dst: Addr, payload: Uint8Array, fromClient: boolean): Buffer {
    const h = this.hosts(src, dst, fromClient);
    return udpPacket(h, src.port, dst.port, payload, this.nextId(h));
  }

  /** One Ethernet/IP/TCP segment. */
  tcp(src: Addr, dst: Addr, seq: number, ack: number, flags: number, payload: Uint8Array, fromClient: boolean): Buffer {
    const h = this.hosts(src, dst, fromClient);
    return tcpPacket(h, src.port, dst.port, seq, ack, flags, payload, this.nextId(h));
  }
}

/** Writes synthetic VVMP traffic (TCP connections, UDP datagrams) to a pcapng stream. */
export class SyntheticCapture {
  private readonly writer: PcapngWriter;
  private readonly iface: number;
  private readonly pb = new PacketBuilder();
  private isn = 0x1000_0000;
  /** Packets written. */
  packets = 0;

  constructor(sink: ByteSink, comment: string) {
    this.writer = new PcapngWriter(sink, { userAppl: 'vvmp replay', comment });
    this.iface = this.writer.addInterface(LINKTYPE_ETHERNET, { tsDigits: 9, name: 'synthetic' });
  }

  private put(t: Stamp, pkt: Buffer): void {
    this.writer.writePacket(this.iface, t.sec, t.nsec, pkt);
    this.packets++;
  }

  /** A connection's handshake (SYN, SYN-ACK, ACK); returns its state. */
  tcpOpen(client: Addr, server: Addr, t: Stamp = wallStamp()): SynthTcp {
    const c: SynthTcp = { client, server, cseq: this.isn, sseq: (this.isn + 0x0800_0000) >>> 0 };
    this.isn = (this.isn + 0x0001_0000) >>> 0;
    this.put(t, this.pb.tcp(client, server, c.cseq, 0, TCP_SYN, Buffer.alloc(0), true));
    this.put(t, this.pb.tcp(server, client, c.sseq, c.cseq + 1, TCP_SYN | TCP_ACK, Buffer.alloc(0), false));
    c.cseq = (c.cseq + 1) >>> 0;
    c.sseq = (c.sseq + 1) >>> 0;
    this.put(t, this.pb.tcp(client, server, c.cseq, c.sseq, TCP_ACK, Buffer.alloc(0), true));
    return c;
  }

  /** Bytes on a connection (split into segments of at most 65,000 bytes). */
  tcpData(c: SynthTcp, fromClient: boolean, data: Uint8Array, t: Stamp = wallStamp()): void {
    for (let at = 0; at < data.length || (at === 0 && data.length === 0); at += MAX_SEGMENT) {
      const chunk = data.subarray(at, Math.min(data.length, at + MAX_SEGMENT));
      if (fromClient) {
        this.put(t, this.pb.tcp(c.client, c.server, c.cseq, c.sseq, TCP_ACK | TCP_PSH, chunk, true));
        c.cseq = (c.cseq + chunk.length) >>> 0;
      } else {
        this.put(t, this.pb.tcp(c.server, c.client, c.sseq, c.cseq, TCP_ACK | TCP_PSH, chunk, false));
        c.sseq = (c.sseq + chunk.length) >>> 0;
      }
      if (data.length === 0) break;
    }
  }

  /** The closing FIN exchange, started by the client (or the server). */
  tcpClose(c: SynthTcp, t: Stamp = wallStamp(), byClient = true): void {
    const [a, b, aSeq, bSeq] = byClient ? [c.client, c.server, c.cseq, c.sseq] : [c.server, c.client, c.sseq, c.cseq];
    this.put(t, this.pb.tcp(a, b, aSeq, bSeq, TCP_FIN | TCP_ACK, Buffer.alloc(0), byClient));
    this.put(t, this.pb.tcp(b, a, bSeq, aSeq + 1, TCP_FIN | TCP_ACK, Buffer.alloc(0), !byClient));
    this.put(t, this.pb.tcp(a, b, aSeq + 1, bSeq + 1, TCP_ACK, Buffer.alloc(0), byClient));
    if (byClient) {
      c.cseq = (c.cseq + 1) >>> 0;
      c.sseq = (c.sseq + 1) >>> 0;
    } else {
      c.sseq = (c.sseq + 1) >>> 0;
      c.cseq = (c.cseq + 1) >>> 0;
    }
  }

  /** One datagram. `fromClient` only picks the MAC addresses. */
  udp(src: Addr, dst: Addr, data: Uint8Array, t: Stamp = wallStamp(), fromClient = true): void {
    this.put(t, this.pb.udp(src, dst, data, fromClient));
  }
}

// ---- what the replay engine calls ----------------------------------------------

/** The replay engine reports its socket traffic here (synthetic recording); live recording ignores it. */
export interface TrafficTap {
  tcpOpen(id: number, local: Addr, remote: Addr): void;
  tcpData(id: number, fromClient: boolean, data: Uint8Array): void;
  tcpClose(id: number): void;
  udp(local: Addr, remote: Addr, fromClient: boolean, data: Uint8Array): void;
}

export type RecordMode = 'auto' | 'live' | 'synthetic';

export interface ReplayRecorder {
  /** How the file is being made: `live (tcpdump on lo)` or `synthetic`. */
  readonly how: string;
  readonly mode: 'live' | 'synthetic';
  /** Socket traffic (used by synthetic recording only). */
  readonly tap: TrafficTap | null;
  /** Packets written so far. */
  packets(): number;
  /** Finishes the file (live: waits for the last packets to come through, then stops). */
  close(): Promise<void>;
}

class SyntheticRecorder implements ReplayRecorder, TrafficTap {
  readonly mode = 'synthetic' as const;
  readonly how = 'synthetic (what the sockets sent and received)';
  private readonly sink: FileSink;
  private readonly cap: SyntheticCapture;
  private readonly conns = new Map<number, SynthTcp>();
  readonly tap: TrafficTap = this;

  constructor(path: string, comment: string) {
    this.sink = fileSink(path);
    this.cap = new SyntheticCapture(this.sink, comment);
  }

  tcpOpen(id: number, local: Addr, remote: Addr): void {
    this.conns.set(id, this.cap.tcpOpen(local, remote));
  }

  tcpData(id: number, fromClient: boolean, data: Uint8Array): void {
    const c = this.conns.get(id);
    if (c) this.cap.tcpData(c, fromClient, data);
  }

  tcpClose(id: number): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.conns.delete(id);
    this.cap.tcpClose(c);
  }

  udp(local: Addr, remote: Addr, fromClient: boolean, data: Uint8Array): void {
    if (fromClient) this.cap.udp(local, remote, data, wallStamp(), true);
    else this.cap.udp(remote, local, data, wallStamp(), false);
  }

  packets(): number {
    return this.cap.packets;
  }

  async close(): Promise<void> {
    for (const id of [...this.conns.keys()]) this.tcpClose(id);
    this.sink.close();
  }
}

/** How long the live recorder keeps capturing after the replay, so that the last packets come through. */
const LIVE_TAIL_MS = 300;

class LiveRecorder implements ReplayRecorder {
  readonly mode = 'live' as const;
  readonly tap = null;

  constructor(
    readonly how: string,
    private readonly capture: LiveCapture,
    private readonly sink: FileSink,
    readonly packets: () => number,
  ) {}

  async close(): Promise<void> {
    await new Promise((r) => setTimeout(r, LIVE_TAIL_MS));
    await this.capture.stop();
    this.sink.close();
  }
}

/** The interface that reaches `ip` (`lo` for loopback; `ip route get` otherwise; `any` when unknown). */
export function interfaceFor(ip: string): string {
  const p = plainIp(ip);
  if (/^127\./.test(p) || p === '::1') return 'lo';
  const r = spawnSync('ip', ['route', 'get', p], { encoding: 'utf8' });
  const m = r.status === 0 ? /\bdev\s+(\S+)/.exec(r.stdout) : null;
  return m ? m[1]! : 'any';
}

export interface RecorderOptions {
  path: string;
  mode: RecordMode;
  /** The replay target. */
  host: string;
  port: number;
  /** Words for the SHB comment: what was replayed. */
  what: string;
  /** Told why live capture was not used when `auto` falls back. */
  onFallback?: (reason: string) => void;
}

/**
 * Opens the recorder: live capture when asked for (or in `auto` mode when it
 * works), else synthetic. Throws the live capture's LiveCaptureError in `live` mode,
 * and a file error (`ENOENT`, `EACCES`) when OUT cannot be created.
 */
export async function openRecorder(o: RecorderOptions): Promise<ReplayRecorder> {
  if (o.mode !== 'synthetic') {
    let ip = o.host;
    try {
      if (!net.isIP(ip)) ip = (await lookup(o.host)).address;
    } catch {
      // Not resolvable: live capture cannot filter on it; the replay itself will say so.
    }
    const iface = interfaceFor(ip);
    const filter = `host ${plainIp(ip)} and port ${o.port}`;
    const backends: LiveBackend[] = ['tcpdump', 'cap'];
    let lastErr: Error | null = null;
    for (const backend of backends) {
      const sink = fileSink(o.path);
      let writer: PcapngWriter | null = null;
      const ifaces = new Map<number, number>();
      let count = 0;
      const early: Packet[] = [];
      const onPacket = (p: Packet) => {
        if (!writer) {
          early.push({ ...p, data: Buffer.from(p.data) });
          return;
        }
        let id = ifaces.get(p.linkType);
        if (id === undefined) ifaces.set(p.linkType, (id = writer.addInterface(p.linkType, { tsDigits: p.tsDigits >= 9 ? 9 : 6, name: iface })));
        writer.writePacket(id, p.tsSec, p.tsNsec, p.data, p.origLen);
        count++;
      };
      try {
        const capture = await startLiveCapture({ iface, filter, backend }, onPacket);
        const how = `live capture on ${iface} (${backend} backend, timestamps: ${capture.timestampSource}), filter "${filter}"`;
        writer = new PcapngWriter(sink, { userAppl: 'vvmp replay', comment: `vvmp replay: ${o.what}; ${how}` });
        for (const p of early.splice(0)) onPacket(p);
        return new LiveRecorder(how, capture, sink, () => count);
      } catch (e) {
        sink.close();
        lastErr = e as Error;
      }
    }
    const reason = (lastErr?.message ?? 'no capture backend').split('\n')[0]!;
    if (o.mode === 'live') throw lastErr ?? new Error(reason);
    o.onFallback?.(reason);
  }
  return new SyntheticRecorder(o.path,
    `vvmp replay: ${o.what}; synthetic packets: what the replay's sockets sent and received, `
    + 'with synthetic Ethernet/IP/UDP|TCP headers (real local and remote addresses and ports, wall-clock timestamps); '
    + 'not a live capture');
}
