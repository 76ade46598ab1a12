// Rules the field table carries besides layouts (VVMP.md sections 5 and 7):
// which opcodes name or assign a session, which set their own timeout, and
// that a reply's sub_opcode is its status.

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMEOUT_MS, OPCODES, REPLY_BIT, STATUSES, STATUS_OK, STATUS_PENDING, isErrorStatus, replyStatus, sessionRole,
} from '../../src/protocol/fields.js';
import { sessionIdIn } from '../../src/protocol/access.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { decodeFrame } from '../../src/protocol/decode.js';

describe('protocol rules in the table', () => {
  it('session roles: Allocate assigns one; Initialize, Free, Modify, Statistics name one; the others none', () => {
    expect(Object.fromEntries(OPCODES.map((o) => [o.name, o.session]))).toEqual({
      Query: null, Allocate: 'assigns', Initialize: 'names', Free: 'names', Modify: 'names', Statistics: 'names', Announce: null,
    });
    for (const o of OPCODES) if (o.hasReply) expect(sessionRole(o.code | REPLY_BIT)).toBe(o.session);
    expect(sessionRole(0x0009)).toBeNull();
  });

  it('every block of an opcode with a session role carries a session_id the accessors read in place', () => {
    for (const o of OPCODES.filter((x) => x.session !== null)) {
      for (const [block, reply] of [[o.request, false], [o.reply, true]] as const) {
        if (block === null) continue;
        const bytes = encodeFrame({ opcode: o.code | (reply ? REPLY_BIT : 0), sub_opcode: reply ? 0 : Number(Object.keys(o.subops)[0]), payload: { session_id: 0x1234 } });
        const d = decodeFrame(bytes);
        expect(d.payloadBlock).toBe(block);
        expect(sessionIdIn(d.payloadBlock, d.bytes, 32)).toBe(0x1234);
      }
    }
    expect(sessionIdIn(null, Buffer.alloc(64), 32)).toBeNull();
  });

  it('Allocate and Modify set their own timeout; DEFAULT_TIMEOUT_MS is 5,000 ms', () => {
    expect(OPCODES.filter((o) => o.ownTimeout).map((o) => o.name)).toEqual(['Allocate', 'Modify']);
    expect(DEFAULT_TIMEOUT_MS).toBe(5000);
  });

  it('a reply\'s sub_opcode is its status; a request has none; errors are neither OK nor PENDING', () => {
    expect(replyStatus(0x8002, 0x10)).toBe(0x10);
    expect(replyStatus(0x0002, 0x01)).toBeNull();
    expect(isErrorStatus(STATUS_OK)).toBe(false);
    expect(isErrorStatus(STATUS_PENDING)).toBe(false);
    for (const code of Object.keys(STATUSES).map(Number).filter((c) => c > STATUS_PENDING)) expect(isErrorStatus(code)).toBe(true);
    expect(isErrorStatus(0x7e)).toBe(true);
  });
});
