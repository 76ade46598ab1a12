// `vvmp stats FILE` reads the capture and runs the network layers on a
// second thread when there are two cores (net/threaded.ts); `-j 1` keeps
// everything on one. Output, stderr and exit code must not depend on it.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir, vvmp } from '../helpers/cli.js';

const CAPTURES = readdirSync(join(ROOT, 'captures')).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort().map((n) => join('captures', n));

function both(args: string[]): void {
  const two = vvmp(['stats', ...args, '-j', '2']);
  const one = vvmp(['stats', ...args, '-j', '1']);
  expect(two, args.join(' ')).toEqual(one);
}

describe('vvmp stats FILE on two threads', () => {
  it('is what one thread gives: text, --json, -Y, --port, on every project capture', () => {
    if (availableParallelism() < 2) console.warn('stats-threaded: one core here, so -j 2 runs on one thread too');
    for (const c of CAPTURES) {
      both([c]);
      both([c, '--json']);
      both([c, '--json', '-Y', 'vvmp.reply == 1']);
      both([c, '--json', '--port', '7370', '--interval', '0.01']);
    }
  }, 120_000);

  it('fails and reports damage as one thread does', () => {
    const dir = tempDir();
    const cut = join(dir, 'cut.pcapng');
    const demo = readFileSync(join(ROOT, 'captures/demo.pcapng'));
    writeFileSync(cut, demo.subarray(0, Math.floor(demo.length * 0.6)));
    const garbage = join(dir, 'garbage.pcap');
    writeFileSync(garbage, 'not a capture\n');
    for (const f of [cut, garbage, join(dir, 'missing.pcap')]) both([f, '--json']);
    const r = vvmp(['stats', cut, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/cut\.pcapng/);
  }, 60_000);
});
