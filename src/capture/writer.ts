// Writing captures: pcapng (SHB / IDB / EPB, little-endian) and classic pcap, plus a buffered
// file sink. Used by `-w OUT.pcapng`, the benchmark generator, tests and fuzz case directories.

import * as fs from 'node:fs';

export interface ByteSink {
  write(b: Buffer): void;
}

const MAX_SAFE_SEC = 2 ** 32; // below this, timestamp units are computed without BigInt

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Encoded size of one option (header + value padded to 4). */
function optionSize(value: Buffer): number {
  return 4 + pad4(value.length);
}

/** Writes one option at o; returns the offset after it. */
function putOption(b: Buffer, o: number, code: number, value: Buffer): number {
  b.writeUInt16LE(code, o);
  b.writeUInt16LE(value.length, o + 2);
  value.copy(b, o + 4);
  b.fill(0, o + 4 + value.length, o + 4 + pad4(value.length));
  return o + 4 + pad4(value.length);
}

/** Builds a block: type, length, body (filled by `fill` at offset 8), options, opt_endofopt, length. */
function block(type: number, bodyLen: number, options: Array<[number, Buffer]>, fill: (b: Buffer) => void): Buffer {
  let optLen = 0;
  for (const [, v] of options) optLen += optionSize(v);
  if (optLen > 0) optLen += 4; // opt_endofopt
  const total = 8 + pad4(bodyLen) + optLen + 4;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  fill(b);
  let o = 8 + pad4(bodyLen);
  for (const [code, v] of options) o = putOption(b, o, code, v);
  // opt_endofopt is already zero (Buffer.alloc)
  b.writeUInt32LE(total, total - 4);
  return b;
}

export interface PcapngWriterOptions {
  /** shb_comment */
  comment?: string;
  /** shb_userappl */
  userAppl?: string;
}

export interface InterfaceOptions {
  /** Snapshot length written in the IDB (default 262144; 0 = unlimited). */
  snaplen?: number;
  /** if_name */
  name?: string;
  /** Timestamp resolution in decimal digits, 0..9 (default 6: microseconds). */
  tsDigits?: number;
}

/** A pcapng writer: one section, little-endian, Enhanced Packet Blocks. */
export class PcapngWriter {
  private readonly ifaces: Array<{ digits: number; perSec: number; divNs: number }> = [];

  constructor(
    private readonly out: ByteSink,
    opts: PcapngWriterOptions = {},
  ) {
    const options: Array<[number, Buffer]> = [];
    if (opts.comment !== undefined) options.push([1, Buffer.from(opts.comment, 'utf8')]);
    if (opts.userAppl !== undefined) options.push([4, Buffer.from(opts.userAppl, 'utf8')]);
    out.write(
      block(0x0a0d0d0a, 16, options, (b) => {
        b.writeUInt32LE(0x1a2b3c4d, 8);
        b.writeUInt16LE(1, 12); // major
        b.writeUInt16LE(0, 14); // minor
        b.writeInt32LE(-1, 16); // section length: unknown (-1 as 64 bits)
        b.writeInt32LE(-1, 20);
      }),
    );
  }

  /** Writes an Interface Description Block; returns its interface id. */
  addInterface(linkType: number, opts: InterfaceOptions = {}): number {
    const digits = opts.tsDigits ?? 6;
    if (!Number.isInteger(digits) || digits < 0 || digits > 9) {
      throw new RangeError(`tsDigits must be an integer 0..9, got ${digits}`);
    }
    const options: Array<[number, Buffer]> = [];
    if (opts.name !== undefined) options.push([2, Buffer.from(opts.name, 'utf8')]);
    if (digits !== 6) options.push([9, Buffer.from([digits])]);
    const snaplen = opts.snaplen ?? 262144;
    this.out.write(
      block(1, 8, options, (b) => {
        b.writeUInt16LE(linkType & 0xffff, 8);
        b.writeUInt16LE(0, 10);
        b.writeUInt32LE(snaplen >>> 0, 12);
      }),
    );
    this.ifaces.push({ digits, perSec: 10 ** digits, divNs: 10 ** (9 - digits) });
    return this.ifaces.length - 1;
  }

