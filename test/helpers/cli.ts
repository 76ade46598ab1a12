// Runs the real `vvmp` command (bin/vvmp.js) as a user would.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/vvmp.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function vvmp(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', input: opts.input, env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 60000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'vvmp-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function ndjson(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}
