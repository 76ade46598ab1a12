// Latency percentiles: exact nearest-rank values over every sample, from a
// per-microsecond histogram (analysis/latency.ts), merged across files.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LatencyHistogram, LatencyStats, type LatencyData } from '../../src/analysis/latency.js';

/** Nearest rank over the sorted samples, in ms: the definition the histogram must match. */
function reference(us: number[]): { p50: number; p90: number; p99: number; max: number } | null {
  if (us.length === 0) return null;
  const s = [...us].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]! / 1e3;
  return { p50: rank(50), p90: rank(90), p99: rank(99), max: s[s.length - 1]! / 1e3 };
}

// Mostly small latencies, some beyond the dense range (> ~1.05 s) and some negative
// (a reply stamped before its request).
const sample = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000_000, max: 90_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -5_000, max: -1 }) },
);

describe('LatencyHistogram', () => {
  it('gives no percentiles without samples', () => {
    expect(new LatencyHistogram().percentiles()).toBeNull();
    expect(new LatencyStats().overall()).toBeNull();
    expect(new LatencyStats().perOpcode().size).toBe(0);
  });

  it('gives the exact nearest-rank percentiles of every sample', () => {
    fc.assert(fc.property(fc.array(sample, { minLength: 1, maxLength: 400 }), (us) => {
      const h = new LatencyHistogram();
      for (const v of us) h.add(v);
      expect(h.n).toBe(us.length);
      expect(h.percentiles()).toEqual(reference(us));
    }), { numRuns: 500 });
  });

  it('keeps microseconds exact in milliseconds (as the reply frames show them)', () => {
    const h = new LatencyHistogram();
    for (const us of [1, 2, 3, 1_048_575, 1_048_576, 4_999_999]) h.add(us);
    expect(h.percentiles()).toEqual({ p50: 0.003, p90: 4999.999, p99: 4999.999, max: 4999.999 });
  });

  it('merges across threads: data() survives structured cloning and adds up exactly', () => {
    fc.assert(fc.property(fc.array(fc.array(sample, { maxLength: 100 }), { minLength: 1, maxLength: 5 }), (parts) => {
      const merged = new LatencyStats();
      for (const part of parts) {
        const one = new LatencyStats();
        for (const v of part) one.add(0x0002, v);
        for (const [op, d] of structuredClone(one.data()) as [number, LatencyData][]) merged.merge(op, d);
      }
      expect(merged.overall()).toEqual(reference(parts.flat()));
    }), { numRuns: 200 });
  });

  it('data() holds only what is needed: counts up to the largest dense value, rare samples exactly', () => {
    const h = new LatencyHistogram();
    h.add(5);
    h.add(5);
    h.add(2_000_000);
    const d = h.data();
    expect(d.counts.length).toBe(6);
    expect(d.counts[5]).toBe(2);
    expect([...d.rare]).toEqual([2_000_000]);
  });
});

describe('LatencyStats', () => {
  it('keeps opcodes apart and joins them for the overall figures', () => {
    const s = new LatencyStats();
    const byOp: Record<number, number[]> = { 1: [100, 200, 300], 2: [5_000, 7], 4: [1_500_000] };
    for (const [op, list] of Object.entries(byOp)) for (const v of list) s.add(Number(op), v);
    const per = s.perOpcode();
    expect([...per.keys()]).toEqual([1, 2, 4]);
    for (const [op, list] of Object.entries(byOp)) {
      expect(per.get(Number(op))).toEqual({ count: list.length, pct: reference(list) });
    }
    expect(s.overall()).toEqual(reference(Object.values(byOp).flat()));
  });
});

describe('rtHistogram buckets', () => {
  it('property: every whole µs value falls in the one bucket whose range holds it (exact below 256, within 1/128 above)', async () => {
    const { bucketOf, bucketTop } = await import('../../src/analysis/rtHistogram.js');
    const fc = (await import('fast-check')).default;
    const check = (us: number): void => {
      const b = bucketOf(us);
      expect(bucketTop(b)).toBeGreaterThanOrEqual(us);
      if (b > 0) expect(bucketTop(b - 1)).toBeLessThan(us);
      if (us < 256) expect(b).toBe(us);
      else expect(bucketTop(b) - us).toBeLessThanOrEqual(us / 128);
    };
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (us) => check(us)), { numRuns: 5000 });
    for (let k = 8; k <= 40; k++) for (const d of [-1, 0, 1]) check(2 ** k + d);
    expect(bucketOf(-5)).toBe(0);
  });
});
