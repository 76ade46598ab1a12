// Outputs stay byte-identical (stdout, stderr, exit code) to the stored
// reference on every capture in captures/ and on a generated bench-style
// capture, for text, -V, JSON, hex, stats, filters and tshark-style output.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIGESTS, computeAll } from './golden.js';

describe('outputs are byte-identical to the stored reference', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-golden-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every capture × command', async () => {
    const want = JSON.parse(fs.readFileSync(DIGESTS, 'utf8')) as Record<string, string>;
    const got = await computeAll(tmp);
    const differ = Object.keys(want).filter((k) => got[k] !== want[k]);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    expect(differ, `outputs that changed:\n${differ.join('\n')}`).toEqual([]);
  }, 300_000);
});
