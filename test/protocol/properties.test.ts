import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteSum } from '../../src/protocol/checksum.js';
import { decodeFrame, decodeFrameInto, emptyDecodedFrame, isDevicesPayload } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { fieldMax, OPCODES, REPLY_BIT, STATUSES, type BlockLayout } from '../../src/protocol/fields.js';
import type { BlockRecord } from '../../src/protocol/codec.js';

/** An arbitrary record for a block, every field within its width, reserved fields 0. */
function recordArb(block: BlockLayout): fc.Arbitrary<BlockRecord> {
  const entries: Record<string, fc.Arbitrary<number | bigint>> = {};
  for (const f of block.fields) {
    if (f.kind === 'reserved') entries[f.name] = fc.constant(0);
    else if (f.width === 8) entries[f.name] = fc.bigInt({ min: 0n, max: fieldMax(f) });
    else if (f.reservedMask) entries[f.name] = fc.integer({ min: 0, max: Number(fieldMax(f)) }).map((v) => v & ~f.reservedMask!);
    else entries[f.name] = fc.integer({ min: 0, max: Number(fieldMax(f)) });
  }
  return fc.record(entries) as fc.Arbitrary<BlockRecord>;
}

const frameArb = fc.constantFrom(...OPCODES).chain((def) =>
  fc.boolean().chain((asReply) => {
    const reply = asReply && def.hasReply;
    const block = reply ? def.reply : def.request;
    const payload: fc.Arbitrary<unknown> = block === null
      ? fc.constant(null)
      : block.repeated
        ? fc.array(recordArb(block), { maxLength: 5 }).map((devices) => ({ devices }))
        : recordArb(block);
    return fc.record({
      opcode: fc.constant(reply ? def.code | REPLY_BIT : def.code),
      src_san: fc.integer({ min: 0, max: 0xffffff }),
      dst_san: fc.integer({ min: 0, max: 0xffffff }),
      client_id: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      server_id: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      transaction_id: fc.integer({ min: 0, max: 0xffffffff }),
      sub_opcode: fc.constantFrom(...Object.keys(reply ? STATUSES : def.subops).map(Number)),
      payload,
    });
  }));

describe('encode → decode round trip', () => {
  it('gives back every header and payload field, a good checksum and no errors', () => {
    fc.assert(fc.property(frameArb, (spec) => {
      const bytes = encodeFrame(spec as Parameters<typeof encodeFrame>[0]);
      expect(byteSum(bytes)).toBe(0);
      const d = decodeFrame(bytes);
      expect(d.checksumOk).toBe(true);
      expect(d.complete).toBe(true);
      const h = d.header;
      expect(h.opcode).toBe(spec.opcode);
      expect(h.src_san).toBe(spec.src_san);
      expect(h.dst_san).toBe(spec.dst_san);
      expect(h.client_id).toBe(spec.client_id);
      expect(h.server_id).toBe(spec.server_id);
      expect(h.transaction_id).toBe(spec.transaction_id);
      expect(h.sub_opcode).toBe(spec.sub_opcode);
      const errors = d.findings.filter((f) => f.severity === 'error' && f.code !== 'status_error');
      expect(errors).toEqual([]);
      const emptyErrorReply = (spec.opcode & REPLY_BIT) !== 0 && spec.sub_opcode > 1
        && (spec.payload === null || (spec.payload as { devices?: unknown[] }).devices?.length === 0);
      if (emptyErrorReply) {
        expect(d.payload).toBeNull(); // error replies may be empty (OUTPUT.md convention 3)
      } else if (spec.payload === null) {
        expect(d.payload === null || (isDevicesPayload(d.payload) && d.payload.devices.length === 0)).toBe(true);
      } else {
        expect(d.payload).toEqual(spec.payload);
      }
    }), { numRuns: 2000 });
  });

  it('a corrupted checksum is reported and nothing else changes', () => {
    fc.assert(fc.property(frameArb, (spec) => {
      const good = decodeFrame(encodeFrame(spec as Parameters<typeof encodeFrame>[0]));
      const bad = decodeFrame(encodeFrame({ ...(spec as Parameters<typeof encodeFrame>[0]), corruptChecksum: true }));
      expect(bad.checksumOk).toBe(false);
      expect(bad.findings.map((f) => f.code)).toEqual(['checksum_bad', ...good.findings.map((f) => f.code)]);
      expect(bad.payload).toEqual(good.payload);
    }), { numRuns: 500 });
  });
});

describe('decoder robustness', () => {
  it('never throws on random bytes, as a stream frame or a UDP datagram', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, udp) => {
      const d = decodeFrame(Buffer.from(bytes), { udp });
      expect(d.checksumOk).toBe(d.sum === 0);
      expect(d.findings.some((f) => f.code === 'frame_short')).toBe(bytes.length < 32);
    }), { numRuns: 5000 });
  });

  it('never throws on valid frames with random bytes changed, cut or appended', () => {
    fc.assert(fc.property(frameArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat({ max: 120 }), fc.uint8Array({ maxLength: 8 }), (spec, flips, cut, extra) => {
        const bytes = Buffer.from(encodeFrame(spec as Parameters<typeof encodeFrame>[0]));
        for (const [at, v] of flips) bytes[at % bytes.length] = v;
        const input = Buffer.concat([bytes.subarray(0, Math.max(0, bytes.length - cut)), extra]);
        const d = decodeFrame(input, { udp: true });
        expect(Array.isArray(d.findings)).toBe(true);
      }), { numRuns: 3000 });
  });
});

describe('decoding into a reused frame (the analysis of stats reuses frames)', () => {
  it('gives what a fresh decode gives, payload records apart with payload: false', () => {
    // One target for every run: whatever the previous frame left must not leak into the next.
    const reused = emptyDecodedFrame();
    const reusedInPlace = emptyDecodedFrame();
    fc.assert(fc.property(frameArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat({ max: 80 }), fc.uint8Array({ maxLength: 8 }), fc.boolean(), (spec, flips, cut, extra, udp) => {
        const bytes = Buffer.from(encodeFrame(spec as Parameters<typeof encodeFrame>[0]));
        for (const [at, v] of flips) bytes[at % bytes.length] = v;
        const input = Buffer.concat([bytes.subarray(0, Math.max(0, bytes.length - cut)), extra]);
        const fresh = decodeFrame(input, { udp });
        const into = decodeFrameInto(reused, input, { udp });
        expect(into).toBe(reused);
        expect({ ...into, header: { ...into.header } }).toEqual({ ...fresh, header: { ...fresh.header } });
        const inPlace = decodeFrameInto(reusedInPlace, input, { udp, payload: false });
        expect({ ...inPlace, header: { ...inPlace.header } }).toEqual({ ...fresh, header: { ...fresh.header }, payload: null });
      }), { numRuns: 3000 });
  });
});

describe('encoder lies on request', () => {
  it('writes a length override and a chosen checksum', () => {
    const f = encodeFrame({ opcode: 1, sub_opcode: 1, lengthOverride: 9, checksumOverride: 0x42 });
    expect(f.length).toBe(32);
    expect(f.readUInt16BE(29)).toBe(9);
    expect(f[31]).toBe(0x42);
    expect(decodeFrame(f).findings.map((x) => x.code)).toContain('frame_truncated');
  });
});
