// Files written by the real tools (editcap, mergecap, tshark) read back with the timestamps
// tshark shows; and what our writers produce reads back identically through our parser and
// through tshark.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readCaptureFile } from '../../src/capture/file.js';
import { PcapngWriter, PcapWriter, fileSink } from '../../src/capture/writer.js';
import { parseBytes, rec, epoch9, epochDigits, type Rec } from './helpers.js';
import { bytesOf } from './build.js';
import { WILD_TCPDUMP, wildOrSkip } from '../helpers/shared.js';

const WILD = WILD_TCPDUMP;
const haveTools = ['tshark', 'editcap', 'mergecap', 'capinfos'].every((t) => fs.existsSync(`/usr/bin/${t}`));
const haveCorpus = wildOrSkip('test/capture/tools.test.ts (files written by the real tools)');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-capture-tools-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

interface SharkRow {
  number: number;
  epoch: string;
  len: number;
  capLen: number;
  ifId: string;
  comment: string;
  ifName: string;
}

function tshark(file: string): SharkRow[] {
  const out = run('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.interface_id', '-e', 'frame.comment', '-e', 'frame.interface_name']);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [number, epoch, len, capLen, ifId, comment, ifName] = l.split('\t');
      return { number: Number(number), epoch, len: Number(len), capLen: Number(capLen), ifId: ifId ?? '', comment: comment ?? '', ifName: ifName ?? '' };
    });
}

function readRecs(file: string): { packets: Rec[]; format: string; damage: string | null } {
  const packets: Rec[] = [];
  const r = readCaptureFile(file, (p) => packets.push(rec(p)));
  return { packets, format: r.format, damage: r.damage };
}

/** Our packets against tshark's rows: same count, exact time strings, lengths. */
function expectSameAsTshark(file: string, packets: Rec[]): void {
  const rows = tshark(file);
  expect(rows.length, file).toBe(packets.length);
  for (let i = 0; i < rows.length; i++) {
    const p = packets[i];
    const r = rows[i];
    expect(r.number).toBe(p.index);
    // tshark 4.0 always prints 9 digits; the capture's own digits, padded, must say the same.
    expect(epoch9(p.tsSec, p.tsNsec), `${file} #${p.index}`).toBe(r.epoch);
    const own = epochDigits(p.tsSec, p.tsNsec, p.tsDigits);
    expect(r.epoch.startsWith(own) && /^\.?0*$/.test(r.epoch.slice(own.length)), `${file} #${p.index}: ${own} vs ${r.epoch}`).toBe(true);
    expect(r.len).toBe(p.origLen);
    expect(r.capLen).toBe(p.data.length / 2);
  }
}

const strip = (ps: Rec[]) => ps.map(({ fileOffset: _f, interfaceId: _i, ...rest }) => rest);

describe.skipIf(!haveTools || !haveCorpus)('files written by the real tools', () => {
  const originals = [
    'AoE_Linux.pcap', // Ethernet, little-endian µs
    'resp_3_malicious.pcap', // LINUX_SLL
    'ieee802.11_exthdr.pcap', // radiotap
    'pptp.pcap', // big-endian µs
    'tcp-handshake-nano.pcap', // nanosecond pcap
  ];

  it('editcap -F pcapng: same packets as the original, same times as tshark', () => {
    for (const f of originals) {
      const src = path.join(WILD, f);
      const out = path.join(dir, `${f}.pcapng`);
      run('editcap', ['-F', 'pcapng', src, out]);
      const a = readRecs(src);
      const b = readRecs(out);
      expect(b.format).toBe('pcapng');
      expect(b.damage).toBeNull();
      expect(strip(b.packets)).toEqual(strip(a.packets));
      expectSameAsTshark(out, b.packets);
      expectSameAsTshark(src, a.packets);
    }
  });

  it('editcap -F nsecpcap: nanosecond pcap with tsDigits 9 and the same times', () => {
    const src = path.join(WILD, 'AoE_Linux.pcap');
    const out = path.join(dir, 'aoe-ns.pcap');
    run('editcap', ['-F', 'nsecpcap', src, out]);
    expect(fs.readFileSync(out).readUInt32LE(0)).toBe(0xa1b23c4d);
    const a = readRecs(src);
    const b = readRecs(out);
    expect(b.packets.every((p) => p.tsDigits === 9)).toBe(true);
    expect(b.packets.map((p) => [p.tsSec, p.tsNsec, p.data, p.origLen])).toEqual(a.packets.map((p) => [p.tsSec, p.tsNsec, p.data, p.origLen]));
    expectSameAsTshark(out, b.packets);
  });

  it('mergecap -F pcapng of two link types: two interfaces, tshark agrees', () => {
    const out = path.join(dir, 'merged.pcapng');
    run('mergecap', ['-F', 'pcapng', '-w', out, path.join(WILD, 'AoE_Linux.pcap'), path.join(WILD, 'resp_3_malicious.pcap')]);
    const b = readRecs(out);
    expect(b.damage).toBeNull();
    expect(new Set(b.packets.map((p) => `${p.interfaceId}/${p.linkType}`))).toEqual(new Set(['0/1', '1/113']));
    expectSameAsTshark(out, b.packets);
    // merged in time order: non-decreasing timestamps
    for (let i = 1; i < b.packets.length; i++) {
      const x = b.packets[i - 1];
      const y = b.packets[i];
      expect(x.tsSec < y.tsSec || (x.tsSec === y.tsSec && x.tsNsec <= y.tsNsec)).toBe(true);
    }
  });

  it('native pcapng files of the corpus agree with tshark', () => {
    for (const f of ['nhrp.pcapng', 'vsock-1.pcapng', 'of13_ericsson.pcapng', 'time_2106_overflow.pcapng', 'time_2107.pcapng']) {
      const file = path.join(WILD, f);
      const { packets, damage } = readRecs(file);
      expect(damage).toBeNull();
      expectSameAsTshark(file, packets);
    }
  });
});

