// Byte builders for capture-format tests: classic pcap and pcapng in either byte order,
// written field by field (independently of src/capture/writer.ts).

export type Endian = 'le' | 'be';

export class Bytes {
  private parts: Buffer[] = [];
  private len = 0;
  constructor(readonly endian: Endian) {}
  u8(v: number): this {
    return this.raw([v & 0xff]);
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    this.endian === 'le' ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return this.raw(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    this.endian === 'le' ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0);
    return this.raw(b);
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    this.endian === 'le' ? b.writeBigUInt64LE(BigInt.asUintN(64, v)) : b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return this.raw(b);
  }
  raw(b: ArrayLike<number>): this {
    const buf = Buffer.from(b as Uint8Array);
    this.parts.push(buf);
    this.len += buf.length;
    return this;
  }
  pad4(): this {
    return this.len % 4 ? this.raw(Buffer.alloc(4 - (this.len % 4))) : this;
  }
  get length(): number {
    return this.len;
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}

// ---- classic pcap ----

export function pcapHeader(o: { endian: Endian; nano?: boolean; snaplen?: number; linkType?: number; major?: number }): Buffer {
  return new Bytes(o.endian)
    .u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(o.major ?? 2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(o.snaplen ?? 65535)
    .u32(o.linkType ?? 1)
    .buffer();
}

export function pcapRecord(endian: Endian, sec: number, frac: number, data: Uint8Array, origLen = data.length): Buffer {
  return new Bytes(endian).u32(sec).u32(frac).u32(data.length).u32(origLen).raw(data).buffer();
}

// ---- pcapng ----

export interface Option {
  code: number;
  value: Uint8Array;
}

function withOptions(b: Bytes, options: Option[]): void {
  if (options.length === 0) return;
  for (const o of options) {
    b.u16(o.code).u16(o.value.length).raw(o.value).pad4();
  }
  b.u16(0).u16(0);
}

/** A generic block: type, total length, body (already laid out), total length. */
export function ngBlock(endian: Endian, type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const total = 12 + padded.length;
  return new Bytes(endian).u32(type).u32(total).raw(padded).u32(total).buffer();
}

export function shb(endian: Endian, options: Option[] = [], version: [number, number] = [1, 0]): Buffer {
  const body = new Bytes(endian).u32(0x1a2b3c4d).u16(version[0]).u16(version[1]).u64(-1n);
  withOptions(body, options);
  return ngBlock(endian, 0x0a0d0d0a, body.buffer());
}

export function idb(endian: Endian, linkType: number, o: { snaplen?: number; tsresol?: number; tsoffset?: bigint; name?: string } = {}): Buffer {
  const body = new Bytes(endian).u16(linkType).u16(0).u32(o.snaplen ?? 0);
  const options: Option[] = [];
  if (o.name !== undefined) options.push({ code: 2, value: Buffer.from(o.name) });
  if (o.tsresol !== undefined) options.push({ code: 9, value: Buffer.from([o.tsresol]) });
  if (o.tsoffset !== undefined) options.push({ code: 14, value: new Bytes(endian).u64(o.tsoffset).buffer() });
  withOptions(body, options);
  return ngBlock(endian, 1, body.buffer());
}

export function epb(endian: Endian, ifId: number, units: bigint, data: Uint8Array, origLen = data.length, options: Option[] = []): Buffer {
  const body = new Bytes(endian)
    .u32(ifId)
    .u32(Number(units >> 32n))
    .u32(Number(units & 0xffffffffn))
    .u32(data.length)
    .u32(origLen)
    .raw(data)
    .pad4();
  withOptions(body, options);
  return ngBlock(endian, 6, body.buffer());
}

/** Obsolete Packet Block (type 2). */
export function pb(endian: Endian, ifId: number, units: bigint, data: Uint8Array, origLen = data.length): Buffer {
  const body = new Bytes(endian)
    .u16(ifId)
    .u16(0)
    .u32(Number(units >> 32n))
    .u32(Number(units & 0xffffffffn))
    .u32(data.length)
    .u32(origLen)
    .raw(data)
    .pad4();
  return ngBlock(endian, 2, body.buffer());
}

export function spb(endian: Endian, data: Uint8Array, origLen = data.length): Buffer {
  return ngBlock(endian, 3, new Bytes(endian).u32(origLen).raw(data).pad4().buffer());
}

/** Interface Statistics Block (skipped by readers that do not need it). */
export function isb(endian: Endian, ifId: number): Buffer {
  return ngBlock(endian, 5, new Bytes(endian).u32(ifId).u32(0).u32(0).buffer());
}

/** Name Resolution Block with one IPv4 record. */
export function nrb(endian: Endian): Buffer {
  const name = Buffer.from('host.example\0');
  const body = new Bytes(endian).u16(1).u16(4 + name.length).raw([192, 0, 2, 1]).raw(name).pad4().u16(0).u16(0);
  return ngBlock(endian, 4, body.buffer());
}

/** Custom block (type 0x00000BAD) with a private enterprise number. */
export function customBlock(endian: Endian, payload: Uint8Array): Buffer {
  return ngBlock(endian, 0x00000bad, new Bytes(endian).u32(32473).raw(payload).pad4().buffer());
}

export function bytesOf(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}
