// Drawing helpers shared by the graph views (Latency, I/O): horizontal and
// vertical bars from block characters, nice axis steps.

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const LEVELS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** A horizontal bar of `value / max` of `width` cells, in eighths of a cell. */
export function hbar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}

/**
 * Column `values` drawn as vertical bars `height` rows high; returns the rows
 * top first. Every non-zero value shows at least a sliver.
 */
export function vbars(values: readonly number[], max: number, height: number): string[] {
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    let line = '';
    for (const v of values) {
      const level = max > 0 ? Math.max(v > 0 ? 1 : 0, Math.round((v / max) * height * 8)) : 0;
      const inRow = Math.max(0, Math.min(8, level - r * 8));
      line += LEVELS[inRow]!;
    }
    rows.push(line);
  }
  return rows;
}

/** The smallest 1-2-5 step ≥ `x` (x > 0). */
export function niceStep(x: number): number {
  let d = 10 ** Math.floor(Math.log10(x));
  for (;;) {
    for (const m of [1, 2, 5]) if (m * d >= x * (1 - 1e-12)) return m * d;
    d *= 10;
  }
}

/** A rate for an axis label: `1,234`, `12.5`, `0.25`. */
export function rateText(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** A duration in seconds for axis labels: `250 ms`, `1.5 s`, `2 min`. */
export function durationText(s: number): string {
  if (s < 1e-3) return `${+(s * 1e6).toPrecision(3)} µs`;
  if (s < 1) return `${+(s * 1e3).toPrecision(3)} ms`;
  if (s < 120) return `${+s.toPrecision(3)} s`;
  return `${+(s / 60).toPrecision(3)} min`;
}
