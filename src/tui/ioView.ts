// The I/O graph: frames/s and errors/s (frames carrying an error finding)
// over capture time, for the whole capture or the frames the filter keeps.
// ←/→ move the cursor over the time bins, Space anchors a range, Enter
// filters the Frames view to the selected bin or range (frame.time).

import { ChartView } from './chartView.js';
import { durationText, niceStep, rateText, vbars } from './graph.js';
import type { Action } from './keys.js';
import type { FrameStore } from './store.js';
import type { FrameRows } from './frameRows.js';
import { esc, fit, fitRight, plural, thousands } from './text.js';

const AXIS_W = 9;

export interface IoBins {
  /** Bin width in seconds. */
  bin: number;
  /** Capture time of bin 0's start: the first retained frame's. */
  baseSec: number;
  baseNsec: number;
  /** Bin 0's start in seconds from the first packet (the axis labels). */
  baseRel: number;
  frames: number[];
  errors: number[];
  total: number;
}

/**
 * Counts the rows `view` shows into at most `maxBins` bins of a 1-2-5 width,
 * over the time they span: the whole capture, or under a filter from its
 * first to its last frame (so filtering to a time range zooms in).
 */
export function ioBins(store: FrameStore, view: FrameRows, maxBins: number): IoBins | null {
  const rows = view.filter ? view.length : store.size;
  if (rows === 0) return null;
  const seqAt = (r: number): number => (view.filter ? view.seqAt(r) : store.first + r);
  // The earliest shown frame is the base (frames complete in order, times nearly so).
  let base = seqAt(0);
  let span = 0;
  for (let r = 1; r < rows; r++) {
    const seq = seqAt(r);
    const d = store.betweenNs(base, seq);
    if (d < 0) {
      span -= d;
      base = seq;
    } else if (d > span) span = d;
  }
  const bin = niceStep(Math.max(span / 1e9, 1e-6) / Math.max(1, maxBins - 1));
  // Bins in whole nanoseconds: a frame on a bin's edge falls where `frame.time >= edge` puts it.
  const binNs = Math.max(1, Math.round(bin * 1e9));
  const n = Math.min(maxBins, Math.floor(span / binNs) + 1);
  const frames = new Array<number>(n).fill(0);
  const errors = new Array<number>(n).fill(0);
  for (let r = 0; r < rows; r++) {
    const seq = seqAt(r);
    const i = Math.max(0, Math.min(n - 1, Math.floor(store.betweenNs(base, seq) / binNs)));
    frames[i]!++;
    if (store.severity(seq) === 3) errors[i]!++;
  }
  const f = store.get(base)!;
  return { bin, baseSec: f.tsSec, baseNsec: f.tsNsec, baseRel: store.relTime(base), frames, errors, total: rows };
}

