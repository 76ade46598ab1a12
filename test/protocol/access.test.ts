// The typed accessors read and write exactly what the field table declares.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Alloc, Device, Free, Header, Init, SessionRef, Stats, accessOf, recordAs, type BlockAccess } from '../../src/protocol/access.js';
import { readField, readBlock } from '../../src/protocol/codec.js';
import { ALLOC_BLOCK, HEADER, HEADER_SIZE, PAYLOAD_BLOCKS, STATS_BLOCK, type BlockLayout } from '../../src/protocol/fields.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { decodeFrame } from '../../src/protocol/decode.js';

const ALL: readonly BlockAccess<BlockLayout>[] = [Header, Alloc, Device, Init, Free, SessionRef, Stats] as never;

describe('typed field accessors', () => {
  it('cover every field of every block of the table, once', () => {
    const layouts = ALL.map((a) => a.layout);
    expect(layouts).toEqual([HEADER, ...PAYLOAD_BLOCKS]);
    for (const a of ALL) expect(Object.keys(a.get)).toEqual(a.layout.fields.map((f) => f.name));
  });

  it('read every field in place as the codec does, at any base', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), fc.integer({ min: 0, max: 40 }), (bytes, base) => {
      for (const a of ALL) {
        for (const f of a.layout.fields) {
          const get = (a.get as Record<string, (b: Uint8Array, at: number) => number | bigint>)[f.name]!;
          expect(get(bytes, base)).toEqual(readField(bytes, base, f));
        }
      }
    }));
  });

  it('write a field at its offset, truncated to its width, and nothing else', () => {
    const buf = new Uint8Array(64).fill(0xaa);
    Header.set.transaction_id(buf, 4, 0x1_2345_6789);
    expect(Header.get.transaction_id(buf, 4)).toBe(0x2345_6789);
    expect(buf[4 + 23]).toBe(0xaa);
    expect(buf[4 + 28]).toBe(0xaa);
    Alloc.set.timeout_ms(buf, 0, 0xffffff);
    expect(Alloc.get.timeout_ms(buf, 0)).toBe(0xffffff);
    Header.set.client_id(buf, 0, 0x0102030405060708n);
    expect(Header.get.client_id(buf, 0)).toBe(0x0102030405060708n);
  });

  it('say whether a field is present in a short buffer', () => {
    expect(Header.has.opcode(2)).toBe(true);
    expect(Header.has.src_san(4)).toBe(false);
    expect(Header.has.checksum(31)).toBe(false);
    expect(Header.has.checksum(HEADER_SIZE)).toBe(true);
  });

  it('give the typed view of a decoded payload only for its own layout', () => {
    const bytes = encodeFrame({ opcode: 0x8006, sub_opcode: 0, payload: { session_id: 7, age_ms: 5, bytes_read: 2n ** 40n } });
    const d = decodeFrame(bytes);
    const stats = recordAs(d.payloadBlock, d.payload, STATS_BLOCK);
    expect(stats?.session_id).toBe(7);
    expect(stats?.bytes_read).toBe(2n ** 40n);
    expect(recordAs(d.payloadBlock, d.payload, ALLOC_BLOCK)).toBeNull();
    expect(readBlock(bytes, HEADER_SIZE, STATS_BLOCK).age_ms).toBe(5);
  });

  it('are made from any layout', () => {
    expect(accessOf(ALLOC_BLOCK).field.capacity_kb.filter).toBe('vvmp.alloc.capacity_kb');
  });
});
