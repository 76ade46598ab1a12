// The triage sections of `stats` (issue 13): response times by opcode (exact),
// client and server (bounded histograms), error replies by status and server,
// I/O over time; bounded memory; exact merges (several files, -j N).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, bucketTop, CountTable, MAX_TABLE_ROWS, RtHistogram, RtTable } from '../../src/analysis/rtHistogram.js';
import { IoTimeline, MAX_AUTO_INTERVALS } from '../../src/analysis/io.js';
import { TransactionStats } from '../../src/analysis/transactions.js';
import { LatencyHistogram } from '../../src/analysis/latency.js';
import { feed, BASE_SEC } from '../helpers/feed.js';
import { OP_ALLOCATE, OP_QUERY, REPLY_BIT } from '../../src/protocol/fields.js';
import type { FrameSpec } from '../../src/protocol/encode.js';
import { liveSource, writeStatsSourceJson } from '../../src/output/statsJson.js';
import { TextBuilder } from '../../src/output/textBuilder.js';

function exactRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

describe('RtHistogram', () => {
  it('buckets: exact below 256 µs, then 128 per power of two; each value lies in its bucket', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (us) => {
      const b = bucketOf(us);
      expect(bucketTop(b)).toBeGreaterThanOrEqual(us);
      if (b > 0) expect(bucketTop(b - 1)).toBeLessThan(us);
      if (us < 256) expect(bucketTop(b)).toBe(us);
    }), { numRuns: 2000 });
  });

  it('count, min, max, avg exact; percentiles within 1/128 above the exact value, never above max', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 300 }), (xs) => {
      const h = new RtHistogram();
      for (const x of xs) h.add(x);
      const s = h.summary()!;
      const sorted = [...xs].sort((a, b) => a - b);
      expect(s.count).toBe(xs.length);
      expect(s.min).toBe(sorted[0]! / 1e3);
      expect(s.max).toBe(sorted[sorted.length - 1]! / 1e3);
      expect(s.avg).toBe(Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) / 1e3);
      for (const [p, got] of [[50, s.p50], [90, s.p90], [99, s.p99]] as const) {
        const exact = exactRank(sorted, p) / 1e3;
        expect(got).toBeGreaterThanOrEqual(exact);
        expect(got).toBeLessThanOrEqual(Math.max(exact * (1 + 1 / 128), exact + 0.001));
        expect(got).toBeLessThanOrEqual(s.max);
      }
    }), { numRuns: 300 });
  });

  it('merging parts gives exactly the whole', () => {
    fc.assert(fc.property(fc.array(fc.array(fc.integer({ min: -5, max: 3_000_000 }), { maxLength: 50 }), { maxLength: 6 }), (parts) => {
      const whole = new RtHistogram();
      const merged = new RtHistogram();
      for (const p of parts) {
        const h = new RtHistogram();
        for (const x of p) {
          h.add(x);
          whole.add(x);
        }
        merged.merge(h.data());
      }
      expect(merged.summary()).toEqual(whole.summary());
    }), { numRuns: 200 });
  });

  it('stays small: a million samples spread over 0..10 s hold a few thousand counters', () => {
    const h = new RtHistogram();
    for (let i = 0; i < 1_000_000; i++) h.add((i * 7919) % 10_000_000);
    expect(h.data().counts.length).toBeLessThan(4096);
  });
});

describe('RtTable and CountTable', () => {
  it('keep at most MAX_TABLE_ROWS ids; the rest count as "other"', () => {
    const t = new RtTable();
    const c = new CountTable<bigint>();
    for (let i = 0; i < MAX_TABLE_ROWS + 500; i++) {
      t.add(BigInt(i), 100);
      t.add(BigInt(i), 200);
      c.add(BigInt(i));
    }
    expect(t.rows.size).toBe(MAX_TABLE_ROWS);
    expect(t.other.n).toBe(1000);
    expect(t.rows.get(5n)!.n).toBe(2);
    expect(c.rows.size).toBe(MAX_TABLE_ROWS);
    expect(c.other).toBe(500);
  });
});

