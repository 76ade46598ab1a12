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
