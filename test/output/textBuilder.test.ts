// The byte builder behind read's text, NDJSON and -T fields lines writes
// exactly what the string functions it replaces write: String(), JSON.stringify,
// hexId, padStart, the fraction of formatTime; and BufferedOut hands on every
// byte written, in order, in pieces no larger than its limit.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TextBuilder, fractionDigits } from '../../src/output/textBuilder.js';
import { BufferedOut, writeRelTime } from '../../src/output/frameWriter.js';
import { hexId } from '../../src/protocol/codec.js';

/** No lone surrogates (UTF-8 has no bytes for them). */
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('→', '✗ x', 'µs', '\u0000"\\\n', '\ud800', 'a\udc00b'));

describe('TextBuilder', () => {
  it('writes integers as String() does (every safe integer, and the others through String)', () => {
    fc.assert(fc.property(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.double(), fc.constantFrom(0, -0, 9, 10, 99, 100, 2 ** 53, -1, 1.5, NaN, Infinity)), (v) => {
      const tb = new TextBuilder();
      expect(tb.uint(v).take()).toBe(String(v));
    }), { numRuns: 5000 });
  });

  it('writes bigints and numbers as template literals do', () => {
    fc.assert(fc.property(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat()), (v) => {
      expect(new TextBuilder().num(v).take()).toBe(`${v}`);
    }));
  });

  it('writes strings as JSON.stringify does, escapes and non-ASCII included', () => {
    fc.assert(fc.property(fc.option(anyText, { nil: null }), (s) => {
      expect(new TextBuilder().json(s).take()).toBe(s === null ? 'null' : JSON.stringify(s));
    }), { numRuns: 5000 });
  });

  it('writes any text as UTF-8 and gives back the same string', () => {
    fc.assert(fc.property(fc.array(anyText.filter(wellFormed), { maxLength: 5 }), (parts) => {
      const tb = new TextBuilder();
      for (const p of parts) tb.str(p);
      expect(tb.take()).toBe(parts.join(''));
    }), { numRuns: 3000 });
  });

  it('writes ids as hexId does', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
      expect(new TextBuilder().hexId(v).take()).toBe(hexId(v));
    }), { numRuns: 3000 });
  });

  it('pads what was written since a mark as padStart does', () => {
    fc.assert(fc.property(fc.string({ maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 20 }), (before, v, width) => {
      const tb = new TextBuilder().str(before);
      const at = tb.length;
      tb.uint(v).padStartFrom(at, width);
      expect(tb.take()).toBe(before + String(v).padStart(width));
    }));
  });

  it('writes repeated strings from cached bytes as str and json do', () => {
    fc.assert(fc.property(fc.array(fc.option(anyText.filter(wellFormed), { nil: null }), { maxLength: 6 }), (parts) => {
      const tb = new TextBuilder();
      for (const p of parts) tb.rep(p ?? 'null').repJson(p).rep(p ?? 'null');
      expect(tb.take()).toBe(parts.map((p) => (p ?? 'null') + (p === null ? 'null' : JSON.stringify(p)) + (p ?? 'null')).join(''));
    }), { numRuns: 2000 });
  });

  it('writes ids from their bytes as hexId does', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(8), (v, at) => {
      const b = new Uint8Array(at + 8);
      new DataView(b.buffer).setBigUint64(at, v);
      expect(new TextBuilder().hexId8(b, at).take()).toBe(hexId(v));
    }), { numRuns: 3000 });
  });

  it('copies bytes as they are, short and long', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }).map((a) => a.map((c) => c & 0x7f)), fc.nat(200), fc.nat(200), (src, i, j) => {
      const [a, b] = [Math.min(i, j, src.length), Math.min(Math.max(i, j), src.length)];
      expect(new TextBuilder(1).char(0x78).copy(src, a, b).take()).toBe('x' + Buffer.from(src.subarray(a, b)).toString('latin1'));
    }));
  });

  it('grows past its first buffer and starts empty after take', () => {
    const tb = new TextBuilder();
    const long = 'x→'.repeat(10_000);
    expect(tb.str(long).take()).toBe(long);
    expect(tb.str('a').take()).toBe('a');
  });
});

