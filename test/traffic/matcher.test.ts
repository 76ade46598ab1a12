// The traffic side's one reply-matching rule (src/traffic/matcher.ts):
// per socket, the oldest waiting request with the same transaction id,
// client id and opcode (OUTPUT.md convention 5).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/encode.js';
import { OP_ALLOCATE, OP_QUERY, REPLY_BIT } from '../../src/protocol/fields.js';
import { ReplyMatcher } from '../../src/traffic/matcher.js';

const reply = (opcode: number, txid: number, client: bigint, status = 0) =>
  encodeFrame({ opcode: opcode | REPLY_BIT, transaction_id: txid, client_id: client, sub_opcode: status, payload: null });

describe('ReplyMatcher', () => {
  it('oldest first among duplicates; client id and opcode are part of the key', () => {
    const m = new ReplyMatcher<string>();
    m.add(7, 1n, OP_QUERY, 'q1');
    m.add(7, 1n, OP_QUERY, 'q2');
    m.add(7, 2n, OP_QUERY, 'other client');
    m.add(7, 1n, OP_ALLOCATE, 'allocate');
    expect(m.findFor(reply(OP_QUERY, 7, 1n))?.item).toBe('q1');
    expect(m.findFor(reply(OP_QUERY, 7, 2n))?.item).toBe('other client');
    expect(m.findFor(reply(OP_ALLOCATE, 7, 1n))?.item).toBe('allocate');
    expect(m.findFor(reply(OP_QUERY, 8, 1n))).toBeNull();
    const q1 = m.findFor(reply(OP_QUERY, 7, 1n))!;
    expect(m.remove(q1)).toBe(true);
    expect(m.remove(q1)).toBe(false);
    expect(m.findFor(reply(OP_QUERY, 7, 1n))?.item).toBe('q2');
    expect(m.size).toBe(3);
  });

  it('only whole reply headers match; a request (bit 15 clear) or a short frame answers nothing', () => {
    const m = new ReplyMatcher<number>();
    m.add(1, 5n, OP_QUERY, 1);
    expect(m.findFor(encodeFrame({ opcode: OP_QUERY, transaction_id: 1, client_id: 5n }))).toBeNull();
    expect(m.findFor(reply(OP_QUERY, 1, 5n).subarray(0, 31))).toBeNull();
    expect(m.findFor(Buffer.concat([Buffer.alloc(3), reply(OP_QUERY, 1, 5n)]), 3)?.item).toBe(1);
  });

  it('hasTransaction sees any client and opcode; clear ends every wait, oldest first', () => {
    const m = new ReplyMatcher<string>();
    m.add(9, 1n, OP_QUERY, 'a');
    m.add(3, 2n, OP_ALLOCATE, 'b');
    expect(m.hasTransaction(9)).toBe(true);
    expect(m.hasTransaction(3)).toBe(true);
    expect(m.hasTransaction(4)).toBe(false);
    expect(m.clear()).toEqual(['a', 'b']);
    expect(m.size).toBe(0);
    expect(m.hasTransaction(9)).toBe(false);
  });

  it('agrees with a list searched oldest first (random adds, replies and removals)', () => {
    const op = fc.record({
      kind: fc.constantFrom('add', 'reply', 'reply', 'remove'),
      txid: fc.integer({ min: 0, max: 600 }),
      client: fc.constantFrom(0n, 1n, 0xffffffffffffffffn),
      opcode: fc.constantFrom(OP_QUERY, OP_ALLOCATE, 0x0042),
      pick: fc.nat(),
    });
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const m = new ReplyMatcher<number>();
      const ref: Array<{ txid: number; client: bigint; opcode: number; id: number; w: ReturnType<typeof m.add> }> = [];
      let id = 0;
      for (const o of ops) {
        if (o.kind === 'add') {
          const w = m.add(o.txid, o.client, o.opcode, id);
          ref.push({ txid: o.txid, client: o.client, opcode: o.opcode, id: id++, w });
        } else if (o.kind === 'reply') {
          const want = ref.find((r) => r.txid === o.txid && r.client === o.client && r.opcode === o.opcode);
          const got = m.findFor(reply(o.opcode, o.txid, o.client));
          expect(got?.item).toBe(want?.id);
          if (want) {
            m.remove(got!);
            ref.splice(ref.indexOf(want), 1);
          }
        } else if (ref.length) {
          const r = ref.splice(o.pick % ref.length, 1)[0]!;
          expect(m.remove(r.w)).toBe(true);
        }
        expect(m.size).toBe(ref.length);
      }
      expect(m.items()).toEqual(ref.map((r) => r.id));
    }), { numRuns: 200 });
  });
});
