// Output digests on the bench captures: speed work must not change a byte.
//
//   npx tsx bench/verify.ts [--sizes 1m,10m] [--update]
//
// Runs each command once on bench/out/bench-<size>.pcap (generated as
// bench/run.ts does), hashes stdout + stderr + exit code while streaming and
// compares with bench/digests.json; --update records them (only after a
// deliberate change of output). Exit 3 when a digest differs.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCapture } from './generate.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(HERE, '../bin/vvmp.js');
const DIGESTS = path.join(HERE, 'digests.json');
const FRAMES: Readonly<Record<string, number>> = { '1m': 1_000_000, '10m': 10_000_000 };

const COMMANDS: readonly (readonly string[])[] = [
  ['read'],
  ['read', '--json'],
  ['read', '-T', 'fields', '-e', 'frame.number', '-e', 'vvmp.opcode', '-e', 'vvmp.transaction_id', '-e', 'vvmp.session'],
  ['stats', '--json'],
  ['stats'],
  ['stats', '--json', '-Y', 'vvmp.opcode == 2'],
];

function digest(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const h = createHash('sha256');
    let err = '';
    child.stdout.on('data', (d: Buffer) => h.update(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(h.update(`\n--stderr--\n${err}\n--exit ${code}--\n`).digest('hex')));
  });
}

const argv = process.argv.slice(2);
const update = argv.includes('--update');
const sizesArg = argv[argv.indexOf('--sizes') + 1];
const sizes = argv.includes('--sizes') && sizesArg ? sizesArg.split(',') : ['1m'];
const dir = process.env.VVMP_BENCH_DIR ?? path.join(HERE, 'out');
const stored = fs.existsSync(DIGESTS) ? (JSON.parse(fs.readFileSync(DIGESTS, 'utf8')) as Record<string, string>) : {};
let differ = 0;
for (const size of sizes) {
  const frames = FRAMES[size];
  if (frames === undefined) throw new Error(`unknown size ${size} (1m, 10m)`);
  const file = path.join(dir, `bench-${size}.pcap`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    process.stderr.write(`generating ${file}…\n`);
    generateCapture({ frames, out: `${file}.part`, seed: 1 });
    fs.renameSync(`${file}.part`, file);
  }
  for (const args of COMMANDS) {
    const [cmd, ...rest] = args;
    const key = `${size} :: ${args.join(' ')}`;
    const got = await digest(dir, [cmd!, path.basename(file), ...rest]);
    const want = stored[key];
    if (update) stored[key] = got;
    const verdict = update ? 'recorded' : want === undefined ? 'no reference' : want === got ? 'same' : 'DIFFERS';
    if (!update && want !== undefined && want !== got) differ++;
    process.stdout.write(`${verdict.padEnd(12)} ${key}\n`);
  }
}
if (update) fs.writeFileSync(DIGESTS, JSON.stringify(stored, null, 2) + '\n');
process.exit(differ ? 3 : 0);
