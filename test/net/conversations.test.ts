// The one conversation table (net/conversations.ts) and the flow columns keyed by it (analysis/flows.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/analysis/flows.js';
import { CONV_TCP, CONV_UDP, Conversations } from '../../src/net/conversations.js';

/** A packet's address bytes (source then destination) and ports. */
interface Tuple { t: number; a: number[]; b: number[]; sp: number; dp: number }

const addr = (len: number) => fc.array(fc.integer({ min: 0, max: 3 }), { minLength: len, maxLength: len }); // few values: many collisions
const tuple: fc.Arbitrary<Tuple> = fc.oneof(
  fc.record({ t: fc.constantFrom(CONV_UDP, CONV_TCP), a: addr(4), b: addr(4), sp: fc.integer({ min: 0, max: 3 }), dp: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constantFrom(CONV_UDP, CONV_TCP), a: addr(16), b: addr(16), sp: fc.integer({ min: 0, max: 3 }), dp: fc.integer({ min: 0, max: 65535 }) }),
);

/** The string keys the network layers used before the table: latin1(addr) + port char, endpoints sorted. */
function reference(x: Tuple): { key: string; dir: number } {
  const ka = String.fromCharCode(...x.a, x.sp);
  const kb = String.fromCharCode(...x.b, x.dp);
  const dir = ka <= kb ? 0 : 1;
  return { key: `${x.t}/${x.a.length}/${dir === 0 ? ka + kb : kb + ka}`, dir };
}

function look(c: Conversations, x: Tuple): number {
  // Addresses at an offset inside a bigger buffer, as in a packet.
  const b = Uint8Array.from([9, 9, 9, ...x.a, ...x.b, 9]);
  return c.lookup(x.t, b, 3, x.a.length, x.sp, x.dp);
}

describe('Conversations', () => {
  it('gives each tuple one index in order of first appearance, both directions alike, as the old string keys did', () => {
    fc.assert(fc.property(fc.array(fc.tuple(tuple, fc.boolean()), { maxLength: 400 }), (packets) => {
      const c = new Conversations();
      const ids = new Map<string, number>();
      const streams = [0, 0];
      const streamOf = new Map<string, number>();
      for (const [x0, reverse] of packets) {
        const x = reverse ? { ...x0, a: x0.b, b: x0.a, sp: x0.dp, dp: x0.sp } : x0;
        const ref = reference(x);
        const id = look(c, x);
        const known = ids.get(ref.key);
        expect(c.created).toBe(known === undefined);
        if (known === undefined) {
          ids.set(ref.key, ids.size);
          streamOf.set(ref.key, streams[x.t]!++);
        }
        expect(id).toBe(ids.get(ref.key));
        expect(c.dir).toBe(ref.dir);
        expect(c.stream(id)).toBe(streamOf.get(ref.key));
      }
      expect(c.size).toBe(ids.size);
    }));
  });

  it('renumbers a reused TCP tuple with the next tcp.stream and keeps its index', () => {
    const c = new Conversations();
    const x: Tuple = { t: CONV_TCP, a: [10, 0, 0, 1], b: [10, 0, 0, 2], sp: 40000, dp: 7369 };
    const first = look(c, x);
    look(c, { ...x, sp: 40001 });
    look(c, { ...x, t: CONV_UDP });
    expect(c.stream(first)).toBe(0);
    expect(c.renumber(first)).toBe(2);
    expect(look(c, x)).toBe(first);
    expect(c.stream(first)).toBe(2);
  });

  it('grows past many conversations and finds them all again', () => {
    const c = new Conversations();
    const n = 50_000;
    for (let i = 0; i < n; i++) expect(look(c, { t: CONV_UDP, a: [10, 1, i >> 8 & 255, i & 255], b: [10, 2, 0, 1], sp: 40000, dp: 7369 })).toBe(i);
    for (let i = n - 1; i >= 0; i -= 97) {
      expect(look(c, { t: CONV_UDP, a: [10, 2, 0, 1], b: [10, 1, i >> 8 & 255, i & 255], sp: 7369, dp: 40000 })).toBe(i);
      expect(c.created).toBe(false);
    }
  });
});

describe('FlowTable keyed by conversation index', () => {
  it('counts the same flows as by key, reading the key only for a new flow', () => {
    const byKey = new FlowTable();
    const byConv = new FlowTable();
    const flows = ['udp 1.1.1.1:1 2.2.2.2:7369', 'tcp 1.1.1.1:1 2.2.2.2:7369', 'udp 3.3.3.3:5 2.2.2.2:7369'];
    const conv = [2000, 7, 3]; // conversation indexes need not be dense, nor in flow order
    const frames = [0, 1, 0, 2, 1, 1, 0, 2];
    frames.forEach((f, i) => {
      const key = flows[f]!;
      const src = key.split(' ')[1]!;
      byKey.frame(key, i + 1, src, 32 + i, 100 + i, 0, 6, i === 3);
      byConv.frame(i === 0 || f !== 0 ? key : 'not read', i + 1, src, 32 + i, 100 + i, 0, 6, i === 3, conv[f]);
    });
    byKey.error(flows[1]!);
    byConv.error('not read', conv[1]);
    byConv.error('none', 12345); // unknown conversation: nothing
    expect([...byConv.entries()]).toEqual([...byKey.entries()]);
    expect(byConv.rowFor('', conv[2])).toBe(2);
    expect(byConv.rowFor('', 5)).toBe(-1);
  });
});
