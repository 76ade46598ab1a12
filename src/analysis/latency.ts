// Request → reply latencies, exact: kept per opcode in growable Float64Arrays
// (8 bytes each), so percentiles are true nearest-rank values.

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

class Samples {
  data = new Float64Array(64);
  n = 0;

  add(v: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = v;
  }

  sorted(): Float64Array {
    return this.data.slice(0, this.n).sort();
  }
}

function rank(sorted: Float64Array, p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function percentilesOf(sorted: Float64Array): Percentiles | null {
  if (sorted.length === 0) return null;
  return { p50: rank(sorted, 50), p90: rank(sorted, 90), p99: rank(sorted, 99), max: sorted[sorted.length - 1]! };
}

export class LatencyStats {
  private readonly byOpcode = new Map<number, Samples>();

  add(opcode: number, ms: number): void {
    let s = this.byOpcode.get(opcode);
    if (!s) this.byOpcode.set(opcode, (s = new Samples()));
    s.add(ms);
  }

  /** Percentiles over every opcode. */
  overall(): Percentiles | null {
    const all = new Samples();
    for (const s of this.byOpcode.values()) for (let i = 0; i < s.n; i++) all.add(s.data[i]!);
    return percentilesOf(all.sorted());
  }

  perOpcode(): Map<number, { count: number; pct: Percentiles }> {
    const out = new Map<number, { count: number; pct: Percentiles }>();
    for (const [op, s] of [...this.byOpcode].sort((a, b) => a[0] - b[0])) {
      const pct = percentilesOf(s.sorted());
      if (pct) out.set(op, { count: s.n, pct });
    }
    return out;
  }
}
