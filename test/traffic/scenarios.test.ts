// The client functions and every named scenario against real servers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from '../../src/traffic/client.js';
import { SCENARIO_NAMES, runScenario } from '../../src/traffic/scenarios.js';
import { payload, server, sleep } from './helpers.js';

describe('client functions', () => {
  let s: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    s = await server();
  });
  afterAll(() => s.close());

  it('allocate → initialize → modify → stats → free, with human options, over TCP and UDP', async () => {
    for (const transport of ['tcp', 'udp'] as const) {
      const o = { target: s.target, transport, clientId: '0x77' };
      const a = await client.allocate({ ...o, type: 'raid5', access: 'fc', capacity: '10GiB', bandwidth: '20MiB/s', qos: 'gold', mode: 'expand', exclusive: true });
      expect(a.ok).toBe(true);
      expect(payload(a.reply)).toMatchObject({ storage_type: 5, access_type: 2, capacity_kb: 10 * 1024 * 1024, bandwidth_kb: 20480, qos: 3, flags: 1 });
      expect(a.lines[0]).toMatch(/^Allocate txid=\d+ → OK \(\d+\.\d\d ms\) server=0x00000000000000aa$/);
      expect(a.lines[1]).toBe('  session ' + payload(a.reply)['session_id'] + ' RAID5/FC capacity=10 GiB bandwidth=20 MiB/s qos=GOLD flags=EXCLUSIVE');
      const session = payload(a.reply)['session_id'] as number;
      expect((await client.initialize({ ...o, session, stripe: '256KiB', blockSize: '4KiB', include: 6 })).status).toBe('OK');
      expect((await client.modify({ ...o, session, capacity: '20GiB', bandwidth: '20MiB/s', qos: 'gold', exclusive: true })).status).toBe('OK');
      await sleep(10);
      const st = await client.stats({ ...o, session });
      expect(st.lines[1]).toMatch(/^ {2}session \d+ age=\d+ ms read=\d+ B written=\d+ B ops=\d+ errors=0$/);
      expect((await client.free({ ...o, session, release: '5GiB' })).lines[1]).toBe(`  session ${session} released 5 GiB`);
      expect((await client.free({ ...o, session })).lines[1]).toBe(`  session ${session} released all, session closed`);
      expect((await client.stats({ ...o, session })).status).toBe('UNKNOWN_SESSION');
    }
    const q = await client.query({ target: s.target, scope: 'local' });
    expect(q.lines.slice(1)).toHaveLength(6);
    expect(q.lines[1]).toBe('  device 1 san=1 RAID5/FC class=RAID_CONTROLLER free=100 GiB bandwidth=400 MiB/s');
  });

  it('allocate with wait follows PENDING to the grant', async () => {
    const big = await client.allocate({ target: s.target, type: 'raid0', capacity: '50GiB' });
    const waiting = client.allocate({ target: s.target, clientId: 0x78, type: 'raid0', capacity: '1GiB', wait: true });
    await sleep(50);
    await client.free({ target: s.target, session: payload(big.reply)['session_id'] as number, release: '1GiB' });
    const r = await waiting;
    expect(r.ok).toBe(true);
    expect(r.pending?.status).toBe('PENDING');
    expect(r.lines[0]).toMatch(/PENDING .*registered; waiting for storage/);
  });

  it('a dead target is a one-line error naming it', async () => {
    await expect(client.query({ target: '127.0.0.1:1' })).rejects.toThrow(/^127\.0\.0\.1:1: connection refused$/);
  });
});

describe('scenarios', () => {
  let s: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    s = await server();
  });
  afterAll(() => s.close());

  it('knows its names', async () => {
    expect([...SCENARIO_NAMES]).toEqual(['lifecycle', 'contention', 'multi-san', 'errors', 'load']);
    await expect(runScenario('nope')).rejects.toThrow('unknown scenario "nope" (known: lifecycle, contention, multi-san, errors, load)');
  });

  it('lifecycle', async () => {
    const r = await runScenario('lifecycle', { target: s.target });
    expect(r.ok, r.lines.join('\n')).toBe(true);
    expect(r.steps.map((x) => x.op).filter((x) => x !== '-')).toEqual(
      ['Query', 'Allocate', 'Initialize', 'Modify', 'Statistics', 'Statistics', 'Free', 'Free', 'Statistics']);
    expect(s.manager.sessions()).toEqual([]);
  });

  it('contention (CONFLICT, PENDING then grant after a free)', async () => {
    const r = await runScenario('contention', { target: s.target });
    expect(r.ok, r.lines.join('\n')).toBe(true);
    expect(r.steps.map((x) => x.status)).toEqual(['OK', 'OK', 'CONFLICT', 'PENDING', 'OK', 'OK', 'CONFLICT', 'OK', 'OK', 'OK']);
    expect(s.manager.sessions()).toEqual([]);
  });

  it('multi-san (three managers, cross-SAN 0xFF allocation relayed)', async () => {
    const logs: string[] = [];
    const r = await runScenario('multi-san', { serverLog: (l) => logs.push(l) });
    expect(r.ok, r.lines.join('\n')).toBe(true);
    expect(r.servers).toHaveLength(3);
    expect(logs.some((l) => l.startsWith('san=3 ') && l.includes('op=Allocate') && l.includes('status=OK'))).toBe(true);
    expect(logs.some((l) => l.startsWith('san=2 ') && l.includes('op=Allocate') && l.includes('status=NO_MATCH'))).toBe(true);
  });

  it('errors: every error status of section 5, against a target and self-contained', async () => {
    for (const target of [s.target, undefined]) {
      const r = await runScenario('errors', { target });
      expect(r.ok, r.lines.join('\n')).toBe(true);
      const seen = new Set(r.steps.map((x) => x.status));
      for (const st of ['NO_CAPACITY', 'NO_MATCH', 'UNKNOWN_SESSION', 'DENIED', 'CONFLICT', 'MALFORMED', 'BAD_CHECKSUM', 'UNSUPPORTED', 'TIMEOUT']) {
        expect(seen.has(st), st).toBe(true);
      }
    }
  });

  it('load (short)', async () => {
    const r = await runScenario('load', { target: s.target, clients: 8, durationS: 0.5 });
    expect(r.ok, r.lines.join('\n')).toBe(true);
    // How many requests fit in 0.5 s depends on the machine's load; the rate is a bench row, not a test.
    expect(r.metrics!.requests).toBeGreaterThan(0);
    expect(r.metrics!.p99_ms).toBeGreaterThanOrEqual(r.metrics!.p50_ms);
    expect(s.manager.sessions()).toEqual([]);
    const q = await runScenario('load', { target: s.target, clients: 4, durationS: 0.3, op: 'query', pipeline: 4 });
    expect(q.ok, q.lines.join('\n')).toBe(true);
  });
});
