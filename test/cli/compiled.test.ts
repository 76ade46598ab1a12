// bin/vvmp.js runs src/ compiled by esbuild into dist/<id>/ (bin/compiled.mjs):
// built on first use, rebuilt when a source changes, shared by concurrent
// commands, and the same output as the TypeScript itself.

import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.js';

let copy: string;

/** A checkout of the command alone: bin/, src/, package.json and the installed packages. */
beforeAll(() => {
  copy = tempDir('vvmp-compiled-');
  cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'src'), join(copy, 'src'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
});

afterAll(() => {
  spawnSync('rm', ['-rf', copy]);
});

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(copy, 'bin/vvmp.js'), ...args], { cwd: copy, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const builds = (): string[] => (existsSync(join(copy, 'dist')) ? readdirSync(join(copy, 'dist')).sort() : []);

describe('compiled sources', () => {
  it('builds on first use and reuses the build while the sources stay the same', () => {
    expect(builds()).toEqual([]);
    const first = run('stats', '--json', join(ROOT, 'captures/demo.pcapng'));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(builds()).toHaveLength(1);
    expect(existsSync(join(copy, 'dist', builds()[0]!, 'cli/main.js'))).toBe(true);
    const again = run('stats', '--json', join(ROOT, 'captures/demo.pcapng'));
    expect(again.stdout).toBe(first.stdout);
    expect(builds()).toHaveLength(1);
    // The same output as running the TypeScript through tsx (as the tests do in-process).
    const tsx = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'stats', '--json', join(ROOT, 'captures/demo.pcapng')],
      { cwd: ROOT, encoding: 'utf8' });
    expect(first.stdout).toBe(tsx.stdout);
  });

  it('rebuilds when a source changes, keeps recent builds and removes day-old ones', () => {
    const [old] = builds();
    appendFileSync(join(copy, 'src/cli/heap.ts'), '\n// changed\n');
    expect(run('--version').stdout.trim()).toBe('0.1.0');
    const now = builds();
    expect(now).toHaveLength(2);
    expect(now).toContain(old);
    const day = Date.now() / 1000 - 2 * 86400;
    utimesSync(join(copy, 'dist', old!), day, day);
    appendFileSync(join(copy, 'src/cli/heap.ts'), '// changed again\n');
    expect(run('--version').code).toBe(0);
    expect(builds()).not.toContain(old);
    expect(builds()).toHaveLength(2);
  });

  it('runs the TypeScript through tsx where no build can be written', () => {
    const other = tempDir('vvmp-nobuild-');
    try {
      cpSync(join(copy, 'bin'), join(other, 'bin'), { recursive: true });
      cpSync(join(copy, 'src'), join(other, 'src'), { recursive: true });
      cpSync(join(copy, 'package.json'), join(other, 'package.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(other, 'node_modules'));
      writeFileSync(join(other, 'dist'), 'not a directory\n');
      const r = spawnSync(process.execPath, [join(other, 'bin/vvmp.js'), 'stats', '--json', join(ROOT, 'captures/demo.pcapng')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).vvmp_frames).toBeGreaterThan(0);
    } finally {
      spawnSync('rm', ['-rf', other]);
    }
  });

  it('lets commands started together build the same sources at once', async () => {
    appendFileSync(join(copy, 'src/cli/heap.ts'), '// changed a third time\n');
    const before = builds();
    const codes = await Promise.all([...Array(4)].map(() => new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [join(copy, 'bin/vvmp.js'), 'stats', join(ROOT, 'captures/errors.pcap')], { cwd: copy, stdio: 'ignore' });
      p.on('close', resolve);
    })));
    expect(codes).toEqual([0, 0, 0, 0]);
    const added = builds().filter((b) => !before.includes(b));
    expect(added).toHaveLength(1);
    expect(builds().some((b) => b.includes('.tmp-'))).toBe(false);
  });
});
