import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter, fileSink } from '../../src/capture/writer.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_QUERY, REPLY_BIT } from '../../src/protocol/fields.js';
import { eth, ipv4, tcp, udp, TCP_ACK, TCP_PSH, TCP_SYN } from '../net/build.js';
import { ndjson, tempDir, vvmp } from '../helpers/cli.js';

const C = 0x11n;
const S = 0xaan;
const T0 = 1700000000;

const allocReq: FrameSpec = { opcode: OP_ALLOCATE, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: C, transaction_id: 7,
  payload: { storage_type: 5, access_type: 2, capacity_kb: 104857600, bandwidth_kb: 20480, qos: 3, flags: 1, timeout_ms: 2000 } };
const allocOk: FrameSpec = { opcode: OP_ALLOCATE | REPLY_BIT, sub_opcode: 0, src_san: 1, dst_san: 1, client_id: C, server_id: S, transaction_id: 7,
  payload: { storage_type: 5, access_type: 2, session_id: 17, capacity_kb: 104857600, bandwidth_kb: 20480, qos: 3, flags: 1, timeout_ms: 2000 } };
const initReq: FrameSpec = { opcode: OP_INITIALIZE, client_id: C, server_id: S, transaction_id: 8, payload: { session_id: 17, stripe_size: 65536 } };
const initOk: FrameSpec = { ...initReq, opcode: OP_INITIALIZE | REPLY_BIT };
const freeReq: FrameSpec = { opcode: OP_FREE, client_id: C, server_id: S, transaction_id: 9, payload: { session_id: 17 } };
const freeOk: FrameSpec = { ...freeReq, opcode: OP_FREE | REPLY_BIT };
const lostQuery: FrameSpec = { opcode: OP_QUERY, sub_opcode: 0xff, client_id: 0x22n, transaction_id: 1 };
const badQuery: FrameSpec = { opcode: OP_QUERY, sub_opcode: 1, client_id: 0x33n, transaction_id: 5, corruptChecksum: true };

let dir: string;
let capture: string;

/** UDP exchanges, a TCP connection carrying two frames in one segment and one frame over two, a timeout. */
function writeCapture(path: string): void {
  const sink = fileSink(path);
  const w = new PcapWriter(sink, { nanosecond: true });
  const cli = { src: '10.0.0.1', dst: '10.0.0.2' };
  const srv = { src: '10.0.0.2', dst: '10.0.0.1' };
  const up = (ms: number, f: FrameSpec) => w.writePacket(T0, ms * 1e6, eth(ipv4(udp(40001, 7369, encodeFrame(f)), cli)));
  const down = (ms: number, f: FrameSpec) => w.writePacket(T0, ms * 1e6, eth(ipv4(udp(7369, 40001, encodeFrame(f)), srv)));
  up(100, allocReq);
  down(100.39, allocOk);
  // TCP: Initialize + Free requests in one segment, replies split across two segments.
  const tc = { src: '10.0.0.1', dst: '10.0.0.2', proto: 6 };
  const ts = { src: '10.0.0.2', dst: '10.0.0.1', proto: 6 };
  const a = encodeFrame(initReq);
  const b = encodeFrame(freeReq);
  const replies = Buffer.concat([encodeFrame(initOk), encodeFrame(freeOk)]);
  w.writePacket(T0, 200e6, eth(ipv4(tcp({ sport: 40002, dport: 7369, seq: 1000, flags: TCP_SYN }), tc)));
  w.writePacket(T0, 200.1e6, eth(ipv4(tcp({ sport: 7369, dport: 40002, seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK }), ts)));
  w.writePacket(T0, 201e6, eth(ipv4(tcp({ sport: 40002, dport: 7369, seq: 1001, ack: 1, flags: TCP_PSH | TCP_ACK }, Buffer.concat([a, b])), tc)));
  w.writePacket(T0, 202e6, eth(ipv4(tcp({ sport: 7369, dport: 40002, seq: 5001, ack: 1001 + a.length + b.length, flags: TCP_PSH | TCP_ACK }, replies.subarray(0, 50)), ts)));
  w.writePacket(T0, 203e6, eth(ipv4(tcp({ sport: 7369, dport: 40002, seq: 5051, ack: 1001 + a.length + b.length, flags: TCP_PSH | TCP_ACK }, replies.subarray(50)), ts)));
  up(300, lostQuery);
  up(400.123456789, badQuery);
  down(400.5, { opcode: OP_QUERY | REPLY_BIT, sub_opcode: 0x31, client_id: 0x33n, server_id: S, transaction_id: 5 });
  // A packet past the lost Query's deadline (300 ms + 5,000 ms).
  w.writePacket(T0 + 6, 0, eth(ipv4(udp(5000, 5001, Buffer.from('not vvmp')), cli)));
  sink.close();
}

beforeAll(() => {
  dir = tempDir();
  capture = join(dir, 'mix.pcap');
  writeCapture(capture);
});

