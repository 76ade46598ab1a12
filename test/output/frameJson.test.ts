// The NDJSON writer reads payload values and ids where they lie in the
// frame's bytes (no record walk, no BigInt below 2^53): on random frames of
// every opcode, with u64 values of any size, it writes exactly the record
// frameRecord builds, and the same again when the bytes are gone (the
// record's own values then).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { PAYLOAD_BLOCKS } from '../../src/protocol/fields.js';
import { frameJsonLine, frameRecord, type FrameContext } from '../../src/output/frameJson.js';
import { toJson } from '../../src/output/jsonText.js';

const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }), fc.constant(0n));

describe('writeFrameJson', () => {
  it('writes what frameRecord builds, payload values from the bytes', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 7 }), fc.boolean(), fc.nat(255), u64, u64, fc.array(u64, { minLength: 16, maxLength: 16 }), fc.nat(3),
      (op, reply, sub, client, server, values, devices) => {
        const opcode = op | (reply ? 0x8000 : 0);
        // Payload values for every field name of every block, sized to the field.
        const payload: Record<string, bigint> = {};
        let i = 0;
        for (const b of PAYLOAD_BLOCKS) for (const f of b.fields) payload[f.name] = values[i++ % values.length]! & ((1n << BigInt(8 * f.width)) - 1n);
        const spec = { opcode, sub_opcode: sub, client_id: client, server_id: server, transaction_id: 7, payload: devices ? { devices: Array.from({ length: devices }, () => payload) } : payload };
        let bytes: Buffer;
        try {
          bytes = encodeFrame(spec as never);
        } catch {
          return; // a payload this opcode does not take
        }
        const d = decodeFrame(bytes, { udp: true });
        const ctx: FrameContext = {
          frame: 1, packet: 2, tsSec: 1, tsNsec: 5, tsDigits: 6, transport: 'tcp', src: '10.0.0.1:5', dst: '10.0.0.2:7369', session: null, expert: d.findings,
        };
        const want = toJson(frameRecord(d, ctx));
        expect(frameJsonLine(d, ctx)).toBe(want);
        d.bytes = Buffer.alloc(0); // as for a request the analyzer no longer holds
        expect(frameJsonLine(d, ctx)).toBe(want);
      },
    ), { numRuns: 2000 });
  });
});
