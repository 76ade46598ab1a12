// A real two-shard ClickHouse cluster on loopback for the export tests: two
// `clickhouse-server` processes (Debian's 18.16 here), each with its own
// temporary directory and config (listen 127.0.0.1, free ports, a
// `remote_servers` cluster of both shards). Started and stopped by the tests.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/cli.js';

export const CLUSTER = 'vvmp_test';

export function clickhouseInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' }).status === 0;
}

export class ClickHouseProcess {
  proc: ChildProcess | null = null;
  constructor(readonly dir: string, readonly httpPort: number, readonly tcpPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  async start(): Promise<number> {
    const t0 = Date.now();
    this.proc = spawn('clickhouse-server', [`--config-file=${join(this.dir, 'config.xml')}`], { stdio: 'ignore' });
    const deadline = t0 + 30_000;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`clickhouse-server on ${this.httpPort} exited (${this.proc.exitCode}); see ${this.dir}/err.log`);
      try {
        const r = await fetch(`${this.url}/?query=SELECT%201`);
        if (r.ok && (await r.text()).trim() === '1') return Date.now() - t0;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server on ${this.httpPort} not ready in 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    this.proc = null;
  }

  async query(sql: string): Promise<string> {
    const r = await post(`${this.url}/`, sql);
    const text = await r.text();
    if (!r.ok) throw new Error(`${this.url}: ${text.split('\n')[0]}`);
    return text;
  }

  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return (await this.query(`${sql} FORMAT JSONEachRow`)).split('\n').filter((l) => l).map((l) => JSON.parse(l) as T);
  }
}

/** fetch, again once if the server had just closed the idle keep-alive connection (it does after 3 s). */
export async function post(url: string, body: string): Promise<Response> {
  try {
    return await fetch(url, { method: 'POST', body });
  } catch {
    return fetch(url, { method: 'POST', body });
  }
}

export class TestCluster {
  readonly root = tempDir('vvmp-ch-');
  nodes: ClickHouseProcess[] = [];
  /** Milliseconds each node took to answer its first query. */
  startMs: number[] = [];

  async start(shards = 2): Promise<void> {
    const ports: number[] = [];
    while (ports.length < shards * 2) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    writeFileSync(join(this.root, 'users.xml'), `<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`);
    const remote = Array.from({ length: shards }, (_, i) =>
      `<shard><replica><host>127.0.0.1</host><port>${ports[i * 2 + 1]}</port></replica></shard>`).join('');
    for (let i = 0; i < shards; i++) {
      const dir = join(this.root, `node${i + 1}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.xml'), `<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/err.log</errorlog><console>0</console></logger>
  <http_port>${ports[i * 2]}</http_port><tcp_port>${ports[i * 2 + 1]}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path>
  <users_config>${this.root}/users.xml</users_config>
  <mark_cache_size>67108864</mark_cache_size>
  <default_profile>default</default_profile><default_database>default</default_database>
  <remote_servers><${CLUSTER}>${remote}</${CLUSTER}></remote_servers>
</yandex>
`);
      this.nodes.push(new ClickHouseProcess(dir, ports[i * 2]!, ports[i * 2 + 1]!));
    }
    this.startMs = await Promise.all(this.nodes.map((n) => n.start()));
  }

  get urls(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
