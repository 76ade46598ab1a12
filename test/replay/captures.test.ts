// Replays the recorded sample captures (captures/) against a fresh reference
// server whose session ids are shifted, so the session-id mapping is exercised.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, replayAgainstFreshServer } from './helpers.js';

const cases: [file: string, filter: string | undefined, why: string][] = [
  ['lifecycle.pcap', undefined, 'one manager'],
  ['contention.pcap', undefined, 'one manager'],
  // These also hold traffic of other managers (127.0.0.2–9): replay what went to the one on 127.0.0.1.
  ['demo.pcapng', 'ip.dst == 127.0.0.1 && !vvmp.reply', 'the 127.0.0.1 manager of a multi-manager capture'],
  ['errors.pcap', 'ip.dst == 127.0.0.1 && !vvmp.reply', 'the 127.0.0.1 manager of a multi-manager capture'],
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