describe('per-opcode summary', () => {
  it('min and avg from the exact histogram', () => {
    const h = new LatencyHistogram();
    for (const x of [5, 100, 2_000_000, 7]) h.add(x);
    expect(h.summary()).toEqual({ count: 4, min: 0.005, avg: 500.028, p50: 0.007, p90: 2000, p99: 2000, max: 2000 });
  });
});

describe('IoTimeline', () => {
  it('counts frames and errors per epoch-aligned interval; empty intervals listed', () => {
    const io = new IoTimeline(500);
    io.frame(100, 0, false);
    io.frame(100, 499_999_999, true);
    io.frame(101, 600_000_000, false);
    io.error(101, 600_000_000);
    expect([...io.rows()]).toEqual([
      { startMs: 100_000, frames: 2, errors: 1 }, { startMs: 100_500, frames: 0, errors: 0 },
      { startMs: 101_000, frames: 0, errors: 0 }, { startMs: 101_500, frames: 1, errors: 1 }]);
  });

  it('automatic: 1 s, stepping up (10 s, 1 min, …) while the span exceeds the limit; exact', () => {
    const io = new IoTimeline();
    expect(io.intervalMs).toBe(1000);
    for (let s = 0; s < 2000; s += 3) io.frame(BASE_SEC + s, 0, s % 2 === 0);
    expect(io.intervalMs).toBe(10_000);
    expect(io.count).toBeLessThanOrEqual(MAX_AUTO_INTERVALS);
    const rows = [...io.rows()];
    expect(rows.reduce((n, r) => n + r.frames, 0)).toBe(Math.ceil(2000 / 3));
    expect(rows.reduce((n, r) => n + r.errors, 0)).toBe([...Array(2000).keys()].filter((s) => s % 3 === 0 && s % 2 === 0).length);
  });

  it('merging any split of the frames gives exactly what one timeline gives', () => {
    // Automatic over long spans (it steps up), or a given interval over short ones (rows stay few).
    const arb = fc.oneof(
      fc.tuple(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2_000_000 }), fc.boolean()), { maxLength: 200 }), fc.constant(null)),
      fc.tuple(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 300 }), fc.boolean()), { maxLength: 200 }), fc.integer({ min: 100, max: 5000 })),
    );
    fc.assert(fc.property(arb, ([frames, interval]) => {
        const whole = new IoTimeline(interval);
        const parts = [0, 1, 2, 3].map(() => new IoTimeline(interval));
        for (const [part, s, err] of frames) {
          whole.frame(BASE_SEC + s, 123, err);
          parts[part]!.frame(BASE_SEC + s, 123, err);
        }
        const merged = new IoTimeline(interval);
        for (const p of parts) merged.merge(p.data());
        expect(merged.intervalMs).toBe(whole.intervalMs);
        expect([...merged.rows()]).toEqual([...whole.rows()]);
    }), { numRuns: 200 });
  });
});

