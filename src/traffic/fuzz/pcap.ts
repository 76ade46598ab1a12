// exchange.pcapng: what a failing case sent and received, as packets with
// synthetic Ethernet / IPv4 / TCP|UDP headers on loopback addresses (the
// client 127.0.0.1:40001…, the server 127.0.0.1:7369 so every VVMP tool
// decodes it by default). TCP connections get a handshake, sequence numbers
// that follow the bytes, and FIN/RST as observed.

import { PcapngWriter, fileSink } from '../../capture/writer.js';
import type { TranscriptEvent } from './exec.js';

const LINKTYPE_ETHERNET = 1;
const MAC_CLIENT = [0x02, 0, 0, 0, 0, 0x01];
const MAC_SERVER = [0x02, 0, 0, 0, 0, 0x02];
const IP_CLIENT = [127, 0, 0, 1];
const IP_SERVER = [127, 0, 0, 1];
export const PCAP_SERVER_PORT = 7369;
export const PCAP_CLIENT_PORT_BASE = 40001;
const MSS = 16384;

function sum16(b: Buffer, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

let ipId = 1;

function ipv4(proto: number, src: number[], dst: number[], l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE(ipId++ & 0xffff, 4);
  h.writeUInt16BE(0x4000, 6);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  h.writeUInt16BE(fold(sum16(h, 0, 20)), 10);
  return Buffer.concat([h, l4]);
}

function pseudo(src: number[], dst: number[], proto: number, len: number): number {
  const p = Buffer.alloc(12);
  Buffer.from(src).copy(p, 0);
  Buffer.from(dst).copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return sum16(p, 0, 12);
}

function eth(ip: Buffer, fromClient: boolean): Buffer {
  const h = Buffer.alloc(14);
  Buffer.from(fromClient ? MAC_SERVER : MAC_CLIENT).copy(h, 0);
  Buffer.from(fromClient ? MAC_CLIENT : MAC_SERVER).copy(h, 6);
  h.writeUInt16BE(0x0800, 12);
  return Buffer.concat([h, ip]);
}

function udp(fromClient: boolean, cport: number, data: Buffer): Buffer {
  const u = Buffer.alloc(8 + data.length);
  const [sp, dp] = fromClient ? [cport, PCAP_SERVER_PORT] : [PCAP_SERVER_PORT, cport];
  const [src, dst] = fromClient ? [IP_CLIENT, IP_SERVER] : [IP_SERVER, IP_CLIENT];
  u.writeUInt16BE(sp, 0);
  u.writeUInt16BE(dp, 2);
  u.writeUInt16BE(u.length, 4);
  data.copy(u, 8);
  const c = fold(sum16(u, 0, u.length, pseudo(src, dst, 17, u.length)));
  u.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  return eth(ipv4(17, src, dst, u), fromClient);
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

function tcp(fromClient: boolean, cport: number, seq: number, ack: number, flags: number, data: Buffer): Buffer {
  const t = Buffer.alloc(20 + data.length);
  const [sp, dp] = fromClient ? [cport, PCAP_SERVER_PORT] : [PCAP_SERVER_PORT, cport];
  const [src, dst] = fromClient ? [IP_CLIENT, IP_SERVER] : [IP_SERVER, IP_CLIENT];
  t.writeUInt16BE(sp, 0);
  t.writeUInt16BE(dp, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65535, 14);
  data.copy(t, 20);
  t.writeUInt16BE(fold(sum16(t, 0, t.length, pseudo(src, dst, 6, t.length))), 16);
  return eth(ipv4(6, src, dst, t), fromClient);
}

export interface PcapPacket {
  t: number;
  data: Buffer;
}

/** The packets for a transcript, in event order. */
export function transcriptPackets(events: readonly TranscriptEvent[]): PcapPacket[] {
  const out: PcapPacket[] = [];
  const state = new Map<number, { cseq: number; sseq: number; finOut: boolean; finIn: boolean }>();
  for (const e of events) {
    const cport = PCAP_CLIENT_PORT_BASE + e.conn;
    if (e.transport === 'udp') {
      if ((e.type === 'out' || e.type === 'in') && e.bytes) out.push({ t: e.t, data: udp(e.type === 'out', cport, e.bytes) });
      continue;
    }
    let s = state.get(e.conn);
    if (!s || e.type === 'open') {
      s = { cseq: 1000 + e.conn * 1_000_000, sseq: 500_000_000 + e.conn * 1_000_000, finOut: false, finIn: false };
      state.set(e.conn, s);
      out.push({ t: e.t, data: tcp(true, cport, s.cseq, 0, SYN, Buffer.alloc(0)) });
      out.push({ t: e.t, data: tcp(false, cport, s.sseq, s.cseq + 1, SYN | ACK, Buffer.alloc(0)) });
      s.cseq++;
      s.sseq++;
      out.push({ t: e.t, data: tcp(true, cport, s.cseq, s.sseq, ACK, Buffer.alloc(0)) });
      if (e.type === 'open') continue;
    }
    switch (e.type) {
      case 'out':
      case 'in': {
        const b = e.bytes ?? Buffer.alloc(0);
        const fromClient = e.type === 'out';
        for (let at = 0; at < b.length; at += MSS) {
          const chunk = b.subarray(at, Math.min(b.length, at + MSS));
          if (fromClient) {
            out.push({ t: e.t, data: tcp(true, cport, s.cseq, s.sseq, PSH | ACK, chunk) });
            s.cseq += chunk.length;
          } else {
            out.push({ t: e.t, data: tcp(false, cport, s.sseq, s.cseq, PSH | ACK, chunk) });
            s.sseq += chunk.length;
          }
        }
        break;
      }
      case 'fin-out':
        if (!s.finOut) {
          out.push({ t: e.t, data: tcp(true, cport, s.cseq, s.sseq, FIN | ACK, Buffer.alloc(0)) });
          s.cseq++;
          s.finOut = true;
        }
        break;
      case 'fin-in':
        if (!s.finIn) {
          out.push({ t: e.t, data: tcp(false, cport, s.sseq, s.cseq, FIN | ACK, Buffer.alloc(0)) });
          s.sseq++;
          s.finIn = true;
        }
        break;
      case 'reset':
        out.push({ t: e.t, data: tcp(false, cport, s.sseq, s.cseq, RST | ACK, Buffer.alloc(0)) });
        break;
      default:
        break;
    }
  }
  return out;
}

/** Writes the transcript as pcapng with a section comment saying the headers are synthetic. */
export function writeExchangePcapng(path: string, events: readonly TranscriptEvent[], target: string): number {
  const sink = fileSink(path);
  try {
    const w = new PcapngWriter(sink, {
      userAppl: 'vvmp fuzz',
      comment: `vvmp fuzz exchange with ${target}: the VVMP bytes are as sent and received; the Ethernet/IPv4/TCP/UDP `
        + `headers are synthetic (client 127.0.0.1:${PCAP_CLIENT_PORT_BASE}+connection, server 127.0.0.1:${PCAP_SERVER_PORT})`,
    });
    const id = w.addInterface(LINKTYPE_ETHERNET, { tsDigits: 9, name: 'synthetic-loopback' });
    const packets = transcriptPackets(events);
    for (const p of packets) {
      const sec = Math.floor(p.t / 1000);
      const nsec = Math.min(999_999_999, Math.round((p.t - sec * 1000) * 1e6));
      w.writePacket(id, sec, nsec, p.data);
    }
    return packets.length;
  } finally {
    sink.close();
  }
}
