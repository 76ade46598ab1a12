// The whole pipeline (reader → network layers → decoder → analysis) over the
// 830 real captures of tcpdump's test suite: no crash, every packet counted.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import { CaptureError } from '../../src/capture/errors.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { Summary } from '../../src/analysis/summary.js';
import { statsObject } from '../../src/output/statsJson.js';
import { tempDir, vvmp } from '../helpers/cli.js';
import { WILD, wildOrSkip } from '../helpers/shared.js';

const haveWild = wildOrSkip('test/cli/wild.test.ts');
const counts = new Map(haveWild ? readFileSync(join(WILD, 'counts.tsv'), 'utf8').trim().split('\n')
  .map((l) => l.split('\t')).map(([f, n]) => [f!, Number(n)] as const) : []);

function analyse(path: string, heuristic: boolean) {
  const summary = new Summary();
  const p = new Pipeline({ settled: (f) => summary.frame(f), segment: (e) => summary.segment(e) }, { heuristic });
  const r = readCaptureFile(path, p.packet);
  p.end();
  return { r, stats: statsObject(p.analyzer, summary) };
}

describe.skipIf(!haveWild)('the wild corpus', () => {
  it('has 830 captures listed', () => expect(counts.size).toBe(830));

  it('reads every capture through the whole pipeline with the packet count of counts.tsv', () => {
    const wrong: string[] = [];
    for (const [file, n] of counts) {
      const { r, stats } = analyse(join(WILD, 'tcpdump', file), false);
      if (stats.packets !== n || r.packets !== n) wrong.push(`${file}: ${stats.packets} packets, expected ${n}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('finds no VVMP in it, even with the heuristic on', () => {
    const found: string[] = [];
    for (const file of counts.keys()) {
      const { stats } = analyse(join(WILD, 'tcpdump', file), true);
      if (stats.vvmp_frames !== 0) found.push(`${file}: ${stats.vvmp_frames}`);
    }
    expect(found).toEqual([]);
  }, 120_000);

  it('cut at arbitrary offsets: every packet before the cut, damage reported, never a crash', () => {
    const dir = tempDir();
    const files = readdirSync(join(WILD, 'tcpdump')).filter((_, i) => i % 20 === 0);
    let cutsWithDamage = 0;
    for (const file of files) {
      const whole = readFileSync(join(WILD, 'tcpdump', file));
      for (const frac of [0.13, 0.5, 0.77, 0.999]) {
        const cut = join(dir, 'cut');
        const at = Math.floor(whole.length * frac);
        writeFileSync(cut, whole.subarray(0, at));
        try {
          const { r } = analyse(cut, true);
          expect(r.packets).toBeLessThanOrEqual(counts.get(file)!);
          if (r.damage) cutsWithDamage++;
        } catch (e) {
          // Only a cut inside the first 4 bytes may make it "not a capture".
          expect(e).toBeInstanceOf(CaptureError);
          expect(at).toBeLessThan(4);
        }
      }
    }
    expect(cutsWithDamage).toBeGreaterThan(files.length);
  }, 120_000);

  it('vvmp stats on a cut file: exit 0, warning on stderr; garbage: exit 1', () => {
    const dir = tempDir();
    const whole = readFileSync(join(WILD, 'tcpdump', 'dhcp-rfc3004.pcap'));
    writeFileSync(join(dir, 'cut.pcap'), whole.subarray(0, whole.length - 7));
    const r = vvmp(['stats', join(dir, 'cut.pcap'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).packets).toBe(counts.get('dhcp-rfc3004.pcap')! - 1);
    // One line for the damage, one saying there is no VVMP on the decoded ports (issue 13).
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/cut off/);
    expect(lines[1]).toMatch(/no VVMP frames on TCP\/UDP port 7369 in \d+ packets; try --port N \(adds a port to 7369\) or --heuristic$/);
    const garbage = Buffer.from(whole);
    garbage.writeUInt32BE(0xdeadbeef, 0);
    writeFileSync(join(dir, 'garbage.pcap'), garbage);
    const g = vvmp(['stats', join(dir, 'garbage.pcap')]);
    expect(g.code).toBe(1);
    expect(g.stderr).toBe(`vvmp: ${join(dir, 'garbage.pcap')}: not a capture file (unknown magic 0xdeadbeef)\n`);
  });
});