describe('vvmp read --json', () => {
  it('prints one OUTPUT.md record per frame in completion order', () => {
    const r = vvmp(['read', capture, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs.map((x) => x.frame)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(recs.map((x) => x.packet)).toEqual([1, 2, 5, 5, 7, 7, 8, 9, 10]);
    expect(recs.map((x) => x.transport)).toEqual(['udp', 'udp', 'tcp', 'tcp', 'tcp', 'tcp', 'udp', 'udp', 'udp']);
    expect(recs[0]).toEqual({
      frame: 1, packet: 1, time: 1700000000.1, transport: 'udp', src: '10.0.0.1:40001', dst: '10.0.0.2:7369',
      opcode: 2, name: 'Allocate', reply: false, sub_opcode: 1, status: null, src_san: 1, dst_san: 1,
      client_id: '0x0000000000000011', server_id: '0x0000000000000000', transaction_id: 7, length: 5,
      checksum: encodeFrame(allocReq)[31], checksum_ok: true,
      payload: { storage_type: 5, access_type: 2, session_id: 0, capacity_kb: 104857600, bandwidth_kb: 20480, qos: 3, flags: 1, timeout_ms: 2000 },
      session: '0x00000000000000aa/17', expert: [],
    });
    expect(recs[1]).toMatchObject({ reply: true, status: 'OK', session: '0x00000000000000aa/17' });
    expect(recs.slice(2, 6).map((x) => x.session)).toEqual(Array(4).fill('0x00000000000000aa/17'));
    expect(recs[6]).toMatchObject({ name: 'Query', expert: [{ code: 'timeout', severity: 'error' }] });
    expect(recs[7]).toMatchObject({ checksum_ok: false, expert: [{ code: 'checksum_bad', severity: 'error' }] });
    expect(recs[8]).toMatchObject({ status: 'BAD_CHECKSUM', expert: [{ code: 'status_error' }] });
  });

  it('writes the time at the capture resolution, exactly', () => {
    const lines = vvmp(['read', capture, '--json']).stdout.split('\n');
    expect(lines[0]).toContain('"time":1700000000.100000000,');
    expect(lines[7]).toContain('"time":1700000000.400123456,');
  });

  it('the bad-checksum request is answered; its reply is not reply_unmatched', () => {
    const recs = ndjson(vvmp(['read', capture, '--json']).stdout);
    expect(recs.length).toBe(9);
  });
});

describe('vvmp read text', () => {
  it('prints one line per frame with summary and findings', () => {
    const r = vvmp(['read', capture]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^\s+1\s+0\.000000000\s+10\.0\.0\.1:40001 → 10\.0\.0\.2:7369\s+UDP\s+Allocate Request RAID5 FC 100\.0 GiB 20\.0 MiB\/s gold exclusive txid=7/);
    expect(lines[1]).toContain('Allocate Reply OK RAID5 FC 100.0 GiB');
    expect(lines[1]).toContain('(0.39 ms)');
    expect(lines[6]).toContain('✗ timeout');
    expect(lines[7]).toContain('✗ checksum_bad');
  });

  it('-V shows the field tree with byte offsets', () => {
    const r = vvmp(['read', capture, '-V', '-Y', 'frame.number == 1']);
    expect(r.stdout).toContain('[36..39]  Capacity: 100.0 GiB (104,857,600 KB)');
    expect(r.stdout).toContain('[0..1]    Opcode: Allocate request (0x0002)');
    expect(r.stdout).toContain('Session: 0x00000000000000aa/17');
  });

  it('-Y narrows the frames; a bad filter is one line and exit 2', () => {
    expect(ndjson(vvmp(['read', capture, '--json', '-Y', 'vvmp.reply == 1 && vvmp.status == OK']).stdout).map((x) => x.frame)).toEqual([2, 5, 6]);
    expect(ndjson(vvmp(['read', capture, '--json', '-Y', 'expert.code == timeout']).stdout).map((x) => x.frame)).toEqual([7]);
    const bad = vvmp(['read', capture, '-Y', 'vvmp.opcod == 1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('vvmp: display filter: column 1: unknown field "vvmp.opcod"; did you mean vvmp.opcode?\n');
  });

  it('-w writes the packets of the shown frames to a pcapng that reads back', () => {
    const out = join(dir, 'sel.pcapng');
    expect(vvmp(['read', capture, '-Y', 'transport == "tcp"', '-w', out]).code).toBe(0);
    const back = ndjson(vvmp(['read', out, '--json']).stdout);
    // Every packet carrying bytes of the TCP frames: the segment with both requests and the two reply segments.
    expect(back.map((x) => x.name)).toEqual(['Initialize', 'Free', 'Initialize', 'Free']);
    const tshark = spawnSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    if (tshark.error) console.log('tshark not installed: skipping the tshark read-back');
    else expect(tshark.stdout.trim().split('\n')).toEqual(['1', '2', '3']);
  });
});

describe('exit codes and one-line errors', () => {
  it('missing file, directory, garbage, empty file: exit 1 with one line naming the file', () => {
    const garbage = join(dir, 'garbage.pcap');
    writeFileSync(garbage, Buffer.from('this is not a capture file at all\n'));
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    const sub = join(dir, 'adir');
    mkdirSync(sub, { recursive: true });
    for (const [file, reason] of [[join(dir, 'nope.pcap'), 'no such file'], [garbage, 'not a capture file'], [empty, 'empty'], [sub, 'directory']] as const) {
      const r = vvmp(['read', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain(reason);
    }
  });

  it('unreadable file: exit 1 (skipped as root, who can read anything)', () => {
    if (process.getuid?.() === 0) {
      console.log('running as root: permission-denied case not testable');
      return;
    }
    const locked = join(dir, 'locked.pcap');
    writeFileSync(locked, readFileSync(capture));
    chmodSync(locked, 0);
    const r = vvmp(['read', locked]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('permission denied');
  });

  it('a capture cut mid-record gives every frame before the cut, a warning, exit 0', () => {
    const whole = readFileSync(capture);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 20));
    const r = vvmp(['read', cut, '--json']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout).length).toBe(9);
    expect(r.stderr).toMatch(/^vvmp: .*cut\.pcap: .*cut off.*\n$/);
  });

  it('bad usage: exit 2', () => {
    expect(vvmp(['read']).code).toBe(2);
    expect(vvmp(['read', capture, '--port', 'abc']).code).toBe(2);
    expect(vvmp(['frobnicate']).code).toBe(2);
  });
});