  /**
   * Writes an Enhanced Packet Block. The time is truncated to the interface's resolution.
   * origLen defaults to data.length.
   */
  writePacket(
    ifId: number,
    tsSec: number,
    tsNsec: number,
    data: Uint8Array,
    origLen: number = data.length,
    comment?: string,
  ): void {
    const iface = this.ifaces[ifId];
    if (!iface) throw new RangeError(`no interface ${ifId} (${this.ifaces.length} added)`);
    const sub = Math.floor(tsNsec / iface.divNs);
    let hi: number;
    let lo: number;
    if (tsSec >= 0 && tsSec < MAX_SAFE_SEC && iface.perSec <= 1e9) {
      // units = tsSec·perSec + sub, split exactly into 32-bit halves without BigInt:
      // tsSec = sh·2^16 + sl; tsSec·perSec = (sh·perSec)·2^16 + sl·perSec, each product < 2^47.
      const sh = Math.floor(tsSec / 65536);
      const sl = tsSec - sh * 65536;
      const x = sh * iface.perSec; // to be multiplied by 2^16
      const xh = Math.floor(x / 65536);
      const xl = x - xh * 65536;
      const z = xl * 65536 + sl * iface.perSec + sub; // < 2^49
      const zh = Math.floor(z / 4294967296);
      hi = xh + zh;
      lo = z - zh * 4294967296;
    } else {
      const units = BigInt(Math.floor(tsSec)) * BigInt(iface.perSec) + BigInt(sub);
      hi = Number((units >> 32n) & 0xffffffffn);
      lo = Number(units & 0xffffffffn);
    }
    const options: Array<[number, Buffer]> = comment !== undefined ? [[1, Buffer.from(comment, 'utf8')]] : [];
    const caplen = data.length;
    const b = block(6, 20 + caplen, options, (b) => {
      b.writeUInt32LE(ifId, 8);
      b.writeUInt32LE(hi, 12);
      b.writeUInt32LE(lo, 16);
      b.writeUInt32LE(caplen, 20);
      b.writeUInt32LE(origLen >>> 0, 24);
      b.set(data, 28);
    });
    this.out.write(b);
  }
}

export interface PcapWriterOptions {
  /** LINKTYPE_* (default 1, Ethernet). */
  linkType?: number;
  /** Snapshot length in the header (default 262144). */
  snaplen?: number;
  /** Nanosecond pcap (magic a1b23c4d) instead of microsecond. */
  nanosecond?: boolean;
  /** Write big-endian (for tests); default little-endian. */
  bigEndian?: boolean;
}

/** A classic pcap writer. The header is written by the constructor. */
export class PcapWriter {
  private readonly nano: boolean;
  private readonly be: boolean;

  constructor(
    private readonly out: ByteSink,
    opts: PcapWriterOptions = {},
  ) {
    this.nano = opts.nanosecond ?? false;
    this.be = opts.bigEndian ?? false;
    const h = Buffer.alloc(24);
    const w32 = (v: number, o: number) => (this.be ? h.writeUInt32BE(v >>> 0, o) : h.writeUInt32LE(v >>> 0, o));
    const w16 = (v: number, o: number) => (this.be ? h.writeUInt16BE(v, o) : h.writeUInt16LE(v, o));
    w32(this.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    w16(2, 4);
    w16(4, 6);
    w32(0, 8); // thiszone
    w32(0, 12); // sigfigs
    w32(opts.snaplen ?? 262144, 16);
    w32(opts.linkType ?? 1, 20);
    out.write(h);
  }

  /** Writes one record; the time is truncated to µs for a microsecond file. */
  writePacket(tsSec: number, tsNsec: number, data: Uint8Array, origLen: number = data.length): void {
    const caplen = data.length;
    const b = Buffer.allocUnsafe(16 + caplen);
    const frac = this.nano ? tsNsec : Math.floor(tsNsec / 1000);
    if (this.be) {
      b.writeUInt32BE(tsSec >>> 0, 0);
      b.writeUInt32BE(frac, 4);
      b.writeUInt32BE(caplen, 8);
      b.writeUInt32BE(origLen >>> 0, 12);
    } else {
      b.writeUInt32LE(tsSec >>> 0, 0);
      b.writeUInt32LE(frac, 4);
      b.writeUInt32LE(caplen, 8);
      b.writeUInt32LE(origLen >>> 0, 12);
    }
    b.set(data, 16);
    this.out.write(b);
  }
}

export interface FileSink extends ByteSink {
  /** Writes what is buffered to the file (the kernel has it: it survives our death, even SIGKILL). */
  flush(): void;
  /** Flushes what is buffered and closes the file. */
  close(): void;
}

/**
 * A buffered file writer with fs.writeSync: small writes are gathered in a 1 MiB buffer.
 * Throws the Node error (ENOENT, EACCES, ...) if the file cannot be created.
 */
export function fileSink(path: string, bufferSize = 1 << 20): FileSink {
  const fd = fs.openSync(path, 'w');
  const buf = Buffer.allocUnsafe(bufferSize);
  let used = 0;
  let closed = false;
  const writeAll = (b: Uint8Array, start: number, end: number) => {
    let o = start;
    while (o < end) o += fs.writeSync(fd, b, o, end - o);
  };
  const flush = () => {
    writeAll(buf, 0, used);
    used = 0;
  };
  return {
    write(b: Buffer): void {
      if (closed) throw new Error(`${path}: write after close`);
      if (used + b.length > buf.length) {
        flush();
        if (b.length >= buf.length) {
          writeAll(b, 0, b.length);
          return;
        }
      }
      b.copy(buf, used);
      used += b.length;
    },
    flush(): void {
      if (!closed && used > 0) flush();
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        flush();
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}
