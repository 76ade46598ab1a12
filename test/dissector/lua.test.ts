// The generated Lua dissector, run by tshark over a built capture, must show
// the same frames, field values, checksum verdicts and per-frame expert codes
// as our decoder (and as `vvmp read --json` once that runs).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLuaDissector, FRAME_EXPERT_CODES } from '../../src/dissector/lua.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { FIELDS_BY_FILTER, PAYLOAD_BLOCKS, HEADER } from '../../src/protocol/fields.js';
import { TcpConnection } from '../../bench/packets.js';
import { CaptureBuilder, ep } from './capture.js';
import { compareWithTshark, formatMismatches, writeLuaDissector, type CompareResult } from './compare.js';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

const CLIENT = ep('10.0.0.1', 40001);
const SERVER = ep('10.0.0.2', 7369);
const C = 0x11n;
const S = 0xaan;

const alloc = { storage_type: 5, access_type: 2, session_id: 0, capacity_kb: 104857600, bandwidth_kb: 20480, qos: 3, flags: 0x09, timeout_ms: 2000 };
const device = (id: number, extra: Record<string, number> = {}) => ({
  device_id: id, storage_type: 5, access_type: 2, device_class: 2, device_flags: 0x05, free_kb: 1_000_000 * id,
  bandwidth_kb: 40960, san_id: 0x010203, reserved: 0, ...extra,
});
const stats = { session_id: 17, reserved: 0, age_ms: 123456, bytes_read: 0x1234_5678_9abc_def0n, bytes_written: 2n ** 53n + 1n, io_ops: 4_000_000_000, io_errors: 3 };

function f(spec: FrameSpec): Buffer {
  return encodeFrame({ src_san: 1, dst_san: 1, client_id: C, server_id: S, ...spec });
}

