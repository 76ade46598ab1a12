// The numbers behind the Latency view: request → first-reply latencies
// grouped by opcode, client or server, for the whole capture or the frames a
// filter keeps. The whole capture by opcode is the analysis' own histogram
// (what `stats` prints); the other cuts gather the same samples — each
// matched reply's latency as the analysis measured it — into the same
// histogram class, so percentiles are computed one way only.

import { LatencyHistogram, type Percentiles } from '../analysis/latency.js';
import { Header } from '../protocol/access.js';
import { OPCODES } from '../protocol/fields.js';
import type { FrameRows } from './frameRows.js';
import type { FrameStore } from './store.js';

export type LatencyGrouping = 'opcode' | 'client' | 'server';
export const GROUPINGS: readonly LatencyGrouping[] = ['opcode', 'client', 'server'];

export interface LatencyGroup {
  label: string;
  /** Filter text selecting this group's replies. */
  filter: string;
  n: number;
  pct: Percentiles;
  /** Samples per bucket (BUCKET_EDGES_US). */
  buckets: number[];
}

/** Bucket edges in µs: 1-2-5 steps from 0 to 100 s; bucket i is [edge i, edge i+1). */
export const BUCKET_EDGES_US: readonly number[] = (() => {
  const e = [0];
  for (let d = 1; d <= 1e8; d *= 10) e.push(d, 2 * d, 5 * d);
  e.push(Infinity);
  return e;
})();

export function bucketOf(us: number): number {
  let i = 0;
  while (i + 1 < BUCKET_EDGES_US.length && us >= BUCKET_EDGES_US[i + 1]!) i++;
  return i;
}

/** A bucket's bounds in ms as filter text: `vvmp.latency >= 0.1 && vvmp.latency < 0.2`. */
export function bucketFilter(i: number): string {
  const lo = BUCKET_EDGES_US[i]! / 1e3;
  const hi = BUCKET_EDGES_US[i + 1]!;
  return hi === Infinity ? `vvmp.latency >= ${lo}` : `vvmp.latency >= ${lo} && vvmp.latency < ${hi / 1e3}`;
}

/** `0.1–0.2 ms` */
export function bucketLabel(i: number): string {
  const ms = (us: number): string => (us / 1e3).toString();
  const hi = BUCKET_EDGES_US[i + 1]!;
  return hi === Infinity ? `≥ ${ms(BUCKET_EDGES_US[i]!)} ms` : `${ms(BUCKET_EDGES_US[i]!)}–${ms(hi)} ms`;
}

function bucketsOf(h: LatencyHistogram): number[] {
  const out = new Array<number>(BUCKET_EDGES_US.length - 1).fill(0);
  const d = h.data();
  for (let us = 0; us < d.counts.length; us++) {
    const c = d.counts[us]!;
    if (c !== 0) out[bucketOf(us)]! += c;
  }
  for (const us of d.rare) out[Math.max(0, bucketOf(us))]!++;
  return out;
}

/** A reply's client or server id, read in place from its header when the view asks (not kept per frame); null when cut off. */
const ID_OF: Record<'client' | 'server', (bytes: Uint8Array) => bigint | null> = {
  client: (b) => (Header.has.client_id(b.length) ? Header.get.client_id(b, 0) : null),
  server: (b) => (Header.has.server_id(b.length) ? Header.get.server_id(b, 0) : null),
};

const OPNAME = new Map<number, string>(OPCODES.map((o) => [o.code & 0x7fff, o.name]));

function opcodeLabel(op: number): string {
  return OPNAME.get(op) ?? `0x${op.toString(16).padStart(4, '0')}`;
}

function group(label: string, filter: string, h: LatencyHistogram): LatencyGroup | null {
  const pct = h.percentiles();
  return pct ? { label, filter, n: h.n, pct, buckets: bucketsOf(h) } : null;
}

const NO_COUNTS = new Float64Array(0);

/** Latency groups for the rows `view` shows (every frame without a filter). */
export function latencyGroups(store: FrameStore, view: FrameRows, by: LatencyGrouping): LatencyGroup[] {
  const out: LatencyGroup[] = [];
  const whole = !view.filter && store.first === 0;
  if (whole && by === 'opcode') {
    // The analysis' histograms, as `stats` reads them.
    for (const [op, d] of store.pipeline.analyzer.latency.data().sort((a, b) => a[0] - b[0])) {
      const g = group(opcodeLabel(op), `vvmp.name == ${opcodeLabel(op)}`, LatencyHistogram.from(d));
      if (g) out.push(g);
    }
    return out;
  }
  // Each group's samples (µs) as a list: a capture names thousands of clients, and a
  // histogram per µs for each (dense up to ~1 s, walked bucket by bucket) took minutes.
  const samples = new Map<bigint, number[]>();
  const rows = whole ? store.size : view.length;
  for (let r = 0; r < rows; r++) {
    const seq = whole ? store.first + r : view.seqAt(r);
    const ms = store.latencyOf(seq);
    if (Number.isNaN(ms)) continue;
    // Group keys: the opcode, or the id (-1: the reply is too short to carry one).
    const key = by === 'opcode' ? BigInt((store.opcode(seq) ?? 0) & 0x7fff) : ID_OF[by](store.bytesOf(seq)) ?? -1n;
    let list = samples.get(key);
    if (!list) samples.set(key, (list = []));
    list.push(Math.round(ms * 1e3));
  }
  // The same histogram class as the analysis' (one way to compute percentiles), fed the samples as they are.
  const hist = new Map<bigint, LatencyHistogram>();
  for (const [key, list] of samples) hist.set(key, LatencyHistogram.from({ counts: NO_COUNTS, rare: Float64Array.from(list) }));
  for (const [key, h] of [...hist].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    let label: string;
    let filter: string;
    if (by === 'opcode') {
      label = opcodeLabel(Number(key));
      filter = `vvmp.name == ${label}`;
    } else if (key < 0n) {
      label = 'none';
      filter = `!vvmp.${by}_id`;
    } else {
      label = `0x${key.toString(16)}`;
      filter = `vvmp.${by}_id == 0x${key.toString(16)}`;
    }
    const g = group(label, filter, h);
    if (g) out.push(g);
  }
  return out;
}
