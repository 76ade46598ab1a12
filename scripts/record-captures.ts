// Re-records the sample captures in captures/ (npm run captures; root + tcpdump):
// real servers and clients on loopback addresses, recorded by tcpdump on lo.
// Every server listens on port 7369 (distinct 127.0.0.x addresses), so the
// captures decode without --port.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../src/capture/file.js';
import { PcapngWriter, fileSink } from '../src/capture/writer.js';
import { defaultServerConfig } from '../src/traffic/config.js';
import { startServer, type VvmpServer } from '../src/traffic/server.js';
import { runScenario, startSilentPeer } from '../src/traffic/scenarios.js';
import { VvmpConnection } from '../src/traffic/transport.js';
import { allocate, free, initialize, modify, query, stats } from '../src/traffic/client.js';
import { encodeFrame } from '../src/protocol/encode.js';
import { OP_QUERY } from '../src/protocol/fields.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'captures');
const PORT = 7369;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records `body` with tcpdump; a recording that lost packets is done again (a busy machine can drop). */
async function withTcpdump(file: string, body: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const dropped = await recordOnce(file, body);
    if (dropped === 0) break;
    if (attempt === 5) throw new Error(`${file}: tcpdump dropped ${dropped} packets in every attempt`);
    console.log(`${file}: tcpdump dropped ${dropped} packets; recording again`);
  }
}

async function recordOnce(file: string, body: () => Promise<void>): Promise<number> {
  const tmp = `${file}.tmp.pcap`;
  const dump: ChildProcess = spawn('tcpdump', ['-i', 'lo', '-U', '--immediate-mode', '-B', '65536', '-s', '0', '-w', tmp, `port ${PORT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    dump.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    dump.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err.trim()}`)));
  });
  try {
    await body();
    await sleep(300);
  } finally {
    const exited = new Promise((r) => dump.once('exit', r));
    dump.kill('SIGINT');
    await exited;
  }
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(err)?.[1] ?? 0);
  if (dropped > 0) {
    rmSync(tmp);
    return dropped;
  }
  if (file.endsWith('.pcapng')) {
    toPcapng(tmp, file, `Recorded by tcpdump on lo by vvmp's scripts/record-captures.ts; converted to pcapng.`);
    rmSync(tmp);
  } else {
    renameSync(tmp, file);
  }
  console.log(`recorded ${file}`);
  return 0;
}

function toPcapng(input: string, output: string, comment: string): void {
  const sink = fileSink(output);
  const w = new PcapngWriter(sink, { userAppl: 'vvmp record-captures', comment });
  let ifId = -1;
  readCaptureFile(input, (p) => {
    if (ifId < 0) ifId = w.addInterface(p.linkType, { name: 'lo', tsDigits: p.tsDigits });
    w.writePacket(ifId, p.tsSec, p.tsNsec, p.data, p.origLen);
  });
  sink.close();
}

async function server(host: string, san = 1): Promise<VvmpServer> {
  const config = defaultServerConfig();
  config.san_id = san;
  return startServer({ host, port: PORT, config });
}

/** A request whose checksum the client's encoder corrupts on purpose, sent over a real socket. */
async function badChecksum(target: string, txid: number, client: bigint, transport: 'tcp' | 'udp'): Promise<void> {
  const [host, port] = target.split(':');
  const c = await VvmpConnection.connect({ host: host!, port: Number(port), transport });
  try {
    const bytes = encodeFrame({ opcode: OP_QUERY, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: client, transaction_id: txid, corruptChecksum: true });
    await c.requestBytes(bytes, { timeoutMs: 2000 }).catch(() => undefined);
  } finally {
    await c.close();
  }
}

/** A UDP Query to a manager that never answers: the capture shows a timeout once 5 s have passed. */
async function unanswered(host: string, client: bigint): Promise<void> {
  const c = await VvmpConnection.connect({ host, port: PORT, transport: 'udp' });
  try {
    await c.request({ opcode: OP_QUERY, sub_opcode: 0xff, src_san: 1, dst_san: 0xffffff, client_id: client, transaction_id: 9 }, { timeoutMs: 300 }).catch(() => undefined);
  } finally {
    await c.close();
  }
}

/** Moves capture time past every outstanding deadline with one last answered Query. */
async function closingQuery(target: string, waitMs: number): Promise<void> {
  await sleep(waitMs);
  await query({ target, transport: 'udp', clientId: 0x99n });
}

