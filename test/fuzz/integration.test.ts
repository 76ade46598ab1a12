// The fuzzer against real servers on 127.0.0.1: the buggy server (every
// planted bug found, each with a working --reproduce), the reference server
// (no failure, every case run over TCP), and the command line's exit codes.
// Speed is the bench's (`fuzz`, `fuzz-crash-prone` rows), not a test's.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFrames } from '../../src/cli/fuzz.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { HEADER_SIZE } from '../../src/protocol/fields.js';
import { FrameReader } from '../../src/traffic/transport.js';
import { defaultServerConfig } from '../../src/traffic/config.js';
import { startServer, type VvmpServer } from '../../src/traffic/server.js';
import type { TranscriptEvent } from '../../src/traffic/fuzz/exec.js';
import { OFF, build, templateByName } from '../../src/traffic/fuzz/frames.js';
import { writeExchangePcapng } from '../../src/traffic/fuzz/pcap.js';
import { freePort } from '../helpers/ports.js';

const ENTRY = 'bin/vvmp.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`vvmp ${args.join(' ')} took over ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port free for both TCP and UDP on 127.0.0.1. */

const buggy = (port: number, bugs = 'all') =>
  `ulimit -c 0; exec node test/fixtures/buggy-server/run.mjs --port ${port} --bugs ${bugs}`;

interface FailureJson {
  id: string;
  oracle: string;
  strategy: string;
  detail: string;
  case: string;
}

interface CaseFile {
  strategy: string;
  steps: Array<{ frame: string; transport: string }>;
}

function caseOf(f: FailureJson): CaseFile {
  return JSON.parse(readFileSync(join(f.case, 'case.json'), 'utf8')) as CaseFile;
}

function stderrOf(f: FailureJson): string {
  return (JSON.parse(readFileSync(join(f.case, 'verdict.json'), 'utf8')) as { stderr_tail: string[] }).stderr_tail.join('\n');
}

