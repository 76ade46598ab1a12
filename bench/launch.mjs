// Runs a Node entry point in this process and, on exit, writes this process's
// resource usage (peak RSS in KB, CPU time) as JSON to file descriptor 3.
//
//   node bench/launch.mjs bin/vvmp.js stats FILE --json   (with fd 3 open for writing)
//
// The benchmark harness uses it for exact peak RSS of the `vvmp` rows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node bench/launch.mjs ENTRY.js [ARGS...]\n');
  process.exit(2);
}
const target = path.resolve(entry);
process.argv = [process.argv[0], target, ...rest];
process.on('exit', () => {
  const u = process.resourceUsage();
  try {
    fs.writeSync(3, JSON.stringify({ maxRSS: u.maxRSS, user: u.userCPUTime, system: u.systemCPUTime }) + '\n');
  } catch {
    // fd 3 not open: nothing to report to
  }
});
await import(pathToFileURL(target).href);
