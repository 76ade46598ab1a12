// `-z` statistics in tshark's text layouts, from the same analysis `stats`
// uses: conversations and endpoints from Summary's flow table (VVMP frames
// and VVMP bytes, as `stats` counts them), response times from the
// analyzer's latency histograms. What tshark counts per packet is counted
// here per VVMP frame (the same when every packet carries one frame).

import type { CompiledFilter } from '../../analysis/filter/index.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { IoTimeline } from '../../analysis/io.js';
import type { LatencyData } from '../../analysis/latency.js';
import { Summary, flowFirst, flowLast, type FlowRecord } from '../../analysis/summary.js';
import { OPCODES, REPLY_BIT } from '../../protocol/fields.js';
import type { Stamp } from './time.js';

const RULE = '='.repeat(80);

function nsBetween(a: Stamp, b: Stamp): number {
  return (a.sec - b.sec) * 1e9 + (a.nsec - b.nsec);
}

/** tshark's format_size for conversation bytes: "764 bytes", "17 kB", "12 MB". */
function sizeText(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (u < units.length - 1 && n >= 10_000) {
    n = Math.floor(n / 1000);
    u++;
  }
  return `${n} ${units[u]}`;
}

function filterLine(f: CompiledFilter | null): string {
  return `Filter:${f ? f.text : '<No Filter>'}\n`;
}

/** Frames and bytes one endpoint of a flow sent. */
interface Sent { from: string; frames: number; bytes: number }

/** A -z conv / endpoints statistic: its own Summary fed with the frames it counts. */
export class FlowStat {
  readonly summary = new Summary();
  /** Per flow, frames and bytes sent by the flow's first endpoint (the "->" columns). */
  private readonly forward = new Map<string, Sent>();

  constructor(readonly filter: CompiledFilter | null) {}

  frame(f: AnalyzedFrame): void {
    if (this.filter && !this.filter.test(f)) return;
    this.summary.frame(f);
    let d = this.forward.get(f.flowKey);
    if (!d) this.forward.set(f.flowKey, (d = { from: f.srcText, frames: 0, bytes: 0 }));
    if (d.from === f.srcText) {
      d.frames++;
      d.bytes += f.decoded.bytes.length;
    }
  }

  /** Flows with their "->" (from `a`) and "<-" counts, most frames first, then in order of first frame. */
  rows(transport?: string): { r: FlowRecord; fwd: { frames: number; bytes: number } }[] {
    const out: { r: FlowRecord; fwd: { frames: number; bytes: number } }[] = [];
    for (const [key, r] of this.summary.flows.entries()) {
      if (transport && r.transport !== transport) continue;
      const fwd = this.forward.get(key)!;
      // The flow's first frame (lowest number) may not be the first one we were given.
      out.push({ r, fwd: fwd.from === r.a ? fwd : { frames: r.frames - fwd.frames, bytes: r.bytes - fwd.bytes } });
    }
    return out.map((x, i) => ({ x, i })).sort((p, q) => q.x.r.frames - p.x.r.frames || p.i - q.i).map((p) => p.x);
  }
}

export function convText(stat: FlowStat, transport: 'tcp' | 'udp', start: Stamp | null): string {
  const head = `${RULE}\n${transport.toUpperCase()} Conversations\n${filterLine(stat.filter)}`
    + `${' '.repeat(59)}|       <-      | |       ->      | |     Total     |    Relative    |   Duration   |\n`
    + `${' '.repeat(59)}| Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |              |\n`;
  const lines = stat.rows(transport).map(({ r, fwd }) => {
    const back = { frames: r.frames - fwd.frames, bytes: r.bytes - fwd.bytes };
    const rel = start ? nsBetween(flowFirst(r), start) / 1e9 : 0;
    const dur = nsBetween(flowLast(r), flowFirst(r)) / 1e9;
    return `${r.a.padEnd(26)} <-> ${r.b.padEnd(26)}  ${String(back.frames).padStart(6)} ${sizeText(back.bytes).padEnd(9)}  `
      + `${String(fwd.frames).padStart(6)} ${sizeText(fwd.bytes).padEnd(9)}  ${String(r.frames).padStart(6)} ${sizeText(r.bytes).padEnd(9)}  `
      + `${rel.toFixed(9).padStart(14)}   ${dur.toFixed(4).padStart(12)}\n`;
  });
  return head + lines.join('') + `${RULE}\n`;
}

