// The open-request table (analysis/openTable.ts) against a plain list model.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OpenTable, type OpenEntry } from '../../src/analysis/openTable.js';

interface Req extends OpenEntry<Req> {
  name: string;
}

function req(name: string, txid: number, client = 1n, opcode = 2): Req {
  return { name, txid, client, opcode, nextInBucket: null, seq: 0 };
}

describe('OpenTable', () => {
  it('finds the oldest request of a client for a transaction id, by opcode or any', () => {
    const t = new OpenTable<Req>();
    t.add(req('a', 7, 1n, 2));
    t.add(req('b', 7, 1n, 3));
    t.add(req('c', 7, 2n, 2));
    t.add(req('d', 7 + 256, 1n, 2)); // same bucket, other txid
    expect(t.find(7, 1n, 2)?.name).toBe('a');
    expect(t.find(7, 1n, 3)?.name).toBe('b');
    expect(t.find(7, 1n, -1)?.name).toBe('a');
    expect(t.find(7, 2n, 2)?.name).toBe('c');
    expect(t.find(7, 3n, -1)).toBeNull();
    expect(t.find(8, 1n, -1)).toBeNull();
    expect(t.find(7 + 256, 1n, 2)?.name).toBe('d');
  });

  it('removes from the head, middle and end of a chain, and says when it held nothing', () => {
    const t = new OpenTable<Req>();
    const rs = ['a', 'b', 'c', 'd'].map((n) => req(n, 5));
    for (const r of rs) t.add(r);
    expect(t.remove(rs[1]!)).toBe(true);
    expect(t.remove(rs[0]!)).toBe(true);
    expect(t.remove(rs[3]!)).toBe(true);
    expect(t.remove(rs[3]!)).toBe(false);
    expect(t.values().map((r) => r.name)).toEqual(['c']);
    expect(t.size).toBe(1);
  });

  it('keeps the order requests were added through growth', () => {
    const t = new OpenTable<Req>();
    for (let i = 0; i < 3000; i++) t.add(req(String(i), (i * 7919) % 1000, BigInt(i % 3)));
    expect(t.size).toBe(3000);
    expect(t.values().map((r) => Number(r.name))).toEqual([...Array(3000).keys()]);
    expect(t.oldest((r) => r.client === 2n)?.name).toBe('2');
  });

  it('behaves as a list searched oldest first, for any sequence of adds and removes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), txid: fc.integer({ min: 0, max: 600 }), client: fc.integer({ min: 0, max: 3 }), opcode: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('find' as const), txid: fc.integer({ min: 0, max: 600 }), client: fc.integer({ min: 0, max: 3 }), opcode: fc.integer({ min: -1, max: 3 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
      const t = new OpenTable<Req>();
      const model: Req[] = [];
      let n = 0;
      for (const o of ops) {
        if (o.kind === 'add') {
          const r = req(String(n++), o.txid, BigInt(o.client), o.opcode);
          t.add(r);
          model.push(r);
        } else if (o.kind === 'remove') {
          if (model.length === 0) continue;
          const [r] = model.splice(o.pick % model.length, 1);
          expect(t.remove(r!)).toBe(true);
        } else {
          const want = model.find((r) => r.txid === o.txid && r.client === BigInt(o.client) && (o.opcode === -1 || r.opcode === o.opcode)) ?? null;
          expect(t.find(o.txid, BigInt(o.client), o.opcode)).toBe(want);
        }
      }
      expect(t.values().map((r) => r.name)).toEqual(model.map((r) => r.name));
      expect(t.size).toBe(model.length);
    }), { numRuns: 200 });
  });
});
