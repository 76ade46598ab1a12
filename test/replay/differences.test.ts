// Replays against servers configured differently from the captured one: the
// expected differences, exit 3, the JSON exactly as OUTPUT.md writes it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, type Fixtures } from './fixtures.js';
import { GiB, cli, freshServer, replayAgainstFreshServer, shiftSessionIds, tempDir } from './helpers.js';

let fx: Fixtures;

beforeAll(async () => {
  fx = await buildFixtures(tempDir());
});

type Srv = Awaited<ReturnType<typeof freshServer>>;
const servers: Srv[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(mutate: Parameters<typeof freshServer>[0]): Promise<Srv> {
  const s = await freshServer(mutate);
  servers.push(s);
  await shiftSessionIds(s.tcpPort, 1);
  return s;
}

const diff = (frame: number, field: string, expected: string, got: string) => ({ frame, field, expected, got });

describe('replay against a differently configured server', () => {
  it('security domain excluding the client: every reply DENIED, exit 3, exact JSON', async () => {
    const srv = await server((c) => { c.allowed_clients = [0x5eedn]; });
    const r = await cli(['replay', fx.lifecycleTcp, '--target', srv.target, '--topspeed', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    const want = {
      sent: 5, replies: 5, matched: 0, missing: 0, extra: 0,
      differences: [1, 3, 5, 7, 9].map((f) => diff(f, 'vvmp.status', 'OK', 'DENIED')),
    };
    expect(r.stdout).toBe(JSON.stringify(want) + '\n');
    expect(r.stdout).toBe(
      '{"sent":5,"replies":5,"matched":0,"missing":0,"extra":0,"differences":['
      + '{"frame":1,"field":"vvmp.status","expected":"OK","got":"DENIED"},'
      + '{"frame":3,"field":"vvmp.status","expected":"OK","got":"DENIED"},'
      + '{"frame":5,"field":"vvmp.status","expected":"OK","got":"DENIED"},'
      + '{"frame":7,"field":"vvmp.status","expected":"OK","got":"DENIED"},'
      + '{"frame":9,"field":"vvmp.status","expected":"OK","got":"DENIED"}]}\n');
  });

  it('smaller capacity: NO_CAPACITY, then the unmapped session is unknown to the target', async () => {
    const srv = await server((c) => { c.devices[0]!.capacity_kb = GiB; });
    const r = await cli(['replay', fx.lifecycleTcp, '--target', srv.target, '--topspeed', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      sent: 5, replies: 5, matched: 0, missing: 0, extra: 0,
      differences: [
        diff(1, 'vvmp.status', 'OK', 'NO_CAPACITY'),
        diff(3, 'vvmp.status', 'OK', 'UNKNOWN_SESSION'),
        diff(5, 'vvmp.status', 'OK', 'UNKNOWN_SESSION'),
        diff(7, 'vvmp.status', 'OK', 'UNKNOWN_SESSION'),
        diff(9, 'vvmp.status', 'OK', 'UNKNOWN_SESSION'),
      ],
    });
  });

  it('a slower, bigger device: payload fields differ with display values (names, numbers)', async () => {
    const r = await replayAgainstFreshServer(fx.mixed, {
      filter: 'vvmp.name == Query && vvmp.reply == false && udp',
      config: (c) => {
        c.devices[0]!.bandwidth_kb = 1000;
        c.devices[1]!.storage_type = 0x04;
      },
    });
    expect(r.result.matched).toBe(0);
    // Query 0x01 and 0x02 over UDP (frames of the UDP socket), each showing both devices' changes.
    const byFrame = new Map<number, string[]>();
    for (const d of r.result.differences) byFrame.set(d.frame, [...(byFrame.get(d.frame) ?? []), `${d.field} ${d.expected}→${d.got}`]);
    for (const list of byFrame.values()) {
      expect(list.sort()).toEqual(['vvmp.device.bandwidth_kb 409600→1000', 'vvmp.device.storage_type RAID0→RAID4']);
    }
    expect(byFrame.size).toBe(3);
  });

  it('text report lists the differences by frame and names the result', async () => {
    const srv = await server((c) => { c.allowed_clients = [0x5eedn]; });
    const r = await cli(['replay', fx.lifecycleTcp, '--target', srv.target, '--topspeed', '-q']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('replies 5: 0 matched, 5 differed, 0 extra; 0 missing');
    expect(r.stdout).toContain('frame 1 Allocate txid=1: vvmp.status expected OK, got DENIED');
    expect(r.stdout).toContain('frame 9 Free txid=5: vvmp.status expected OK, got DENIED');
    expect(r.stdout).toContain('result: replies do not match the capture (5 differed)');
  });
});
