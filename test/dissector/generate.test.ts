// The benchmark generator: deterministic, exactly N frames, and a capture that
// tshark with the generated dissector and our decoder read the same way.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCapture, type GenerateStats } from '../../bench/generate.js';
import { compareWithTshark, formatMismatches } from './compare.js';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('bench/generate.ts', () => {
  let dir: string;
  let file: string;
  let stats: GenerateStats;

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-gen-'));
    file = path.join(dir, 'a.pcap');
    stats = generateCapture({ frames: 4000, out: file, seed: 3 });
  });

  it('writes exactly the frames asked for, UDP and TCP, with split and shared segments and ~1 % bad checksums', () => {
    expect(stats.frames).toBe(4000);
    expect(stats.udpFrames + stats.tcpFrames).toBe(4000);
    expect(stats.udpFrames).toBeGreaterThan(1000);
    expect(stats.tcpFrames).toBeGreaterThan(1000);
    expect(stats.splitFrames).toBeGreaterThan(100);
    expect(stats.multiFrameSegments).toBeGreaterThan(50);
    expect(stats.checksumErrors).toBeGreaterThan(15);
    expect(stats.checksumErrors).toBeLessThan(80);
    expect(stats.sessionsClosed).toBeGreaterThan(100);
  });

  it('is deterministic for a seed', () => {
    const again = path.join(dir, 'b.pcap');
    const other = path.join(dir, 'c.pcap');
    generateCapture({ frames: 4000, out: again, seed: 3 });
    generateCapture({ frames: 4000, out: other, seed: 4 });
    expect(sha(again)).toBe(sha(file));
    expect(sha(other)).not.toBe(sha(file));
  });

  it.skipIf(!hasTshark)('is read the same by tshark + the Lua dissector and by our decoder', () => {
    const r = compareWithTshark(file);
    expect(formatMismatches(r)).toBe('');
    expect(r.frames).toHaveLength(4000);
    expect(r.checksumBad).toBe(stats.checksumErrors);
  });
});