describe('vvmp fuzz against the buggy server: one 120 s run finds every bug once', () => {
  let out: string;
  let result: Run;
  let json: { seed: number; cases: number; failures: FailureJson[]; by_oracle: Record<string, number> } & Record<string, unknown>;
  const found = new Map<number, FailureJson>();

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-buggy-'));
    const port = await freePort();
    result = await cli(['fuzz', '--spawn', buggy(port), '--target', `127.0.0.1:${port}`, '--seed', '1', '--duration', '120',
      '--out', out, '--json', '--quiet'], 240_000);
    json = JSON.parse(result.stdout);
  }, 250_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints OUTPUT.md\'s object (one failure per bug) and exits 3', () => {
    expect(result.code, result.stderr).toBe(3);
    expect(Object.keys(json)).toEqual(['seed', 'cases', 'duration_s', 'cases_per_s', 'by_oracle', 'failures']);
    expect(Object.keys(json.by_oracle)).toEqual(['crash', 'hang', 'reset', 'wrong_reply', 'malformed_ok', 'health', 'memory']);
    expect(json.seed).toBe(1);
    for (const f of json.failures) {
      expect(Object.keys(f)).toEqual(['id', 'oracle', 'strategy', 'detail', 'case']);
      expect(f.case).toBe(join(out, f.id));
      for (const file of ['case.json', 'verdict.json', 'exchange.pcapng']) expect(existsSync(join(f.case, file)), `${f.id}/${file}`).toBe(true);
    }
    const counts: Record<string, number> = {};
    for (const f of json.failures) counts[f.oracle] = (counts[f.oracle] ?? 0) + 1;
    for (const [o, n] of Object.entries(json.by_oracle)) expect(n).toBe(counts[o] ?? 0);
    // the state model and the case log are in the output directory
    for (const file of ['state-model.dot', 'state-model.json', 'cases.ndjson']) expect(existsSync(join(out, file)), file).toBe(true);
  });

  it('finds every planted bug, each reported once', () => {
    const fs = json.failures;
    const frames = (f: FailureJson) => caseOf(f).steps.map((s) => Buffer.from(s.frame, 'hex'));
    const cause = (f: FailureJson) => (JSON.parse(readFileSync(join(f.case, 'verdict.json'), 'utf8')) as { cause: string }).cause;
    const bugs: Array<[number, (f: FailureJson) => boolean]> = [
      // (1) TCP length ≥ 0x8000 → abort
      [1, (f) => f.oracle === 'crash' && /SIGABRT/.test(f.detail)],
      // (2) Query sub-op 0x7F → that connection hangs
      [2, (f) => f.oracle === 'hang' && /per-connection/.test(cause(f)) && frames(f).some((b) => b.readUInt16BE(OFF.opcode) === 1 && b[OFF.sub] === 0x7f)],
      // (3) Statistics with a bad checksum → OK
      [3, (f) => f.oracle === 'malformed_ok' && /^Statistics .*checksum_bad/.test(f.detail)],
      // (4) Announce with a payload not of whole records → exit code 1
      [4, (f) => f.oracle === 'crash' && /code 1\b/.test(f.detail) && /device record/.test(stderrOf(f))],
      // (5) double Free leaks → memory
      [5, (f) => f.oracle === 'memory' && f.strategy === 'stateful:double-free'],
      // (6) Modify right after Free → SIGSEGV
      [6, (f) => f.oracle === 'crash' && /SIGSEGV/.test(f.detail)],
      // (7) Initialize with a 20-byte payload poisons Query → health
      [7, (f) => f.oracle === 'health'],
      // (8) any other bad checksum answered with client_id 0 (the masking bug)
      [8, (f) => f.oracle === 'wrong_reply' && /wrong client_id/.test(cause(f))],
      // (9) dst_san with its top bit set → exit code 70 (crash-prone)
      [9, (f) => f.oracle === 'crash' && /code 70/.test(f.detail)],
      // (10) Statistics after another client's Free → 16 MiB kept (leak on a crash-prone target)
      [10, (f) => f.oracle === 'memory' && f.strategy !== 'stateful:double-free'],
      // (11) transaction_id 0xFFFFFFFF answered with 0 (a wrong reply on one rare value)
      [11, (f) => f.oracle === 'wrong_reply' && /wrong transaction_id/.test(cause(f))],
      // (12) Modify with timeout_ms = max → the whole server spins
      [12, (f) => f.oracle === 'hang' && /whole server/.test(cause(f))],
    ];
    const summary = JSON.stringify(fs.map((x) => [x.id, x.oracle, x.strategy, x.detail]));
    for (const [n, is] of bugs) {
      const hits = fs.filter(is);
      expect(hits.length, `bug ${n}: ${hits.length} reports in ${summary}`).toBe(1);
      found.set(n, hits[0]!);
    }
    expect(fs.length, summary).toBe(bugs.length);
  });

  it('each bug reproduces with `vvmp fuzz --reproduce DIR` alone (the case names its target and --spawn command)', async () => {
    for (const [bug, f] of found) {
      const r = await cli(['fuzz', '--reproduce', f.case, '--json', '--quiet'], 90_000);
      expect(r.code, `bug ${bug} (${f.id} ${f.oracle} ${f.strategy}): ${r.stdout}${r.stderr}`).toBe(3);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ expected: f.oracle, oracle: f.oracle, reproduced: true });
    }
  }, 600_000);

  it('a bug does not reproduce where it was not planted (exit 0)', async () => {
    const f = found.get(6)!;
    const port = await freePort();
    const r = await cli(['fuzz', '--reproduce', f.case, '--spawn', buggy(port, '1,2,3'), '--target', `127.0.0.1:${port}`, '--quiet'], 60_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 70_000);
});