/** The IP of an endpoint text "a.b.c.d:port" / "[v6]:port". */
function ipOf(endpoint: string): string {
  return endpoint.startsWith('[') ? endpoint.slice(1, endpoint.indexOf(']')) : endpoint.slice(0, endpoint.lastIndexOf(':'));
}

export function endpointsText(stat: FlowStat): string {
  const by = new Map<string, { tx: number; txb: number; rx: number; rxb: number; order: number }>();
  const get = (ip: string): { tx: number; txb: number; rx: number; rxb: number; order: number } => {
    let e = by.get(ip);
    if (!e) by.set(ip, (e = { tx: 0, txb: 0, rx: 0, rxb: 0, order: by.size }));
    return e;
  };
  for (const { r, fwd } of stat.rows()) {
    const a = get(ipOf(r.a));
    const b = get(ipOf(r.b));
    const back = { frames: r.frames - fwd.frames, bytes: r.bytes - fwd.bytes };
    a.tx += fwd.frames; a.txb += fwd.bytes; b.rx += fwd.frames; b.rxb += fwd.bytes;
    b.tx += back.frames; b.txb += back.bytes; a.rx += back.frames; a.rxb += back.bytes;
  }
  const rows = [...by.entries()].sort(([, p], [, q]) => (q.tx + q.rx) - (p.tx + p.rx) || p.order - q.order);
  const v6 = rows.some(([ip]) => ip.includes(':'));
  let out = `${RULE}\n${v6 ? 'IPv4 and IPv6' : 'IPv4'} Endpoints\n${filterLine(stat.filter)}`
    + '                       |  Packets  | |  Bytes  | | Tx Packets | | Tx Bytes | | Rx Packets | | Rx Bytes |\n';
  for (const [ip, e] of rows) {
    out += `${ip.padEnd(20)}${String(e.tx + e.rx).padStart(12)}${String(e.txb + e.rxb).padStart(14)}`
      + `${String(e.tx).padStart(11)}${String(e.txb).padStart(16)}${String(e.rx).padStart(12)}${String(e.rxb).padStart(16)}   \n`;
  }
  return out + `${RULE}\n`;
}

// ---- vvmp,srt -------------------------------------------------------------------

interface SrtRow { calls: number; minUs: number; maxUs: number; sumUs: number }

function rowOf(d: LatencyData): SrtRow {
  const row: SrtRow = { calls: 0, minUs: Infinity, maxUs: 0, sumUs: 0 };
  const add = (us: number, n: number): void => {
    row.calls += n;
    row.sumUs += us * n;
    if (us < row.minUs) row.minUs = us;
    if (us > row.maxUs) row.maxUs = us;
  };
  for (let us = 0; us < d.counts.length; us++) if (d.counts[us]) add(us, d.counts[us]!);
  for (const us of d.rare) add(us, 1);
  return row;
}

function srtSec(us: number): string {
  const whole = Math.floor(us / 1e6);
  return `${String(whole).padStart(3)}.${String(Math.round(us - whole * 1e6)).padStart(6, '0')}`;
}

/**
 * `-z vvmp,srt`: per request opcode, calls, min/max/avg/sum response time in
 * seconds (tshark's SRT table). Input: the analyzer's histograms, or per-opcode
 * microseconds of the replies shown (with a filter).
 */
export function srtText(data: Iterable<[number, LatencyData]>, filter: string | null): string {
  let out = '\n===================================================================\nVVMP SRT Statistics:\n'
    + `Filter: ${filter ?? ''}\nIndex  ${'Procedure'.padEnd(22)} Calls    Min SRT    Max SRT    Avg SRT    Sum SRT\n`;
  const rows = [...data].map(([op, d]) => [op & ~REPLY_BIT, rowOf(d)] as const).filter(([, r]) => r.calls > 0).sort((a, b) => a[0] - b[0]);
  for (const [op, r] of rows) {
    const name = OPCODES.find((o) => o.code === op)?.name ?? `0x${op.toString(16).padStart(4, '0')}`;
    out += `${String(op).padStart(5)}  ${name.padEnd(22)} ${String(r.calls).padStart(6)} ${srtSec(r.minUs)} ${srtSec(r.maxUs)} `
      + `${srtSec(r.sumUs / r.calls)} ${srtSec(r.sumUs)}\n`;
  }
  return out + '==================================================================\n';
}

