// `vvmp live --clickhouse` on lo (real capture, root) into a real two-shard
// ClickHouse cluster, with one node stopped and restarted while the traffic
// runs (`vvmp serve` + `vvmp client scenario load`): at the end the cluster
// holds every transaction the traffic made (as `vvmp stats` counts them in the
// capture saved with -w). And with the only server down and a tiny buffer
// bound, what vvmp reports dropped is exactly what is missing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { BIN, ROOT, tempDir, vvmp } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { CLUSTER, TestCluster, clickhouseInstalled } from './cluster.js';

const isRoot = process.getuid?.() === 0;

interface Proc {
  p: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return { p, stderr: () => err, exit };
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

if (!clickhouseInstalled() || !isRoot) console.log(`live ClickHouse tests: skipped (${!isRoot ? 'not root: live capture needs CAP_NET_RAW' : 'clickhouse-server not installed; scripts/setup.sh installs it'})`);

describe.skipIf(!clickhouseInstalled() || !isRoot)('vvmp live --clickhouse', () => {
  const t0 = Date.now();
  const log = (m: string): void => { if (process.env.VVMP_DEBUG_LIVE) console.log(`${Date.now() - t0} ms: ${m}`); };
  const cluster = new TestCluster();
  const dir = tempDir('vvmp-live-ch-');
  let server: Proc;
  let port: number;

  beforeAll(async () => {
    await cluster.start(2);
    log('cluster up');
    port = await freePort();
    server = start(['serve', '--port', String(port)]);
    await waitFor('the server', () => server.stderr().includes('event=listening'), 20_000);
    log('server up');
  }, 90_000);

  afterAll(async () => {
    server?.p.kill('SIGINT');
    await cluster.stop();
  });

  async function runLive(extra: string[], during: () => Promise<void>): Promise<{ stderr: string; pcap: string }> {
    const pcap = join(dir, `live-${Date.now()}.pcapng`);
    const live = start(['live', '-i', 'lo', '--port', String(port), '--backend', 'tcpdump', '-w', pcap, '--flush-ms', '200', ...extra]);
    await waitFor('the capture', () => live.stderr().includes('vvmp: capturing on'), 30_000);
    const client = start(['client', 'scenario', 'load', '--target', `127.0.0.1:${port}`, '--clients', '4', '--duration', '4']);
    log('live up');
    await during();
    log('during done');
    expect(await client.exit, client.stderr()).toBe(0);
    await sleep(1000);
    live.p.kill('SIGINT');
    expect(await live.exit, live.stderr()).toBe(0);
    if (process.env.VVMP_DEBUG_LIVE) writeFileSync(`/tmp/live-${Date.now()}.log`, live.stderr());
    return { stderr: live.stderr(), pcap };
  }

  it('ends with every transaction the traffic made, one node stopped and restarted during the run', async () => {
    const [n1, n2] = cluster.nodes;
    const { stderr, pcap } = await runLive(['--clickhouse', `${n2!.url},${n1!.url}`, '--cluster', CLUSTER, '--database', 'live', '--batch-rows', '100'], async () => {
      await sleep(1000);
      await n2!.stop();
      await sleep(1500);
      await n2!.start();
    });
    expect(stderr).toMatch(/clickhouse: \d+ rows sent \(\d+ transactions/);
    const s = vvmp(['stats', '--json', '--port', String(port), pcap]);
    expect(s.code, s.stderr).toBe(0);
    const stats = JSON.parse(s.stdout) as { transactions: { requests: number }; by_opcode: Record<string, number> };
    expect(stats.transactions.requests).toBeGreaterThan(100);
    // The node that was down gets its shard's rows from the other node's Distributed queue.
    let got = 0;
    await waitFor('every transaction in ClickHouse', async () => {
      const rows = await n1!.rows<{ n: string }>('SELECT count() AS n FROM live.transactions');
      got = Number(rows[0]!.n);
      return got >= stats.transactions.requests;
    }, 40_000).catch(() => undefined);
    expect(got).toBe(stats.transactions.requests);
    // (Timeouts are not compared: live capture times requests out on the wall clock between
    // packets, so a reply tcpdump hands over late can come after its request's timeout.)
    const [ids] = await n1!.rows<{ n: string; u: string }>('SELECT count() AS n, uniqExact(row_id) AS u FROM live.transactions');
    expect(ids!.u).toBe(ids!.n);
    const frames = await n1!.rows<{ n: string }>('SELECT count() AS n FROM live.frames WHERE opcode IS NOT NULL');
    expect(Number(frames[0]!.n)).toBe(Object.values(stats.by_opcode).reduce((a, b) => a + b, 0));
    for (const n of cluster.nodes) {
      const [r] = await n.rows<{ n: string }>('SELECT count() AS n FROM live.transactions_local');
      expect(Number(r!.n)).toBeGreaterThan(0);
    }
  }, 90_000);

  it('starts while ClickHouse is down, holds rows back, and reports exactly what passed the bound', async () => {
    const n1 = cluster.nodes[0]!;
    const spill = join(dir, 'spill');
    await n1.stop();
    log('n1 stopped');
    const { stderr, pcap } = await runLive(['--clickhouse', n1.url, '--database', 'bounded', '--batch-rows', '50',
      '--buffer-mb', '1', '--spill-mb', '1', '--spill-dir', spill], async () => {
      await sleep(2500);
      await n1.start();
      log('n1 started');
    });
    expect(stderr).toMatch(/clickhouse: .*cannot reach ClickHouse \(ECONNREFUSED\); capturing anyway, rows are held back until it answers/);
    expect(stderr).toMatch(/clickhouse: .*cannot reach ClickHouse \(E[A-Z]+\); holding rows back and retrying/);
    expect(stderr).toMatch(/clickhouse: holding back \d+ rows/);
    expect(stderr).toMatch(/clickhouse: ClickHouse takes rows again after/);
    const s = vvmp(['stats', '--json', '--port', String(port), pcap]);
    const requests = (JSON.parse(s.stdout) as { transactions: { requests: number } }).transactions.requests;
    const dropped = [...stderr.matchAll(/dropped (\d+) transactions rows \(row ids (\S+) … (\S+),/g)];
    expect(dropped.length).toBeGreaterThan(0);
    const droppedRows = dropped.reduce((a, m) => a + Number(m[1]), 0);
    const [r] = await n1.rows<{ n: string }>('SELECT count() AS n FROM bounded.transactions');
    expect(Number(r!.n) + droppedRows).toBe(requests);
    // What was reported dropped is exactly what is missing.
    for (const m of dropped) {
      const [x] = await n1.rows<{ n: string }>(`SELECT count() AS n FROM bounded.transactions WHERE row_id IN ('${m[2]}', '${m[3]}')`);
      expect(Number(x!.n)).toBe(0);
    }
  }, 90_000);
});