describe('millis (response times)', () => {
  const text = (ms: number): string => new TextBuilder().millis(ms).take();
  it('writes whole microseconds as String() does', () => {
    for (let us = 0; us < 20_000; us++) expect(text(us / 1e3)).toBe(String(us / 1e3));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 43 - 1 }), (us) => text(us / 1e3) === String(us / 1e3)), { numRuns: 20_000 });
  });
  it('anything else as String()', () => {
    for (const v of [-1, -0.5, 0.0001, 1.2345, 1e21, Number.NaN, 2 ** 43 / 1e3, 123456789.123]) expect(text(v)).toBe(String(v));
  });
});

describe('fractionDigits', () => {
  it('is the first digits of the 9-digit nanoseconds (and frac writes them)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: 1, max: 12 }), (nsec, digits) => {
      expect(fractionDigits(nsec, digits)).toBe(String(nsec).padStart(9, '0').slice(0, Math.min(digits, 9)));
      expect(new TextBuilder().char(0x2e).frac(nsec, digits).char(0x7c).take()).toBe(`.${fractionDigits(nsec, digits)}|`);
    }), { numRuns: 5000 });
  });
});

describe('BufferedOut', () => {
  it('hands on every byte in order, in pieces no larger than its limit (or one oversized write alone)', () => {
    fc.assert(fc.property(fc.array(anyText.filter(wellFormed), { maxLength: 40 }), fc.integer({ min: 16, max: 256 }), (writes, limit) => {
      const pieces: Buffer[] = [];
      const out = new BufferedOut((b) => pieces.push(Buffer.from(b)), limit);
      for (const w of writes) out.write(w);
      out.flush();
      expect(Buffer.concat(pieces).toString('utf8')).toBe(writes.join(''));
      for (const p of pieces) expect(p.length <= limit || writes.some((w) => Buffer.byteLength(w) === p.length)).toBe(true);
    }), { numRuns: 2000 });
  });

  it('hands records written into it on between records, whole, and bytes copied in as they were', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string().filter((t) => /^[\x00-\x7f]*$/.test(t)), fc.nat()), { maxLength: 60 }), fc.integer({ min: 16, max: 256 }), (records, limit) => {
      const pieces: Buffer[] = [];
      const out = new BufferedOut((b) => pieces.push(b), limit);
      const want: string[] = [];
      for (const r of records) {
        if (typeof r === 'number') {
          const bytes = Buffer.from(`<${r}>`);
          out.bytes(bytes, 1, bytes.length - 1);
          want.push(String(r));
        } else {
          // padStartFrom counts bytes: ASCII records.
          const at = out.length;
          out.str(r).char(0x31).padStartFrom(at, 3);
          out.endRecord();
          want.push((r + '1').length >= 3 ? r + '1' : (r + '1').padStart(3));
        }
      }
      out.flush();
      expect(Buffer.concat(pieces).toString('utf8')).toBe(want.join(''));
      for (const p of pieces.slice(0, -1)) expect(p.length).toBeGreaterThan(0);
    }), { numRuns: 1000 });
  });

  it('never reuses a buffer it handed on (stdout may still hold it)', () => {
    const pieces: Buffer[] = [];
    const out = new BufferedOut((b) => pieces.push(b), 64);
    for (let i = 0; i < 50; i++) out.write(`line ${i}\n`);
    out.flush();
    expect(Buffer.concat(pieces).toString()).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
  });
});

describe('relative time of text lines', () => {
  it('is (ns / 1e9).toFixed(decimals), decimals 6 to 9 after the capture\'s resolution', () => {
    const stamp = fc.record({ sec: fc.integer({ min: 0, max: 4_000_000_000 }), nsec: fc.integer({ min: 0, max: 999_999_999 }) });
    fc.assert(fc.property(stamp, stamp, fc.integer({ min: 0, max: 9 }), fc.boolean(), (base, at, digits, micro) => {
      // Microsecond captures carry whole microseconds.
      const f = { tsSec: at.sec, tsNsec: micro ? at.nsec - (at.nsec % 1000) : at.nsec, tsDigits: digits };
      const b = { sec: base.sec, nsec: micro ? base.nsec - (base.nsec % 1000) : base.nsec };
      const ns = (f.tsSec - b.sec) * 1e9 + (f.tsNsec - b.nsec);
      const tb = new TextBuilder();
      writeRelTime(tb, f, b);
      expect(tb.take()).toBe((ns / 1e9).toFixed(Math.min(9, Math.max(6, digits))));
      writeRelTime(tb, f, null);
      expect(tb.take()).toBe('0.000000');
    }), { numRuns: 5000 });
  });
});
