// The same display filter selects the same frames in tshark with the
// generated Lua dissector (`tshark -2 -X lua_script:vvmp.lua -Y F`) and in
// `vvmp read -Y F`, on every capture in captures/: the capture packets of the
// frames each selects are equal. Header fields, flag bits, payload fields,
// expert infos, request/response links, response times and sessions, slices,
// contains, times and streams. `-2`: a request's response_in (and a session
// named only by its reply) is known only after its reply
// (src/dissector/luaExchanges.ts, luaSessions.ts).
//
// Frame numbers differ by design (tshark numbers packets, vvmp VVMP frames),
// so filters compare packets; filters on frame.* guard with `vvmp` because
// tshark also tests packets that carry no VVMP.

import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLuaDissector } from './compare.js';
import { BIN, ROOT } from '../helpers/cli.js';

const HAVE_TSHARK = !spawnSync('tshark', ['--version']).error;
const files = readdirSync(join(ROOT, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f));

// One or two filters of each kind (the suite's time is mostly tshark's start-up, one run a filter and capture).
export const FILTERS: readonly string[] = [
  // A present boolean matches even when false (Wireshark): both select every frame with an opcode.
  'vvmp.reply',
  'vvmp.reply == 1',
  'vvmp.checksum_ok == 0',
  'vvmp.client_id == 0x11 || vvmp.server_id == 0xaa',
  'vvmp.status != 0',
  // flag bits and payload fields
  'vvmp.alloc.flags.exclusive == 1',
  'vvmp.device.device_flags.broadcasts == 1',
  'vvmp.device.free_kb > 100000000',
  'vvmp.init.stripe_size == 65536',
  // expert infos
  'vvmp.expert.checksum_bad || vvmp.expert.subop_invalid',
  // request/response links and response times
  'vvmp.response_in',
  '!vvmp.response_in && vvmp.reply == 0',
  'vvmp.time > 0.0008',
  // sessions (a request's may come from its reply: -2)
  'vvmp.session == "0x00000000000000aa/1"',
  'vvmp.opcode == 0x0002 && !vvmp.session',
  // slices and contains on the frame bytes
  'vvmp[0:2] == 80:02',
  'vvmp[28:1] == 22',
  'vvmp[2:] contains 00:00:00:00:00:00:00:aa',
  'vvmp contains "\\x80\\x06"',
  'frame contains 1c:c9 && vvmp.reply == 1',
  // times and streams
  'vvmp && frame.time_relative >= 0.005 && frame.time_relative < 0.02',
  'vvmp && frame.time >= "Nov 24, 2026 21:13:17.25"',
  'vvmp.reply == 1 && frame.time_delta_displayed <= 0.001',
  'tcp.stream == 2 && vvmp',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Capture packets tshark selects with `filter`. */
async function tsharkPackets(file: string, lua: string, filter: string): Promise<number[]> {
  const r = await run('tshark', ['-2', '-r', file, '-X', `lua_script:${lua}`, '-Y', filter, '-T', 'fields', '-e', 'frame.number']);
  const err = r.stderr.split('\n').filter((l) => l.trim() && !/Running as user/.test(l)).join(' ');
  if (r.code !== 0 || err) throw new Error(`tshark -Y '${filter}': exit ${r.code} ${err}`);
  return [...new Set(r.stdout.split('\n').filter(Boolean).map(Number))].sort((a, b) => a - b);
}

/** Capture packets of the frames `vvmp read -Y filter` shows. */
async function vvmpPackets(file: string, filter: string): Promise<number[]> {
  const r = await run(process.execPath, [BIN, 'read', file, '--json', '-Y', filter]);
  if (r.code !== 0) throw new Error(`vvmp read -Y '${filter}': exit ${r.code} ${r.stderr}`);
  const packets = r.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { packet: number }).packet);
  return [...new Set(packets)].sort((a, b) => a - b);
}

/** Runs `jobs` two at a time (the machine is shared). */
async function pool<T>(jobs: (() => Promise<T>)[], width = 2): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}

describe('tshark with the generated dissector and vvmp read select the same frames', () => {
  if (!HAVE_TSHARK) {
    it.skip('tshark is not installed (scripts/setup.sh installs it)', () => undefined);
    return;
  }
  const lua = writeLuaDissector();
  for (const f of files) {
    it(f, async () => {
      const file = join(ROOT, 'captures', f);
      const results = await pool(FILTERS.map((flt) => async () => {
        const [t, v] = await Promise.all([tsharkPackets(file, lua, flt), vvmpPackets(file, flt)]);
        return { filter: flt, tshark: t, vvmp: v };
      }));
      const differ = results.filter((r) => r.tshark.join(',') !== r.vvmp.join(','));
      expect(differ).toEqual([]);
      // The filters are not vacuous: over captures/ most select something (checked per file loosely).
      expect(results.filter((r) => r.vvmp.length > 0).length).toBeGreaterThan(FILTERS.length / 3);
    }, 900_000);
  }
  it('cleans up', () => rmSync(dirname(lua), { recursive: true, force: true }));
});
