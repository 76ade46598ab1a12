// The sample captures in captures/ (real traffic recorded by tcpdump): `vvmp read`
// decodes every frame, and `vvmp stats --json` agrees with what each scenario did.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, ndjson, vvmp } from '../helpers/cli.js';

const CAPTURES = join(ROOT, 'captures');
type Stats = {
  packets: number; vvmp_frames: number; by_opcode: Record<string, number>; expert: Record<string, number>;
  flows: { transport: string; a: string; b: string; frames: number; errors: number }[];
  sessions: { server_id: string; session_id: number; client_id: string; state: string; capacity_kb: number | null; closed: number | null }[];
  transactions: { requests: number; answered: number; timed_out: number; open_at_end: number; latency_ms: { p50: number; max: number } | null };
};

function stats(file: string): Stats {
  const r = vvmp(['stats', join(CAPTURES, file), '--json']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Stats;
}

const statusesOf = (file: string): string[] =>
  ndjson(vvmp(['read', join(CAPTURES, file), '--json']).stdout).map((f) => f.status as string | null).filter((s): s is string => s !== null);

describe('captures/', () => {
  const files = readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f));

  it('holds the sample captures', () => {
    expect(files.sort()).toEqual(['contention.pcap', 'demo.pcapng', 'errors.pcap', 'lifecycle.pcap', 'multi-san.pcapng']);
  });

  it('vvmp read decodes every frame of every capture whole, with no framing finding', () => {
    for (const f of files) {
      const frames = ndjson(vvmp(['read', join(CAPTURES, f), '--json']).stdout);
      expect(frames.length).toBe(stats(f).vvmp_frames);
      const framing = frames.flatMap((x) => (x.expert as { code: string }[]).map((e) => e.code))
        .filter((c) => ['frame_short', 'frame_truncated', 'udp_trailing', 'tcp_desync', 'tcp_gap'].includes(c));
      expect(framing, f).toEqual([]);
      expect(frames.every((x) => x.name !== null && x.length !== null)).toBe(true);
    }
  }, 300_000); // ten real command runs: slow on a loaded machine

  it('lifecycle.pcap: two sessions, each allocated, initialized, modified, shrunk and closed; everything answered', () => {
    const s = stats('lifecycle.pcap');
    expect(s.sessions.map((x) => [x.client_id, x.state])).toEqual([['0x0000000000000011', 'CLOSED'], ['0x0000000000000012', 'CLOSED']]);
    expect(s.sessions.every((x) => x.closed !== null)).toBe(true);
    expect(s.transactions).toMatchObject({ requests: 18, answered: 18, timed_out: 0, open_at_end: 0 });
    for (const op of ['0x0001', '0x0002', '0x0003', '0x0004', '0x0005', '0x0006', '0x8001', '0x8002', '0x8003', '0x8004', '0x8005', '0x8006']) {
      expect(s.by_opcode[op], op).toBeGreaterThan(0);
    }
    // The scenario ends with Statistics of the closed session: UNKNOWN_SESSION, once per run.
    expect(s.expert).toEqual({ status_error: 2 });
    expect(s.flows.map((f) => f.transport).sort()).toEqual(['tcp', 'udp']);
  });

  it('errors.pcap: every error status of VVMP.md section 5, and the silent peer times out', () => {
    const seen = new Set(statusesOf('errors.pcap'));
    for (const st of ['NO_CAPACITY', 'NO_MATCH', 'UNKNOWN_SESSION', 'DENIED', 'CONFLICT', 'MALFORMED', 'BAD_CHECKSUM', 'UNSUPPORTED', 'TIMEOUT']) {
      expect(seen.has(st), st).toBe(true);
    }
    const s = stats('errors.pcap');
    expect(s.expert).toMatchObject({ checksum_bad: 1, payload_size: 1, opcode_unknown: 2, subop_invalid: 1, timeout: 1 });
    expect(s.transactions.timed_out).toBe(1);
  });

  it('contention.pcap: CONFLICT, then WAIT → PENDING → the grant once the holder frees', () => {
    const s = stats('contention.pcap');
    expect(s.expert.status_pending).toBe(1);
    expect(statusesOf('contention.pcap')).toContain('CONFLICT');
    expect(s.sessions.filter((x) => x.state === 'REJECTED').length).toBeGreaterThan(0);
    expect(s.sessions.filter((x) => x.state === 'CLOSED').length).toBe(3);
    expect(s.transactions).toMatchObject({ answered: s.transactions.requests, timed_out: 0 });
  });

  it('multi-san.pcapng: the grant is made on SAN 3 and relayed by SAN 1; both sessions close', () => {
    const s = stats('multi-san.pcapng');
    const closed = s.sessions.filter((x) => x.state === 'CLOSED');
    expect(closed.map((x) => x.server_id).sort()).toEqual(['0x00000000000000a1', '0x00000000000000a3']);
    expect(closed.every((x) => x.client_id === '0x0000000000000011')).toBe(true);
    expect(statusesOf('multi-san.pcapng')).toEqual(expect.arrayContaining(['NO_CAPACITY', 'NO_MATCH', 'OK']));
    expect(s.by_opcode['0x0007']).toBe(12); // periodic and leaving Announces of three managers to two peers each
    expect(s.transactions).toMatchObject({ answered: s.transactions.requests, timed_out: 0, open_at_end: 0 });
  });

  it('demo.pcapng: several clients, whole lifecycles, a cross-SAN allocation, three checksum errors, one timeout', () => {
    const s = stats('demo.pcapng');
    expect(s.expert.checksum_bad).toBe(3);
    expect(s.expert.timeout).toBe(1);
    const clients = new Set(s.sessions.map((x) => x.client_id));
    expect(clients.size).toBeGreaterThanOrEqual(4);
    expect(s.sessions.filter((x) => x.state === 'CLOSED').length).toBeGreaterThanOrEqual(5);
    expect(s.sessions.some((x) => x.state === 'ALLOCATED' && x.client_id === '0x0000000000000044')).toBe(true);
    expect(s.sessions.some((x) => x.server_id === '0x00000000000000a3' && x.state === 'CLOSED')).toBe(true);
    expect(s.transactions).toMatchObject({ timed_out: 1, open_at_end: 0 });
    expect(s.transactions.answered).toBe(s.transactions.requests - 1);
    expect(s.flows.some((f) => f.transport === 'udp') && s.flows.some((f) => f.transport === 'tcp')).toBe(true);
  });
});

