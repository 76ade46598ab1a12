// Live-capture loss benchmark (root, tcpdump): `vvmp live -w` beside a reference tcpdump on lo,
// a paced UDP sender on a port of its own, then both files compared packet by packet.
//
//   npx tsx bench/live.ts [--rate 20000] [--seconds 10] [--backend tcpdump|cap|default]
//
// Prints one line per run: sent, what the reference tcpdump saved, what vvmp saved, what vvmp
// reported as dropped, and the packets the reference has that vvmp lacks.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, freeUdpPort, sequences, startReference, startSender } from '../test/capture/liveLoss.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const rate = Number(arg('rate', '20000'));
const seconds = Number(arg('seconds', '10'));
const backend = arg('backend', 'default');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-bench-live-'));
  const port = await freeUdpPort();
  const ref = path.join(dir, 'ref.pcap');
  const out = path.join(dir, 'out.pcapng');
  const reference = await startReference(port, ref);
  const args = ['bench/launch.mjs', 'bin/vvmp.js', 'live', '-i', 'lo', '-f', `udp port ${port}`, '-w', out];
  if (backend !== 'default') args.push('--backend', backend);
  const live = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
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
  const { sent, seconds: took } = await startSender(port, rate, seconds).done;
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
    `rate ${rate}/s for ${seconds} s (sent ${sent} in ${took.toFixed(2)} s, ${Math.round(sent / took)}/s), backend ${used}: ` +
    `reference tcpdump saved ${want.size}, vvmp saved ${got.size} (${summary}); missing from vvmp vs reference: ${lacking}; ` +
    `vvmp CPU ${cpu.toFixed(2)} s (${((cpu / sent) * 1e6).toFixed(1)} µs/packet), peak RSS ${Math.round((u.maxRSS ?? 0) / 1024)} MB\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

await main();
