// tshark's -z io,stat counts with the analysis I/O timeline (an IoTimeline per
// column on tshark's clock: microsecond intervals from the first packet) and
// writes exactly the table its former own counters wrote, for any frames,
// intervals (0, sub-millisecond, whole seconds) and column filters.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IoStat } from '../../src/output/tshark/zstats.js';
import { IoTimeline } from '../../src/analysis/io.js';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import type { CompiledFilter } from '../../src/analysis/filter/index.js';
import type { Stamp } from '../../src/output/tshark/time.js';

function nsBetween(a: Stamp, b: Stamp): number {
  return (a.sec - b.sec) * 1e9 + (a.nsec - b.nsec);
}

/** The io,stat of before (its own counters), verbatim: the reference the timeline-backed one must equal. */
class ReferenceIoStat {
  /** Per column: frames and bytes per interval index. */
  private readonly cols: { frames: number[]; bytes: number[] }[];

  constructor(readonly intervalUs: number, readonly filters: readonly (CompiledFilter | null)[]) {
    this.cols = filters.map(() => ({ frames: [], bytes: [] }));
  }

  frame(f: AnalyzedFrame, start: Stamp): void {
    const us = Math.floor(nsBetween({ sec: f.tsSec, nsec: f.tsNsec }, start) / 1e3);
    const i = this.intervalUs > 0 ? Math.max(0, Math.floor(us / this.intervalUs)) : 0;
    this.filters.forEach((flt, c) => {
      if (flt && !flt.test(f)) return;
      const col = this.cols[c]!;
      col.frames[i] = (col.frames[i] ?? 0) + 1;
      col.bytes[i] = (col.bytes[i] ?? 0) + f.decoded.bytes.length;
    });
  }

  /** The table; `durationNs` is from the first to the last packet read. */
  text(durationNs: number): string {
    const durUs = Math.floor(durationNs / 1e3);
    // An interval of 0, or longer than the capture: one row for the whole capture (as tshark).
    const whole = this.intervalUs === 0 || this.intervalUs > durUs;
    const ivUs = whole ? Math.max(1, durUs) : this.intervalUs;
    const decimals = whole ? 3 : ivUs % 1e6 === 0 ? 0 : String(ivUs / 1e6).split('.')[1]!.length;
    const n = whole ? 1 : Math.max(1, Math.ceil(durUs / ivUs) + (durUs % ivUs === 0 ? 1 : 0));
    const secs = (us: number): string => (us / 1e6).toFixed(decimals);
    const width = String(Math.floor((n * ivUs) / 1e6)).length + 1;
    const labels: string[] = [];
    for (let i = 0; i < n; i++) {
      const from = i * ivUs;
      const to = (i + 1) * ivUs;
      const last = i === n - 1 && to > durUs;
      labels.push(decimals === 0
        ? `${secs(from).padStart(width)} <> ${(last ? 'Dur' : secs(to)).padEnd(width + 1)}`
        : `${secs(from)} <> ${secs(last ? Math.max(durUs, from) : to)} `);
    }
    const lw = Math.max('Interval '.length, ...labels.map((l) => l.length));
    const fw = Math.max(6, ...this.cols.flatMap((c) => c.frames.map((x) => String(x ?? 0).length)));
    const bw = Math.max(5, ...this.cols.flatMap((c) => c.bytes.map((x) => String(x ?? 0).length)));
    const colW = fw + bw + 5; // " Frames | Bytes "
    const W = 2 + lw + 1 + this.cols.length * (colW + 1);
    const rule = '='.repeat(W) + '\n';
    const dashes = `|${'-'.repeat(W - 2)}|\n`;
    const boxed = (t: string): string => `| ${t}`.padEnd(W - 1) + '|\n';
    const durText = whole ? secs(durUs) : (durUs / 1e6).toFixed(decimals > 0 ? decimals : 6);
    let out = `\n${rule}${boxed('IO Statistics')}${boxed('')}`
      + boxed(`Duration: ${durText} secs`) + boxed(`Interval: ${whole ? durText : secs(ivUs)} secs`) + boxed('');
    this.filters.forEach((f, c) => {
      out += boxed(`${c === 0 ? 'Col' : '   '} ${c + 1}: ${f ? f.text : 'Frames and bytes'}`);
    });
    out += dashes;
    out += `|${' '.repeat(lw + 1)}|` + this.cols.map((_, c) => `${String(c + 1).padEnd(colW)}|`).join('') + '\n';
    out += `| ${'Interval'.padEnd(lw)}|` + this.cols.map(() => ` ${'Frames'.padStart(fw)} | ${'Bytes'.padStart(bw)} |`).join('') + '\n';
    out += dashes;
    for (let i = 0; i < n; i++) {
      out += `| ${labels[i]!.padEnd(lw)}|` + this.cols.map((c) => ` ${String(c.frames[i] ?? 0).padStart(fw)} | ${String(c.bytes[i] ?? 0).padStart(bw)} |`).join('') + '\n';
    }
    return out + rule;
  }
}

