// `vvmp live`: REAL captures on `lo` with both backends (needs root, tcpdump, a loadable `cap`;
// each missing piece skips with the reason printed).
//
// The CLI's stderr protocol used here (documented in src/cli/live.ts):
//   `vvmp: capturing on lo (port P), backend B`   once the capture is open
//   `vvmp: N packets captured, …; F VVMP frames shown`   at the end

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import type { Packet } from '../../src/capture/packet.js';
import { encodeFrame } from '../../src/protocol/encode.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// ---- what this machine can do ----

function skipReasons(): { cap: string | null; tcpdump: string | null } {
  if (process.platform !== 'linux') return { cap: 'not Linux', tcpdump: 'not Linux' };
  if (process.getuid?.() !== 0) return { cap: 'not root (live capture needs CAP_NET_RAW)', tcpdump: 'not root' };
  const td = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
  const tcpdump = td.error ? 'tcpdump is not installed' : null;
  const c = spawnSync(process.execPath, ['-e', "require('cap')"], { cwd: ROOT, encoding: 'utf8' });
  const cap = c.status === 0 ? null : `the cap binding does not load: ${(c.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? c.status}`;
  return { cap, tcpdump };
}

const SKIP = skipReasons();
const HAVE_TSHARK = !spawnSync('tshark', ['--version']).error;

function cliPrefix(): string[] {
  return ['bin/vvmp.js'];
}

let PREFIX: string[] = [];
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-live-'));
const children = new Set<ChildProcess>();

beforeAll(() => {
  PREFIX = cliPrefix();
  for (const [b, why] of Object.entries(SKIP)) if (why) console.log(`live tests, backend ${b}: skipped (${why})`);
  if (!HAVE_TSHARK) console.log('live tests: tshark not installed, -w files are checked with readCaptureFile only');
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(TMP, { recursive: true, force: true });
});

// ---- running the command ----

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the ready line is on stderr; rejects if the process ends first. */
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runLive(args: string[]): Run {
  const child = spawn(process.execPath, [...PREFIX, 'live', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      if (/^vvmp: capturing on /m.test(err)) resolve();
    });
    void exit.then(() => reject(new Error(`vvmp live ended before it was ready: ${err}`)));
  });
  ready.catch(() => {});
  return { child, stdout: () => out, stderr: () => err, ready, exit };
}

async function runToEnd(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = runLive(args);
  const { code } = await r.exit;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- a VVMP peer on 127.0.0.1:P (UDP and TCP), answering Query requests ----

const CLIENT_ID = 0x11n;
const SERVER_ID = 0xaan;

function queryRequest(txid: number): Buffer {
  return encodeFrame({ opcode: 0x0001, sub_opcode: 0x02, client_id: CLIENT_ID, transaction_id: txid });
}

function queryReply(request: Buffer): Buffer {
  return encodeFrame({
    opcode: 0x8001, sub_opcode: 0x00, client_id: request.readBigUInt64BE(8), server_id: SERVER_ID,
    transaction_id: request.readUInt32BE(24), payload: { devices: [] },
  });
}

interface Peer {
  port: number;
  close(): Promise<void>;
}

/** A port free for both TCP and UDP on 127.0.0.1, with a replying server on each. */
async function startPeer(): Promise<Peer> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = net.createServer((sock) => {
      let acc = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        acc = Buffer.concat([acc, d]);
        while (acc.length >= 32) {
          const size = 32 + 4 * acc.readUInt16BE(29);
          if (acc.length < size) break;
          sock.write(queryReply(acc.subarray(0, size)));
          acc = acc.subarray(size);
        }
      });
      sock.on('error', () => {});
    });
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve((tcp.address() as net.AddressInfo).port));
    });
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) {
      tcp.close();
      continue;
    }
    udp.on('message', (m, rinfo) => udp.send(queryReply(m), rinfo.port, rinfo.address));
    return {
      port,
      close: async () => {
        await new Promise<void>((r) => udp.close(() => r()));
        await new Promise<void>((r) => tcp.close(() => r()));
      },
    };
  }
  throw new Error('no free port');
}

async function sendUdp(port: number, txids: number[]): Promise<void> {
  const c = dgram.createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
  let replies = 0;
  const done = new Promise<void>((r) => c.on('message', () => { if (++replies === txids.length) r(); }));
  for (const t of txids) {
    c.send(queryRequest(t), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  c.close();
}

async function sendTcp(port: number, txids: number[]): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => sock.once('connect', () => r()).once('error', j));
  let got = 0;
  const want = txids.length * 32;
  const done = new Promise<void>((r) => sock.on('data', (d: Buffer) => { got += d.length; if (got >= want) r(); }));
  for (const t of txids) {
    sock.write(queryRequest(t));
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  sock.end();
  await new Promise((r) => setTimeout(r, 20));
  sock.destroy();
}

// ---- checks on the output ----

interface FrameRecord {
  frame: number;
  packet: number;
  time: number;
  transport: string;
  src: string;
  dst: string;
  opcode: number;
  name: string;
  reply: boolean;
  status: string | null;
  client_id: string;
  server_id: string;
  transaction_id: number;
  checksum_ok: boolean;
  payload: unknown;
  expert: Array<{ code: string }>;
}

function ndjson(text: string): FrameRecord[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as FrameRecord);
}

