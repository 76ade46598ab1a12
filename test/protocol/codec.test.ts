// Header ids are read through a cache of recent values (protocol/codec.ts readId).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readId } from '../../src/protocol/codec.js';

describe('readId', () => {
  it('reads any 64-bit value as readBigUInt64BE does', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 16 }), fc.nat(8), (bytes, off) => {
      const b = Buffer.from(bytes);
      const at = Math.min(off, b.length - 8);
      expect(readId(b, at)).toBe(b.readBigUInt64BE(at));
    }), { numRuns: 3000 });
  });

  it('stays exact around 2^53 and past the cache size', () => {
    const b = Buffer.alloc(8);
    for (const v of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 0x0000010000000010n]) {
      b.writeBigUInt64BE(v);
      expect(readId(b, 0)).toBe(v);
      expect(readId(b, 0)).toBe(v);
    }
    for (let i = 0; i < 40_000; i++) {
      const v = 0x001f_ffff_0000_0000n + BigInt(i * 104729);
      b.writeBigUInt64BE(v);
      expect(readId(b, 0)).toBe(v);
    }
  });
});

describe('compileBitsTest (the decoder\'s reserved-bits check)', () => {
  it('returns the first field whose bits under its mask are set, at any base and width', async () => {
    const { compileBitsTest } = await import('../../src/protocol/codec.js');
    const test = compileBitsTest([
      { index: 3, offset: 0, width: 1, mask: 0xf0 },
      { index: 5, offset: 1, width: 2, mask: -1 },
      { index: 7, offset: 3, width: 4, mask: -1 },
      { index: 9, offset: 7, width: 8, mask: -1 },
    ]);
    const b = new Uint8Array(20);
    expect(test(b, 2)).toBe(-1);
    b[2] = 0x0f; // bits outside the mask
    expect(test(b, 2)).toBe(-1);
    b[2 + 7] = 0x80; // top bit of the 8-byte field
    expect(test(b, 2)).toBe(9);
    b[2 + 6] = 0x80; // top bit of the 4-byte field
    expect(test(b, 2)).toBe(7);
    b[2 + 2] = 1;
    expect(test(b, 2)).toBe(5);
    b[2] = 0x10;
    expect(test(b, 2)).toBe(3);
  });

  it('property: decodeFrame reports reserved_nonzero exactly when a reserved field or bit of a record is set', async () => {
    const fc = (await import('fast-check')).default;
    const { decodeFrame } = await import('../../src/protocol/decode.js');
    const { encodeFrame } = await import('../../src/protocol/encode.js');
    const { OPCODES, HEADER_SIZE } = await import('../../src/protocol/fields.js');
    const { readUint } = await import('../../src/protocol/codec.js');
    const cases = OPCODES.flatMap((o) => [o.request, o.reply].map((block, i) => ({ o, block, reply: i === 1 }))).filter((c) => c.block !== null);
    fc.assert(fc.property(fc.constantFrom(...cases), fc.uint8Array({ minLength: 60, maxLength: 60 }), fc.integer({ min: 1, max: 3 }), ({ o, block, reply }, raw, n) => {
      const count = block!.repeated ? n : 1;
      const payload = Buffer.from(raw.subarray(0, block!.size * count));
      const frame = encodeFrame({ opcode: o.code | (reply ? 0x8000 : 0), sub_opcode: reply ? 0 : Number(Object.keys(o.subops)[0]), payload });
      const d = decodeFrame(frame);
      let want = false;
      for (let r = 0; r < count && !want; r++) {
        for (const f of block!.fields) {
          const v = Number(readUint(frame, HEADER_SIZE + r * block!.size + f.offset, f.width));
          if (f.kind === 'reserved' ? v !== 0 : (f.reservedMask ?? 0) !== 0 && (v & f.reservedMask!) !== 0) want = true;
        }
      }
      expect(d.findings.some((x) => x.code === 'reserved_nonzero')).toBe(want);
    }), { numRuns: 500 });
  });
});