describe('vvmp fuzz against the reference server', () => {
  let server: VvmpServer;
  let out: string;
  beforeAll(async () => {
    server = await startServer({ port: 0, config: defaultServerConfig() });
    out = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-ref-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('finds nothing wrong (in-process reference server, TCP and UDP)', async () => {
    const r = await cli(['fuzz', '--target', `127.0.0.1:${server.tcpPort}`, '--seed', '1', '--cases', '3000', '--out', out, '--json', '--quiet']);
    const j = JSON.parse(r.stdout);
    expect(j.failures, r.stderr).toEqual([]);
    expect(r.code).toBe(0);
  }, 120_000);

  it('runs every case over TCP, pipelined where the oracle allows, with no failure (its speed is the bench\'s `fuzz` row)', async () => {
    // its own directory: the case log is appended to
    const own = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-tcp-'));
    const r = await cli(['fuzz', '--target', `127.0.0.1:${server.tcpPort}`, '--seed', '2', '--cases', '10000', '--transport', 'tcp', '--out', own, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.failures, r.stderr).toEqual([]);
    expect(j.cases).toBe(10000);
    expect(Object.values(j.by_oracle).every((n) => n === 0)).toBe(true);
    // every case is in the log, each over TCP only
    const lines = readFileSync(join(own, 'cases.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { case: number; transports: string[] });
    rmSync(own, { recursive: true, force: true });
    expect(lines.length).toBe(10000);
    expect(lines.map((l) => l.case)).toEqual(Array.from({ length: 10000 }, (_, i) => i + 1));
    expect(lines.every((l) => l.transports.every((t) => t === 'tcp'))).toBe(true);
  }, 120_000);

  it('finds nothing wrong with `vvmp serve` spawned either (crash and memory oracles armed)', async () => {
    const port = await freePort();
    const r = await cli(['fuzz', '--spawn', `node bin/vvmp.js serve --port ${port} --quiet`, '--target', `127.0.0.1:${port}`, '--seed', '3', '--cases', '3000',
      '--out', out, '--json', '--quiet']);
    const j = JSON.parse(r.stdout);
    expect(j.failures, r.stderr).toEqual([]);
    expect(r.code).toBe(0);
  }, 120_000);

  it('mutates frames from a seed capture', async () => {
    const t = 1_700_000_000_000;
    const frames = [build(templateByName('Allocate'), { transaction_id: 11 }), build(templateByName('Query'), { transaction_id: 12 })];
    const events: TranscriptEvent[] = [{ t, conn: 0, transport: 'tcp', type: 'open' }, ...frames.map((b, i) => ({ t: t + i + 1, conn: 0, transport: 'tcp' as const, type: 'out' as const, bytes: b }))];
    const cap = join(out, 'seeds.pcapng');
    writeExchangePcapng(cap, events, 'test');
    expect(seedFrames(cap, 7369).map((b) => b.toString('hex'))).toEqual(frames.map((b) => b.toString('hex')));
    const r = await cli(['fuzz', '--target', `127.0.0.1:${server.tcpPort}`, '--seed', '4', '--cases', '1500', '--seed-capture', cap, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no failures/);
  }, 120_000);
});

/**
 * A server that lies in ways the planted bugs do not: it answers Allocate
 * with the wrong transaction id and drops the TCP connection on a Free with a
 * bad checksum; everything else gets a proper non-OK answer (Query: OK).
 */
async function liar(): Promise<{ port: number; close(): Promise<void> }> {
  const port = await freePort();
  const answer = (f: ReturnType<typeof decodeFrame>, udp = false): Buffer | 'drop' | null => {
    const h = f.header;
    if (h.opcode === null || f.bytes.length < HEADER_SIZE || (h.opcode & 0x8000) !== 0 || h.opcode === 7) return null;
    // a TCP connection is dropped; UDP has none, so the datagram gets the ordinary answer (silence would be a hang)
    if (h.opcode === 4 && !f.checksumOk && !udp) return 'drop';
    const query = h.opcode === 1 && f.checksumOk && f.complete && f.findings.length === 0;
    return encodeFrame({
      opcode: h.opcode | 0x8000, client_id: h.client_id!, server_id: 0x51n,
      transaction_id: h.opcode === 2 ? (h.transaction_id! + 1) >>> 0 : h.transaction_id!,
      sub_opcode: query ? 0 : 0x30, payload: query ? { devices: [] } : null,
    });
  };
  const tcp = net.createServer((sock) => {
    sock.on('error', () => undefined);
    const reader = new FrameReader({
      onFrame: (b) => {
        const r = answer(decodeFrame(Buffer.from(b)));
        if (r === 'drop') sock.destroy();
        else if (r) sock.write(r);
      },
      onOversize: () => sock.destroy(),
    });
    sock.on('data', (c: Buffer) => reader.push(c));
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, rinfo) => {
    const r = answer(decodeFrame(m, { udp: true }), true);
    if (r && r !== 'drop') udp.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', () => r()));
  return {
    port,
    close: async () => {
      await new Promise<void>((r) => tcp.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}

describe('vvmp fuzz against a lying server (no --spawn)', () => {
  it('reports wrong_reply and reset', async () => {
    const srv = await liar();
    const out = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-liar-'));
    try {
      // the first pass reaches the checksum boundaries of Free after ~900 cases
      const r = await cli(['fuzz', '--target', `127.0.0.1:${srv.port}`, '--seed', '1', '--cases', '1500', '--timeout', '300', '--out', out, '--json', '--quiet']);
      expect(r.code, r.stderr).toBe(3);
      const j = JSON.parse(r.stdout) as { failures: FailureJson[] };
      const wrong = j.failures.find((f) => f.oracle === 'wrong_reply');
      expect(wrong?.detail, JSON.stringify(j.failures)).toMatch(/Allocate 0x8002 txid=\d+ .* does not answer Allocate/);
      const reset = j.failures.find((f) => f.oracle === 'reset');
      expect(reset, JSON.stringify(j.failures)).toBeDefined();
      expect(caseOf(reset!).steps.some((st) => st.frame.startsWith('0004'))).toBe(true);
      expect(j.failures.every((f) => f.oracle === 'wrong_reply' || f.oracle === 'reset'), JSON.stringify(j.failures)).toBe(true);
      // and the saved case replays against the same kind of server
      const again = await cli(['fuzz', '--reproduce', wrong!.case, '--target', `127.0.0.1:${srv.port}`, '--quiet']);
      expect(again.code).toBe(3);
    } finally {
      await srv.close();
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('vvmp fuzz command line', () => {
  it('an unreachable target is one clear line and exit 1', async () => {
    const r = await cli(['fuzz', '--target', '127.0.0.1:9', '--cases', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('vvmp fuzz: 127.0.0.1:9: connection refused (is the server running?)\n');
  });

  it('a target that accepts and never answers is an error, not a finding: one line, exit 1', async () => {
    const port = await freePort();
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
    const out = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-silent-'));
    try {
      const r = await cli(['fuzz', '--target', `127.0.0.1:${port}`, '--seed', '1', '--duration', '30', '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`vvmp fuzz: no VVMP reply from 127.0.0.1:${port} in 5 s\n`);
      expect(r.stdout).toBe('');
      // nothing was blamed on a case
      expect(readdirSync(out).filter((e) => /^f\d+$/.test(e))).toEqual([]);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
      rmSync(out, { recursive: true, force: true });
    }
  }, 30_000);

  it('a spawned target that never answers is the same error', async () => {
    const port = await freePort();
    const script = `require('net').createServer(() => {}).listen(${port}, '127.0.0.1')`;
    const r = await cli(['fuzz', '--spawn', `node -e "${script}"`, '--target', `127.0.0.1:${port}`, '--seed', '1', '--duration', '30', '--no-case-log',
      '--out', mkdtempSync(join(tmpdir(), 'vvmp-fuzz-silent-'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vvmp fuzz: no VVMP reply from 127.0.0.1:${port} in 5 s\n`);
  }, 40_000);

  it('--strategies keeps only the chosen ones; an unknown name is a usage error', async () => {
    const port = await freePort();
    const server = await startServer({ port, config: defaultServerConfig() });
    const out = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-only-'));
    try {
      const r = await cli(['fuzz', '--target', `127.0.0.1:${port}`, '--seed', '1', '--cases', '200', '--strategies', 'boundary:vvmp.alloc*,stateful:walk', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const lines = readFileSync(join(out, 'cases.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { strategy: string });
      expect(lines.length).toBe(200);
      expect(lines.every((l) => l.strategy.startsWith('boundary:vvmp.alloc') || l.strategy === 'stateful:walk')).toBe(true);
      expect((await cli(['fuzz', '--target', `127.0.0.1:${port}`, '--strategies', 'nosuch'])).code).toBe(2);
      const off = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-nolog-'));
      expect((await cli(['fuzz', '--target', `127.0.0.1:${port}`, '--cases', '50', '--no-case-log', '--out', off, '--quiet'])).code).toBe(0);
      expect(existsSync(join(off, 'cases.ndjson'))).toBe(false);
      rmSync(off, { recursive: true, force: true });
    } finally {
      await server.close();
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('usage errors exit 2', async () => {
    expect((await cli(['fuzz', '--cases', '10'])).code).toBe(2);
    expect((await cli(['fuzz', '--target', '127.0.0.1:9', '--cases', 'many'])).code).toBe(2);
    expect((await cli(['fuzz', '--target', '127.0.0.1:9', '--transport', 'sctp'])).code).toBe(2);
  });

  it('--reproduce of something that is not a case directory is exit 1', async () => {
    const r = await cli(['fuzz', '--reproduce', '/nonexistent/f0001', '--target', '127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/case\.json: no such file/);
  });
});