describe.skipIf(!haveTools)('our writers', () => {
  const payloads = [bytesOf(60, 1), bytesOf(1514, 2), bytesOf(1, 3), bytesOf(0, 4), bytesOf(333, 5)];

  it('PcapngWriter: reads back identically through our parser and tshark', () => {
    const file = path.join(dir, 'written.pcapng');
    const sink = fileSink(file, 4096); // small buffer: exercises both buffered and direct writes
    const w = new PcapngWriter(sink, { userAppl: 'vvmp-test', comment: 'written by the test' });
    const eth = w.addInterface(1, { name: 'eth0' });
    const raw = w.addInterface(101, { name: 'raw9', tsDigits: 9, snaplen: 0 });
    const ms = w.addInterface(113, { tsDigits: 3, snaplen: 1000 });
    const written: Array<[number, number, number, Buffer, number, string | undefined]> = [
      [eth, 1700000000, 123456789, payloads[0], 60, 'first'],
      [raw, 1700000001, 987654321, payloads[1], 1514, undefined],
      [ms, 1700000002, 5999999, payloads[2], 1, 'ünïcode comment'],
      [raw, 4294967296, 1, payloads[3], 1600, undefined], // beyond 2106
      [eth, 0, 0, payloads[4], 400, undefined],
      [ms, 1234567890, 999999999, payloads[1].subarray(0, 1000), 1514, undefined],
    ];
    for (const [id, s, ns, d, orig, c] of written) w.writePacket(id, s, ns, d, orig, c);
    sink.close();

    const { packets, format, damage } = readRecs(file);
    expect(format).toBe('pcapng');
    expect(damage).toBeNull();
    const digits = [6, 9, 3];
    expect(packets.map((p) => [p.interfaceId, p.linkType, p.tsSec, p.tsNsec, p.tsDigits, p.data, p.origLen])).toEqual(
      written.map(([id, s, ns, d, orig]) => {
        const unit = 10 ** (9 - digits[id]);
        return [id, [1, 101, 113][id], s, Math.floor(ns / unit) * unit, digits[id], d.toString('hex'), orig];
      }),
    );
    expectSameAsTshark(file, packets);
    const rows = tshark(file);
    expect(rows.map((r) => r.comment)).toEqual(['first', '', 'ünïcode comment', '', '', '']);
    expect(rows.map((r) => r.ifName)).toEqual(['eth0', 'raw9', 'unknown', 'raw9', 'eth0', 'unknown']);
    const info = run('capinfos', [file]);
    expect(info).toMatch(/Capture application: +vvmp-test/);
    expect(info).toMatch(/Capture comment: +written by the test/);
  });

  for (const [nanosecond, bigEndian] of [[false, false], [true, true], [false, true], [true, false]] as const) {
    it(`PcapWriter (${nanosecond ? 'ns' : 'µs'}, ${bigEndian ? 'big' : 'little'}-endian): reads back through our parser and tshark`, () => {
      const file = path.join(dir, `written-${nanosecond}-${bigEndian}.pcap`);
      const sink = fileSink(file);
      const w = new PcapWriter(sink, { nanosecond, bigEndian, linkType: 113, snaplen: 2000 });
      const times: Array<[number, number]> = [[1700000000, 123456789], [1700000001, 0], [4294967295, 999999999], [1, 1000]];
      times.forEach(([s, ns], i) => w.writePacket(s, ns, payloads[i], i === 1 ? 9000 : undefined));
      sink.close();
      const bytes = fs.readFileSync(file);
      expect(bytes.readUInt32BE(0)).toBe(bigEndian ? (nanosecond ? 0xa1b23c4d : 0xa1b2c3d4) : nanosecond ? 0x4d3cb2a1 : 0xd4c3b2a1);
      const { packets, damage } = readRecs(file);
      expect(damage).toBeNull();
      expect(packets.map((p) => [p.tsSec, p.tsNsec, p.tsDigits, p.linkType, p.data, p.origLen])).toEqual(
        times.map(([s, ns], i) => [s, nanosecond ? ns : Math.floor(ns / 1000) * 1000, nanosecond ? 9 : 6, 113, payloads[i].toString('hex'), i === 1 ? 9000 : payloads[i].length]),
      );
      expect(parseBytes(bytes, 3).packets).toEqual(packets);
      expectSameAsTshark(file, packets);
    });
  }
});

describe('fileSink', () => {
  it('writes small and large pieces in order and flushes on close', () => {
    const file = path.join(dir, 'sink.bin');
    const sink = fileSink(file, 100);
    const pieces = [bytesOf(10, 1), bytesOf(95, 2), bytesOf(250, 3), bytesOf(1, 4), bytesOf(100, 5), bytesOf(0, 6)];
    for (const p of pieces) sink.write(p);
    sink.close();
    sink.close(); // idempotent
    expect(fs.readFileSync(file).equals(Buffer.concat(pieces))).toBe(true);
    expect(() => sink.write(Buffer.alloc(1))).toThrow(/write after close/);
  });
});