/** Frames sent over UDP, one per datagram: every opcode, request and reply, and every per-frame finding. */
function udpFrames(): Buffer[] {
  let tx = 100;
  const fr = (spec: FrameSpec) => f({ transaction_id: tx++, ...spec });
  const allocReq = fr({ opcode: 0x0002, sub_opcode: 0x02, payload: alloc });
  return [
    fr({ opcode: 0x0001, sub_opcode: 0x01, server_id: 0n }),
    fr({ opcode: 0x8001, payload: { devices: [device(1), device(2, { device_flags: 0x0f, access_type: 0 }), device(3, { reserved: 7 })] } }),
    fr({ opcode: 0x8001, payload: { devices: [] } }),
    allocReq,
    fr({ opcode: 0x8002, payload: { ...alloc, session_id: 17 } }),
    fr({ opcode: 0x8002, sub_opcode: 0x01, payload: { ...alloc, flags: 0x08 } }), // PENDING
    fr({ opcode: 0x8002, sub_opcode: 0x10 }), // NO_CAPACITY, empty
    fr({ opcode: 0x0003, payload: { session_id: 17, stripe_size: 65536, cache_line_size: 64, block_size: 4096, include_device_id: 9, exclude_device_id: 0 } }),
    fr({ opcode: 0x8003, payload: { session_id: 17, stripe_size: 65536 } }),
    fr({ opcode: 0x0004, payload: { session_id: 17, release_kb: 1024 } }),
    fr({ opcode: 0x8004, payload: { session_id: 17, release_kb: 0 } }),
    fr({ opcode: 0x0005, payload: { ...alloc, session_id: 17, capacity_kb: 200 } }),
    fr({ opcode: 0x8005, sub_opcode: 0x22, payload: { ...alloc, session_id: 17 } }), // CONFLICT with a payload
    fr({ opcode: 0x0006, payload: { session_id: 17 } }),
    fr({ opcode: 0x8006, payload: stats }),
    fr({ opcode: 0x8006, sub_opcode: 0x20 }), // UNKNOWN_SESSION, empty
    fr({ opcode: 0x0007, sub_opcode: 0x02, payload: { devices: [device(7), device(8)] } }), // Announce boot
    fr({ opcode: 0x0007, sub_opcode: 0x01, payload: { devices: [] } }),
    // findings
    fr({ opcode: 0x0002, sub_opcode: 0x01, payload: alloc, corruptChecksum: true }), // checksum_bad
    fr({ opcode: 0x8001, checksumOverride: 0x00, payload: { devices: [device(4)] } }), // checksum_bad (likely)
    fr({ opcode: 0x0003, payload: alloc, block: PAYLOAD_BLOCKS[0] }), // payload_size: Initialize with 20 bytes
    fr({ opcode: 0x0001, sub_opcode: 0x01, payload: new Uint8Array(8) }), // payload_size: Query request with payload
    fr({ opcode: 0x8001, payload: new Uint8Array(28) }), // payload_size: not a multiple of 20
    fr({ opcode: 0x8002, sub_opcode: 0x10, payload: new Uint8Array(4) }), // error reply, wrong non-empty size
    fr({ opcode: 0x0042, sub_opcode: 0x09, payload: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }), // opcode_unknown
    fr({ opcode: 0x8007, payload: { devices: [device(5)] }, block: PAYLOAD_BLOCKS[1] }), // 0x8007 is unknown
    fr({ opcode: 0x0001, sub_opcode: 0x07 }), // subop_invalid
    fr({ opcode: 0x0004, sub_opcode: 0x01, payload: { session_id: 1, release_kb: 0 } }), // subop_invalid
    fr({ opcode: 0x8004, sub_opcode: 0x7e }), // unknown status: subop_invalid + status_error
    fr({ opcode: 0x0004, payload: { session_id: 17, reserved: 5, release_kb: 0 } }), // reserved_nonzero
    fr({ opcode: 0x0006, payload: { session_id: 17, reserved: 1 } }), // reserved_nonzero
    fr({ opcode: 0x0002, sub_opcode: 0xff, payload: { ...alloc, flags: 0xf1 } }), // reserved bits
    Buffer.concat([fr({ opcode: 0x0006, payload: { session_id: 3 } }), Buffer.from([1, 2, 3])]), // udp_trailing
    allocReq.subarray(0, 20), // frame_short
    Buffer.alloc(0), // frame_short: an empty datagram
    Buffer.from([0x80]), // frame_short: not even the opcode
    allocReq.subarray(0, 31), // frame_short, length present
    allocReq.subarray(0, 40), // frame_truncated
    fr({ opcode: 0x0002, sub_opcode: 0x01, payload: alloc, lengthOverride: 2 }), // length lies: trailing bytes + payload_size
  ];
}