async function lifecycleOf(target: string, clientId: bigint, transport: 'tcp' | 'udp', type: string): Promise<void> {
  const o = { target, transport, clientId };
  const a = await allocate({ ...o, type, access: 'any', capacity: '8GiB', bandwidth: '20MiB/s', qos: 'gold', mode: 'expand' });
  const sid = Number(a.reply.payload && 'session_id' in a.reply.payload ? a.reply.payload.session_id : 0);
  if (!a.ok || !sid) return;
  await initialize({ ...o, session: sid, stripe: '64KiB', blockSize: '4KiB' });
  await modify({ ...o, session: sid, capacity: '12GiB', bandwidth: '20MiB/s', qos: 'gold', type, access: 'any' });
  await sleep(30);
  await stats({ ...o, session: sid });
  await free({ ...o, session: sid, release: '4GiB' });
  await free({ ...o, session: sid });
}

async function demo(): Promise<void> {
  const main = await server('127.0.0.1');
  const silent = await startSilentPeer(PORT, '127.0.0.9');
  try {
    await withTcpdump(join(OUT, 'demo.pcapng'), async () => {
      const target = `127.0.0.1:${PORT}`;
      await query({ target, clientId: 0x11n });
      // Several clients at once, over TCP and UDP, each through a whole session.
      await Promise.all([
        lifecycleOf(target, 0x11n, 'tcp', 'raid5'),
        lifecycleOf(target, 0x22n, 'tcp', 'raid0'),
        lifecycleOf(target, 0x33n, 'udp', 'any'),
      ]);
      // A session left open, and exclusive contention with WAIT/PENDING.
      await allocate({ target, clientId: 0x44n, type: 'raid5', capacity: '2GiB', bandwidth: '10MiB/s', qos: 'silver' });
      await runScenario('contention', { target });
      // A cross-SAN allocation through three managers on 127.0.0.2-4.
      await runScenario('multi-san', { ports: [PORT, PORT, PORT], hosts: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] });
      // Checksum errors from the client's encoder, over TCP and UDP.
      await badChecksum(target, 501, 0x55n, 'tcp');
      await badChecksum(target, 502, 0x55n, 'udp');
      await badChecksum(target, 503, 0x56n, 'udp');
      // A request nobody answers.
      await unanswered('127.0.0.9', 0x66n);
      await closingQuery(target, 5200);
    });
  } finally {
    await silent.close();
    await main.close();
  }
}

async function lifecycle(): Promise<void> {
  const main = await server('127.0.0.1');
  try {
    await withTcpdump(join(OUT, 'lifecycle.pcap'), async () => {
      await runScenario('lifecycle', { target: `127.0.0.1:${PORT}` });
      await runScenario('lifecycle', { target: `127.0.0.1:${PORT}`, transport: 'udp', clientId: 0x12n });
    });
  } finally {
    await main.close();
  }
}

async function multiSan(): Promise<void> {
  await withTcpdump(join(OUT, 'multi-san.pcapng'), async () => {
    await runScenario('multi-san', { ports: [PORT, PORT, PORT], hosts: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] });
  });
}

async function errors(): Promise<void> {
  const main = await server('127.0.0.1');
  try {
    await withTcpdump(join(OUT, 'errors.pcap'), async () => {
      const target = `127.0.0.1:${PORT}`;
      await runScenario('errors', { target, ports: [PORT, PORT], hosts: ['127.0.0.6', '127.0.0.7'] });
      await closingQuery(target, 5200);
    });
  } finally {
    await main.close();
  }
}

async function contention(): Promise<void> {
  const main = await server('127.0.0.1');
  try {
    await withTcpdump(join(OUT, 'contention.pcap'), async () => {
      await runScenario('contention', { target: `127.0.0.1:${PORT}` });
      // Statistics on a session that does not exist, for the record.
      await stats({ target: `127.0.0.1:${PORT}`, session: 999 }).catch(() => undefined);
    });
  } finally {
    await main.close();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('record-captures: needs root (tcpdump on lo)');
    process.exit(1);
  }
  mkdirSync(OUT, { recursive: true });
  const only = process.argv.slice(2);
  const all: Record<string, () => Promise<void>> = { demo, lifecycle, 'multi-san': multiSan, errors, contention };
  for (const [name, fn] of Object.entries(all)) {
    if (only.length && !only.includes(name)) continue;
    await fn();
  }
}

await main();
