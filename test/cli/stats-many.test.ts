// `vvmp stats A B DIR …`: several captures analysed in worker threads and
// merged; the output must not depend on -j, and must equal one serial pass.

import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir, vvmp } from '../helpers/cli.js';

const CAPTURES = join(ROOT, 'captures');
const FILES = readdirSync(CAPTURES).filter((n) => /\.(pcap|pcapng|cap)$/.test(n)).sort().map((n) => join('captures', n));

function ok(args: string[]): string {
  const r = vvmp(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('vvmp stats over several files', () => {
  it('has several captures to merge', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(2);
  });

  it('-j 2 --json equals -j 1 --json exactly, and the text too', () => {
    const serial = ok(['stats', ...FILES, '-j', '1', '--json']);
    expect(ok(['stats', ...FILES, '-j', '2', '--json'])).toBe(serial);
    expect(ok(['stats', ...FILES, '-j', String(FILES.length), '--json'])).toBe(serial);
    const text = ok(['stats', ...FILES, '-j', '1']);
    expect(ok(['stats', ...FILES, '-j', '2'])).toBe(text);
    expect(text).toContain(`${FILES.length} files`);
  });

  it('sums what each file counts on its own', () => {
    const merged = JSON.parse(ok(['stats', ...FILES, '-j', '2', '--json'])) as Record<string, any>;
    const singles = FILES.map((f) => JSON.parse(ok(['stats', f, '--json'])) as Record<string, any>);
    const sum = (k: (s: Record<string, any>) => number): number => singles.reduce((n, s) => n + k(s), 0);
    expect(merged.packets).toBe(sum((s) => s.packets));
    expect(merged.vvmp_frames).toBe(sum((s) => s.vvmp_frames));
    expect(merged.sessions.length).toBe(sum((s) => s.sessions.length));
    expect(merged.transactions.requests).toBe(sum((s) => s.transactions.requests));
    expect(merged.transactions.answered).toBe(sum((s) => s.transactions.answered));
    expect(merged.transactions.timed_out).toBe(sum((s) => s.transactions.timed_out));
    // Sessions are concatenated in file order.
    expect(merged.sessions).toEqual(singles.flatMap((s) => s.sessions));
    const flowFrames = (s: Record<string, any>): number => (s.flows as { frames: number }[]).reduce((n, f) => n + f.frames, 0);
    expect(flowFrames(merged)).toBe(sum(flowFrames));
  });

  it('a directory stands for its capture files, sorted by name', () => {
    expect(ok(['stats', 'captures', '-j', '2', '--json'])).toBe(ok(['stats', ...FILES, '-j', '1', '--json']));
    expect(ok(['stats', 'captures', '-j', '2'])).toBe(ok(['stats', ...FILES, '-j', '1']));
  });

  it('a directory holding one capture gives what stats FILE gives', () => {
    const dir = tempDir();
    copyFileSync(join(ROOT, FILES[0]!), join(dir, 'only.pcap'));
    expect(ok(['stats', dir, '--json'])).toBe(ok(['stats', FILES[0]!, '--json']));
    expect(ok(['stats', dir, '--json', '-Y', 'vvmp.reply == 1'])).toBe(ok(['stats', FILES[0]!, '--json', '-Y', 'vvmp.reply == 1']));
  });

  it('-Y applies in the workers as in one pass', () => {
    const args = ['stats', ...FILES, '--json', '-Y', 'vvmp.reply == 1'];
    expect(ok([...args, '-j', '2'])).toBe(ok([...args, '-j', '1']));
  });

  it('a missing file among them: one line, exit 1', () => {
    for (const j of ['1', '2']) {
      const r = vvmp(['stats', FILES[0]!, 'captures/missing.pcap', FILES[1]!, '-j', j, '--json']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('vvmp: captures/missing.pcap: no such file\n');
    }
  });

  it('a directory with an empty and a garbage file: one line each, the others merged, exit 0 (-j 1 and -j 2)', () => {
    const dir = tempDir();
    copyFileSync(join(ROOT, FILES[0]!), join(dir, 'a.pcap'));
    writeFileSync(join(dir, 'b-empty.pcap'), '');
    copyFileSync(join(ROOT, FILES[1]!), join(dir, 'c.pcapng'));
    writeFileSync(join(dir, 'd-junk.pcap'), 'garbage, not a capture\n');
    const want = ok(['stats', join(ROOT, FILES[0]!), join(ROOT, FILES[1]!), '--json', '-j', '1']);
    for (const j of ['1', '2']) {
      const r = vvmp(['stats', dir, '-j', j, '--json']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(want);
      expect(r.stderr).toBe(`vvmp: ${join(dir, 'b-empty.pcap')}: empty file, not a capture (left out)\n`
        + `vvmp: ${join(dir, 'd-junk.pcap')}: not a capture file (unknown magic 0x67617262) (left out)\n`);
    }
    const text = vvmp(['stats', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`2 files (${join(dir, 'a.pcap')}, ${join(dir, 'c.pcapng')})`);
  });

  it('a directory with nothing readable: every file reported, exit 1', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.pcap'), '');
    writeFileSync(join(dir, 'b.pcap'), '');
    const r = vvmp(['stats', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`vvmp: ${join(dir, 'a.pcap')}: empty file, not a capture\nvvmp: ${join(dir, 'b.pcap')}: empty file, not a capture\n`);
  });
});
