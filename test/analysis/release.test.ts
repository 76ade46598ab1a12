// The ordered releaser alone, on fake frames: what it releases, in which
// order and when, with `settled` and with `render`/`held` (in order or not).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OrderedReleaser } from '../../src/analysis/release.js';

interface Fake {
  n: number;
  open: boolean;
}

function setup(mode: 'settled' | 'render' | 'renderInOrder') {
  const out: string[] = [];
  const rendered: number[] = [];
  const final = (f: Fake): Fake => {
    if (f.open) throw new Error(`frame ${f.n} released while open`);
    return f;
  };
  // Held bytes as strings: what render wrote since the last keep becomes a range (or joins range `after`).
  let pending = '';
  const ranges: (string | null)[] = [];
  const held = {
    keep: (after: number): number => {
      const text = pending;
      pending = '';
      if (after >= 0 && after === ranges.length - 1 && ranges[after] !== null) {
        ranges[after] += text;
        return after;
      }
      ranges.push(text);
      return ranges.length - 1;
    },
    release: (h: number): void => {
      if (ranges[h] === null) throw new Error(`range ${h} released twice`);
      out.push(ranges[h]!);
      ranges[h] = null;
    },
  };
  const sink = mode === 'settled'
    ? { settled: (f: Fake) => out.push(`#${final(f).n}`) }
    : {
      render: (f: Fake, isHeld: boolean) => {
        rendered.push(final(f).n);
        if (isHeld) pending += `#${f.n}`;
        else out.push(`#${f.n}`);
      },
      held,
    };
  const r = new OrderedReleaser<Fake>(sink, (f) => f.open, { renderInOrder: mode === 'renderInOrder' });
  const frames: Fake[] = [];
  const add = (open = false): Fake => {
    const f = { n: frames.length + 1, open };
    frames.push(f);
    r.add(f);
    return f;
  };
  const settle = (f: Fake): void => {
    f.open = false;
    r.settle(f);
  };
  return { r, out, rendered, add, settle };
}

describe('OrderedReleaser', () => {
  it('releases final frames at once when nothing is open', () => {
    for (const mode of ['settled', 'render', 'renderInOrder'] as const) {
      const { r, out, add } = setup(mode);
      add();
      add();
      expect(out.join('')).toBe('#1#2');
      expect(r.holding).toBe(false);
    }
  });

  it('holds everything behind an open frame and releases it in order once it is final', () => {
    for (const mode of ['settled', 'render', 'renderInOrder'] as const) {
      const { r, out, add, settle } = setup(mode);
      const a = add(true);
      add();
      const c = add(true);
      add();
      expect(out.join('')).toBe('');
      expect(r.holding).toBe(true);
      settle(c); // a later frame final first: still waits behind #1
      expect(out.join('')).toBe('');
      settle(a);
      expect(out.join('')).toBe('#1#2#3#4');
      expect(r.holding).toBe(false);
    }
  });

  it('with render (not in order) a final frame behind an open one waits as bytes, rendered at once', () => {
    const { r, rendered, out, add, settle } = setup('render');
    const a = add(true);
    add();
    const c = add(true);
    expect(rendered).toEqual([2]);
    expect(r.holdsObjects).toBe(false);
    settle(c);
    expect(rendered).toEqual([2, 3]); // #3 final now: only its bytes wait
    settle(a);
    expect(rendered).toEqual([2, 3, 1]);
    expect(out.join('')).toBe('#1#2#3');
  });

  it('in order, frames are rendered in frame order and kept whole while waiting', () => {
    const { r, rendered, add, settle } = setup('renderInOrder');
    const a = add(true);
    add();
    expect(r.holdsObjects).toBe(true);
    expect(rendered).toEqual([]);
    settle(a);
    expect(rendered).toEqual([1, 2]);
  });

  it('joins waiting output into ranges and drops released slots (many frames behind one open)', () => {
    const { out, add, settle } = setup('render');
    const a = add(true);
    for (let i = 0; i < 20_000; i++) add();
    const b = add(true);
    for (let i = 0; i < 10_000; i++) add();
    settle(a);
    settle(b);
    const text = out.join('');
    expect(text).toBe(Array.from({ length: 30_002 }, (_, i) => `#${i + 1}`).join(''));
    expect(out.length).toBeLessThan(100);
  });

  it('needs settled, or render and held', () => {
    expect(() => new OrderedReleaser<Fake>({}, () => false)).toThrow(TypeError);
  });

  it('property: any order of settling releases every frame exactly once, in frame order, never before it is final', () => {
    fc.assert(fc.property(
      fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 60 }),
      fc.constantFrom('settled', 'render', 'renderInOrder'),
      (opens, order, mode) => {
        const { out, add, settle } = setup(mode as 'settled');
        const openOnes: Fake[] = [];
        for (const o of opens) {
          const f = add(o);
          if (o) openOnes.push(f);
          // Settle some open ones between additions, in an arbitrary order.
          if (order.length && openOnes.length && order[0]! % 3 === 0) {
            const k = order.shift()! % openOnes.length;
            const [g] = openOnes.splice(k, 1);
            settle(g!);
          }
          // What is out so far is a prefix of the frames, in order.
          const sofar = out.join('').split('#').filter(Boolean).map(Number);
          expect(sofar).toEqual(sofar.map((_, i) => i + 1));
        }
        while (openOnes.length) settle(openOnes.splice((order.shift() ?? 0) % openOnes.length, 1)[0]!);
        const got = out.join('').split('#').filter(Boolean).map(Number);
        expect(got).toEqual(opens.map((_, i) => i + 1));
      },
    ), { numRuns: 300 });
  });
});
