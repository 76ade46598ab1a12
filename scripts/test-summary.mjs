// Prints the line CI counts ("N passed, N failed, N skipped") from vitest's JSON report.
// A suite that failed on its own (its file did not load, or a hook or an
// unhandled error failed it outside any test) counts as one failure: it has
// no failed test to be counted by.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The summary line of a vitest JSON report (the parsed object), or of none (null). */
export function summarize(r) {
  // No report: the type check or the run itself failed before vitest wrote one.
  if (r === null || typeof r !== 'object') return '0 passed, 1 failed';
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  let failed = r.numFailedTests ?? 0;
  for (const suite of r.testResults ?? []) {
    const tests = suite.assertionResults ?? [];
    if (suite.status === 'failed' && !tests.some((t) => t.status === 'failed')) failed++;
  }
  // The run failed (unhandled error) with nothing above to show for it.
  if (r.success === false && failed === 0) failed = 1;
  return `${r.numPassedTests ?? 0} passed, ${failed} failed, ${skipped} skipped`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? 'test-results.json';
  let r = null;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    r = null;
  }
  console.log(summarize(r));
}