/** Response times of shown replies, per request opcode, as latency data (for a filtered srt). */
export class ShownLatencies {
  private readonly byOp = new Map<number, number[]>();

  constructor(readonly filter: CompiledFilter | null) {}

  frame(f: AnalyzedFrame): void {
    if (f.latencyMs === null || f.decoded.header.opcode === null) return;
    if (this.filter && !this.filter.test(f)) return;
    const op = f.decoded.header.opcode & ~REPLY_BIT;
    let l = this.byOp.get(op);
    if (!l) this.byOp.set(op, (l = []));
    l.push(Math.round(f.latencyMs * 1000));
  }

  *data(): IterableIterator<[number, LatencyData]> {
    for (const [op, us] of this.byOp) yield [op, { counts: new Float64Array(0), rare: Float64Array.from(us) }];
  }
}

// ---- io,stat ----------------------------------------------------------------------

function hasError(f: AnalyzedFrame): boolean {
  for (const x of f.expert) if (x.severity === 'error') return true;
  return false;
}

/**
 * `-z io,stat,INTERVAL[,FILTER…]`: frames and bytes per interval and column,
 * counted by the analysis I/O timeline (one per column) on tshark's clock:
 * intervals from the capture's first packet.
 */
export class IoStat {
  /** Per column, made at the first frame (the clock starts at the first packet). */
  private cols: IoTimeline[] | null = null;

  constructor(readonly intervalUs: number, readonly filters: readonly (CompiledFilter | null)[]) {}

  frame(f: AnalyzedFrame, start: Stamp): void {
    const clock = { originSec: start.sec, originNsec: start.nsec, intervalUs: this.intervalUs };
    const cols = (this.cols ??= this.filters.map(() => new IoTimeline(null, clock)));
    for (let c = 0; c < cols.length; c++) {
      const flt = this.filters[c];
      if (flt && !flt.test(f)) continue;
      cols[c]!.frame(f.tsSec, f.tsNsec, hasError(f), f.decoded.bytes.length);
    }
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
    // A loop, not Math.max(...labels): a short interval over a long capture has more rows than a call has arguments.
    let lw = 'Interval '.length;
    for (const l of labels) lw = Math.max(lw, l.length);
    const cols = this.cols ?? this.filters.map(() => new IoTimeline(null, { originSec: 0, originNsec: 0, intervalUs: this.intervalUs }));
    let fw = 6;
    let bw = 5;
    for (const c of cols) {
      // Every interval with frames, also those past the last packet's time (out-of-order captures).
      for (let i = 0, end = Math.max(n - 1, c.lastIndex); i <= end; i++) {
        fw = Math.max(fw, String(c.framesAt(i)).length);
        bw = Math.max(bw, String(c.bytesAt(i)).length);
      }
    }
    const colW = fw + bw + 5; // " Frames | Bytes "
    const W = 2 + lw + 1 + cols.length * (colW + 1);
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
    out += `|${' '.repeat(lw + 1)}|` + cols.map((_, c) => `${String(c + 1).padEnd(colW)}|`).join('') + '\n';
    out += `| ${'Interval'.padEnd(lw)}|` + cols.map(() => ` ${'Frames'.padStart(fw)} | ${'Bytes'.padStart(bw)} |`).join('') + '\n';
    out += dashes;
    for (let i = 0; i < n; i++) {
      out += `| ${labels[i]!.padEnd(lw)}|` + cols.map((c) => ` ${String(c.framesAt(i)).padStart(fw)} | ${String(c.bytesAt(i)).padStart(bw)} |`).join('') + '\n';
    }
    return out + rule;
  }
}
