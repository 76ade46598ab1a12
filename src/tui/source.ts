// Where the frame store's packets come from. A file is read in slices with
// fs.readSync chunks fed to the capture parser, yielding to the event loop
// between chunks so the screen comes up at once and stays responsive while a
// large capture loads. A live capture pushes packets as they arrive.

import * as fs from 'node:fs';
import { CaptureError } from '../capture/errors.js';
import { describeFsError } from '../capture/file.js';
import { CaptureParser } from '../capture/parser.js';
import { packetDataOffset } from '../capture/formats.js';
import type { LiveCapture, LiveOptions } from '../capture/live.js';
import type { FrameStore } from './store.js';

export interface Source {
  /** File name or `live: IFACE`. */
  readonly label: string;
  readonly live: boolean;
  /** The capture file, or null for a live capture. */
  readonly path: string | null;
  /** Input finished (file read to the end, capture stopped). */
  readonly done: boolean;
  /** File loading: share read, 0..1; null for live. */
  progress(): number | null;
  /** Live: frames per second over the last seconds; null for files. */
  rate(): number | null;
  /** Live: packets the kernel dropped, when the backend can tell. */
  drops(): number | null;
  /** Why reading stopped early (damaged file, capture failed), or null. */
  readonly problem: string | null;
  /** A packet's captured bytes read back from the file (record offset, captured length); null for live. */
  packetData(recordOffset: number, length: number): Buffer | null;
  /** Starts (or goes on) delivering packets; `update` after every slice. */
  start(update: () => void): void;
  stop(): Promise<void>;
}

export const DEFAULT_SLICE = 1024 * 1024;
/** The first slice is read before the screen is taken over: small, so the first screen comes at once. */
const FIRST_SLICE = 128 * 1024;

export class FileSource implements Source {
  readonly live = false;
  done = false;
  problem: string | null = null;
  private readonly parser: CaptureParser;
  private readonly buf: Buffer;
  private read = 0;
  private stopped = false;
  private fd: number | null;

  /**
   * Opens the file and parses its first slice at once, so an unreadable
   * file or one that is not a capture throws CaptureError before the screen
   * is taken over.
   */
  constructor(readonly path: string, private readonly store: FrameStore, sliceSize = DEFAULT_SLICE) {
    this.label = path;
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      throw new CaptureError(path, describeFsError(err));
    }
    this.fd = fd;
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new CaptureError(path, 'is a directory');
      this.size = st.isFile() ? st.size : -1;
      if (this.size === 0) throw new CaptureError(path, 'empty file, not a capture');
      this.buf = Buffer.allocUnsafe(this.size > 0 ? Math.min(sliceSize, this.size) : sliceSize);
      this.parser = new CaptureParser(store.packet, path);
      this.slice(Math.min(FIRST_SLICE, this.buf.length));
      // Until the format is known (a tiny file, a slow pipe), go on here: "not a capture" must
      // come out before the screen is taken over.
      while (!this.done && this.parser.format === null) this.slice();
    } catch (err) {
      this.close();
      if (err instanceof CaptureError) throw err;
      throw new CaptureError(path, describeFsError(err));
    }
  }

  readonly label: string;
  private readonly size: number;

  progress(): number | null {
    if (this.done) return 1;
    return this.size > 0 ? Math.min(1, this.read / this.size) : null;
  }

  rate(): number | null {
    return null;
  }

  drops(): number | null {
    return null;
  }

  packetData(recordOffset: number, length: number): Buffer | null {
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch {
      return null;
    }
    try {
      const head = Buffer.alloc(4);
      if (this.parser.format === 'pcapng') fs.readSync(fd, head, 0, 4, recordOffset);
      const skip = packetDataOffset(this.parser.format === 'pcapng' ? 'pcapng' : 'pcap', head);
      const b = Buffer.alloc(length);
      const n = fs.readSync(fd, b, 0, length, recordOffset + skip);
      return n === length ? b : null;
    } catch {
      return null;
    } finally {
      fs.closeSync(fd);
    }
  }

  start(update: () => void): void {
    const next = (): void => {
      if (this.stopped || this.done) return;
      this.slice();
      update();
      if (!this.done) setImmediate(next);
    };
    setImmediate(next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.close();
  }

  /** Reads and analyses one chunk; at the end of the file, ends the analysis. */
  private slice(size = this.buf.length): void {
    if (this.fd === null || this.done) return;
    let n: number;
    try {
      n = fs.readSync(this.fd, this.buf, 0, size, null);
    } catch (err) {
      const reason = describeFsError(err);
      if (this.parser.format === null) throw new CaptureError(this.path, reason);
      this.problem = `read error: ${reason}`;
      n = 0;
    }
    if (n > 0) {
      this.read += n;
      this.parser.push(n === this.buf.length ? this.buf : this.buf.subarray(0, n));
      if (this.parser.damage === null) return;
    }
    this.parser.end();
    if (this.parser.damage) this.problem = `${this.parser.damage}; read ${this.parser.packets} packets before it`;
    this.store.end();
    this.done = true;
    this.close();
  }

  private close(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }
}

/** What the live backend module provides (src/capture/live.ts). */
export type StartLive = (opts: LiveOptions, onPacket: FrameStore['packet']) => Promise<LiveCapture>;

export class LiveSource implements Source {
  readonly live = true;
  readonly path = null;
  done = false;
  problem: string | null = null;
  readonly label: string;
  private capture: LiveCapture | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** (time ms, frames) samples of the last seconds, for the rate. */
  private samples: Array<[number, number]> = [];

  private constructor(private readonly store: FrameStore, private readonly opts: LiveOptions) {
    this.label = `live: ${opts.iface}${opts.filter ? ` (${opts.filter})` : ''}`;
  }

  /** Starts capturing before the screen is taken over (errors are one line, exit 1). */
  static async open(store: FrameStore, opts: LiveOptions, startLive: StartLive): Promise<LiveSource> {
    const src = new LiveSource(store, opts);
    src.capture = await startLive({
      ...opts,
      onError: (err) => {
        src.problem = `capture failed: ${err.message.split('\n')[0]}`;
        src.finish();
      },
      onEnd: () => src.finish(),
    }, store.packet);
    return src;
  }

  progress(): number | null {
    return null;
  }

  rate(): number | null {
    const s = this.samples;
    if (s.length < 2) return 0;
    const [t0, n0] = s[0]!;
    const [t1, n1] = s[s.length - 1]!;
    return t1 > t0 ? ((n1 - n0) * 1000) / (t1 - t0) : 0;
  }

  drops(): number | null {
    return this.capture?.stats().dropped ?? null;
  }

  packetData(): Buffer | null {
    return null;
  }

  start(update: () => void): void {
    // Quiet lines: capture time still passes, so timeouts still fire.
    this.timer = setInterval(() => {
      if (!this.capture || this.done) return;
      const t = this.capture.safeTime();
      this.store.pipeline.tick(t.sec, t.nsec);
      const now = Date.now();
      this.samples.push([now, this.store.total]);
      while (this.samples.length > 2 && now - this.samples[0]![0] > 3000) this.samples.shift();
      update();
    }, 250);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const c = this.capture;
    this.capture = null;
    if (c) await c.stop();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.store.end();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
