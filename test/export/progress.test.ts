// The export progress bar: drawn only on a terminal, only after a second,
// at most every 100 ms, and erased at the end.

import { describe, expect, it } from 'vitest';
import { ExportProgress } from '../../src/cli/progress.js';

function harness(isTTY: boolean): { out: string[]; clock: { t: number }; p: ExportProgress } {
  const out: string[] = [];
  const clock = { t: 1_000_000 };
  const p = new ExportProgress(4, { isTTY, write: (s: string) => out.push(s) }, () => clock.t);
  return { out, clock, p };
}

describe('export progress bar', () => {
  it('draws captures, frames and frames/s on a terminal once a run takes a second, then erases itself', () => {
    const { out, clock, p } = harness(true);
    p.frames(0, 500);
    expect(out).toEqual([]); // not yet a second
    clock.t += 2000;
    p.done(0);
    p.frames(1, 1500);
    clock.t += 50;
    p.frames(1, 1600); // within 100 ms of the last draw
    expect(out).toEqual([`\r[######------------------] 1/4 captures  500 frames  250 frames/s\x1b[K`]);
    clock.t += 2000;
    p.frames(1, 3500);
    expect(out[1]).toBe(`\r[######------------------] 1/4 captures  4,000 frames  988 frames/s\x1b[K`);
    p.close();
    expect(out[2]).toBe('\r\x1b[K');
  });

  it('prints nothing when stderr is not a terminal', () => {
    const { out, clock, p } = harness(false);
    clock.t += 5000;
    p.frames(0, 10);
    p.done(0);
    p.close();
    expect(out).toEqual([]);
  });
});
