// Output digests of the real command on fixed captures: the reference that
// keeps refactoring and speed work honest (issues "Performance" and "One field
// table": outputs byte-identical). `npx tsx test/golden/golden.ts --update`
// rewrites digests.json after a deliberate change of output.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCapture } from '../../bench/generate.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BIN = path.join(ROOT, 'bin/vvmp.js');
export const DIGESTS = path.join(HERE, 'digests.json');

/** The generated capture: bench/generate.ts's mix (UDP, TCP split across segments, timeouts, PENDING…), small. */
export const GENERATED_FRAMES = 30_000;

export const COMMANDS: readonly (readonly string[])[] = [
  ['read'],
  ['read', '-V'],
  ['read', '--json'],
  ['read', '-x'],
  ['stats'],
  ['stats', '--json'],
  ['stats', '--json', '-Y', 'vvmp.opcode == 2 || vvmp.reply == 1'],
  ['read', '-Y', 'vvmp.expert', '--json'],
  ['read', '-T', 'fields', '-e', 'frame.number', '-e', 'vvmp.opcode', '-e', 'vvmp.transaction_id', '-e', 'vvmp.client_id', '-e', 'vvmp.session'],
  ['read', '-T', 'ek'],
];

export function captures(tmp: string): string[] {
  const dir = path.join(ROOT, 'captures');
  const list = fs.readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)).sort().map((f) => path.join(dir, f));
  const gen = path.join(tmp, `generated-${GENERATED_FRAMES}.pcap`);
  if (!fs.existsSync(gen)) generateCapture({ frames: GENERATED_FRAMES, out: gen, seed: 1, clients: 500 });
  return [...list, gen];
}

export function key(file: string, args: readonly string[]): string {
  return `${path.basename(file)} :: ${args.join(' ')}`;
}

/** Runs in the capture's folder with its bare name: outputs that name the file stay the same wherever it lies. */
function digestOf(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createHash('sha256');
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.update(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      out.update(`\n--stderr--\n${err}\n--exit ${code}--\n`);
      resolve(out.digest('hex'));
    });
  });
}

/** Every (capture, command) digest, two commands at a time. */
export async function computeAll(tmp: string): Promise<Record<string, string>> {
  const jobs = captures(tmp).flatMap((file) => COMMANDS.map((args) => ({ file, args })));
  const result: Record<string, string> = {};
  let next = 0;
  async function worker(): Promise<void> {
    while (next < jobs.length) {
      const { file, args } = jobs[next++]!;
      const [cmd, ...rest] = args;
      result[key(file, args)] = await digestOf(path.dirname(file), [cmd!, path.basename(file), ...rest]);
    }
  }
  await Promise.all([worker(), worker()]);
  return Object.fromEntries(Object.entries(result).sort(([a], [b]) => a.localeCompare(b)));
}

if (process.argv[1] && import.meta.url === `file://${path.resolve(process.argv[1])}`) {
  if (!process.argv.includes('--update')) {
    process.stderr.write('usage: npx tsx test/golden/golden.ts --update   (rewrites test/golden/digests.json)\n');
    process.exit(2);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-golden-'));
  const all = await computeAll(tmp);
  fs.writeFileSync(DIGESTS, JSON.stringify(all, null, 2) + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`wrote ${Object.keys(all).length} digests to ${DIGESTS}\n`);
}
