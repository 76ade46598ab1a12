// scripts/test-summary.mjs: the line CI counts. A suite that fails outside
// its tests (load error, hook error) is a failure, not "0 failed".

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.js';

const SCRIPT = join(ROOT, 'scripts/test-summary.mjs');

function summary(report: string | null): string {
  const dir = tempDir('vvmp-summary-');
  const file = join(dir, 'r.json');
  if (report !== null) writeFileSync(file, report);
  const r = spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

describe('scripts/test-summary.mjs', () => {
  it('counts passed, failed and skipped tests', () => {
    expect(summary(JSON.stringify({
      numPassedTests: 5, numFailedTests: 1, numPendingTests: 2, numTodoTests: 1, success: false,
      testResults: [{ status: 'failed', assertionResults: [{ status: 'passed' }, { status: 'failed' }] }],
    }))).toBe('5 passed, 1 failed, 3 skipped');
  });

  it('counts a suite that failed with no failed test (a load or hook error) as failed', () => {
    expect(summary(JSON.stringify({
      numPassedTests: 3, numFailedTests: 0, success: false,
      testResults: [{ status: 'failed', assertionResults: [] }, { status: 'failed', assertionResults: [{ status: 'passed' }] },
        { status: 'passed', assertionResults: [{ status: 'passed' }] }],
    }))).toBe('3 passed, 2 failed, 0 skipped');
  });

  it('an unsuccessful run with nothing failed to show counts one failure; no report counts one', () => {
    expect(summary(JSON.stringify({ numPassedTests: 3, success: false, testResults: [] }))).toBe('3 passed, 1 failed, 0 skipped');
    expect(summary(null)).toBe('0 passed, 1 failed');
    expect(summary('{not json')).toBe('0 passed, 1 failed');
  });

  it('on a real vitest run where one file fails to load: 1 passed, 1 failed', () => {
    const dir = tempDir('vvmp-summary-run-');
    mkdirSync(join(dir, 't'));
    writeFileSync(join(dir, 't/bad.test.ts'), "import { it } from 'vitest';\nthrow new Error('boom at load');\nit('x', () => {});\n");
    writeFileSync(join(dir, 't/good.test.ts'), "import { expect, it } from 'vitest';\nit('ok', () => expect(1).toBe(1));\n");
    const out = join(dir, 'r.json');
    spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--reporter=json', `--outputFile=${out}`],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    const r = spawnSync(process.execPath, [SCRIPT, out], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('1 passed, 1 failed, 0 skipped');
  }, 120_000);
});
