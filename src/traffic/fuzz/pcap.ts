// exchange.pcapng: what a failing case sent and received, as packets with
// synthetic Ethernet / IPv4 / TCP|UDP headers on loopback addresses (the
// client 127.0.0.1:40001…, the server 127.0.0.1:7369 so every VVMP tool
// decodes it by default). TCP connections get a handshake, sequence numbers
// that follow the bytes, and FIN/RST as observed.

import { PcapngWriter, fileSink } from '../../capture/writer.js';
import {
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, ip4, tcpPacket, udpPacket, type Hosts,
} from '../../net/build.js';
import { DEFAULT_PORT } from '../../protocol/fields.js';
import type { TranscriptEvent } from './exec.js';

const LINKTYPE_ETHERNET = 1;
const MAC_CLIENT = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
const MAC_SERVER = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);
const IP_CLIENT = ip4('127.0.0.1');
const IP_SERVER = ip4('127.0.0.1');
export const PCAP_SERVER_PORT = DEFAULT_PORT;
export const PCAP_CLIENT_PORT_BASE = 40001;
const MSS = 16384;

const FROM_CLIENT: Hosts = { srcMac: MAC_CLIENT, dstMac: MAC_SERVER, src: IP_CLIENT, dst: IP_SERVER };
const FROM_SERVER: Hosts = { srcMac: MAC_SERVER, dstMac: MAC_CLIENT, src: IP_SERVER, dst: IP_CLIENT };

/** Packets of one transcript; IPv4 ids count up from 1 in each. */
class Packets {
  private ipId = 1;

  udp(fromClient: boolean, cport: number, data: Buffer): Buffer {
    const [sp, dp] = fromClient ? [cport, PCAP_SERVER_PORT] : [PCAP_SERVER_PORT, cport];
    return udpPacket(fromClient ? FROM_CLIENT : FROM_SERVER, sp, dp, data, this.ipId++);
  }

  tcp(fromClient: boolean, cport: number, seq: number, ack: number, flags: number, data: Buffer): Buffer {
    const [sp, dp] = fromClient ? [cport, PCAP_SERVER_PORT] : [PCAP_SERVER_PORT, cport];
    return tcpPacket(fromClient ? FROM_CLIENT : FROM_SERVER, sp, dp, seq, ack, flags, data, this.ipId++);
  }
}

const FIN = TCP_FIN;
const SYN = TCP_SYN;
const RST = TCP_RST;
const PSH = TCP_PSH;
const ACK = TCP_ACK;

export interface PcapPacket {
  t: number;
  data: Buffer;
}

/** The packets for a transcript, in event order. */
export function transcriptPackets(events: readonly TranscriptEvent[]): PcapPacket[] {
  const out: PcapPacket[] = [];
  const pk = new Packets();
  const udp = pk.udp.bind(pk);
  const tcp = pk.tcp.bind(pk);
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
