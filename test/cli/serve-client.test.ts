// `vvmp serve` and `vvmp client` as a user runs them: real processes, real sockets on 127.0.0.1.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';


function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: ChildProcess;
let target: string;
let log = '';

beforeAll(async () => {
  const port = await freePort();
  target = `127.0.0.1:${port}`;
  server = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], { cwd: ROOT });
  server.stderr!.on('data', (d) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${log}`)), 20000);
    server.stderr!.on('data', () => {
      if (log.includes('event=listening')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
});

afterAll(() => {
  server?.kill('SIGINT');
});

describe('vvmp serve + vvmp client', () => {
  it('allocates, initializes, reads statistics and frees a session; JSON on request', async () => {
    const a = await run(['client', 'allocate', '--type', 'raid5', '--capacity', '100GiB', '--bandwidth', '20MiB/s', '--target', target, '--json']);
    expect(a.code).toBe(0);
    const grant = JSON.parse(a.stdout);
    expect(grant).toMatchObject({ op: 'Allocate', status: 'OK', ok: true, reply: { name: 'Allocate', reply: true, status: 'OK' } });
    const sid = grant.reply.payload.session_id as number;
    expect(sid).toBeGreaterThan(0);
    expect(grant.reply.payload.capacity_kb).toBe(100 * 1024 * 1024);
    const i = await run(['client', 'initialize', '--session', String(sid), '--stripe', '64KiB', '--target', target]);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/Initialize txid=\d+ → OK/);
    const st = await run(['client', 'stats', '--session', String(sid), '--udp', '--target', target, '--json']);
    expect(JSON.parse(st.stdout).reply.payload.session_id).toBe(sid);
    const f = await run(['client', 'free', '--session', String(sid), '--target', target]);
    expect(f.code).toBe(0);
    expect(log).toMatch(new RegExp(`op=Free txid=\\d+ client=0x0000000000000011 status=OK session=${sid}`));
  });

  it('an error status exits 3; refused exits 1; bad options exit 2 — one line each', async () => {
    const unknown = await run(['client', 'free', '--session', '999', '--target', target]);
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toContain('UNKNOWN_SESSION');
    const port = await freePort();
    const refused = await run(['client', 'query', '--target', `127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`vvmp: 127.0.0.1:${port}: connection refused\n`);
    const bad = await run(['client', 'allocate', '--capacity', 'lots', '--target', target]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const scen = await run(['client', 'scenario', 'nonsense']);
    expect(scen.code).toBe(2);
  });

  it('runs the lifecycle scenario against it', async () => {
    const r = await run(['client', 'scenario', 'lifecycle', '--target', target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('lifecycle: PASS');
  });

  it('a broken config file is one line and exit 1', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'san.json');
    writeFileSync(cfg, JSON.stringify({ devices: [{ device_id: 1, capacity_kb: 'lots' }] }));
    const r = await run(['serve', '--port', String(await freePort()), '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('san.json');
  });
});
