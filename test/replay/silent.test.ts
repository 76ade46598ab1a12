// A target that never answers (issue #18): replay checks it with a baseline exchange first and
// whenever it falls silent during the run; silence is an error (exit 1, one line, bounded time),
// not a list of missing replies. Real sockets on 127.0.0.1, the real command.

import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { OP_QUERY, REPLY_BIT } from '../../src/protocol/fields.js';
import { FrameReader } from '../../src/traffic/transport.js';
import { ReplayAbort, replayFile } from '../../src/traffic/replay/index.js';
import { buildFixtures, type Fixtures } from './fixtures.js';
import { cli, freshServer, tempDir } from './helpers.js';

let fx: Fixtures;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  fx = await buildFixtures(tempDir());
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** Accepts TCP connections, reads everything, answers nothing. */
async function silentTcp(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.resume();
    s.on('error', () => {});
  });
  cleanups.push(() => { for (const s of sockets) s.destroy(); });
  return listen(server);
}

/** A bound UDP socket that reads every datagram and drops it. */
async function silentUdp(): Promise<number> {
  const u = dgram.createSocket('udp4');
  u.on('message', () => {});
  await new Promise<void>((r) => u.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => u.close(() => r())));
  return u.address().port;
}

/** Answers Query (the baseline) with an empty device list; ignores every other request. */
async function queryOnlyTcp(): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    const reader = new FrameReader({
      maxPayload: 65536,
      onFrame: (b) => {
        const f = decodeFrame(b);
        if (f.header.opcode !== OP_QUERY) return;
        s.write(encodeFrame({
          opcode: OP_QUERY | REPLY_BIT, sub_opcode: 0, client_id: f.header.client_id ?? undefined, server_id: 0xaan,
          transaction_id: f.header.transaction_id ?? undefined, payload: { devices: [] },
        }));
      },
    });
    s.on('data', (d: Buffer) => reader.push(d));
  });
  return listen(server);
}

/**
 * A proxy to a real server that forwards the first `frames` requests it is sent (over all its
 * connections), then swallows everything: a server that stops answering mid-run.
 */
async function failingProxy(upstreamPort: number, frames: number): Promise<number> {
  let forwarded = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(up);
    client.on('error', () => {});
    up.on('error', () => {});
    up.on('data', (d: Buffer) => client.write(d));
    const reader = new FrameReader({
      maxPayload: 65536,
      onFrame: (b) => {
        if (forwarded >= frames) return;
        forwarded++;
        up.write(Buffer.from(b));
      },
    });
    client.on('data', (d: Buffer) => reader.push(d));
  });
  cleanups.push(() => { for (const s of sockets) s.destroy(); });
  return listen(server);
}

describe('a target that never answers', () => {
  it('TCP, accepts and never answers: "no VVMP reply from HOST:PORT in N s", exit 1, in about N s', async () => {
    const port = await silentTcp();
    const r = await cli(['replay', fx.lifecycleTcp, '--target', `127.0.0.1:${port}`, '--timeout', '500']);
    expect(r.stderr).toBe(`vvmp: no VVMP reply from 127.0.0.1:${port} in 0.5 s (tcp)\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.ms).toBeLessThan(5000); // 5 requests × 0.5 s would be 2.5 s of timeouts and more
  });

  it('TCP with the default timeout: bounded by it (5 s), not by the capture', async () => {
    const port = await silentTcp();
    const r = await cli(['replay', fx.lifecycleTcp, '--target', `127.0.0.1:${port}`, '--json']);
    expect(r.stderr).toBe(`vvmp: no VVMP reply from 127.0.0.1:${port} in 5 s (tcp)\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.ms).toBeLessThan(12_000);
  }, 30_000);

  it('UDP, every datagram dropped: the same line naming udp, exit 1', async () => {
    const port = await silentUdp();
    const r = await cli(['replay', fx.lifecycleUdp, '--target', `127.0.0.1:${port}`, '--timeout', '500', '--json']);
    expect(r.stderr).toBe(`vvmp: no VVMP reply from 127.0.0.1:${port} in 0.5 s (udp)\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('the API: replayFile rejects with ReplayAbort', async () => {
    const port = await silentTcp();
    const run = replayFile(fx.lifecycleTcp, { target: `127.0.0.1:${port}`, topspeed: true, timeoutMs: 300 });
    await expect(run).rejects.toThrow(ReplayAbort);
    await expect(run).rejects.toThrow(`no VVMP reply from 127.0.0.1:${port} in 0.3 s (tcp)`);
  });

  it('stops answering during the run: noticed, exit 1, says after how many replies', async () => {
    const srv = await freshServer();
    cleanups.push(() => srv.close());
    // The baseline Query and the first two requests (Allocate, Initialize) get through.
    const port = await failingProxy(srv.tcpPort, 3);
    const r = await cli(['replay', fx.lifecycleTcp, '--target', `127.0.0.1:${port}`, '--topspeed', '--timeout', '400']);
    expect(r.stderr).toBe(`vvmp: no VVMP reply from 127.0.0.1:${port} in 0.4 s (tcp; it stopped answering after 2 replies)\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('a target that answers the baseline but not one request: that reply is missing (a finding, exit 3)', async () => {
    const port = await queryOnlyTcp();
    const r = await cli(['replay', fx.lifecycleTcp, '--target', `127.0.0.1:${port}`, '--topspeed', '--timeout', '200', '--json', '-Y', 'vvmp.name == Allocate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('{"sent":1,"replies":0,"matched":0,"missing":1,"extra":0,"differences":[]}\n');
  });
});