function summary(stderr: string): { packets: number; frames: number; line: string } {
  const line = stderr.split('\n').find((l) => /^vvmp: \d+ packets captured, /.test(l));
  if (!line) throw new Error(`no summary line in stderr:\n${stderr}`);
  const m = /^vvmp: (\d+) packets captured, .*; (\d+) VVMP frames? shown$/.exec(line);
  if (!m) throw new Error(`summary line has an unexpected shape: ${line}`);
  return { packets: Number(m[1]), frames: Number(m[2]), line };
}

function readBack(file: string): { packets: Packet[]; damage: string | null; format: string } {
  const packets: Packet[] = [];
  const r = readCaptureFile(file, (p) => packets.push({ ...p, data: Buffer.from(p.data) }));
  return { packets, damage: r.damage, format: r.format };
}

function tsharkCount(file: string): number {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

// ---- the tests ----

const backends = [
  { backend: 'cap' as const, skip: SKIP.cap },
  { backend: 'tcpdump' as const, skip: SKIP.tcpdump },
];

describe.each(backends)('vvmp live, backend $backend', ({ backend, skip }) => {
  const maybe = skip ? it.skip : it;

  maybe('shows every UDP and TCP frame as NDJSON, saves every packet with -w, stops after -c N', async () => {
    const peer = await startPeer();
    const file = path.join(TMP, `frames-${backend}.pcapng`);
    try {
      const udpTx = [1, 2, 3];
      const tcpTx = [101, 102, 103];
      const n = 2 * (udpTx.length + tcpTx.length);
      const run = runLive(['-i', 'lo', '--no-default-port', '--port', String(peer.port), '--json', '-c', String(n), '-w', file, '--backend', backend]);
      await run.ready;
      expect(run.stderr()).toContain(`vvmp: capturing on lo (port ${peer.port}), backend ${backend}\n`);
      await sendUdp(peer.port, udpTx);
      await sendTcp(peer.port, tcpTx);
      const killer = setTimeout(() => run.child.kill('SIGKILL'), 15000);
      const { code } = await run.exit;
      clearTimeout(killer);
      expect(code, run.stderr()).toBe(0);

      const frames = ndjson(run.stdout());
      expect(frames.map((f) => f.frame)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const server = `127.0.0.1:${peer.port}`;
      for (const [transport, txids] of [['udp', udpTx], ['tcp', tcpTx]] as const) {
        for (const tx of txids) {
          const req = frames.find((f) => f.transport === transport && f.transaction_id === tx && !f.reply);
          const rep = frames.find((f) => f.transport === transport && f.transaction_id === tx && f.reply);
          expect(req, `${transport} request ${tx}`).toMatchObject({
            opcode: 1, name: 'Query', status: null, dst: server, client_id: '0x0000000000000011', checksum_ok: true, expert: [],
          });
          expect(rep, `${transport} reply ${tx}`).toMatchObject({
            opcode: 0x8001, name: 'Query', status: 'OK', src: server, server_id: '0x00000000000000aa',
            checksum_ok: true, payload: { devices: [] }, expert: [],
          });
          expect(rep!.packet).toBeGreaterThan(req!.packet);
          expect(rep!.time).toBeGreaterThanOrEqual(req!.time);
          expect(Math.abs(req!.time - Date.now() / 1000)).toBeLessThan(60);
        }
      }

      const s = summary(run.stderr());
      expect(s.frames).toBe(n);
      if (backend === 'tcpdump') expect(s.line).toMatch(/, \d+ dropped by kernel;/);
      else expect(s.line).toContain('drops: unknown with the cap backend (use --backend tcpdump for kernel drop counts)');

      // The -w file holds every captured packet, VVMP or not (TCP handshake included).
      const back = readBack(file);
      expect(back.format).toBe('pcapng');
      expect(back.damage).toBeNull();
      expect(back.packets.length).toBe(s.packets);
      expect(back.packets.length).toBeGreaterThanOrEqual(n + 3); // + SYN, SYN-ACK, ACK at least
      expect(new Set(back.packets.map((p) => p.linkType))).toEqual(new Set([1])); // lo: Ethernet
      expect(back.packets[0]!.tsDigits).toBe(backend === 'tcpdump' ? 9 : 6);
      for (const tx of udpTx) {
        const bytes = queryRequest(tx);
        expect(back.packets.some((p) => p.data.includes(bytes)), `request ${tx} saved`).toBe(true);
      }
      const maxFramePacket = Math.max(...frames.map((f) => f.packet));
      expect(back.packets.length).toBeGreaterThanOrEqual(maxFramePacket);
      if (HAVE_TSHARK) expect(tsharkCount(file)).toBe(back.packets.length);
    } finally {
      await peer.close();
    }
  });

  maybe('SIGINT mid-capture: clean stop, summary, exit 0, a complete -w file', async () => {
    const peer = await startPeer();
    const file = path.join(TMP, `sigint-${backend}.pcapng`);
    try {
      const run = runLive(['-i', 'lo', '--no-default-port', '--port', String(peer.port), '--json', '-w', file, '--backend', backend]);
      await run.ready;
      await sendUdp(peer.port, [1, 2, 3, 4, 5]);
      // Frames are printed as they settle, while the capture runs.
      await waitFor(() => ndjson(run.stdout()).length >= 10, 5000, '10 frames on stdout');
      expect(run.child.exitCode).toBeNull();
      run.child.kill('SIGINT');
      const { code } = await run.exit;
      expect(code, run.stderr()).toBe(0);
      const s = summary(run.stderr());
      expect(s.frames).toBe(10);
      const back = readBack(file);
      expect(back.damage).toBeNull();
      expect(back.packets.length).toBe(s.packets);
      expect(back.packets.length).toBeGreaterThanOrEqual(10);
      if (HAVE_TSHARK) expect(tsharkCount(file)).toBe(back.packets.length);
    } finally {
      await peer.close();
    }
  });

  maybe('a request with no reply is shown with its timeout during a quiet period', async () => {
    const peer = await startPeer();
    await peer.close(); // nobody answers on this port now
    const run = runLive(['-i', 'lo', '--no-default-port', '--port', String(peer.port), '--json', '-c', '1', '--backend', backend]);
    await run.ready;
    const sent = Date.now();
    const c = dgram.createSocket('udp4');
    await new Promise<void>((r) => c.send(queryRequest(77), peer.port, '127.0.0.1', () => r()));
    c.close();
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 15000);
    const { code } = await run.exit;
    clearTimeout(killer);
    expect(code, run.stderr()).toBe(0);
    const frames = ndjson(run.stdout());
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ transaction_id: 77, reply: false });
    expect(frames[0]!.expert.map((x) => x.code)).toContain('timeout');
    const waited = Date.now() - sent;
    expect(waited).toBeGreaterThanOrEqual(4900); // default timeout 5,000 ms of capture time
    expect(waited).toBeLessThan(9000);
  });

  maybe('--duration stops by itself', async () => {
    const r = await runToEnd(['-i', 'lo', '--no-default-port', '--port', '1', '--duration', '0.5', '--backend', backend]);
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r.stderr).frames).toBe(0);
  });

  maybe('no such interface: one line, exit 1', async () => {
    const r = await runToEnd(['-i', 'nosuch9', '--backend', backend]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('vvmp: no such interface "nosuch9" (vvmp live --list shows them)\n');
    expect(r.stdout).toBe('');
  });

  maybe('no permission (run as nobody): one line, exit 1', async (ctx) => {
    if (spawnSync('setpriv', ['--version']).error) return ctx.skip();
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, ...PREFIX,
      'live', '-i', 'lo', '--backend', backend], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
    if (/EACCES|permission denied, open/i.test(r.stderr) && !/^vvmp: capturing on/m.test(r.stderr)) return ctx.skip(); // nobody cannot read the tree
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^vvmp: capturing on lo needs root or CAP_NET_RAW \(run as root, or setcap [^\n]+\)\n$/);
  });

  maybe('bad capture filter: one line, exit 1', async () => {
    const r1 = await runToEnd(['-i', 'lo', '-f', 'port 1 and', '--backend', backend]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toBe('vvmp: capture filter "port 1 and": syntax error\n');
    const r2 = await runToEnd(['-i', 'lo', '-f', 'port x', '--backend', backend]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toBe('vvmp: capture filter "port x": unknown port \'x\'\n');
  });
});

describe('vvmp live, no capture needed', () => {
  it('--list shows lo with its address', async () => {
    const r = await runToEnd(['--list']);
    if (SKIP.cap && SKIP.tcpdump) return; // neither libpcap path works here
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lo\s+127\.0\.0\.1/m);
  });

  it('usage errors exit 2', async () => {
    const r = await runToEnd(['--backend', 'pcapy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--backend: "pcapy" is not one of cap, tcpdump');
    const r2 = await runToEnd(['-c', '0']);
    expect(r2.code).toBe(2);
  });

  it('an unwritable -w file: one line, exit 1, before capturing', async () => {
    const r = await runToEnd(['-w', path.join(TMP, 'no/such/dir/x.pcapng')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vvmp: .*x\.pcapng: cannot write \(no such file.*\)\n$/);
  });
});
