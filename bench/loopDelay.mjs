// Preloaded into a benchmarked process (`node --import ./bench/loopDelay.mjs …`):
// measures how long its event loop is blocked. Each SIGUSR2 ends a measurement
// window: its delays (ms) are written as one JSON line to file descriptor 3 and
// a new window starts.
import * as fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
process.on('SIGUSR2', () => {
  const ms = (ns) => Number((ns / 1e6).toFixed(2));
  try {
    fs.writeSync(3, JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }) + '\n');
  } catch {
    // fd 3 not open: nothing to report to
  }
  h.reset();
});
