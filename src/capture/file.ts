// Reading a whole capture file (synchronously, in fixed-size chunks) or a stream (a pipe).
// Memory stays flat: one reusable read buffer plus, at most, one record being assembled.

import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { CaptureError } from './errors.js';
import type { Packet } from './packet.js';
import { CaptureParser } from './parser.js';
import type { CaptureNote } from './notes.js';

export interface CaptureResult {
  format: 'pcap' | 'pcapng';
  /** Packets delivered to the handler. */
  packets: number;
  /** Why reading stopped before the end of the file (with the byte offset), or null. */
  damage: string | null;
  /** What was read but not decoded as it stands (bogus version, oversized records, …); absent when nothing. */
  notes?: CaptureNote[];
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/** `{ notes }` when the parser has any, else nothing (a clean capture's result stays as it was). */
function notesOf(parser: CaptureParser): { notes?: CaptureNote[] } {
  const notes = parser.notes();
  return notes.length ? { notes } : {};
}
/** Thrown through the parser to stop reading at -c (never escapes readCaptureInput). */
const STOP: unique symbol = Symbol('stop reading');

/** Turns a Node system error into the one-line reason of a CaptureError. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'no such file (a path component is not a directory)';
    case 'ELOOP': return 'too many symbolic links';
    case 'ENAMETOOLONG': return 'file name too long';
    case 'EIO': return 'input/output error';
    default: {
      const msg = e instanceof Error ? e.message : String(err);
      return e?.code ? `cannot read (${e.code}: ${msg.split('\n')[0]})` : `cannot read (${msg.split('\n')[0]})`;
    }
  }
}

/**
 * Reads a pcap or pcapng file, calling onPacket for every packet in order.
 * Throws CaptureError when the file cannot be read at all (missing, unreadable, a directory,
 * empty, not a capture); a damaged capture returns normally with `damage` set.
 * Packet.data is a view into a reused buffer: valid only during the callback.
 */
export function readCaptureFile(
  path: string,
  onPacket: (p: Packet) => void,
  opts: { chunkSize?: number } = {},
): CaptureResult {
  const chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? DEFAULT_CHUNK_SIZE));
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new CaptureError(path, describeFsError(err));
  }
  try {
    let size = -1;
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new CaptureError(path, 'is a directory');
      if (st.isFile()) size = st.size;
    } catch (err) {
      if (err instanceof CaptureError) throw err;
      throw new CaptureError(path, describeFsError(err));
    }
    if (size === 0) throw new CaptureError(path, 'empty file, not a capture');
    // A regular file smaller than the chunk needs no more buffer than its size.
    const buf = Buffer.allocUnsafe(size > 0 ? Math.min(chunkSize, size) : chunkSize);
    const parser = new CaptureParser(onPacket, path);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        const reason = describeFsError(err);
        if (parser.format === null) throw new CaptureError(path, reason);
        // A read error in the middle of a capture: keep what we have, like any other damage.
        parser.end();
        return { format: parser.format, packets: parser.packets, damage: parser.damage ?? `read error: ${reason}`, ...notesOf(parser) };
      }
      if (n === 0) break;
      parser.push(n === buf.length ? buf : buf.subarray(0, n));
      if (parser.damage !== null) break;
    }
    parser.end();
    return { format: parser.format!, packets: parser.packets, damage: parser.damage, ...notesOf(parser) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a pcap or pcapng byte stream (e.g. the stdout of `tcpdump -w -`), packets delivered
 * as soon as their bytes arrive. Same result and errors as readCaptureFile; `source` names the
 * stream in messages.
 */
export async function readCaptureStream(
  stream: NodeJS.ReadableStream,
  onPacket: (p: Packet) => void,
  source = '<stream>',
): Promise<CaptureResult> {
  const parser = new CaptureParser(onPacket, source);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
      if (parser.damage !== null) break; // nothing more will be delivered
    }
  } catch (err) {
    if (err instanceof CaptureError || err === STOP) throw err;
    const reason = describeFsError(err);
    if (parser.format === null) throw new CaptureError(source, reason);
    parser.end();
    return { format: parser.format, packets: parser.packets, damage: parser.damage ?? `read error: ${reason}`, ...notesOf(parser) };
  }
  parser.end();
  return { format: parser.format!, packets: parser.packets, damage: parser.damage, ...notesOf(parser) };
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** `-` names standard input, as in tshark and tcpdump. */
export const STDIN_NAME = '-';

