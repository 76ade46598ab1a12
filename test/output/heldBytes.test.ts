// The held output of `read` (output/heldBytes.ts) under the real ordered
// releaser: frames rendered as bytes while an older one is open come out in
// frame order, byte for byte, however long they wait and however large
// (chunks reused, records larger than a chunk), into a BufferedOut.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OrderedReleaser } from '../../src/analysis/release.js';
import { BufferedOut } from '../../src/output/frameWriter.js';
import { HeldOutput } from '../../src/output/heldBytes.js';

interface Fake {
  n: number;
  open: boolean;
  size: number;
}

function setup() {
  const pieces: Buffer[] = [];
  const out = new BufferedOut((b) => pieces.push(b), 4096);
  const held = new HeldOutput(out);
  const text = (f: Fake): string => `#${f.n}:${'x'.repeat(f.size)}\n`;
  const r = new OrderedReleaser<Fake>({
    render: (f, isHeld) => {
      if (f.open) throw new Error(`frame ${f.n} rendered while open`);
      const to = isHeld ? held : out;
      to.str(text(f));
      to.endRecord();
    },
    held,
  }, (f) => f.open);
  const frames: Fake[] = [];
  const add = (open: boolean, size = 20): Fake => {
    const f = { n: frames.length + 1, open, size };
    frames.push(f);
    r.add(f);
    return f;
  };
  const settle = (f: Fake): void => {
    f.open = false;
    r.settle(f);
  };
  const output = (): string => {
    out.flush();
    return Buffer.concat(pieces).toString();
  };
  return { add, settle, output, want: () => frames.map(text).join(''), r };
}

describe('HeldOutput', () => {
  it('releases output held behind open frames in frame order, across many chunks', () => {
    const { add, settle, output, want, r } = setup();
    const a = add(true);
    for (let i = 0; i < 20_000; i++) add(false);
    const b = add(true);
    const big = add(false, 200_000); // larger than a chunk
    for (let i = 0; i < 5_000; i++) add(false);
    const c = add(true);
    settle(b);
    add(false);
    settle(a);
    expect(r.holding).toBe(true);
    settle(c);
    expect(r.holding).toBe(false);
    expect(big.size).toBe(200_000);
    expect(output()).toBe(want());
  });

  it('property: any order of settling gives the output of every frame once, in frame order', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ open: fc.boolean(), size: fc.oneof(fc.nat(40), fc.nat(70_000)) }), { minLength: 1, maxLength: 80 }),
      fc.array(fc.nat(), { maxLength: 80 }),
      (specs, order) => {
        const { add, settle, output, want } = setup();
        const openOnes: Fake[] = [];
        for (const s of specs) {
          const f = add(s.open, s.size);
          if (s.open) openOnes.push(f);
          if (order.length && openOnes.length && order[0]! % 3 === 0) settle(openOnes.splice(order.shift()! % openOnes.length, 1)[0]!);
        }
        while (openOnes.length) settle(openOnes.splice((order.shift() ?? 0) % openOnes.length, 1)[0]!);
        expect(output()).toBe(want());
      },
    ), { numRuns: 200 });
  });
});
