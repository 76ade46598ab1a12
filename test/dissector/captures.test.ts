// tshark with the generated Lua dissector sees the same frames, field values and
// checksum verdicts as `vvmp read --json` on every file in captures/.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareWithTshark } from './compare.js';
import { ROOT } from '../helpers/cli.js';

const HAVE_TSHARK = !spawnSync('tshark', ['--version']).error;
const files = readdirSync(join(ROOT, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f));

describe('the generated Lua dissector on captures/', () => {
  if (!HAVE_TSHARK) {
    it.skip('tshark is not installed (scripts/setup.sh installs it)', () => undefined);
    return;
  }
  for (const f of files) {
    it(f, () => {
      const r = compareWithTshark(join(ROOT, 'captures', f));
      expect(r.references).toContain('vvmp-read');
      expect(r.frames.length).toBeGreaterThan(10);
      expect(r.mismatches).toEqual([]);
    }, 60_000);
  }
});
