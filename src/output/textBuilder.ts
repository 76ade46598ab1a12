// Builds output records (a JSON line, a summary line) as bytes in a buffer:
// fields are written where they go, numbers as digits, constant parts and
// repeated strings (endpoints, names, JSON keys) copied from bytes made once.
// `read` renders into the output buffer itself (BufferedOut) or into the
// bytes held behind an open request (HeldBytes); `take` makes a string only
// where one is asked for. Hot path of `read`, `read --json` and `read -T fields`.

const HEX = '0123456789abcdef';

/** "000" … "999": three decimal digits at a time. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Two hex digits (as bytes) of every byte value: hex ids without a loop per digit. */
export const HEX_PAIRS: Uint8Array = Uint8Array.from({ length: 512 }, (_, i) => HEX.charCodeAt(i & 1 ? (i >> 1) & 15 : i >> 5));

/** "00" … "99" as bytes: decimal digits two at a time. */
const DEC_PAIRS: Uint8Array = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** Node's Buffer methods without the argument checks of `write`/`toString` (present since Node 0.x). */
export interface RawBuffer {
  utf8Write(s: string, offset: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

export const raw = (b: Buffer): RawBuffer => b as unknown as RawBuffer;

/** The UTF-8 bytes of a constant (JSON keys, separators): made once, copied with `lit`. */
export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** Digits after the decimal point of nanoseconds `nsec`: the first `digits` of its 9-digit form. */
export function fractionDigits(nsec: number, digits: number): string {
  const hi = THREE_DIGITS[Math.floor(nsec / 1e6)]!;
  if (digits === 3) return hi;
  const mid = THREE_DIGITS[Math.floor(nsec / 1e3) % 1000]!;
  if (digits === 6) return hi + mid;
  const all = hi + mid + THREE_DIGITS[nsec % 1000]!;
  return digits >= 9 ? all : all.slice(0, digits);
}

/**
 * Bytes of strings from a small set that come back frame after frame (opcode
 * and status names, finding codes), as `str` and `json` write them. Bounded:
 * emptied when full. Not for endpoints or sessions: a capture has thousands
 * (a client port per connection), and a missed lookup costs more than
 * writing the string.
 */
class ByteCache {
  private readonly map = new Map<string, Uint8Array>();
  constructor(private readonly encode: (s: string) => string) {}

  /** The bytes, and one more: 1 when they go beyond ASCII (`take` must then decode UTF-8). */
  get(s: string): Uint8Array {
    let b = this.map.get(s);
    if (b === undefined) {
      if (this.map.size >= 4096) this.map.clear();
      const bytes = Buffer.from(this.encode(s), 'utf8');
      b = new Uint8Array(bytes.length + 1);
      b.set(bytes);
      b[bytes.length] = bytes.some((c) => c >= 0x80) ? 1 : 0;
      this.map.set(s, b);
    }
    return b;
  }
}

const STR_CACHE = new ByteCache((s) => s);
const JSON_CACHE = new ByteCache((s) => JSON.stringify(s));
const NULL = utf8('null');

export class TextBuilder {
  protected buf: Buffer;
  protected pos = 0;
  /** Something beyond ASCII was written (`take` then decodes UTF-8). */
  private wide = false;

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes. */
  protected room(n: number): void {
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

  /** An ASCII constant made once with `utf8` (`take` reads what `lit` wrote as Latin-1). */
  lit(k: Uint8Array): this {
    const n = k.length;
    const p = this.pos;
    if (p + n > this.buf.length) this.room(n);
    // Short constants: a byte loop (in the whole `read --json` run, about 40 % less time here than a native set).
    const b = this.buf;
    for (let i = 0; i < n; i++) b[p + i] = k[i]!;
    this.pos = p + n;
    return this;
  }

  /** Bytes `src[start, end)` as they are (output copied into output). */
  copy(src: Uint8Array, start: number, end: number): this {
    const n = end - start;
    this.room(n);
    if (n <= 128) {
      // A few bytes (a field value, a record, a short line): a byte loop, no view made.
      const b = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) b[p++] = src[i]!;
      this.pos = p;
      return this;
    }
    // A plain view: Buffer#subarray would construct a Buffer (slower) for the same copy.
    this.buf.set(new Uint8Array(src.buffer, src.byteOffset + start, n), this.pos);
    this.pos += n;
    return this;
  }

  /** A string of a small set that comes back often (a name), as `str` writes it: its bytes are made once. */
  rep(s: string): this {
    return this.cached(STR_CACHE.get(s));
  }

  /** A string of a small set that comes back often, or null, as `json` writes it. */
  repJson(s: string | null): this {
    return s === null ? this.lit(NULL) : this.cached(JSON_CACHE.get(s));
  }

  private cached(k: Uint8Array): this {
    const n = k.length - 1;
    if (k[n] === 1) this.wide = true;
    this.room(n);
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) b[p + i] = k[i]!;
    this.pos = p + n;
    return this;
  }

  /**
   * Milliseconds that are a whole number of microseconds (a response time),
   * as String() writes them: the integer part, then the thousandths without
   * trailing zeros. Below 2^43 µs the double us / 1e3 has no shorter text
   * than that decimal; anything else goes through String().
   */
  millis(ms: number): this {
    const us = Math.round(ms * 1000);
    if (us < 0 || us >= 2 ** 43 || us / 1e3 !== ms) return this.str(String(ms));
    const whole = Math.floor(us / 1000);
    let frac = us - whole * 1000;
    this.uint(whole);
    if (frac === 0) return this;
    this.room(4);
    const b = this.buf;
    b[this.pos++] = 0x2e;
    let digits = 3;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    for (let i = digits - 1; i >= 0; i--) {
      b[this.pos + i] = 48 + (frac % 10);
      frac = Math.floor(frac / 10);
    }
    this.pos += digits;
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
    if (v >= 0 && v < 4294967296 && (v >>> 0) === v) {
      // 32-bit values (nearly all): integer division without Math.floor.
      this.room(10);
      const b = this.buf;
      if (v < 10) {
        b[this.pos++] = 48 + v;
        return this;
      }
      const digits = v < 100 ? 2 : v < 1e3 ? 3 : v < 1e4 ? 4 : v < 1e5 ? 5 : v < 1e6 ? 6 : v < 1e7 ? 7 : v < 1e8 ? 8 : v < 1e9 ? 9 : 10;
      let p = this.pos + digits;
      this.pos = p;
      // Two digits at a time from a table.
      while (v >= 100) {
        const q = (v / 100) >>> 0;
        const r = (v - q * 100) << 1;
        b[--p] = DEC_PAIRS[r + 1]!;
        b[--p] = DEC_PAIRS[r]!;
        v = q;
      }
      if (v >= 10) {
        b[--p] = DEC_PAIRS[(v << 1) + 1]!;
        b[--p] = DEC_PAIRS[v << 1]!;
      } else {
        b[--p] = 48 + v;
      }
      return this;
    }
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v)) return this.str(String(v));
    this.room(16);
    const b = this.buf;
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
    return v === null ? this.lit(NULL) : this.uint(v);
  }

  /** `s` as JSON.stringify writes it, or null. */
  json(s: string | null): this {
    if (s === null) return this.lit(NULL);
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

  /** The first `digits` (at most 9) of nanoseconds `nsec` in 9-digit form: fractionDigits without a string. */
  frac(nsec: number, digits: number): this {
    this.room(9);
    const b = this.buf;
    const p = this.pos;
    for (let i = 8; i >= 0; i--) {
      const q = (nsec / 10) >>> 0;
      b[p + i] = 48 + (nsec - q * 10);
      nsec = q;
    }
    this.pos = p + Math.min(digits, 9);
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

  /** `0x` and the 16 hex digits of the 8 bytes at `at` (a big-endian u64 id where it lies): as hexId writes its value. */
  hexId8(src: Uint8Array, at: number): this {
    this.room(18);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 48;
    b[p++] = 120;
    for (let i = at; i < at + 8; i++) {
      const x = src[i]! << 1;
      b[p++] = HEX_PAIRS[x]!;
      b[p++] = HEX_PAIRS[x + 1]!;
    }
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

  /**
   * A whole record was written: where output goes on in pieces (BufferedOut)
   * a piece may be handed on now, never inside a record (positions taken
   * within a record, as for `padStartFrom`, stay valid).
   */
  endRecord(): void {}

  /** The record written so far as one string; the builder is empty again. */
  take(): string {
    const s = this.wide ? raw(this.buf).utf8Slice(0, this.pos) : raw(this.buf).latin1Slice(0, this.pos);
    this.pos = 0;
    this.wide = false;
    return s;
  }

  /** Forgets what was written (a record not to be shown after all). */
  clear(): void {
    this.pos = 0;
    this.wide = false;
  }
}