export interface InputOptions {
  /** Stop after delivering this many packets (tshark -c): the rest is not read. */
  maxPackets?: number;
  /** Where standard input comes from (tests pass a stream; default process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

/** Prepends already-read bytes to the rest of a stream. */
async function* prefixed(first: Buffer, rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
  }
}

/** Decompresses the stream when its first bytes are gzip's magic, else passes it on. */
async function maybeGunzip(stream: NodeJS.ReadableStream, source: string): Promise<NodeJS.ReadableStream | null> {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  // Two bytes decide; a pipe may deliver them one at a time.
  while (head.length < 2) {
    let r: IteratorResult<Buffer | string>;
    try {
      r = await it.next();
    } catch (err) {
      throw new CaptureError(source, describeFsError(err));
    }
    if (r.done) break;
    const b = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
    head = head.length ? Buffer.concat([head, b]) : b;
  }
  if (head.length === 0) return null;
  const body = Readable.from(prefixed(head, it), { objectMode: false });
  if (head[0] !== GZIP_MAGIC_0 || head[1] !== GZIP_MAGIC_1) return body;
  const gunzip = zlib.createGunzip();
  body.on('error', (e) => gunzip.destroy(e));
  return body.pipe(gunzip);
}

function isGzipFile(path: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new CaptureError(path, describeFsError(err));
  }
  try {
    const b = Buffer.alloc(2);
    let n = 0;
    try {
      n = fs.readSync(fd, b, 0, 2, 0);
    } catch {
      return false; // a directory or unreadable: readCaptureFile says why
    }
    return n === 2 && b[0] === GZIP_MAGIC_0 && b[1] === GZIP_MAGIC_1;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a capture named on the command line: a file, `-` for standard input,
 * either of them possibly gzip-compressed (recognised by its magic bytes, not
 * its name, and decompressed as it streams). Same results and errors as
 * readCaptureFile; `maxPackets` stops early.
 */
export async function readCaptureInput(
  path: string,
  onPacket: (p: Packet) => void,
  opts: InputOptions = {},
): Promise<CaptureResult> {
  const max = opts.maxPackets ?? Infinity;
  let delivered = 0;
  const limited = max === Infinity ? onPacket : (p: Packet): void => {
    if (delivered >= max) throw STOP;
    delivered++;
    onPacket(p);
  };
  const label = path === STDIN_NAME ? '<stdin>' : path;
  const stopped = (format: CaptureResult['format'] | null): CaptureResult => ({ format: format ?? 'pcap', packets: delivered, damage: null });
  if (path !== STDIN_NAME && !isGzipFile(path)) {
    try {
      return readCaptureFile(path, limited);
    } catch (e) {
      if (e === STOP) return stopped(null);
      throw e;
    }
  }
  const raw = path === STDIN_NAME ? (opts.stdin ?? process.stdin) : fs.createReadStream(path);
  const stream = await maybeGunzip(raw, label);
  if (stream === null) throw new CaptureError(label, 'empty input, not a capture');
  try {
    return await readCaptureStream(stream, limited, label);
  } catch (e) {
    if (e === STOP) {
      (raw as { destroy?: () => void }).destroy?.();
      return stopped(null);
    }
    if (e instanceof Error && 'code' in e && String((e as NodeJS.ErrnoException).code).startsWith('Z_')) {
      throw new CaptureError(label, `gzip data is damaged (${e.message})`);
    }
    throw e;
  }
}
