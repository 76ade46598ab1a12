// Prints the line CI counts ("N passed, N failed, N skipped") from vitest's JSON report.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results.json';
let r;
try {
  r = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  // No report: the type check or the run itself failed before vitest wrote one.
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
const failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
console.log(`${r.numPassedTests ?? 0} passed, ${failed} failed, ${skipped} skipped`);