describe('transactions in a capture', () => {
  const C1 = 0x11n;
  const C2 = 0x22n;
  const q = (client: bigint, tx: number): FrameSpec => ({ opcode: OP_QUERY, sub_opcode: 1, client_id: client, transaction_id: tx });
  const qr = (client: bigint, tx: number, server: bigint, status = 0): FrameSpec =>
    ({ opcode: OP_QUERY | REPLY_BIT, sub_opcode: status, client_id: client, server_id: server, transaction_id: tx, payload: status ? null : { devices: [] } });
  const alloc = (client: bigint, tx: number): FrameSpec => ({ opcode: OP_ALLOCATE, sub_opcode: 1, client_id: client, transaction_id: tx, payload: { capacity_kb: 1 } });
  const denied = (client: bigint, tx: number, server: bigint): FrameSpec =>
    ({ opcode: OP_ALLOCATE | REPLY_BIT, sub_opcode: 0x21, client_id: client, server_id: server, transaction_id: tx, payload: null });

  it('response time by opcode, client and the reply\'s server; error replies by status and server; in stats --json', () => {
    const r = feed([
      { at: 0, frame: q(C1, 1) }, { at: 1, frame: qr(C1, 1, 0xa1n) },
      { at: 2, frame: q(C2, 2) }, { at: 5, frame: qr(C2, 2, 0xa2n) },
      { at: 6, frame: alloc(C1, 3) }, { at: 6.5, frame: denied(C1, 3, 0xa1n) },
      { at: 7, frame: q(C2, 4) }, { at: 7.25, frame: qr(C2, 4, 0xa1n, 0x21) },
    ]);
    const tx = r.analyzer.tx;
    expect(tx.latency.summaries().get(OP_QUERY)).toEqual({ count: 3, min: 0.25, avg: 1.417, p50: 1, p90: 3, p99: 3, max: 3 });
    expect(tx.byClient.rows.get(C1)!.summary()).toMatchObject({ count: 2, min: 0.5, max: 1 });
    expect(tx.byClient.rows.get(C2)!.summary()).toMatchObject({ count: 2, min: 0.25, max: 3 });
    expect(tx.byServer.rows.get(0xa1n)!.summary()).toMatchObject({ count: 3, min: 0.25, max: 1 });
    expect([...tx.errorsByStatus.rows]).toEqual([['DENIED', 2]]);
    expect([...tx.errorsByServer.rows]).toEqual([[0xa1n, 2]]);
    const tb = new TextBuilder();
    writeStatsSourceJson(liveSource(r.analyzer, r.summary), tb);
    const json = JSON.parse(tb.take()) as Record<string, unknown>;
    // OUTPUT.md's keys first, in its order; the new sections after them.
    expect(Object.keys(json)).toEqual(['packets', 'vvmp_frames', 'by_opcode', 'expert', 'flows', 'sessions', 'transactions',
      'response_time_ms', 'errors', 'io', 'loss']);
    expect(json.errors).toEqual({ by_status: { DENIED: 2 }, by_server: { '0x00000000000000a1': 2 }, other_servers: 0 });
    // Per-server percentiles are the top of their bucket (500 µs lies in [500, 501]): never below the exact value.
    expect((json.response_time_ms as { by_server: unknown[] }).by_server).toEqual([
      { server_id: '0x00000000000000a1', count: 3, min: 0.25, avg: 0.583, p50: 0.501, p90: 1, p99: 1, max: 1 },
      { server_id: '0x00000000000000a2', count: 1, min: 3, avg: 3, p50: 3, p90: 3, p99: 3, max: 3 }]);
    expect(json.io).toEqual({ interval_s: 1, intervals: [{ start: BASE_SEC, frames: 8, errors: 2 }] });
    expect(json.loss).toEqual({ tcp_gaps: 0, tcp_bytes_not_captured: 0, tcp_bytes_skipped: 0, tcp_frames_dropped: 0 });
  });

  it('TransactionStats merge: the parts add up to the whole', () => {
    const a = new TransactionStats();
    const b = new TransactionStats();
    const whole = new TransactionStats();
    for (const [t, i] of [[a, 0], [b, 1], [a, 2], [b, 3]] as const) {
      for (const s of [t, whole]) {
        s.requests++;
        s.responseTime(1, BigInt(i), 0xaan, 100 * (i + 1));
        s.errorReply('DENIED', BigInt(i));
      }
    }
    const m = new TransactionStats();
    m.merge(a.data());
    m.merge(b.data());
    expect(m.requests).toBe(whole.requests);
    expect(m.latency.summaries()).toEqual(whole.latency.summaries());
    expect(m.byServer.rows.get(0xaan)!.summary()).toEqual(whole.byServer.rows.get(0xaan)!.summary());
    expect(new Map(m.errorsByServer.rows)).toEqual(new Map(whole.errorsByServer.rows));
  });
});
