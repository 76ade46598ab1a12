// Replays the recorded sample captures (captures/) against a fresh reference
// server whose session ids are shifted, so the session-id mapping is exercised.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, replayAgainstFreshServer } from './helpers.js';

const cases: [file: string, filter: string | undefined, why: string][] = [
  ['lifecycle.pcap', undefined, 'one manager'],
  ['contention.pcap', undefined, 'one manager'],
  // These also hold traffic of other managers (127.0.0.2–9): replay what went to the one on 127.0.0.1.
  ['demo.pcapng', 'ip.dst == 127.0.0.1 && vvmp.reply == 0', 'the 127.0.0.1 manager of a multi-manager capture'],
  ['errors.pcap', 'ip.dst == 127.0.0.1 && vvmp.reply == 0', 'the 127.0.0.1 manager of a multi-manager capture'],
];

describe('replay of captures/ against a fresh vvmp server', () => {
  for (const [file, filter, why] of cases) {
    it(`${file} (${why}): every reply matches`, async () => {
      const { result } = await replayAgainstFreshServer(join(ROOT, 'captures', file), { filter, shiftSessions: 3 });
      expect(result.differences).toEqual([]);
      expect(result.missing).toBe(0);
      expect(result.extra).toBe(0);
      expect(result.sent).toBeGreaterThan(5);
      expect(result.matched).toBe(result.replies);
    }, 60_000);
  }
});

describe('replay of captures/multi-san.pcapng against three fresh managers', () => {
  it('the client side (to SAN 1) replays with every reply matching, the cross-SAN grant included', async () => {
    const { multiSanConfigs } = await import('../../src/traffic/scenarios.js');
    const { startServer } = await import('../../src/traffic/server.js');
    const { replayFile } = await import('../../src/traffic/replay/index.js');
    const servers: Awaited<ReturnType<typeof startServer>>[] = [];
    for (const config of multiSanConfigs()) servers.push(await startServer({ host: '127.0.0.1', port: 0, config }));
    try {
      servers.forEach((s, i) => s.setPeers([0, 1, 2].filter((j) => j !== i).map((j) => ({
        san_id: j + 1, address: `127.0.0.1:${servers[j]!.tcpPort}`, host: '127.0.0.1', port: servers[j]!.tcpPort,
      }))));
      const { result } = await replayFile(join(ROOT, 'captures', 'multi-san.pcapng'), {
        target: `127.0.0.1:${servers[0]!.tcpPort}`, topspeed: true, timeoutMs: 3000,
        // What the client sent to SAN 1; the managers make their own forwards.
        filter: 'ip.dst == 127.0.0.2 && ip.src == 127.0.0.1 && vvmp.reply == 0',
      });
      expect(result.differences).toEqual([]);
      expect(result.missing).toBe(0);
      expect(result.extra).toBe(0);
      expect(result.sent).toBeGreaterThanOrEqual(6);
    } finally {
      for (const s of servers) await s.close();
    }
  }, 60_000);
});
