// `vvmp serve --state`: the real command, killed with SIGKILL at random
// moments while clients allocate and free; every restart finds a valid state
// holding every session it acknowledged (--keep-sessions), or tears them all
// down with a boot Announce (default), and leaves no temp file behind.

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { appendFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import type { FrameSpec } from '../../src/protocol/encode.js';
import { loadStateFile } from '../../src/traffic/server.js';
import { VvmpConnection } from '../../src/traffic/transport.js';
import { BIN, ROOT, tempDir, vvmp } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { payload, sleep } from './helpers.js';

const dir = tempDir('vvmp-crash-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Serve {
  proc: ChildProcess;
  port: number;
  stderr: () => string;
}

async function serve(state: string, port: number, extra: string[] = []): Promise<Serve> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--state', state, ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  for (let i = 0; i < 300 && !err.includes('event=listening'); i++) {
    if (proc.exitCode !== null) throw new Error(`vvmp serve exited ${proc.exitCode}: ${err}`);
    await sleep(20);
  }
  if (!err.includes('event=listening')) throw new Error(`vvmp serve did not start: ${err}`);
  return { proc, port, stderr: () => err };
}

function kill9(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (p.exitCode !== null || p.signalCode !== null) return r();
    p.once('exit', () => r());
    p.kill('SIGKILL');
  });
}

const alloc = (client: bigint, txid: number): FrameSpec => ({
  opcode: 2, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: client, transaction_id: txid,
  payload: { storage_type: 0xff, access_type: 0xff, capacity_kb: 1 },
});

/** Allocates (and frees every third) until the connection dies; returns the sessions acknowledged and not being freed. */
async function churn(port: number, clients: bigint[]): Promise<Map<number, bigint>> {
  const held = new Map<number, bigint>();
  let c: VvmpConnection;
  try {
    c = await VvmpConnection.connect({ port });
  } catch {
    return held;
  }
  let txid = 1;
  const worker = async (k: number) => {
    for (;;) {
      const client = clients[(txid + k) % clients.length]!;
      const r = await c.request(alloc(client, txid++), { timeoutMs: 3000 });
      if (r.status !== 'OK') throw new Error(`allocate: ${r.status}`);
      const sid = payload(r)['session_id'] as number;
      held.set(sid, client);
      if (txid % 3 === 0) {
        // Until its Free is answered the session may or may not be gone: not counted either way.
        held.delete(sid);
        const f = await c.request({ opcode: 4, src_san: 1, dst_san: 1, client_id: client, transaction_id: txid++, payload: { session_id: sid, release_kb: 0 } }, { timeoutMs: 3000 });
        if (f.status !== 'OK') throw new Error(`free: ${f.status}`);
      }
    }
  };
  await Promise.allSettled(Array.from({ length: 16 }, (_, k) => worker(k)));
  await c.close().catch(() => undefined);
  return held;
}

describe('vvmp serve --state under kill -9', () => {
  it('every restart finds a valid journal with every acknowledged session (--keep-sessions); no temp file stays', async () => {
    const state = join(dir, 'state.json');
    const port = await freePort();
    const clients = Array.from({ length: 16 }, (_, i) => 0x100n + BigInt(i));
    // A temp file of a dead process, as a crash during compaction would leave.
    writeFileSync(`${state}.tmp-999999`, '{"half":');
    const expected = new Map<number, bigint>();
    for (let round = 0; round < 6; round++) {
      const s = await serve(state, port, ['--keep-sessions']);
      if (round === 0) expect(s.stderr()).toContain('event=state_temp_removed');
      // Sessions acknowledged before the last kill are all here, owned by their clients.
      const restored = loadStateFile(state)!.state.sessions;
      const have = new Map(restored.map((x) => [x.session_id, BigInt(x.client_id)]));
      for (const [sid, client] of expected) expect(have.get(sid), `session ${sid} (round ${round})`).toBe(client);
      const killAt = 150 + Math.floor(Math.random() * 400);
      const running = churn(port, clients);
      await sleep(killAt);
      await kill9(s.proc);
      const held = await running;
      // Acknowledged and not freed: checked at the next start.
      for (const [sid, client] of held) expected.set(sid, client);
    }
    const last = await serve(state, port, ['--keep-sessions']);
    const c = await VvmpConnection.connect({ port });
    let ok = 0;
    for (const [sid, client] of expected) {
      const r = await c.request({ opcode: 6, src_san: 1, dst_san: 1, client_id: client, transaction_id: sid, payload: { session_id: sid } });
      if (r.status === 'OK') ok++;
    }
    expect(ok).toBe(expected.size);
    expect(expected.size).toBeGreaterThan(0);
    await c.close();
    last.proc.kill('SIGINT');
    await new Promise((r) => last.proc.once('exit', r));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 120_000);

  it('a torn last line (a crash mid-write) is ignored; the default restart tears the sessions down and announces a boot', async () => {
    const state = join(dir, 'torn.json');
    const port = await freePort();
    const s = await serve(state, port);
    const c = await VvmpConnection.connect({ port });
    const sids: number[] = [];
    for (let i = 1; i <= 5; i++) sids.push(payload(await c.request(alloc(0x11n, i)))['session_id'] as number);
    await c.close();
    await kill9(s.proc);
    appendFileSync(state, '{"put":{"session_id":4242,"client_');
    // The boot Announce of the restart, heard by an announce target.
    const listener = dgram.createSocket('udp4');
    const heard: number[] = [];
    listener.on('message', (m) => heard.push(decodeFrame(m, { udp: true }).header.sub_opcode ?? -1));
    const lport = await new Promise<number>((r) => listener.bind(0, '127.0.0.1', () => r(listener.address().port)));
    const cfg = join(dir, 'announce.json');
    writeFileSync(cfg, JSON.stringify({ announce_targets: [`127.0.0.1:${lport}`] }));
    const s2 = await serve(state, port, ['--config', cfg]);
    expect(s2.stderr()).toMatch(/event=state_restored .*mode=teardown sessions=0 torn_down=5 .*torn_tail=1/);
    for (let i = 0; i < 50 && heard.length === 0; i++) await sleep(20);
    expect(heard).toContain(0x02);
    expect(loadStateFile(state)!.state.sessions).toEqual([]);
    expect(loadStateFile(state)!.state.retired!.sort()).toEqual(sids.sort());
    s2.proc.kill('SIGINT');
    await new Promise((r) => s2.proc.once('exit', r));
    listener.close();
  }, 60_000);

  it('the help says what --state keeps across a restart', () => {
    const r = vvmp(['serve', '--help']);
    expect(r.stdout).toMatch(/--state <file>\s+journal the sessions in this file; at a restart they are\s+torn down and a boot Announce says so/);
    expect(r.stdout).toMatch(/--keep-sessions\s+with --state: restore the sessions at a restart/);
  });
});
