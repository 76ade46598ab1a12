// `vvmp export --clickhouse` into a real two-shard ClickHouse cluster on
// loopback: what the Distributed tables say equals `vvmp stats --json` for the
// same captures; both shards hold rows; a session's rows share a shard; a
// reload does not double; NDJSON files and the printed DDL load as they are.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir, vvmp } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { CLUSTER, TestCluster, clickhouseInstalled, post } from './cluster.js';

const CAPTURES = join(ROOT, 'captures');
const DB = 'vvmp_export';

interface Stats {
  by_opcode: Record<string, number>;
  flows: { transport: string; a: string; b: string; frames: number; bytes: number; errors: number }[];
  sessions: { state: string }[];
  transactions: { requests: number; answered: number; timed_out: number; open_at_end: number; latency_ms: { p50: number; p90: number; p99: number; max: number } | null };
}

const num = (v: unknown): number => Number(v);

if (!clickhouseInstalled()) console.log('ClickHouse tests: skipped (clickhouse-server not installed; scripts/setup.sh installs it)');

describe.skipIf(!clickhouseInstalled())('export into a two-shard ClickHouse cluster', () => {
  const cluster = new TestCluster();
  let stats: Stats;

  beforeAll(async () => {
    await cluster.start(2);
    const s = vvmp(['stats', '--json', CAPTURES]);
    expect(s.code, s.stderr).toBe(0);
    stats = JSON.parse(s.stdout) as Stats;
    const r = vvmp(['export', CAPTURES, '--clickhouse', cluster.urls, '--cluster', CLUSTER, '--database', DB, '--site', 'lab', '-j', '2', '--batch-rows', '200']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/exported 5 captures to ClickHouse .*rows\/s/);
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  const q = <T = Record<string, unknown>>(sql: string): Promise<T[]> => cluster.nodes[0]!.rows<T>(sql);

  it('starts each node in a few seconds', () => {
    for (const ms of cluster.startMs) expect(ms).toBeLessThan(20_000);
  });

  it('counts frames by opcode as stats does', async () => {
    const rows = await q<{ opcode: number; n: string }>(`SELECT opcode, count() AS n FROM ${DB}.frames WHERE opcode IS NOT NULL GROUP BY opcode`);
    const got: Record<string, number> = {};
    for (const r of rows) got['0x' + r.opcode.toString(16).padStart(4, '0')] = num(r.n);
    expect(got).toEqual(stats.by_opcode);
  });

  it('counts requests, answers, timeouts and open requests as stats does', async () => {
    const [r] = await q(`SELECT count() AS req, sum(answered) AS ans, sum(timed_out) AS tmo,
      countIf(answered = 0 AND timed_out = 0) AS open FROM ${DB}.transactions`);
    const t = stats.transactions;
    expect([num(r!.req), num(r!.ans), num(r!.tmo), num(r!.open)])
      .toEqual([t.requests, t.answered, t.timed_out, t.open_at_end]);
  });

  it('gives the response-time percentiles of stats (nearest rank over whole microseconds)', async () => {
    const [r] = await q(`SELECT arraySort(groupArray(intDiv(response_time_ns + 500, 1000))) AS us, length(us) AS n,
      us[toUInt64(ceil(0.5 * n))] AS p50, us[toUInt64(ceil(0.9 * n))] AS p90, us[toUInt64(ceil(0.99 * n))] AS p99, us[n] AS max
      FROM ${DB}.transactions WHERE response_time_ns IS NOT NULL`);
    const l = stats.transactions.latency_ms!;
    expect([num(r!.p50), num(r!.p90), num(r!.p99), num(r!.max)].map((us) => us / 1000)).toEqual([l.p50, l.p90, l.p99, l.max]);
  });

  it('counts sessions by state as stats does', async () => {
    const rows = await q<{ state: string; n: string }>(`SELECT state, count() AS n FROM ${DB}.sessions GROUP BY state`);
    const want: Record<string, number> = {};
    for (const s of stats.sessions) want[s.state] = (want[s.state] ?? 0) + 1;
    expect(Object.fromEntries(rows.map((r) => [r.state, num(r.n)]))).toEqual(want);
  });

  it('has the flows of stats, each with its Community ID', async () => {
    const rows = await q<{ k: string; frames: string; bytes: string; errors: string; ids: string }>(`
      SELECT concat(transport, ' ', if(a < b, a, b), ' ', if(a < b, b, a)) AS k, sum(frames) AS frames, sum(bytes) AS bytes,
        sum(errors) AS errors, uniqExact(community_id) AS ids FROM ${DB}.flows GROUP BY k`);
    const got = Object.fromEntries(rows.map((r) => [r.k, [num(r.frames), num(r.bytes), num(r.errors), num(r.ids)]]));
    const want = Object.fromEntries(stats.flows.map((f) => [`${f.transport} ${f.a < f.b ? f.a : f.b} ${f.a < f.b ? f.b : f.a}`, [f.frames, f.bytes, f.errors, 1]]));
    expect(got).toEqual(want);
    const [c] = await q(`SELECT countIf(match(community_id, '^1:[A-Za-z0-9+/]{27}=$')) AS ok, count() AS n FROM ${DB}.flows`);
    expect(num(c!.ok)).toBe(num(c!.n));
  });

  it('spreads rows over both shards and keeps each session on one shard', async () => {
    const perNode = await Promise.all(cluster.nodes.map((n) => n.rows<{ n: string }>(`SELECT count() AS n FROM ${DB}.transactions_local`)));
    const counts = perNode.map((r) => num(r[0]!.n));
    for (const c of counts) expect(c).toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(stats.transactions.requests);
    const sessionsOn = await Promise.all(cluster.nodes.map(async (n) => {
      const rows = await n.rows<{ s: string }>(`SELECT DISTINCT s FROM (
        SELECT concat(capture_digest, session) AS s FROM ${DB}.frames_local WHERE session IS NOT NULL UNION ALL
        SELECT concat(capture_digest, session) AS s FROM ${DB}.transactions_local WHERE session IS NOT NULL UNION ALL
        SELECT concat(capture_digest, session) AS s FROM ${DB}.sessions_local WHERE session IS NOT NULL)`);
      return new Set(rows.map((r) => r.s));
    }));
    expect(sessionsOn[0]!.size).toBeGreaterThan(0);
    expect(sessionsOn[1]!.size).toBeGreaterThan(0);
    for (const s of sessionsOn[0]!) expect(sessionsOn[1]!.has(s), s).toBe(false);
  });

  it('writes deterministic row ids, hex ids, integer ns with ISO times, and null for missing values', async () => {
    const rows = await q(`SELECT row_id, client_id, time_ns, time, response_time_ns, site FROM ${DB}.transactions ORDER BY row_id LIMIT 5`);
    for (const r of rows) {
      expect(r.row_id).toMatch(/^[0-9a-f]{16}-t\d+$/);
      expect(r.client_id).toMatch(/^0x[0-9a-f]{16}$/);
      expect(r.site).toBe('lab');
      const ns = BigInt(r.time_ns as string);
      const iso = r.time as string;
      expect(BigInt(Date.parse(iso)) * 1_000_000n).toBe(ns / 1_000_000n * 1_000_000n);
    }
    const [dups] = await q(`SELECT count() - uniqExact(row_id) AS d FROM ${DB}.frames`);
    expect(num(dups!.d)).toBe(0);
  });

  it('skips captures loaded already, and --replace reloads without doubling', async () => {
    const before = await q(`SELECT count() AS n FROM ${DB}.frames`);
    const again = vvmp(['export', CAPTURES, '--clickhouse', cluster.urls, '--cluster', CLUSTER, '--database', DB]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/already in ClickHouse .* skipped; --replace loads it again/g)?.length).toBe(5);
    const demo = join(CAPTURES, 'demo.pcapng');
    const replace = vvmp(['export', demo, '--clickhouse', cluster.urls, '--cluster', CLUSTER, '--database', DB, '--replace']);
    expect(replace.code, replace.stderr).toBe(0);
    expect(replace.stderr).toMatch(/exported 1 capture /);
    const after = await q(`SELECT count() AS n FROM ${DB}.frames`);
    expect(after).toEqual(before);
    const [c] = await q(`SELECT count() AS n FROM ${DB}.captures`);
    expect(num(c!.n)).toBe(5);
  }, 60_000);

  it('deletes the rows of an interrupted load before loading that capture again', async () => {
    const demo = join(CAPTURES, 'demo.pcapng');
    const [before] = await q(`SELECT count() AS n FROM ${DB}.transactions`);
    // As if the load of demo stopped before its captures row was written: its rows are there, its captures row is not.
    const [d] = await q(`SELECT capture_digest FROM ${DB}.captures WHERE capture = 'demo.pcapng'`);
    for (const n of cluster.nodes) await n.query(`ALTER TABLE ${DB}.captures_local DELETE WHERE capture_digest = '${d!.capture_digest as string}'`);
    for (let i = 0; i < 100; i++) {
      const [m] = await q(`SELECT count() AS n FROM ${DB}.captures WHERE capture = 'demo.pcapng'`);
      if (num(m!.n) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = vvmp(['export', demo, '--clickhouse', cluster.urls, '--cluster', CLUSTER, '--database', DB]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/exported 1 capture /);
    const [after] = await q(`SELECT count() AS n FROM ${DB}.transactions`);
    expect(after).toEqual(before);
  }, 60_000);

  it('loads NDJSON files as they are (JSONEachRow) into tables made from the printed DDL', async () => {
    const ddl = vvmp(['export', '--schema', 'clickhouse', '--database', 'plain']);
    expect(ddl.code, ddl.stderr).toBe(0);
    for (const stmt of ddl.stdout.split(';\n').map((s) => s.replace(/^--.*$/gm, '').trim()).filter((s) => s)) {
      await cluster.nodes[0]!.query(stmt);
    }
    const out = tempDir('vvmp-ndjson-');
    const r = vvmp(['export', CAPTURES, '--format', 'ndjson', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const table of ['frames', 'transactions', 'sessions', 'flows']) {
      for (const f of readdirSync(join(out, table))) {
        const res = await post(`${cluster.nodes[0]!.url}/?query=${encodeURIComponent(`INSERT INTO plain.${table} FORMAT JSONEachRow`)}`,
          readFileSync(join(out, table, f), 'utf8'));
        expect(res.ok, await res.text()).toBe(true);
      }
      const [a] = await q(`SELECT count() AS n, sum(shard_key % 1000) AS k FROM plain.${table}`);
      const [b] = await q(`SELECT count() AS n, sum(shard_key % 1000) AS k FROM ${DB}.${table}`);
      expect(a, table).toEqual(b);
    }
  }, 60_000);

  it('fails with one line when no node answers', async () => {
    const port = await freePort();
    const r = vvmp(['export', join(CAPTURES, 'demo.pcapng'), '--clickhouse', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vvmp: http://127.0.0.1:${port}: cannot reach ClickHouse (ECONNREFUSED)\n`);
  });

  it('refuses a cluster the nodes do not know', () => {
    const r = vvmp(['export', join(CAPTURES, 'demo.pcapng'), '--clickhouse', cluster.urls, '--cluster', 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no cluster "nosuch" in this server's remote_servers/);
  });
});
