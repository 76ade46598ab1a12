// Expert codes are declared once with severity, group and scope; consumers derive their lists from it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPERT, EXPERT_CODES, expertCodesWhere, type ExpertCode } from '../../src/protocol/expert.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { MALFORMED_CODES } from '../../src/traffic/fuzz/expect.js';
import { FRAME_EXPERT_CODES } from '../../src/dissector/lua.js';

describe('expert table', () => {
  it('gives each code one severity, group and scope', () => {
    for (const [code, d] of Object.entries(EXPERT)) {
      expect(EXPERT_CODES[code as ExpertCode]).toBe(d.severity);
      expect(['checksum', 'malformed', 'protocol', 'undecoded', 'response', 'sequence', 'reassemble']).toContain(d.group);
    }
  });

  it('frame scope = exactly what the decoder can say from bytes alone', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (b, udp) => {
      for (const f of decodeFrame(Buffer.from(b), { udp }).findings) {
        seen.add(f.code);
        expect(EXPERT[f.code].scope).toBe('frame');
      }
    }), { numRuns: 3000 });
    expect([...expertCodesWhere((d) => d.scope === 'frame')]).toEqual(FRAME_EXPERT_CODES);
  });

  it('refused = what a server answers MALFORMED / BAD_CHECKSUM / UNSUPPORTED (the fuzzer\'s malformed set)', () => {
    expect([...MALFORMED_CODES].sort()).toEqual(
      ['checksum_bad', 'frame_short', 'frame_truncated', 'opcode_unknown', 'payload_size', 'subop_invalid']);
  });
});
