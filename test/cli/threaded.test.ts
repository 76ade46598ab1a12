// `vvmp stats FILE` and `vvmp read FILE` read the capture and run the
// network layers on a second thread when there are two cores
// (net/threaded.ts); `stats -j 1` or VVMP_THREADS=1 keeps everything on one.
// Output, stderr and exit code must not depend on it.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
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

/** `vvmp read ARGS` on two threads and on one: the same stdout, stderr and exit code. */
function bothRead(args: string[]): void {
  const two = vvmp(['read', ...args]);
  const one = vvmp(['read', ...args], { env: { VVMP_THREADS: '1' } });
  expect(two, args.join(' ')).toEqual(one);
}

describe('vvmp read FILE on two threads', () => {
  it('is what one thread gives: text, -V, --json, -Y, -c, gzip, damage, errors', () => {
    for (const c of CAPTURES) {
      bothRead([c]);
      bothRead([c, '--json']);
      bothRead([c, '-V']);
      bothRead([c, '-Y', 'vvmp.reply == 1 && vvmp.status != OK']);
      bothRead([c, '-Y', 'frame.time_delta_displayed > 0']);
      bothRead([c, '-c', '40']);
    }
    const dir = tempDir();
    const gz = join(dir, 'demo.pcapng.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(ROOT, 'captures/demo.pcapng'))));
    bothRead([gz, '--json']);
    const cut = join(dir, 'cut.pcapng');
    const demo = readFileSync(join(ROOT, 'captures/demo.pcapng'));
    writeFileSync(cut, demo.subarray(0, Math.floor(demo.length * 0.6)));
    bothRead([cut]);
    bothRead([join(dir, 'missing.pcap')]);
  }, 120_000);

  it('-w writes the same selected packets', () => {
    const dir = tempDir();
    const a = join(dir, 'two.pcapng');
    const b = join(dir, 'one.pcapng');
    expect(vvmp(['read', 'captures/demo.pcapng', '-Y', 'vvmp.opcode == 2', '-w', a]).code).toBe(0);
    expect(vvmp(['read', 'captures/demo.pcapng', '-Y', 'vvmp.opcode == 2', '-w', b], { env: { VVMP_THREADS: '1' } }).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  }, 60_000);
});
