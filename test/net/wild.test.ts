// The tcpdump project's test captures (shared/wild): every packet is counted, nothing throws,
// and whatever cannot be decoded has a reason. None of it is VVMP; the heuristic is on to
// push every TCP and UDP payload through the framing code.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetDecoder } from '../../src/net/decoder.js';
import { captureReader } from './pcap.js';
import { WILD_TCPDUMP, wildOrSkip } from '../helpers/shared.js';

const WILD = wildOrSkip('test/net/wild.test.ts') ? WILD_TCPDUMP : undefined;

describe('wild captures', () => {
  it.skipIf(!WILD)('decodes every packet of the tcpdump test captures without an internal error', async () => {
    const { read } = await captureReader();
    const files = fs.readdirSync(WILD!).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort();
    const reasons = new Map<string, number>();
    let packets = 0;
    let frames = 0;
    let readable = 0;
    for (const f of files) {
      const dec = new NetDecoder({ ports: new Set([7369, 53, 80]), heuristic: true }, {
        frame: () => void frames++,
        segment: () => {},
      });
      let n = 0;
      try {
        read(path.join(WILD!, f), (p) => {
          n++;
          dec.packet(p);
        });
        readable++;
      } catch {
        // A file the reader rejects is the reader's business; what was delivered still counts.
      }
      dec.end();
      expect(dec.counters.packets, f).toBe(n);
      expect(dec.counters.undecoded.get('internal error'), f).toBeUndefined();
      packets += n;
      for (const [k, v] of dec.counters.undecoded) reasons.set(k, (reasons.get(k) ?? 0) + v);
    }
    console.log(`wild: ${readable}/${files.length} files, ${packets} packets, ${frames} candidate frames (ports 53/80 + heuristic)`);
    console.log([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `  ${v}\t${k}`).join('\n'));
    expect(packets).toBeGreaterThan(1000);
  }, 120000);
});
