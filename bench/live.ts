// Live-capture loss benchmark (root, tcpdump): `vvmp live -w` beside a reference tcpdump on lo,
// a paced UDP sender on a port of its own, then both files compared packet by packet.
//
//   npx tsx bench/live.ts [--rate 20000] [--seconds 10] [--backend tcpdump|cap|default] [--sender tcpreplay|node] [--buffer-size MiB]
//
// Senders: `tcpreplay` (default when installed: C, paced by --pps, replays a generated capture of the
// numbered packets onto lo from memory, so the offered rate holds on a loaded machine) or `node`
// (test/capture/udpSender.mjs, what the tests use; on a busy 2-core machine it falls short of 20,000/s).
// VVMP_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof-live" runs `vvmp live` under the profiler.
// Both send the same packets: UDP to the port, payload 'VVLT' + u32 sequence number + zeros (64 bytes).
//
// Prints one line per run: sent, what the reference tcpdump saved, what vvmp saved, what vvmp
// reported as dropped, and the packets the reference has that vvmp lacks.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PcapWriter, fileSink } from '../src/capture/writer.js';
import { ROOT, freeUdpPort, sequences, startReference, startSender } from '../test/capture/liveLoss.js';
import { ip4, udpPacket } from './packets.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const rate = Number(arg('rate', '20000'));
const seconds = Number(arg('seconds', '10'));
const backend = arg('backend', 'default');
const bufferMiB = arg('buffer-size', '');
const hasTcpreplay = !spawnSync('tcpreplay', ['--version']).error;
const sender = arg('sender', hasTcpreplay ? 'tcpreplay' : 'node');
if (sender === 'tcpreplay' && !hasTcpreplay) {
  process.stderr.write('bench/live.ts: --sender tcpreplay needs tcpreplay (apt-get install tcpreplay)\n');
  process.exit(2);
}

/** The sender's packets as a capture: RATE × SECONDS numbered UDP packets to 127.0.0.1:PORT. */
function writeNumbered(file: string, port: number, count: number): void {
  const sink = fileSink(file);
  const w = new PcapWriter(sink);
  const src = { ip: ip4('127.0.0.1'), port: port === 40000 ? 40001 : 40000 };
  const dst = { ip: ip4('127.0.0.1'), port };
  const payload = Buffer.alloc(64);
  payload.write('VVLT', 0, 'latin1');
  for (let i = 0; i < count; i++) {
    payload.writeUInt32BE(i, 4);
    w.writePacket(0, 0, udpPacket(src, dst, payload, i));
  }
  sink.close();
}

/** tcpreplay at `rate` packets/s onto lo, from memory (-K); resolves with what it says it sent. */
async function replay(file: string, rate: number): Promise<{ sent: number; seconds: number }> {
  const child = spawn('tcpreplay', ['-i', 'lo', '-K', `--pps=${rate}`, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  // "Actual: 200000 packets (21200000 bytes) sent in 10.00 seconds" and "Failed packets:  0"
  const m = /Actual: (\d+) packets \(\d+ bytes\) sent in ([\d.]+) seconds/.exec(out);
  const failed = Number(/Failed packets:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (code !== 0 || !m) throw new Error(`tcpreplay failed (exit ${code}): ${out.trim().split('\n').slice(-3).join(' / ')}`);
  return { sent: Number(m[1]) - failed, seconds: Number(m[2]) };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-bench-live-'));
  const port = await freeUdpPort();
  const ref = path.join(dir, 'ref.pcap');
  const out = path.join(dir, 'out.pcapng');
  const packets = path.join(dir, 'send.pcap');
  if (sender === 'tcpreplay') writeNumbered(packets, port, Math.round(rate * seconds));
  const reference = await startReference(port, ref);
  const args = ['bench/launch.mjs', 'bin/vvmp.js', 'live', '-i', 'lo', '-f', `udp port ${port}`, '-w', out];
  if (backend !== 'default') args.push('--backend', backend);
  if (bufferMiB !== '') args.push('-B', bufferMiB);
  const nodeArgs = (process.env['VVMP_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const live = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let err = '';
  let usage = '';
  live.stdio[3]!.on('data', (d) => (usage += d));
  await new Promise<void>((resolve, reject) => {
    live.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      if (/capturing on/.test(err)) resolve();
    });
    live.on('close', () => reject(new Error(err)));
  });
  const { sent, seconds: took } = sender === 'tcpreplay' ? await replay(packets, rate) : await startSender(port, rate, seconds).done;
  await new Promise((r) => setTimeout(r, 500));
  live.kill('SIGINT');
  await new Promise((r) => live.on('close', r));
  const u = JSON.parse(usage || '{}') as { user?: number; system?: number; maxRSS?: number };
  const cpu = ((u.user ?? 0) + (u.system ?? 0)) / 1e6;
  await reference.stop();
  const got = sequences(out);
  const want = sequences(ref);
  const lacking = [...want.keys()].filter((s) => !got.has(s)).length;
  const summary = /^vvmp: \d+ packets captured, ([^;]*);/m.exec(err)?.[1] ?? '?';
  const used = /backend (\w+)/.exec(err)?.[1] ?? backend;
  process.stdout.write(
    `rate ${rate}/s for ${seconds} s (${sender} sent ${sent} in ${took.toFixed(2)} s, ${Math.round(sent / took)}/s), backend ${used}: ` +
    `reference tcpdump saved ${want.size}, vvmp saved ${got.size} (${summary}); missing from vvmp vs reference: ${lacking}; ` +
    `vvmp CPU ${cpu.toFixed(2)} s (${((cpu / sent) * 1e6).toFixed(1)} µs/packet), peak RSS ${Math.round((u.maxRSS ?? 0) / 1024)} MB\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

await main();
