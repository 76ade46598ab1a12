// Reading a whole capture file (synchronously, in fixed-size chunks) or a stream (a pipe).
// Memory stays flat: one reusable read buffer plus, at most, one record being assembled.

import * as fs from 'node:fs';
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
    if (err instanceof CaptureError) throw err;
    const reason = describeFsError(err);
    if (parser.format === null) throw new CaptureError(source, reason);
    parser.end();
    return { format: parser.format, packets: parser.packets, damage: parser.damage ?? `read error: ${reason}`, ...notesOf(parser) };
  }
  parser.end();
  return { format: parser.format!, packets: parser.packets, damage: parser.damage, ...notesOf(parser) };
}
