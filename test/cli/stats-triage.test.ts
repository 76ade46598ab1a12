// The command side of issue 13's stats points: what the TCP layer lost or
// skipped is on read's stderr and counted by stats (text and JSON); --interval.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter, fileSink } from '../../src/capture/writer.js';
import type { Packet } from '../../src/capture/packet.js';
import { allocate, cat, query, resetIndex } from '../net/build.js';
import { Conv } from '../net/tcpconv.js';
import { ndjson, tempDir, vvmp } from '../helpers/cli.js';

let file: string;

/** A flow captured from mid-frame (22 bytes before the first header), then a lost segment that cuts a frame. */
beforeAll(() => {
  resetIndex();
  const dir = tempDir('vvmp-triage-');
  file = join(dir, 'lossy.pcap');
  const c = new Conv();
  const pkts: Packet[] = [];
  c.c(allocate(1).subarray(0, 30)); // before the capture
  pkts.push(c.c(cat(allocate(1).subarray(30), query(2))));
  pkts.push(c.c(cat(query(3), allocate(4).subarray(0, 40))));
  c.c(allocate(4).subarray(40, 44)); // lost
  pkts.push(c.c(cat(allocate(4).subarray(44), query(5))));
  pkts.push(c.s(undefined, { flags: 0x10 }));
  const sink = fileSink(file);
  const w = new PcapWriter(sink);
  pkts.forEach((p, i) => w.writePacket(1700000000 + i, 0, p.data));
  sink.close();
});

describe('loss on stderr and in stats', () => {
  it('read: every frame that could be framed, and one stderr line per loss', () => {
    const r = vvmp(['read', file, '--json']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout).map((x) => x.transaction_id)).toEqual([2, 3, 5]);
    expect(r.stderr).toBe(
      `vvmp: ${file}: packet 1: 10.0.0.1:40000 → 10.0.0.2:7369: 22 captured bytes skipped: no VVMP frame starts in them (the capture starts mid-connection)\n`
      + `vvmp: ${file}: packet 3: 10.0.0.1:40000 → 10.0.0.2:7369: 4 bytes before this segment were not captured; the frame they cut is dropped (40 of its bytes were captured)\n`);
  });

  it('stats --json counts it under "loss" (and the tcp_gap findings); the text report shows it', () => {
    const r = vvmp(['stats', file, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.loss).toEqual({ tcp_gaps: 1, tcp_bytes_not_captured: 4, tcp_bytes_skipped: 22, tcp_frames_dropped: 1 });
    expect(s.expert.tcp_gap).toBe(2);
    // Loss describes the capture: a filter does not change it.
    expect(JSON.parse(vvmp(['stats', file, '--json', '-Y', 'vvmp.transaction_id == 3']).stdout).loss).toEqual(s.loss);
    const t = vvmp(['stats', file]).stdout;
    expect(t).toMatch(/Capture loss \(whole capture\):\n {2}TCP gaps \(bytes no captured segment held\) +1\n {2}TCP bytes not captured +4\n {2}TCP bytes captured but in no frame .* +22\n {2}frames cut by a gap, dropped +1\n/);
  });
});

describe('--interval', () => {
  it('sets the I/O interval; bad values are usage errors', () => {
    const s = JSON.parse(vvmp(['stats', file, '--json', '--interval', '0.5']).stdout);
    expect(s.io.interval_s).toBe(0.5);
    expect(s.io.intervals.length).toBe(7); // 1700000000.0 … 1700000003.0 in halves
    expect(s.io.intervals.reduce((n: number, r: { frames: number }) => n + r.frames, 0)).toBe(3);
    expect(JSON.parse(vvmp(['stats', file, '--json']).stdout).io.interval_s).toBe(1);
    for (const bad of ['0', '-1', 'abc', '0.0001', '1e3']) {
      const r = vvmp(['stats', file, '--interval', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toMatch(/--interval: ".*" is not a number of seconds/);
    }
  }, 120_000);
});
