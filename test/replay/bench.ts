// Replay throughput at --topspeed (not a test):   npx tsx test/replay/bench.ts [n=50000]
// A server in a child process; the replay in this one. Prints one line per case.

import { replayFile } from '../../src/traffic/replay/index.js';
import { buildBulkQueryCapture } from './fixtures.js';
import { childServer, tempDir } from './helpers.js';

const n = Number(process.argv[2] ?? 50_000);
const dir = tempDir('vvmp-replay-bench-');
const srv = await childServer();
try {
  // Warm-up (JIT), not reported.
  await buildBulkQueryCapture(`${dir}/warm.pcapng`, 20_000, 100);
  await replayFile(`${dir}/warm.pcapng`, { target: srv.target, topspeed: true, lingerMs: 0 });
  const cases: Array<['tcp' | 'udp', number]> = [['tcp', n], ['tcp', 1000], ['tcp', 100], ['tcp', 1], ['udp', 1000], ['udp', 32], ['udp', 1]];
  for (const [transport, window] of cases) {
    const count = window === 1 ? Math.min(n, 10_000) : n;
    const file = `${dir}/bulk-${transport}-${window}.pcapng`;
    await buildBulkQueryCapture(file, count, window, transport);
    const { result: r } = await replayFile(file, { target: srv.target, topspeed: true, lingerMs: 0, timeoutMs: 2000 });
    const rate = Math.round((r.sent * 1000) / r.elapsedMs);
    console.log(`${transport} client window ${window === n ? 'all' : window}: ${r.sent} requests, ${r.matched} matched, `
      + `${r.missing} missing, ${r.extra} extra in ${r.elapsedMs.toFixed(0)} ms → ${rate} exchanges/s `
      + `(sending ${Math.round((r.sent * 1000) / Math.max(1, r.sendMs))}/s)`);
  }
} finally {
  await srv.stop();
}
