// Filters read VVMP fields in place (issue 14): every header and payload
// field of the table is read from the frame's bytes through the table's
// accessors, and the payload's layout is found from the header alone. These
// must give exactly what the decoder gives, on any bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { compileFilter, fieldAccessor } from '../../src/analysis/filter/index.js';
import { decodeFrame, isDevicesPayload, payloadBlockOf } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { HEADER, HEADER_SIZE, OPCODES, PAYLOAD_BLOCKS, REPLY_BIT } from '../../src/protocol/fields.js';

function analyzed(bytes: Buffer, udp: boolean): AnalyzedFrame {
  const decoded = decodeFrame(bytes, { udp });
  return {
    number: 1, packet: 1, firstPacket: 1, tsSec: 0, tsNsec: 0, tsDigits: 9, transport: udp ? 'udp' : 'tcp',
    src: { ip: '10.0.0.1', port: 1 }, dst: { ip: '10.0.0.2', port: 7369 }, srcText: '10.0.0.1:1', dstText: '10.0.0.2:7369',
    flowKey: 'udp 10.0.0.1:1 10.0.0.2:7369', decoded, session: null, expert: decoded.findings, latencyMs: null, peer: null,
  };
}

/** Frames near valid ones: any opcode (requests, replies, unknown), status, length and payload size, cut or padded. */
const frames = fc.record({
  op: fc.oneof(fc.constantFrom(...OPCODES.map((o) => o.code)), fc.integer({ min: 0, max: 0xffff })),
  reply: fc.boolean(),
  sub: fc.oneof(fc.constantFrom(0, 1, 0x10, 0x33, 0xff), fc.integer({ min: 0, max: 255 })),
  words: fc.oneof(fc.constantFrom(0, 1, 2, 5, 6, 8, 10), fc.integer({ min: 0, max: 40 })),
  fill: fc.integer({ min: 0, max: 255 }),
  cut: fc.integer({ min: -200, max: 12 }),
  udp: fc.boolean(),
}).map(({ op, reply, sub, words, fill, cut, udp }) => {
  const size = HEADER_SIZE + 4 * words;
  const b = Buffer.alloc(size, fill);
  b.writeUInt16BE(reply ? op | REPLY_BIT : op & ~REPLY_BIT, 0);
  b[28] = sub;
  b.writeUInt16BE(words, 29);
  // cut < 0: that many bytes fewer (at least none); cut > 0: that many trailing bytes.
  const bytes = cut < 0 ? b.subarray(0, Math.max(0, size + cut)) : Buffer.concat([b, Buffer.alloc(cut, 0xee)]);
  return { bytes, udp };
});

const TABLE_FIELDS = [HEADER, ...PAYLOAD_BLOCKS].flatMap((block) => block.fields.map((f) => ({ block, f, acc: fieldAccessor(f.filter)! })));

describe('filters read fields in place', () => {
  it('payloadBlockOf gives the layout decodeFrame decodes the payload with, on any bytes', () => {
    fc.assert(fc.property(frames, ({ bytes, udp }) => {
      const d = decodeFrame(bytes, { udp });
      expect(payloadBlockOf(d.bytes)).toBe(d.payloadBlock);
    }), { numRuns: 3000 });
  }, 60_000);

  it('every table field reads what the decoder decoded (header object, payload records), absent where it is', () => {
    fc.assert(fc.property(frames, ({ bytes, udp }) => {
      const f = analyzed(bytes, udp);
      const d = f.decoded;
      for (const { block, f: def, acc } of TABLE_FIELDS) {
        let want: unknown[];
        if (block === HEADER) {
          const v = (d.header as unknown as Record<string, unknown>)[def.name];
          want = v === null ? [] : [v];
        } else if (d.payloadBlock !== block || d.payload === null) want = [];
        else if (isDevicesPayload(d.payload)) want = d.payload.devices.map((r) => r[def.name]);
        else want = [d.payload[def.name]];
        const got = acc.values(f);
        if (got.length !== want.length || got.some((v, i) => v !== want[i])) expect(got, def.filter).toEqual(want);
        if (acc.present(f) !== want.length > 0) expect(acc.present(f), def.filter).toBe(want.length > 0);
      }
      // Derived fields read in place too.
      const sid = fieldAccessor('vvmp.session_id')!.values(f);
      const rec = d.payload && !isDevicesPayload(d.payload) ? d.payload : null;
      expect(sid).toEqual(rec && 'session_id' in rec ? [rec.session_id] : []);
      expect(fieldAccessor('vvmp.status')!.values(f)).toEqual(d.reply && d.header.sub_opcode !== null ? [d.header.sub_opcode] : []);
    }), { numRuns: 1000 });
  }, 120_000);

  it('a header-field filter decides from the bytes alone, header object or not', () => {
    const bytes = encodeFrame({ opcode: 0x0002, client_id: 0x11n, server_id: 0xaan, transaction_id: 7, sub_opcode: 1,
      payload: { storage_type: 5, access_type: 2, session_id: 0, capacity_kb: 1024, bandwidth_kb: 10, qos: 3, flags: 1, timeout_ms: 0 } });
    const f = analyzed(bytes, false);
    // Nothing but the bytes and the layout: a filter on table fields must not need the decoded objects.
    const bare = { ...f, decoded: { bytes: f.decoded.bytes, payloadBlock: f.decoded.payloadBlock } } as unknown as AnalyzedFrame;
    for (const text of ['vvmp.opcode == Allocate', 'vvmp.client_id == 0x11 && vvmp.transaction_id in {5..9}',
      'vvmp.alloc.capacity_kb >= 1024 && vvmp.alloc.qos == GOLD', 'vvmp.alloc.flags contains EXCLUSIVE',
      'vvmp.alloc.flags.mirror == 0', 'vvmp.server_id != 0xbb', 'vvmp.alloc.storage_type == RAID5']) {
      expect(compileFilter(text).test(bare), text).toBe(true);
      expect(compileFilter(text).test(f), text).toBe(true);
    }
    expect(compileFilter('vvmp.device.device_id == 1').test(bare)).toBe(false);
  });
});
