// Issue 13, "a frame disappears without notice": a capture cut down to the
// packets that carry its frames (`read -w`: no handshakes, so every TCP flow
// starts mid-connection, whatever checksum its first frame has) reads back
// with all of its frames, nothing on stderr, and the same frames tshark shows
// with the generated Lua dissector.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjson, ROOT, tempDir, vvmp } from '../helpers/cli.js';
import { compareWithTshark, formatMismatches, writeLuaDissector } from '../dissector/compare.js';
import { spawnSync } from 'node:child_process';

const CAPTURES = readdirSync(join(ROOT, 'captures')).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort();
const haveTshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;

describe('TCP flows exported alone', () => {
  it('the demo flow 55918: both frames, the first with its bad checksum, nothing on stderr', () => {
    const out = join(tempDir(), 'f.pcapng');
    expect(vvmp(['read', 'captures/demo.pcapng', '-Y', 'tcp.port == 55918', '-w', out]).code).toBe(0);
    const r = vvmp(['read', out, '--json']);
    expect(r.stderr).toBe('');
    const recs = ndjson(r.stdout);
    expect(recs.map((x) => [x.name, x.reply, x.checksum_ok])).toEqual([['Query', false, false], ['Query', true, true]]);
  });

  it.skipIf(!haveTshark)('every capture with only its frames\' packets (every flow starts mid-connection): all frames, as tshark shows them', () => {
    const dir = tempDir();
    const lua = writeLuaDissector(dir);
    const problems: string[] = [];
    for (const name of CAPTURES) {
      const file = join('captures', name);
      const frames = ndjson(vvmp(['read', file, '--json']).stdout).length;
      const out = join(dir, `${name}.pcapng`);
      expect(vvmp(['read', file, '-w', out]).code).toBe(0);
      const r = vvmp(['read', out, '--json']);
      const got = ndjson(r.stdout).length;
      if (got !== frames || r.stderr !== '') problems.push(`${name}: ${got} of ${frames} frames; stderr: ${r.stderr.trim()}`);
      const cmp = compareWithTshark(out, { lua, useRead: false });
      if (cmp.frames.length !== frames) problems.push(`${name}: tshark shows ${cmp.frames.length} of ${frames} frames`);
      if (cmp.mismatches.length) problems.push(formatMismatches(cmp));
    }
    expect(problems).toEqual([]);
  }, 300_000);
});