/** Capture time `base + offset` seconds as filter text (epoch seconds, exact to the nanosecond). */
export function timeText(baseSec: number, baseNsec: number, offset: number): string {
  const ns = BigInt(baseSec) * 1_000_000_000n + BigInt(baseNsec) + BigInt(Math.round(offset * 1e9));
  // `offset` is a whole number of bins: rounding to the nanosecond gives the bin edge exactly.
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${ns / 1_000_000_000n}${frac ? '.' + frac : ''}`;
}

export class IoView extends ChartView<IoBins | null> {
  readonly id = 'io' as const;
  private cursor = 0;
  private anchor: number | null = null;

  private bins(): IoBins | null {
    const { store, frames } = this.ctx;
    return this.data(String(this.width), () => ioBins(store, frames, Math.max(8, this.width - AXIS_W - 1)));
  }

  handle(action: Action): boolean {
    const b = this.bins();
    if (!b) return false;
    const n = b.frames.length;
    switch (action) {
      case 'left': case 'up': this.cursor--; break;
      case 'right': case 'down': this.cursor++; break;
      case 'pageUp': case 'halfUp': this.cursor -= 10; break;
      case 'pageDown': case 'halfDown': this.cursor += 10; break;
      case 'top': this.cursor = 0; break;
      case 'bottom': this.cursor = n - 1; break;
      case 'toggle': this.anchor = this.anchor === null ? this.cursor : null; break;
      case 'enter': {
        const [lo, hi] = this.range(n);
        this.anchor = null;
        this.filterTo(`frame.time >= ${timeText(b.baseSec, b.baseNsec, lo * b.bin)} && frame.time < ${timeText(b.baseSec, b.baseNsec, (hi + 1) * b.bin)}`);
        return true;
      }
      default: return false;
    }
    this.cursor = Math.max(0, Math.min(n - 1, this.cursor));
    return true;
  }

  private range(n: number): [number, number] {
    const c = Math.max(0, Math.min(n - 1, this.cursor));
    const a = this.anchor === null ? c : Math.max(0, Math.min(n - 1, this.anchor));
    return [Math.min(a, c), Math.max(a, c)];
  }

  render(): void {
    const { theme } = this.ctx;
    const w = this.width;
    const b = this.bins();
    const lines: string[] = [];
    const scope = this.scope();
    if (!b) {
      this.box.setContent(esc(' I/O graph: no VVMP frames (yet)'));
      return;
    }
    const n = b.frames.length;
    this.cursor = Math.max(0, Math.min(n - 1, this.cursor));
    const [lo, hi] = this.range(n);
    lines.push(theme.bold(esc(fit(` I/O graph · ${plural(b.total, 'frame')} · bin ${durationText(b.bin)} · ${scope}`, w))));
    const rest = Math.max(4, this.height - 5);
    const fh = Math.max(2, Math.round(rest * 0.65));
    const eh = Math.max(1, rest - fh - 1);
    const perSec = (v: number): number => v / b.bin;
    const chart = (values: number[], h: number, colour: 'cyan' | 'red', name: string): void => {
      const max = Math.max(...values);
      const rows = vbars(values, max, h);
      rows.forEach((row, r) => {
        const axis = r === 0 ? fitRight(rateText(perSec(max)), AXIS_W - 2) + ' ┤' : r === h - 1 ? fitRight('0', AXIS_W - 2) + ' ┤' : ' '.repeat(AXIS_W - 1) + '│';
        const before = row.slice(0, lo);
        const sel = row.slice(lo, hi + 1);
        const after = row.slice(hi + 1);
        lines.push(esc(axis) + theme.fg(colour, esc(before)) + theme.inverse(theme.fg(colour, esc(sel))) + theme.fg(colour, esc(after)));
      });
      lines.push(esc(fit(' '.repeat(AXIS_W) + `${name} (per second; max ${rateText(perSec(max))}/s)`, w)));
    };
    chart(b.frames, fh, 'cyan', 'frames/s');
    chart(b.errors, eh, 'red', 'errors/s');
    // Time axis: the start, the cursor, the end.
    const end = `${+(b.baseRel + n * b.bin).toFixed(6)} s`;
    let axis = ' '.repeat(AXIS_W) + `${+b.baseRel.toFixed(6)} s`;
    axis = axis.padEnd(AXIS_W + Math.max(0, n - end.length)) + end;
    lines.push(esc(fit(axis, w)));
    const sumF = b.frames.slice(lo, hi + 1).reduce((x, y) => x + y, 0);
    const sumE = b.errors.slice(lo, hi + 1).reduce((x, y) => x + y, 0);
    const secs = (hi - lo + 1) * b.bin;
    const at = `${+(b.baseRel + lo * b.bin).toFixed(6)}–${+(b.baseRel + (hi + 1) * b.bin).toFixed(6)} s`;
    const info = ` ${this.anchor === null ? 'bin' : 'range'} ${at}: ${thousands(sumF)} frames (${rateText(sumF / secs)}/s), ${thousands(sumE)} errors · ←/→ move, Space ${this.anchor === null ? 'starts a range' : 'drops the range'}, Enter filters`;
    lines.push(theme.bold(esc(fit(info, w))));
    this.box.setContent(lines.slice(0, this.height).join('\n'));
  }
}
