// Captures for the terminal UI tests: Ethernet/IPv4/UDP packets carrying VVMP
// frames built with the encoder, written with the project's pcap writer.

import { PcapWriter, fileSink } from '../../src/capture/writer.js';
import type { Packet } from '../../src/capture/packet.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';

export const T0 = 1_700_000_000;

function ipBytes(text: string): number[] {
  return text.split('.').map(Number);
}

function sum16(b: Buffer, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Ethernet II + IPv4 + UDP around `payload` (UDP checksum 0: not computed). */
export function udpPacket(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(14 + 20 + 8 + payload.length);
  b.set([0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00], 0);
  const ip = 14;
  b[ip] = 0x45;
  b.writeUInt16BE(20 + 8 + payload.length, ip + 2);
  b[ip + 8] = 64;
  b[ip + 9] = 17;
  b.set(ipBytes(src), ip + 12);
  b.set(ipBytes(dst), ip + 16);
  b.writeUInt16BE(sum16(b, ip, ip + 20), ip + 10);
  const u = ip + 20;
  b.writeUInt16BE(sport, u);
  b.writeUInt16BE(dport, u + 2);
  b.writeUInt16BE(8 + payload.length, u + 4);
  b.set(payload, u + 8);
  return b;
}

export interface Step {
  /** Seconds after T0. */
  t: number;
  src: [string, number];
  dst: [string, number];
  frame: FrameSpec;
}

const A: [string, number] = ['10.0.0.1', 40001];
const B: [string, number] = ['10.0.0.3', 40100];
const C: [string, number] = ['10.0.0.4', 40200];
const SRV: [string, number] = ['10.0.0.2', 7369];
const DEV: [string, number] = ['10.0.0.5', 7369];
const BCAST: [string, number] = ['10.0.0.255', 7369];

const ALLOC = { storage_type: 5, access_type: 2, session_id: 0, capacity_kb: 104857600, bandwidth_kb: 20480, qos: 3, flags: 1, timeout_ms: 2000 };
const DEVICE = { device_id: 7, storage_type: 5, access_type: 2, device_class: 2, device_flags: 1, free_kb: 209715200, bandwidth_kb: 102400, san_id: 1, reserved: 0 };

/**
 * The UI test capture, frames in order:
 *  1/2 Query + reply · 3/4 Allocate + OK session 17 · 5/6 Initialize · 7/8 Statistics · 9/10 Free
 *  11 Query with a bad checksum / 12 BAD_CHECKSUM reply · 13/14 Allocate rejected NO_CAPACITY (other client)
 *  15 Query that times out · 16 Announce (6.5 s later: moves time past the deadline) · 17/18 Query + reply
 */
export function scenario(): Step[] {
  const c1 = { client_id: 0x11n, src_san: 1, dst_san: 1 };
  const rs = { client_id: 0x11n, server_id: 0xaan, src_san: 1, dst_san: 1 };
  return [
    { t: 0, src: A, dst: SRV, frame: { opcode: 0x0001, ...c1, transaction_id: 1, sub_opcode: 1 } },
    { t: 0.0004, src: SRV, dst: A, frame: { opcode: 0x8001, ...rs, transaction_id: 1, payload: { devices: [DEVICE, { ...DEVICE, device_id: 8, device_class: 0 }] } } },
    { t: 0.1, src: A, dst: SRV, frame: { opcode: 0x0002, ...c1, transaction_id: 2, sub_opcode: 1, payload: ALLOC } },
    { t: 0.10039, src: SRV, dst: A, frame: { opcode: 0x8002, ...rs, transaction_id: 2, payload: { ...ALLOC, session_id: 17 } } },
    { t: 0.2, src: A, dst: SRV, frame: { opcode: 0x0003, ...rs, transaction_id: 3, payload: { session_id: 17, stripe_size: 65536, block_size: 4096 } } },
    { t: 0.2003, src: SRV, dst: A, frame: { opcode: 0x8003, ...rs, transaction_id: 3, payload: { session_id: 17, stripe_size: 65536, block_size: 4096 } } },
    { t: 0.3, src: A, dst: SRV, frame: { opcode: 0x0006, ...rs, transaction_id: 4, payload: { session_id: 17 } } },
    { t: 0.3002, src: SRV, dst: A, frame: { opcode: 0x8006, ...rs, transaction_id: 4, payload: { session_id: 17, age_ms: 200, bytes_read: 1048576n, bytes_written: 4096n, io_ops: 12, io_errors: 0 } } },
    { t: 0.4, src: A, dst: SRV, frame: { opcode: 0x0004, ...rs, transaction_id: 5, payload: { session_id: 17, release_kb: 0 } } },
    { t: 0.4002, src: SRV, dst: A, frame: { opcode: 0x8004, ...rs, transaction_id: 5, payload: { session_id: 17, release_kb: 0 } } },
    { t: 0.5, src: A, dst: SRV, frame: { opcode: 0x0001, ...c1, transaction_id: 6, sub_opcode: 1, corruptChecksum: true } },
    { t: 0.5001, src: SRV, dst: A, frame: { opcode: 0x8001, ...rs, transaction_id: 6, sub_opcode: 0x31 } },
    { t: 0.6, src: B, dst: SRV, frame: { opcode: 0x0002, client_id: 0x22n, src_san: 1, dst_san: 1, transaction_id: 1, sub_opcode: 1, payload: { ...ALLOC, storage_type: 1, capacity_kb: 2097152 } } },
    { t: 0.6005, src: SRV, dst: B, frame: { opcode: 0x8002, client_id: 0x22n, server_id: 0xaan, src_san: 1, dst_san: 1, transaction_id: 1, sub_opcode: 0x10 } },
    { t: 1.0, src: C, dst: SRV, frame: { opcode: 0x0001, client_id: 0x33n, src_san: 1, dst_san: 1, transaction_id: 9, sub_opcode: 2 } },
    { t: 6.5, src: DEV, dst: BCAST, frame: { opcode: 0x0007, src_san: 1, dst_san: 0xffffff, sub_opcode: 1, payload: { devices: [DEVICE] } } },
    { t: 6.6, src: A, dst: SRV, frame: { opcode: 0x0001, ...c1, transaction_id: 10, sub_opcode: 1 } },
    { t: 6.6003, src: SRV, dst: A, frame: { opcode: 0x8001, ...rs, transaction_id: 10, payload: { devices: [DEVICE] } } },
  ];
}

function stamp(t: number): [number, number] {
  const us = Math.round(t * 1e6);
  return [T0 + Math.floor(us / 1e6), (us % 1e6) * 1000];
}

export function packetsOf(steps: Step[]): Packet[] {
  return steps.map((s, i) => {
    const [sec, nsec] = stamp(s.t);
    const data = udpPacket(s.src[0], s.src[1], s.dst[0], s.dst[1], encodeFrame(s.frame));
    return { index: i + 1, tsSec: sec, tsNsec: nsec, tsDigits: 6, linkType: 1, data, origLen: data.length, interfaceId: 0, fileOffset: 0 };
  });
}

/** Writes the scenario (or the given steps) as a microsecond pcap. */
export function writeCapture(path: string, steps: Step[] = scenario()): void {
  const sink = fileSink(path);
  const w = new PcapWriter(sink);
  for (const p of packetsOf(steps)) w.writePacket(p.tsSec, p.tsNsec, p.data);
  sink.close();
}

/**
 * A large capture of UDP request/reply pairs (Query and Allocate, a few
 * clients), for the load measurements: `frames` VVMP frames.
 */
export function writeBigCapture(path: string, frames: number): void {
  const sink = fileSink(path, 4 << 20);
  const w = new PcapWriter(sink);
  const pairs = Math.ceil(frames / 2);
  let written = 0;
  for (let i = 0; i < pairs && written < frames; i++) {
    const client = 1 + (i % 8);
    const src = `10.0.1.${client}`;
    const sport = 40000 + client;
    const tx = i + 1;
    const t = i * 0.0005;
    const [sec, nsec] = stamp(t);
    const alloc = i % 4 === 3;
    const req = alloc
      ? encodeFrame({ opcode: 0x0002, client_id: BigInt(client), src_san: 1, dst_san: 1, transaction_id: tx, sub_opcode: 1, payload: ALLOC })
      : encodeFrame({ opcode: 0x0001, client_id: BigInt(client), src_san: 1, dst_san: 1, transaction_id: tx, sub_opcode: 1 });
    w.writePacket(sec, nsec, udpPacket(src, sport, '10.0.0.2', 7369, req));
    written++;
    if (written >= frames) break;
    const [sec2, nsec2] = stamp(t + 0.0002);
    const rep = alloc
      ? encodeFrame({ opcode: 0x8002, client_id: BigInt(client), server_id: 0xaan, src_san: 1, dst_san: 1, transaction_id: tx, payload: { ...ALLOC, session_id: (i % 60000) + 1 } })
      : encodeFrame({ opcode: 0x8001, client_id: BigInt(client), server_id: 0xaan, src_san: 1, dst_san: 1, transaction_id: tx, payload: { devices: [DEVICE] } });
    w.writePacket(sec2, nsec2, udpPacket('10.0.0.2', 7369, src, sport, rep));
    written++;
  }
  sink.close();
}
