import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { readCaptureFile, readCaptureStream, describeFsError } from '../../src/capture/file.js';
import { CaptureError } from '../../src/capture/errors.js';
import { bytesOf, epb, idb, pcapHeader, pcapRecord, shb } from './build.js';
import { parseBytes, rec, type Rec } from './helpers.js';
import { WILD_TCPDUMP, wildOrSkip } from '../helpers/shared.js';

const WILD = WILD_TCPDUMP;
const haveWild = wildOrSkip('test/capture/file.test.ts (tcpdump -r FILE -w - through a pipe)');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-capture-file-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function captureError(fn: () => unknown): CaptureError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    return e as CaptureError;
  }
  throw new Error('expected a CaptureError');
}

async function captureErrorAsync(fn: () => Promise<unknown>): Promise<CaptureError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    return e as CaptureError;
  }
  throw new Error('expected a CaptureError');
}

function readAll(file: string, chunkSize?: number): { packets: Rec[]; result: ReturnType<typeof readCaptureFile> } {
  const packets: Rec[] = [];
  const result = readCaptureFile(file, (p) => packets.push(rec(p)), chunkSize ? { chunkSize } : {});
  return { packets, result };
}

function bigPcapng(): Buffer {
  const parts = [shb('le'), idb('le', 1), idb('le', 113, { tsresol: 9 })];
  for (let i = 0; i < 300; i++) parts.push(epb('le', i % 2, 1700000000000000n + BigInt(i) * (i % 2 ? 1000n : 1n), bytesOf(20 + ((i * 53) % 1500), i)));
  return Buffer.concat(parts);
}

describe('readCaptureFile', () => {
  it('reads a file in any chunk size with the same result as the parser on the whole bytes', () => {
    const bytes = bigPcapng();
    const f = path.join(dir, 'big.pcapng');
    fs.writeFileSync(f, bytes);
    const want = parseBytes(bytes);
    for (const chunkSize of [undefined, 1, 100, 4096, 65536]) {
      const { packets, result } = readAll(f, chunkSize);
      expect(result).toEqual({ format: 'pcapng', packets: 300, damage: null });
      expect(packets).toEqual(want.packets);
    }
  });

  it('reports damage for a cut file and keeps the packets before it', () => {
    const bytes = Buffer.concat([pcapHeader({ endian: 'le' }), pcapRecord('le', 1, 2, bytesOf(100)), pcapRecord('le', 3, 4, bytesOf(1514))]);
    const f = path.join(dir, 'cut.pcap');
    fs.writeFileSync(f, bytes.subarray(0, bytes.length - 1000));
    for (const chunkSize of [undefined, 64]) {
      const { packets, result } = readAll(f, chunkSize);
      expect(packets.length).toBe(1);
      expect(result).toEqual({ format: 'pcap', packets: 1, damage: 'cut off in packet 2 at byte 140 (record needs 1530 bytes, 530 present)' });
    }
  });

  it('maps the cannot-read cases to CaptureError with a one-line message', () => {
    const missing = path.join(dir, 'nope.pcap');
    expect(captureError(() => readCaptureFile(missing, () => {})).message).toBe(`${missing}: no such file`);
    expect(captureError(() => readCaptureFile(path.join(dir, 'nodir', 'x.pcap'), () => {})).reason).toBe('no such file');
    expect(captureError(() => readCaptureFile(dir, () => {})).message).toBe(`${dir}: is a directory`);
    const empty = path.join(dir, 'empty.pcap');
    fs.writeFileSync(empty, '');
    expect(captureError(() => readCaptureFile(empty, () => {})).message).toBe(`${empty}: empty file, not a capture`);
    const garbage = path.join(dir, 'garbage.pcap');
    fs.writeFileSync(garbage, Buffer.from([0x12, 0x34, 0xab, 0xcd, 1, 2, 3, 4, 5, 6, 7, 8]));
    expect(captureError(() => readCaptureFile(garbage, () => {})).message).toBe(`${garbage}: not a capture file (unknown magic 0x1234abcd)`);
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello world\n'.repeat(1000));
    expect(captureError(() => readCaptureFile(text, () => {})).reason).toBe('not a capture file (unknown magic 0x68656c6c)');
    const tiny = path.join(dir, 'tiny.pcap');
    fs.writeFileSync(tiny, Buffer.from([0xd4, 0xc3]));
    expect(captureError(() => readCaptureFile(tiny, () => {})).reason).toBe('not a capture file (only 2 bytes)');
  });

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) console.log('file.test.ts: skipping the chmod 000 test: running as root, so EACCES cannot happen (the mapping is tested directly)');
  it.skipIf(isRoot)('an unreadable file (chmod 000) is a CaptureError: permission denied', () => {
    const f = path.join(dir, 'secret.pcap');
    fs.writeFileSync(f, pcapHeader({ endian: 'le' }));
    fs.chmodSync(f, 0o000);
    expect(captureError(() => readCaptureFile(f, () => {})).message).toBe(`${f}: permission denied`);
  });

  it('maps system error codes to short reasons', () => {
    const err = (code: string) => Object.assign(new Error(`${code}: something, open 'x'`), { code });
    expect(describeFsError(err('EACCES'))).toBe('permission denied');
    expect(describeFsError(err('EPERM'))).toBe('permission denied');
    expect(describeFsError(err('ENOENT'))).toBe('no such file');
    expect(describeFsError(err('EISDIR'))).toBe('is a directory');
    expect(describeFsError(err('EMFILE'))).toBe("cannot read (EMFILE: EMFILE: something, open 'x')");
  });

  it('reads from a FIFO (size unknown)', async () => {
    // The reader is synchronous and blocks the event loop, so the writer must be a separate
    // process that does not depend on us (cat of a file into the FIFO).
    const bytes = bigPcapng();
    const src = path.join(dir, 'fifo-src.pcapng');
    fs.writeFileSync(src, bytes);
    const fifo = path.join(dir, 'fifo');
    const mk = spawn('mkfifo', [fifo]);
    await new Promise((res) => mk.on('exit', res));
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', src, fifo], { stdio: 'ignore' });
    const exited = new Promise((res) => writer.on('exit', res));
    const { packets, result } = readAll(fifo, 1000);
    await exited;
    expect(result).toEqual({ format: 'pcapng', packets: 300, damage: null });
    expect(packets).toEqual(parseBytes(bytes).packets);
  });
});

