// What a capture holds that cannot be decoded as it stands is said, never skipped silently
// (issue #18): bogus pcap versions, packets longer than their interface's snaplen, records
// larger than MAX_RECORD (skipped without being held in memory), unknown link types. Crafted
// files; the parser, then the real command (stderr lines, `stats` text and JSON, peak memory).

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_RECORD } from '../../src/capture/notes.js';
import { CaptureParser } from '../../src/capture/parser.js';
import { Bytes, bytesOf, epb, idb, pcapHeader, pcapRecord, shb, type Endian } from './build.js';
import { parseBytes } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-undecoded-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

const T = 1700000000;
const small = bytesOf(60, 1);
const small2 = bytesOf(70, 2);

function pcapVersion(endian: Endian, major: number, minor: number, linkType = 1): Buffer {
  return new Bytes(endian).u32(0xa1b2c3d4).u16(major).u16(minor).u32(0).u32(0).u32(65535).u32(linkType).buffer();
}

function notesOf(bytes: Buffer, chunk: number): { packets: number; notes: ReturnType<CaptureParser['notes']>; damage: string | null } {
  const parser = new CaptureParser(() => {}, 't.pcap');
  for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, Math.min(bytes.length, i + chunk)));
  parser.end();
  return { packets: parser.packets, notes: parser.notes(), damage: parser.damage };
}

const CHUNKS = [7, 1000, 65536, 1 << 22];