const frameOf = (sec: number, nsec: number, len: number): AnalyzedFrame =>
  ({ tsSec: sec, tsNsec: nsec, expert: [], decoded: { bytes: { length: len } } }) as unknown as AnalyzedFrame;

/** A column filter on the frame length (stands in for a compiled display filter). */
const lengthAtLeast = (n: number): CompiledFilter =>
  ({ text: `frame.len >= ${n}`, test: (f: AnalyzedFrame) => f.decoded.bytes.length >= n, fields: [] }) as unknown as CompiledFilter;

describe('-z io,stat from the analysis I/O timeline', () => {
  it('writes the table the former counters wrote', () => {
    const start = { sec: 1_700_000_000, nsec: 123_456_000 };
    fc.assert(fc.property(
      fc.array(fc.record({ dNs: fc.integer({ min: -2_000_000, max: 400_000_000 }), len: fc.integer({ min: 32, max: 4000 }) }), { maxLength: 60 }),
      fc.constantFrom(0, 100, 1000, 250_000, 500_000, 1_000_000, 10_000_000),
      fc.array(fc.option(fc.integer({ min: 32, max: 4000 })), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 300_000_000 }),
      (frames, intervalUs, cols, extraNs) => {
        const filters = cols.map((c) => (c === null ? null : lengthAtLeast(c)));
        const ours = new IoStat(intervalUs, filters);
        const ref = new ReferenceIoStat(intervalUs, filters);
        let lastNs = 0;
        for (const { dNs, len } of frames) {
          const ns = start.nsec + dNs;
          const f = frameOf(start.sec + Math.floor(ns / 1e9), ((ns % 1e9) + 1e9) % 1e9, len);
          ours.frame(f, start);
          ref.frame(f, start);
          lastNs = Math.max(lastNs, dNs);
        }
        // The last packet read may come before a frame's time (out-of-order captures) or after it.
        const duration = Math.max(0, lastNs - extraNs);
        expect(ours.text(duration)).toBe(ref.text(duration));
        expect(ours.text(lastNs + extraNs)).toBe(ref.text(lastNs + extraNs));
      }), { numRuns: 150 });
  });

  it('the timeline on a clock: microsecond intervals from the origin, earlier times in the first, 0 for one interval, bytes counted', () => {
    const t = new IoTimeline(null, { originSec: 100, originNsec: 500_000_000, intervalUs: 250 });
    t.frame(100, 500_000_000, false, 10); // interval 0
    t.frame(100, 500_249_999, false, 20); // 249.999 µs: still 0
    t.frame(100, 500_250_000, true, 30); // 1
    t.frame(99, 0, false, 40); // before the origin: 0
    t.frame(101, 500_000_000, false, 50); // 1 s = 4000 intervals
    expect([t.framesAt(0), t.bytesAt(0), t.framesAt(1), t.bytesAt(1), t.framesAt(4000), t.bytesAt(4000), t.lastIndex]).toEqual([3, 70, 1, 30, 1, 50, 4000]);
    const whole = new IoTimeline(null, { originSec: 0, originNsec: 0, intervalUs: 0 });
    whole.frame(5, 0, false, 1);
    whole.frame(500, 0, false, 2);
    expect([whole.framesAt(0), whole.bytesAt(0), whole.lastIndex]).toEqual([2, 3, 0]);
    expect(new IoTimeline(null).auto).toBe(true);
    expect(t.auto).toBe(false);
  });

  it('a short interval over a long capture: every row, no stack overflow (300,000 rows)', () => {
    const start = { sec: 1_700_000_000, nsec: 0 };
    const io = new IoStat(10, [null]);
    io.frame(frameOf(start.sec, 0, 40), start);
    io.frame(frameOf(start.sec + 2, 999_990_000, 50), start);
    const text = io.text(3e9);
    const rows = text.split('\n').filter((l) => l.includes(' <> '));
    expect(rows.length).toBe(300_001);
    expect(rows[0]).toMatch(/\|\s+1 \|\s+40 \|$/);
    expect(rows[299_999]).toMatch(/\|\s+1 \|\s+50 \|$/);
  });
});
