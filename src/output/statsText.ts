// `vvmp stats` as text, in the manner of `tshark -q -z`.

import { noteKey, type CaptureNote } from '../capture/notes.js';
import type { Analyzer } from '../analysis/analyzer.js';
import { flowFirst, flowLast, type Summary } from '../analysis/summary.js';
import { secondsBetween, type Stamp } from '../analysis/time.js';
import { hexId } from '../protocol/codec.js';
import { EXPERT_CODES, severityRank, type ExpertCode } from '../protocol/expert.js';
import { opcodeDef, STORAGE_TYPES } from '../protocol/fields.js';
import { formatTime } from './frameJson.js';
import { groupDigits, humanKb } from './format.js';
import { liveSource, msText, opcodeKey, type StatsSource } from './statsJson.js';
import { MAX_TABLE_ROWS, type RtSummary } from '../analysis/rtHistogram.js';

function table(rows: string[][], right: Set<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => '  ' + r.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function rel(s: Stamp | null, origin: Stamp | null): string {
  if (!s || !origin) return '-';
  return secondsBetween(origin, s).toFixed(6);
}

function opName(op: number): string {
  const def = opcodeDef(op);
  return def ? `${def.name} ${op & 0x8000 ? 'reply' : 'request'}` : 'Unknown';
}

const RULE = '='.repeat(78);
/** Text tables stop after this many rows (the JSON lists everything). */
const MAX_ROWS = 50;

function append(out: string[], lines: string[]): void {
  for (const l of lines) out.push(l);
}

function limited<T>(items: T[], what: string, total = items.length): { rows: T[]; more: string[] } {
  if (total <= MAX_ROWS) return { rows: items, more: [] };
  return { rows: items.slice(0, MAX_ROWS), more: [`  … and ${groupDigits(total - MAX_ROWS)} more ${what} (--json lists all)`] };
}

function firstRows<T>(it: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  for (const x of it) {
    if (out.length >= n) break;
    out.push(x);
  }
  return out;
}

export function statsText(file: string, a: Analyzer, sum: Summary, filter: string | null, undecoded?: readonly CaptureNote[]): string {
  return statsSourceText(file, liveSource(a, sum, undecoded), filter);
}

/** `statsText` for any StatsSource (several files merged); `file` names what was read. */
export function statsSourceText(file: string, sum: StatsSource, filter: string | null): string {
  const a = sum;
  const out: string[] = [RULE, `VVMP statistics: ${file}${filter ? `  (filter: ${filter})` : ''}`, RULE];
  if (filter) out.push('Every section describes the frames the filter selects; packets, duration and capture loss describe the whole capture.');
  const origin = a.first;
  const span = a.first && a.last ? secondsBetween(a.first, a.last) : 0;
  out.push(`Packets: ${groupDigits(a.packets)}   VVMP frames: ${groupDigits(sum.vvmpFrames)}   Duration: ${span.toFixed(6)} s`);
  if (a.first) out.push(`First packet: ${formatTime(a.first.sec, a.first.nsec, a.first.digits)}   Last: ${formatTime(a.last!.sec, a.last!.nsec, a.last!.digits)}`);

  out.push('', 'Frames by opcode:');
  const ops = [...sum.byOpcode].sort((x, y) => x[0] - y[0]);
  out.push(...(ops.length ? table(ops.map(([op, n]) => [opcodeKey(op), opName(op), groupDigits(n)]), new Set([2])) : ['  (none)']));

  out.push('', 'Expert findings:');
  const codes = [...sum.expertCounts].sort((x, y) =>
    severityRank(EXPERT_CODES[y[0]]) - severityRank(EXPERT_CODES[x[0]]) || y[1] - x[1]);
  out.push(...(codes.length
    ? table(codes.map(([code, n]) => {
      const firsts = sum.expertFirstFrames.get(code as ExpertCode) ?? [];
      const more = n > firsts.length ? ', …' : '';
      return [EXPERT_CODES[code], code, groupDigits(n), firsts.length ? `frames ${firsts.join(', ')}${more}` : '(TCP segments)'];
    }), new Set([2]))
    : ['  (none)']));

  out.push('', 'Flows:');
  const flows = limited(firstRows(sum.flows.records(), MAX_ROWS + 1), 'flows', sum.flows.size);
  append(out, flows.rows.length
    ? table([['Proto', 'A', 'B', 'Frames', 'Bytes', 'First', 'Last', 'Errors'],
      ...flows.rows.map((f) => [f.transport.toUpperCase(), f.a, f.b, groupDigits(f.frames), groupDigits(f.bytes), rel(flowFirst(f), origin), rel(flowLast(f), origin), String(f.errors)])],
    new Set([3, 4, 5, 6, 7]))
    : ['  (none)']);
  append(out, flows.more);

  out.push('', 'Sessions:');
  const sessions = limited(firstRows(a.sessions.rows(), MAX_ROWS + 1), 'sessions', a.sessions.count);
  append(out, sessions.rows.length
    ? table([['Server', 'Session', 'Client', 'State', 'Type', 'Capacity', 'Opened', 'Closed', 'Lifecycle'],
      ...sessions.rows.map((s) => [
        hexId(s.server_id), s.session_id ? String(s.session_id) : '-', hexId(s.client_id), s.state,
        s.storage_type === null ? '-' : STORAGE_TYPES[s.storage_type] ?? String(s.storage_type),
        s.capacity_kb === null ? '-' : humanKb(s.capacity_kb), rel(s.opened, origin), rel(s.closed, origin),
        lifecycle(s.events.map((e) => (e.detail ? `${e.kind}(${e.detail})` : e.kind)), s.dropped),
      ])], new Set([1, 5, 6, 7]))
    : ['  (none)']);
  append(out, sessions.more);

  out.push('', 'Transactions:');
  out.push(`  requests ${a.requests}   answered ${a.answered}   timed out ${a.timedOut}   open at end ${a.openAtEnd}`);
  appendTriage(out, sum);
  if (sum.undecoded?.length) {
    out.push('', 'Not decoded:');
    out.push(...table(sum.undecoded.map((n) => [noteKey(n), groupDigits(n.count)]), new Set([1])));
  }
  out.push(RULE, '');
  return out.join('\n');
}

const RT_HEAD = ['Replies', 'min', 'avg', 'p50', 'p90', 'p99', 'max'];
const RT_RIGHT = new Set([1, 2, 3, 4, 5, 6, 7]);

function rtCells(s: RtSummary): string[] {
  return [groupDigits(s.count), String(s.min), String(s.avg), String(s.p50), String(s.p90), String(s.p99), String(s.max)];
}

/** Response times, errors, I/O over time, capture loss (what a triager looks at). */
function appendTriage(out: string[], sum: StatsSource): void {
  const tx = sum.transactions;
  const perOp = tx.latency.summaries();
  if (perOp.size) {
    out.push('', 'Response time (ms, request → first reply), by opcode:');
    out.push(...table([['Opcode', ...RT_HEAD], ...[...perOp].map(([op, s]) => [opcodeDef(op)?.name ?? opcodeKey(op), ...rtCells(s)])], RT_RIGHT));
    for (const [what, t] of [['client', tx.byClient], ['server', tx.byServer]] as const) {
      out.push('', `Response time by ${what} (ms; percentiles within 0.8 %):`);
      const rows = limited(t.sorted(), `${what}s`);
      out.push(...table([[what === 'client' ? 'Client' : 'Server', ...RT_HEAD], ...rows.rows.map(([id, h]) => [hexId(id), ...rtCells(h.summary()!)])], RT_RIGHT));
      append(out, rows.more);
      const other = t.other.summary();
      if (other) out.push(`  … other ${what}s (past the first ${groupDigits(MAX_TABLE_ROWS)}), together: ${rtCells(other).join(' ')}`);
    }
  }
  const byStatus = [...tx.errorsByStatus.rows].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  out.push('', 'Error replies (status neither OK nor PENDING):');
  if (byStatus.length === 0) out.push('  (none)');
  else {
    out.push(...table([['Status', 'Replies'], ...byStatus.map(([s, n]) => [s, groupDigits(n)])], new Set([1])));
    const byServer = limited([...tx.errorsByServer.rows].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)), 'servers');
    out.push(...table([['Server', 'Error replies'], ...byServer.rows.map(([s, n]) => [hexId(s), groupDigits(n)])], new Set([1])));
    append(out, byServer.more);
    if (tx.errorsByServer.other) out.push(`  … other servers together: ${groupDigits(tx.errorsByServer.other)}`);
  }
  const io = sum.io;
  if (io.count > 0) {
    // Intervals are aligned to the clock (so files merge exactly), not to the first packet.
    out.push('', `I/O over time (interval ${msText(io.intervalMs)} s, aligned to the clock, UTC):`);
    const rows = [...firstRows(io.rows(), MAX_IO_ROWS)];
    out.push(...table([['Start', 'Frames', 'Errors'], ...rows.map((r) => [utcText(r.startMs), groupDigits(r.frames), groupDigits(r.errors)])],
      new Set([1, 2])));
    if (io.count > MAX_IO_ROWS) out.push(`  … and ${groupDigits(io.count - MAX_IO_ROWS)} more intervals (--json lists all)`);
  }
  const loss = [...sum.loss].filter(([, n]) => n > 0);
  if (loss.length) {
    out.push('', 'Capture loss (whole capture):');
    out.push(...table(loss.map(([k, n]) => [LOSS_TEXT[k] ?? k, groupDigits(n)]), new Set([1])));
  }
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC. */
function utcText(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Intervals shown in the text report (the JSON lists all). */
const MAX_IO_ROWS = 100;

const LOSS_TEXT: Record<string, string> = {
  tcp_gaps: 'TCP gaps (bytes no captured segment held)',
  tcp_bytes_not_captured: 'TCP bytes not captured',
  tcp_bytes_skipped: 'TCP bytes captured but in no frame (no frame boundary found, or after tcp_desync)',
  tcp_frames_dropped: 'frames cut by a gap, dropped',
};

function lifecycle(kinds: string[], dropped: number): string {
  // Collapse repeats: stats ×5 reads better than five entries.
  const parts: string[] = [];
  for (const k of kinds) {
    const last = parts[parts.length - 1];
    const m = last?.match(/^(.*?)(?: ×(\d+))?$/);
    if (m && m[1] === k) parts[parts.length - 1] = `${k} ×${Number(m[2] ?? 1) + 1}`;
    else parts.push(k);
  }
  return parts.join(' → ') + (dropped ? ` (+${dropped} more)` : '');
}
