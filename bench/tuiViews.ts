// Terminal UI speed on a 1M-frame capture, in process (the data work behind
// the screen; blessed draws only the rows on screen): a display filter over
// every frame, and the first draw and the redraw of the Latency and I/O
// views under that filter. Targets from issue 17: filter of 1M frames < 1 s,
// views redraw < 100 ms. Each figure is given as wall time and as the
// process' CPU time (user + system): on a shared, loaded machine the CPU
// time is what the work costs, the wall time what that machine gave it.

import { compileFilter } from '../src/analysis/filter/index.js';
import { FrameRows } from '../src/tui/frameRows.js';
import { ioBins } from '../src/tui/ioView.js';
import { latencyGroups } from '../src/tui/latencyData.js';
import { FileSource } from '../src/tui/source.js';
import { FrameStore } from '../src/tui/store.js';

export interface TuiViewFigures {
  frames: number;
  loadS: number;
  filterS: number;
  /** CPU seconds of the filter pass. */
  filterCpuS: number;
  /** Frames the filter kept. */
  matched: number;
  /** View → [first draw ms, redraw ms]. */
  views: Record<string, [number, number]>;
  /** View → CPU ms of the first draw. */
  viewsCpu: Record<string, number>;
}

let lastCpuMs = 0;

/** Wall milliseconds of `fn`; its CPU milliseconds are left in `lastCpuMs`. */
function time(fn: () => unknown): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  lastCpuMs = (c.user + c.system) / 1e3;
  return wall;
}

export function measureTuiViews(capture: string, filterText = 'vvmp.reply && vvmp.name == Query'): TuiViewFigures {
  const store = new FrameStore();
  const t0 = performance.now();
  const src = new FileSource(capture, store);
  while (!src.done) (src as unknown as { slice(): void }).slice();
  const loadS = (performance.now() - t0) / 1000;
  const view = new FrameRows(store);
  const filterS = time(() => {
    view.setFilter(compileFilter(filterText));
    while (view.step(1000));
  }) / 1000;
  const filterCpuS = lastCpuMs / 1000;
  const whole = new FrameRows(store);
  const views: Record<string, [number, number]> = {};
  const viewsCpu: Record<string, number> = {};
  // Each view caches its numbers by (filter, rows): a redraw reuses them.
  const cached = (name: string, make: () => unknown): void => {
    let memo: unknown = null;
    const first = time(() => { memo = make(); });
    viewsCpu[name] = lastCpuMs;
    const again = time(() => memo ?? make());
    views[name] = [first, again];
  };
  cached('latency (whole, by opcode)', () => latencyGroups(store, whole, 'opcode'));
  cached('latency (whole, by client)', () => latencyGroups(store, whole, 'client'));
  cached('latency (filter, by client)', () => latencyGroups(store, view, 'client'));
  cached('io graph (whole)', () => ioBins(store, whole, 110));
  cached('io graph (filter)', () => ioBins(store, view, 110));
  return { frames: store.total, loadS, filterS, filterCpuS, matched: view.length, views, viewsCpu };
}

if (process.argv[1]?.endsWith('tuiViews.ts')) {
  const cap = process.argv[2];
  if (!cap) throw new Error('usage: npx tsx bench/tuiViews.ts CAPTURE');
  const r = measureTuiViews(cap, process.argv[3]);
  process.stdout.write(`${r.frames} frames: load ${r.loadS.toFixed(2)} s, filter ${r.filterS.toFixed(2)} s `
    + `(CPU ${r.filterCpuS.toFixed(2)} s, ${r.matched} frames kept)\n`);
  for (const [k, [a, b]] of Object.entries(r.views)) {
    process.stdout.write(`  ${k}: first draw ${a.toFixed(0)} ms (CPU ${r.viewsCpu[k]!.toFixed(0)} ms), redraw ${b.toFixed(2)} ms\n`);
  }
}
