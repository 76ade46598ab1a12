// --record OUT.pcapng: the replay's own traffic, by live capture (root here)
// or as synthetic packets; the SHB comment says which; the recording is a
// capture that replays cleanly itself.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import { loadReplayPlan } from '../../src/traffic/replay/index.js';
import { buildFixtures, type Fixtures } from './fixtures.js';
import { cli, freshServer, replayAgainstFreshServer, shiftSessionIds, tempDir } from './helpers.js';

let fx: Fixtures;
let dir: string;

beforeAll(async () => {
  dir = tempDir();
  fx = await buildFixtures(dir);
});

/** The pcapng SHB comment (option 1), read straight from the file. */
function shbComment(file: string): string {
  const b = readFileSync(file);
  const len = b.readUInt32LE(4);
  let o = 24;
  while (o + 4 <= len - 4) {
    const code = b.readUInt16LE(o);
    const n = b.readUInt16LE(o + 2);
    if (code === 0) break;
    if (code === 1) return b.subarray(o + 4, o + 4 + n).toString('utf8');
    o += 4 + ((n + 3) & ~3);
  }
  return '';
}

function liveWorks(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('tcpdump', ['--version']).status === 0;
}

describe('--record', () => {
  it('synthetic: what the sockets sent and received, with their real ports; replays cleanly itself', async () => {
    const srv = await freshServer();
    const out = `${dir}/rec-synth.pcapng`;
    try {
      await shiftSessionIds(srv.tcpPort, 1);
      const r = await cli(['replay', fx.mixed, '--target', srv.target, '--topspeed', '--json', '--record', out, '--record-mode', 'synthetic', '-q']);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { sent: number; replies: number };
      expect(shbComment(out)).toMatch(/synthetic packets: what the replay's sockets sent and received/);
      expect(shbComment(out)).toContain(`${fx.mixed} to ${srv.target}`);
      const plan = loadReplayPlan(out, { ports: [srv.tcpPort] });
      expect(plan.vvmpFrames).toBe(summary.sent + summary.replies);
      expect(plan.requests).toHaveLength(summary.sent);
      expect(plan.requests.every((q) => q.expected.length === (q.name === 'Announce' ? 0 : 1))).toBe(true);
      // Every packet is to or from the target's port.
      let packets = 0;
      readCaptureFile(out, () => packets++);
      expect(packets).toBeGreaterThan(plan.vvmpFrames);
    } finally {
      await srv.close();
    }
    // The recording is itself a replayable capture (its server port is the old target's).
    const again = await replayAgainstFreshServer(out, { ports: [Number(srv.target.split(':')[1])], shiftSessions: 4 });
    expect(again.result.differences).toEqual([]);
    expect(again.result.missing).toBe(0);
    expect(again.result.matched).toBe(again.result.replies);
  });

  it.skipIf(!liveWorks())('live: captured on lo by the capture module; the comment says so', async () => {
    const srv = await freshServer();
    const out = `${dir}/rec-live.pcapng`;
    try {
      await shiftSessionIds(srv.tcpPort, 1);
      const r = await cli(['replay', fx.lifecycleTcp, '--target', srv.target, '--topspeed', '--json', '--record', out, '--record-mode', 'live']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^vvmp: recorded \d+ packets to .*: live capture on lo \(tcpdump backend/);
      expect(shbComment(out)).toMatch(/live capture on lo \(tcpdump backend, timestamps: kernel/);
      const plan = loadReplayPlan(out, { ports: [srv.tcpPort] });
      expect(plan.vvmpFrames).toBe(10);
      expect(plan.requests.map((q) => q.name)).toEqual(['Allocate', 'Initialize', 'Modify', 'Statistics', 'Free']);
    } finally {
      await srv.close();
    }
  });

  it('auto mode: live when it works, else synthetic; the text report names it', async () => {
    const srv = await freshServer();
    const out = `${dir}/rec-auto.pcapng`;
    try {
      const r = await cli(['replay', fx.lifecycleUdp, '--target', srv.target, '--topspeed', '--record', out]);
      expect(r.stdout).toMatch(/recorded \d+ packets to .*rec-auto\.pcapng: (live capture on lo|synthetic)/);
      expect(shbComment(out)).toMatch(liveWorks() ? /live capture on lo/ : /synthetic packets/);
      const plan = loadReplayPlan(out, { ports: [srv.tcpPort] });
      expect(plan.requests.map((q) => q.name)).toEqual(['Announce', 'Allocate', 'Initialize', 'Modify', 'Statistics', 'Free']);
    } finally {
      await srv.close();
    }
  });
});
