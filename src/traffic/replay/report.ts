// What `vvmp replay` prints: the JSON object of OUTPUT.md, a text report, and
// a progress line on stderr.

import type { ReplayEngine, ReplayResult } from './engine.js';
import type { ReplayPlan } from './plan.js';

/** OUTPUT.md `vvmp replay … --json`: exactly these keys, in this order. */
export function replayJson(r: ReplayResult): string {
  return JSON.stringify({
    sent: r.sent,
    replies: r.replies,
    matched: r.matched,
    missing: r.missing,
    extra: r.extra,
    differences: r.differences.map((d) => ({ frame: d.frame, field: d.field, expected: d.expected, got: d.got })),
  });
}

/** Exit status of a replay: 0 when every reply matched, 3 when any differed, was missing or was extra. */
export function replayFailed(r: ReplayResult): boolean {
  return r.differed > 0 || r.missing > 0 || r.extra > 0;
}

const group = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const plural = (n: number, one: string, many = `${one}s`) => `${group(n)} ${n === 1 ? one : many}`;

export function rate(count: number, ms: number): string {
  if (ms <= 0 || count === 0) return '-';
  return `${group((count * 1000) / ms)}/s`;
}

/** Text lists print at most this many lines each. */
const SHOW = 200;

export function replayText(plan: ReplayPlan, r: ReplayResult, target: string, opts: { mode: string }): string {
  const out: string[] = [];
  const tcp = plan.channels.filter((c) => c.transport === 'tcp').length;
  const udp = plan.channels.length - tcp;
  const byFrame = new Map(plan.requests.map((q) => [q.frame, q]));
  out.push(`replay of ${plan.file} to ${target} (${opts.mode})`);
  const sk = plan.skipped;
  const skipped = [
    sk.filtered ? `${group(sk.filtered)} not selected by -Y` : '',
    sk.serverSide ? `${group(sk.serverSide)} sent by the server side of their flow` : '',
    sk.incomplete ? `${group(sk.incomplete)} cut short on TCP` : '',
  ].filter(Boolean);
  out.push(`  ${plural(plan.requests.length, 'request')} from ${plural(tcp, 'TCP connection')} and ${plural(udp, 'UDP socket')}`
    + `${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}`);
  out.push(`  sent ${group(r.sent)}${r.loops > 1 ? ` over ${r.loops} loops` : ''} in ${(r.sendMs / 1000).toFixed(3)} s`
    + ` (${rate(r.sent, r.sendMs)}), whole replay ${(r.elapsedMs / 1000).toFixed(3)} s`
    + `${r.notSent ? `; ${group(r.notSent)} not sent (socket failed)` : ''}${r.interrupted ? '; interrupted' : ''}`);
  out.push(`  replies ${group(r.replies)}: ${group(r.matched)} matched, ${group(r.differed)} differed, ${group(r.extra)} extra;`
    + ` ${group(r.missing)} missing`);

  if (r.differences.length) {
    out.push('', `differences (${plural(r.differed, 'reply', 'replies')}, ${plural(r.differences.length, 'field')}):`);
    for (const d of r.differences.slice(0, SHOW)) {
      const q = byFrame.get(d.frame);
      out.push(`  frame ${d.frame}${q ? ` ${q.name} txid=${q.txid}` : ''}: ${d.field} expected ${d.expected}, got ${d.got}`);
    }
    if (r.differences.length > SHOW) out.push(`  … and ${group(r.differences.length - SHOW)} more`);
  }
  if (r.missing) {
    out.push('', `missing (${group(r.missing)}):`);
    for (const m of r.missingList.slice(0, SHOW)) {
      out.push(`  frame ${m.frame} ${m.name} txid=${m.txid}: reply ${m.reply} (${m.expectedStatus}) ${m.reason}`);
    }
    if (r.missing > SHOW) out.push(`  … and ${group(r.missing - Math.min(SHOW, r.missingList.length))} more`);
  }
  if (r.extra) {
    out.push('', `extra (${group(r.extra)}):`);
    for (const x of r.extraList.slice(0, SHOW)) {
      out.push(`  ${x.name}${x.txid !== null ? ` txid=${x.txid}` : ''}${x.status ? ` status ${x.status}` : ''} on the socket replaying ${x.socket}`);
    }
    if (r.extra > SHOW) out.push(`  … and ${group(r.extra - Math.min(SHOW, r.extraList.length))} more`);
  }
  const bad = [
    r.differed ? `${group(r.differed)} differed` : '',
    r.missing ? `${group(r.missing)} missing` : '',
    r.extra ? `${group(r.extra)} extra` : '',
  ].filter(Boolean);
  out.push('', bad.length ? `result: replies do not match the capture (${bad.join(', ')})` : 'result: every reply matched the capture');
  return out.join('\n') + '\n';
}

/** A one-line progress display on a TTY stream, redrawn every 200 ms. */
export class ProgressLine {
  private timer: NodeJS.Timeout | null = null;
  private lastSent = 0;
  private lastAt = 0;
  private shown = false;

  constructor(private readonly engine: ReplayEngine, private readonly out: NodeJS.WriteStream) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }

  private draw(): void {
    const p = this.engine.progress;
    const dt = p.elapsedMs - this.lastAt;
    const r = dt > 0 ? ((p.sent - this.lastSent) * 1000) / dt : 0;
    this.lastSent = p.sent;
    this.lastAt = p.elapsedMs;
    const pct = p.total ? Math.floor((p.sent * 100) / p.total) : 100;
    const width = 20;
    const fill = Math.min(width, Math.floor((pct * width) / 100));
    const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
    const line = `${bar} ${pct}% sent ${group(p.sent)}/${group(p.total)}  replies ${group(p.replies)}`
      + `  differed ${group(p.differed)}  missing ${group(p.missing)}  ${group(r)} frames/s`;
    const cols = this.out.columns || 100;
    this.out.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
    this.shown = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.shown) this.out.write('\r\x1b[K');
  }
}