describe('readCaptureStream', () => {
  it('reads a stream of small chunks like the file reader', async () => {
    const bytes = bigPcapng();
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 333) chunks.push(bytes.subarray(i, i + 333));
    const packets: Rec[] = [];
    const result = await readCaptureStream(Readable.from(chunks), (p) => packets.push(rec(p)), 'pipe');
    expect(result).toEqual({ format: 'pcapng', packets: 300, damage: null });
    expect(packets).toEqual(parseBytes(bytes).packets);
  });

  it.skipIf(!haveWild)('reads `tcpdump -r FILE -w -` through a pipe, packet for packet like the file', async () => {
    const file = path.join(WILD, 'bgp_vpn_attrset.pcap');
    const want = readAll(file).packets.map((p) => ({ ...p, fileOffset: 0 }));
    const child = spawn('tcpdump', ['-r', file, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const got: Rec[] = [];
    const result = await readCaptureStream(child.stdout, (p) => got.push({ ...rec(p), fileOffset: 0 }), 'tcpdump');
    expect(result.damage).toBeNull();
    expect(result.format).toBe('pcap');
    expect(got).toEqual(want);
  });

  it('throws CaptureError for a stream that is not a capture, or empty, or fails', async () => {
    expect((await captureErrorAsync(() => readCaptureStream(Readable.from([Buffer.from('nope, not pcap')]), () => {}, 'stdin'))).message).toBe(
      'stdin: not a capture file (unknown magic 0x6e6f7065)',
    );
    expect((await captureErrorAsync(() => readCaptureStream(Readable.from([]), () => {}, 'stdin'))).message).toBe('stdin: empty file, not a capture');
    const missing = path.join(dir, 'missing.pcap');
    expect((await captureErrorAsync(() => readCaptureStream(fs.createReadStream(missing), () => {}, missing))).message).toBe(`${missing}: no such file`);
  });

  it('reports a cut stream as damage', async () => {
    const bytes = bigPcapng();
    const result = await readCaptureStream(Readable.from([bytes.subarray(0, 5000)]), () => {}, 'pipe');
    expect(result.format).toBe('pcapng');
    expect(result.packets).toBeGreaterThan(0);
    expect(result.damage).toMatch(/^cut off in enhanced packet block \(packet \d+\) at byte \d+ \(block needs \d+ bytes, \d+ present\)$/);
  });
});