describe('stats -Y counts exactly the frames read -Y shows', () => {
  // Filters on what is known only late: a request's session (after its reply),
  // its timeout (after its deadline), and frames around PENDING waits.
  const filters = ['vvmp.session', 'expert.code == timeout', 'vvmp.reply == 0', 'vvmp.status == PENDING || vvmp.opcode == Allocate',
    'expert.severity == error', 'vvmp.session && vvmp.reply == 0'];
  const files = readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f));

  it.each(filters)('-Y %s', (filter) => {
    for (const f of files) {
      const shown = ndjson(vvmp(['read', join(CAPTURES, f), '--json', '-Y', filter]).stdout);
      const r = vvmp(['stats', join(CAPTURES, f), '--json', '-Y', filter]);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as Stats;
      expect(s.vvmp_frames, `${f} ${filter}`).toBe(shown.length);
      const byOpcode: Record<string, number> = {};
      for (const x of shown) {
        const key = '0x' + (x.opcode as number).toString(16).padStart(4, '0');
        byOpcode[key] = (byOpcode[key] ?? 0) + 1;
      }
      expect(s.by_opcode, `${f} ${filter}`).toEqual(byOpcode);
      const codes: Record<string, number> = {};
      for (const x of shown) for (const e of x.expert as { code: string }[]) codes[e.code] = (codes[e.code] ?? 0) + 1;
      expect(s.expert, `${f} ${filter}`).toEqual(codes);
      expect(s.flows.reduce((n, fl) => n + fl.frames, 0)).toBe(shown.length);
    }
  }, 300_000);
});