describe.skipIf(!hasTshark)('generated Lua dissector under tshark', () => {
  let dir: string;
  let file: string;
  let lua: string;
  let result: CompareResult;
  let builder: CaptureBuilder;

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-dissector-'));
    file = path.join(dir, 'all.pcap');
    lua = writeLuaDissector(dir);
    const cap = (builder = new CaptureBuilder(file));
    for (const fr of udpFrames()) {
      const reply = fr.length > 0 && (fr[0]! & 0x80) !== 0;
      cap.udp(reply ? SERVER : CLIENT, reply ? CLIENT : SERVER, fr);
    }
    cap.udp(ep('10.0.0.9', 5353), ep('224.0.0.251', 5353), Buffer.from('not vvmp at all'), false);

    // TCP: several frames per segment, frames split over two and three segments.
    let tx = 500;
    const t = cap.tcp(ep('10.0.0.3', 40100), SERVER);
    const q = f({ opcode: 0x0001, sub_opcode: 0x02, transaction_id: tx++ });
    const a = f({ opcode: 0x0002, sub_opcode: 0x01, transaction_id: tx++, payload: alloc });
    const i = f({ opcode: 0x0003, transaction_id: tx++, payload: { session_id: 4 } });
    t.send(0, q, a, i).segment(0, q.length + a.length + 10).segment(0); // i split over two segments
    const qr = f({ opcode: 0x8001, transaction_id: 500, payload: { devices: [device(1), device(2), device(3), device(4)] } });
    const ar = f({ opcode: 0x8002, transaction_id: 501, payload: { ...alloc, session_id: 4 } });
    t.send(1, qr, ar).segment(1, 30).segment(1, 50).segment(1); // qr over three segments, ar in the last
    const bad = f({ opcode: 0x0004, transaction_id: tx++, payload: { session_id: 4 }, corruptChecksum: true });
    const unk = f({ opcode: 0x0099, transaction_id: tx++, payload: new Uint8Array(12) });
    const st = f({ opcode: 0x0006, transaction_id: tx++, payload: { session_id: 4 } });
    t.send(0, bad, unk, st).segment(0);
    const str = f({ opcode: 0x8006, transaction_id: 505, payload: stats });
    const fr2 = f({ opcode: 0x8004, sub_opcode: 0x31, transaction_id: 503 });
    t.send(1, str, fr2).segment(1, 5).segment(1);
    t.close();
    cap.close();
    result = compareWithTshark(file, { lua });
  });

  it('shows every frame, in the packet that completes it', () => {
    const got = result.frames.map((x) => `${x.packet} ${x.transport} ${x.bytes.toString('hex')}`);
    // Wireshark's UDP dissector hands no empty payload to a subdissector: the empty datagram is not shown.
    const want = builder.expected.filter((x) => x.bytes.length > 0).map((x) => `${x.packet} ${x.transport} ${x.bytes.toString('hex')}`);
    expect(got).toEqual(want);
  });

  it('agrees with decodeFrame on every field, checksum verdict and expert code', () => {
    expect(result.frames.length).toBeGreaterThan(40);
    expect(formatMismatches(result, 50)).toBe('');
    expect(result.mismatches).toEqual([]);
    if (!result.readSkipped) expect(result.knownDifferences.map((k) => k.reason)).toEqual([expect.stringMatching(/^empty UDP/)]);
    // `vvmp read --json` is compared too when it runs (framing, packets, values, findings).
    if (result.readSkipped) console.warn(`vvmp read --json not compared: ${result.readSkipped}`);
  });

  it('covers every per-frame expert code, bad checksums and device records', () => {
    const seen = new Set(result.frames.flatMap((x) => x.expert));
    for (const code of FRAME_EXPERT_CODES) expect(seen, code).toContain(code);
    expect(result.checksumBad).toBeGreaterThanOrEqual(3);
    const devices = result.frames.reduce((n, x) => n + (x.fields.get('vvmp.device')?.length ?? 0), 0);
    expect(devices).toBeGreaterThanOrEqual(10);
    // u64 above 2^53 survive both sides exactly
    const br = result.frames.flatMap((x) => x.fields.get('vvmp.stats.bytes_read') ?? []);
    expect(br).toContain(0x1234_5678_9abc_def0n.toString());
  });

  it('every table field is declared in the Lua with its filter name', () => {
    const text = fs.readFileSync(lua, 'utf8');
    for (const name of FIELDS_BY_FILTER.keys()) expect(text).toContain(`field("${name}", ProtoField.`);
    for (const code of FRAME_EXPERT_CODES) expect(text).toContain(`"vvmp.expert.${code}"`);
    expect(text).toContain('ProtoField.uint64("vvmp.client_id", "Client ID", base.HEX');
    expect(text).toContain('ProtoField.uint64("vvmp.stats.bytes_read", "Bytes read"');
  });

  it('tshark lists every generated field (the script loads without errors)', () => {
    const r = spawnSync('tshark', ['-G', 'fields', '-X', `lua_script:${lua}`], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const names = new Set(r.stdout.split('\n').map((l) => l.split('\t')[2]).filter(Boolean));
    for (const name of FIELDS_BY_FILTER.keys()) expect(names, name).toContain(name);
    for (const name of ['vvmp.reply', 'vvmp.status', 'vvmp.checksum_ok', 'vvmp.name', 'vvmp.alloc.flags.exclusive']) {
      expect(names, name).toContain(name);
    }
  });

  it('lists by-design differences with vvmp read apart: cut-off stream end, tcp_desync; a retransmission is ignored by both', () => {
    const efile = path.join(dir, 'edges.pcap');
    const cap = new CaptureBuilder(efile);
    const fr = (tx: number) => f({ opcode: 0x0004, transaction_id: tx, payload: { session_id: 3 } });
    const conn = new TcpConnection(ep('10.0.0.5', 40300), SERVER, 100, 200);
    for (const p of conn.open()) cap.packet(p);
    const seg = conn.data(0, Buffer.concat([fr(1), fr(2)]));
    cap.packet(seg);
    cap.packet(seg); // retransmission
    const big = f({ opcode: 0x0042, transaction_id: 9, payload: new Uint8Array(70000) }); // over the 65,536-byte limit
    for (let o = 0; o < big.length; o += 1400) cap.packet(conn.data(0, big.subarray(o, Math.min(big.length, o + 1400))));
    cap.packet(conn.data(0, fr(3)));
    const other = new TcpConnection(ep('10.0.0.6', 40301), SERVER, 100, 200);
    for (const p of other.open()) cap.packet(p);
    cap.packet(other.data(0, fr(4).subarray(0, 20))); // the stream ends inside a frame
    cap.close();
    const r = compareWithTshark(efile, { lua });
    expect(formatMismatches(r)).toBe('');
    expect(r.frames.map((x) => x.fields.get('vvmp.transaction_id')![0])).toEqual(['1', '2', '9', '3']);
    if (r.readSkipped) return;
    expect(r.knownDifferences.map((k) => k.reason.split(/[:(]/)[0]!.trim()).sort()).toEqual([
      'TCP frame cut off by the end of the stream', 'after tcp_desync', 'after tcp_desync', 'tcp_desync',
    ]);
  });

  it('finds VVMP on another port with the heuristic preference only', () => {
    const hfile = path.join(dir, 'heur.pcap');
    const cap = new CaptureBuilder(hfile);
    const other = ep('10.0.0.2', 9000);
    const good = f({ opcode: 0x0001, sub_opcode: 0x01, transaction_id: 1 });
    cap.udp(CLIENT, other, good);
    cap.udp(CLIENT, other, f({ opcode: 0x0001, sub_opcode: 0x01, transaction_id: 2, corruptChecksum: true }), false);
    const t = cap.tcp(ep('10.0.0.3', 40200), other);
    t.send(0, good, good).segment(0);
    t.close();
    cap.close();
    expect(compareWithTshark(hfile, { lua, useRead: false }).frames).toHaveLength(0);
    const r = compareWithTshark(hfile, { lua, tsharkArgs: ['-o', 'vvmp.heuristic:TRUE'], readArgs: ['--heuristic'] });
    expect(r.frames.map((x) => x.transport)).toEqual(['udp', 'tcp', 'tcp']);
    expect(r.mismatches).toEqual([]);
  });
});

describe('Lua generator', () => {
  it('walks the field table: a header field maps to a ProtoField of its width', () => {
    const text = generateLuaDissector();
    for (const fd of HEADER.fields) {
      const type = { 1: 'uint8', 2: 'uint16', 3: 'uint24', 4: 'uint32', 8: 'uint64' }[fd.width];
      expect(text).toContain(`field("${fd.filter}", ProtoField.${type}("${fd.filter}"`);
    }
    expect(text).toContain('dissect_tcp_pdus');
    expect(text).toContain('DissectorTable.get("udp.port")');
  });

  it('decodeFrame agrees on what the test capture holds (sanity of the fixtures)', () => {
    const codes = new Set(udpFrames().flatMap((b) => decodeFrame(b, { udp: true }).findings.map((x) => x.code)));
    for (const code of FRAME_EXPERT_CODES) expect(codes, code).toContain(code);
  });
});
