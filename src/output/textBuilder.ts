// Builds one output record (a JSON line, a summary line) as bytes in a reused
// buffer: fields are written where they go, numbers as digits, so a record
// costs one flat string at the end instead of a string per field and a rope
// to flatten. Hot path of `read`, `read --json` and `read -T fields`.

const HEX = '0123456789abcdef';

/** "000" … "999": three decimal digits at a time. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Node's Buffer methods without the argument checks of `write`/`toString` (present since Node 0.x). */
export interface RawBuffer {
  utf8Write(s: string, offset: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

export const raw = (b: Buffer): RawBuffer => b as unknown as RawBuffer;

/** Digits after the decimal point of nanoseconds `nsec`: the first `digits` of its 9-digit form. */
export function fractionDigits(nsec: number, digits: number): string {
  const hi = THREE_DIGITS[Math.floor(nsec / 1e6)]!;
  if (digits === 3) return hi;
  const mid = THREE_DIGITS[Math.floor(nsec / 1e3) % 1000]!;
  if (digits === 6) return hi + mid;
  const all = hi + mid + THREE_DIGITS[nsec % 1000]!;
  return digits >= 9 ? all : all.slice(0, digits);
}

export class TextBuilder {
  private buf: Buffer = Buffer.allocUnsafe(4096);
  private pos = 0;
  /** Something beyond ASCII was written (the string is then decoded as UTF-8). */
  private wide = false;

  /** Room for `n` more bytes. */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Any text (UTF-8). */
  str(s: string): this {
    const n = s.length;
    this.room(n * 3);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.wide = true;
        this.pos = p + raw(b).utf8Write(s.slice(i), p);
        return this;
      }
      b[p++] = c;
    }
    this.pos = p;
    return this;
  }

  /** One ASCII character by code. */
  char(c: number): this {
    this.room(1);
    this.buf[this.pos++] = c;
    return this;
  }

  /** A non-negative integer (below 2^53) in decimal; other numbers as String() writes them. */
  uint(v: number): this {
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v)) return this.str(String(v));
    this.room(16);
    const b = this.buf;
    if (v < 10) {
      b[this.pos++] = 48 + v;
      return this;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      b[--p] = 48 + (v - q * 10);
      v = q;
    }
    b[--p] = 48 + v;
    return this;
  }

  /** A number or bigint as `${v}` writes it. */
  num(v: number | bigint): this {
    return typeof v === 'number' ? this.uint(v) : this.str(v.toString());
  }

  /** `v` as JSON: a number, or null. */
  numOrNull(v: number | null): this {
    return v === null ? this.str('null') : this.uint(v);
  }

  /** `s` as JSON.stringify writes it, or null. */
  json(s: string | null): this {
    if (s === null) return this.str('null');
    const n = s.length;
    this.room(n + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Escapes and non-ASCII: JSON.stringify knows the rules.
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x7f) return this.str(JSON.stringify(s));
      b[p++] = c;
    }
    b[p++] = 34;
    this.pos = p;
    return this;
  }

  /** A u64 id as `0x` and 16 hex digits (hexId). */
  hexId(v: bigint): this {
    const hi = Number(v >> 32n);
    const lo = Number(v & 0xffffffffn);
    this.room(18);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 48;
    b[p++] = 120;
    for (let s = 28; s >= 0; s -= 4) b[p++] = HEX.charCodeAt((hi >>> s) & 15);
    for (let s = 28; s >= 0; s -= 4) b[p++] = HEX.charCodeAt((lo >>> s) & 15);
    this.pos = p;
    return this;
  }

  /** Right-aligns what was written since `from` to `width` characters (ASCII only), as padStart does. */
  padStartFrom(from: number, width: number): this {
    const n = this.pos - from;
    if (n >= width) return this;
    const pad = width - n;
    this.room(pad);
    this.buf.copyWithin(from + pad, from, this.pos);
    this.buf.fill(32, from, from + pad);
    this.pos += pad;
    return this;
  }

  get length(): number {
    return this.pos;
  }

  /** The record written so far as one string; the builder is empty again. */
  take(): string {
    const s = this.wide ? raw(this.buf).utf8Slice(0, this.pos) : raw(this.buf).latin1Slice(0, this.pos);
    this.pos = 0;
    this.wide = false;
    return s;
  }
}