describe('the parser counts what it cannot decode as it stands', () => {
  for (const endian of ['le', 'be'] as Endian[]) {
    it(`a pcap file header with version 7.3 (${endian}): read as 2.4, counted`, () => {
      const file = Buffer.concat([pcapVersion(endian, 7, 3), pcapRecord(endian, T, 0, small), pcapRecord(endian, T, 1, small2)]);
      const r = notesOf(file, 1000);
      expect(r.packets).toBe(2);
      expect(r.notes).toEqual([{ kind: 'pcap_version', detail: '7.3', count: 2, bytes: 0 }]);
    });
  }

  it('pcap 2.4 and the older 2.x: no note', () => {
    for (const minor of [4, 2, 0]) {
      const file = Buffer.concat([pcapVersion('le', 2, minor), pcapRecord('le', T, 0, small)]);
      expect(notesOf(file, 1000).notes).toEqual([]);
    }
  });

  for (const chunk of CHUNKS) {
    it(`a pcap record larger than ${MAX_RECORD} bytes is skipped, the packets around it read (chunks of ${chunk})`, () => {
      const big = Buffer.alloc(MAX_RECORD + 1000, 0xab);
      const file = Buffer.concat([pcapHeader({ endian: 'le' }), pcapRecord('le', T, 0, small), pcapRecord('le', T, 1, big), pcapRecord('le', T, 2, small2)]);
      const p = parseBytes(file, chunk);
      expect(p.damage).toBeNull();
      expect(p.packets.map((x) => x.data)).toEqual([small.toString('hex'), small2.toString('hex')]);
      const r = notesOf(file, chunk);
      expect(r.notes).toEqual([{ kind: 'oversize_packet', detail: String(MAX_RECORD), count: 1, bytes: MAX_RECORD + 1000 }]);
    });

    it(`a pcapng packet block larger than the limit is skipped; packets longer than their snaplen are kept and counted (chunks of ${chunk})`, () => {
      const big = Buffer.alloc(MAX_RECORD + 70000, 0xcd);
      const file = Buffer.concat([
        shb('le'), idb('le', 1, { snaplen: 64 }),
        epb('le', 0, 1n, small), epb('le', 0, 2n, big), epb('le', 0, 3n, small2), epb('le', 0, 4n, bytesOf(40)),
      ]);
      const p = parseBytes(file, chunk);
      expect(p.damage).toBeNull();
      expect(p.packets.map((x) => x.data.length / 2)).toEqual([60, 70, 40]);
      const r = notesOf(file, chunk);
      expect(r.notes).toEqual([
        { kind: 'oversize_packet', detail: String(MAX_RECORD), count: 1, bytes: big.length + 32 },
        { kind: 'over_snaplen', detail: '', count: 1, bytes: 0 },
      ]);
    });
  }

  it('a file cut inside a skipped record: damage says so', () => {
    const file = Buffer.concat([pcapHeader({ endian: 'le' }), pcapRecord('le', T, 0, small), pcapRecord('le', T, 1, Buffer.alloc(MAX_RECORD + 10))]);
    const r = notesOf(file.subarray(0, file.length - 5), 4096);
    expect(r.packets).toBe(1);
    expect(r.damage).toMatch(/^cut off in an oversized record being skipped at byte \d+ \(5 bytes missing\)$/);
  });

  it('a 256 MiB record streamed through the parser: memory stays flat', () => {
    const size = 256 * 1024 * 1024;
    const parser = new CaptureParser(() => {}, 'big.pcap');
    parser.push(pcapHeader({ endian: 'le' }));
    parser.push(new Bytes('le').u32(T).u32(0).u32(size).u32(size).buffer());
    const before = process.memoryUsage().arrayBuffers;
    const zeros = Buffer.alloc(1 << 20);
    let peak = 0;
    for (let i = 0; i < size / zeros.length; i++) {
      parser.push(zeros);
      if ((i & 31) === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    parser.push(pcapRecord('le', T, 1, small));
    parser.end();
    expect(parser.packets).toBe(1);
    expect(parser.damage).toBeNull();
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });
});

// ---- the command ----

function vvmp(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/vvmp.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('read and stats say what they could not decode', () => {
  const linkFile = path.join(TMP, 'linktype147.pcap');
  const versionFile = path.join(TMP, 'version.pcap');
  const bigFile = path.join(TMP, 'oversize.pcapng');
  fs.writeFileSync(linkFile, Buffer.concat([pcapHeader({ endian: 'le', linkType: 147 }), pcapRecord('le', T, 0, small), pcapRecord('le', T, 1, small2), pcapRecord('le', T, 2, small)]));
  fs.writeFileSync(versionFile, Buffer.concat([pcapVersion('le', 9, 1), pcapRecord('le', T, 0, small)]));
  fs.writeFileSync(bigFile, Buffer.concat([
    shb('le'), idb('le', 1, { snaplen: 32 }), epb('le', 0, 1n, small), epb('le', 0, 2n, Buffer.alloc(400_000)),
    epb('le', 0, 3n, small2),
  ]));

  it('read: one stderr line per kind with its count, exit 0', () => {
    const a = vvmp(['read', linkFile]);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe(`vvmp: ${linkFile}: 3 packets of link type 147 not decoded (a link layer vvmp does not know)\n`);
    const b = vvmp(['read', versionFile]);
    expect(b.code).toBe(0);
    expect(b.stderr).toBe(`vvmp: ${versionFile}: the file header says pcap version 9.1 (not 2.x): 1 packet read as version 2.4\n`);
    const c = vvmp(['read', bigFile]);
    expect(c.code).toBe(0);
    expect(c.stderr).toBe(
      `vvmp: ${bigFile}: 1 packet larger than ${MAX_RECORD} bytes skipped unread (400032 bytes)\n` +
      `vvmp: ${bigFile}: 2 packets longer than their interface's snapshot length (kept whole)\n`);
  });

  it('stats: counted in the JSON ("undecoded") and the text ("Not decoded"), one file or several', () => {
    const j = vvmp(['stats', linkFile, '--json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout).undecoded).toEqual({ 'link type 147': 3 });
    expect(j.stderr).toContain('3 packets of link type 147 not decoded');
    const t = vvmp(['stats', bigFile]);
    expect(t.stdout).toMatch(/\nNot decoded:\n\s+packet over 262144 bytes\s+1\n\s+packet over its snaplen\s+2\n/);
    const many = vvmp(['stats', linkFile, versionFile, bigFile, '--json', '-j', '2']);
    expect(many.code).toBe(0);
    expect(JSON.parse(many.stdout).undecoded).toEqual({
      'link type 147': 3, 'pcap version 9.1': 1, 'packet over 262144 bytes': 1, 'packet over its snaplen': 2,
    });
  });

  it('a clean capture has no "undecoded" key and no note', () => {
    const clean = path.join(TMP, 'clean.pcap');
    fs.writeFileSync(clean, Buffer.concat([pcapHeader({ endian: 'le' }), pcapRecord('le', T, 0, small)]));
    const j = vvmp(['stats', clean, '--json']);
    // The one line is the hint that no VVMP was on the decoded ports; nothing about undecoded packets.
    expect(j.stderr).toMatch(/^vvmp: \S*clean\.pcap: no VVMP frames on TCP\/UDP port 7369 in 1 packet; [^\n]*\n$/);
    expect(JSON.parse(j.stdout)).not.toHaveProperty('undecoded');
  });

  it('a single 256 MiB record: read skips it with flat memory (peak RSS well under its size)', async () => {
    const file = path.join(TMP, 'huge.pcap');
    const size = 256 * 1024 * 1024;
    fs.writeFileSync(file, Buffer.concat([pcapHeader({ endian: 'le' }), new Bytes('le').u32(T).u32(0).u32(size).u32(size).buffer()]));
    fs.truncateSync(file, 24 + 16 + size); // sparse: zeros cost no disk
    fs.appendFileSync(file, pcapRecord('le', T, 1, small));
    const child = spawn(process.execPath, ['bench/launch.mjs', 'bin/vvmp.js', 'read', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let err = '';
    let usage = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdio[3]!.on('data', (d) => (usage += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(err).toBe(`vvmp: ${file}: 1 packet larger than ${MAX_RECORD} bytes skipped unread (${size} bytes)\n`);
    const maxRssKb = (JSON.parse(usage) as { maxRSS: number }).maxRSS;
    expect(maxRssKb).toBeLessThan(150 * 1024);
  }, 60_000);
});
