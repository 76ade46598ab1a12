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
import { liveSource, opcodeKey, type StatsSource } from './statsJson.js';

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
  const per = a.latency.perOpcode();
  if (per.size) {
    out.push('', 'Latency (ms, request → first reply):');
    out.push(...table([['Opcode', 'Replies', 'p50', 'p90', 'p99', 'max'],
      ...[...per].map(([op, { count, pct }]) => [opcodeDef(op)?.name ?? opcodeKey(op), String(count), String(pct.p50), String(pct.p90), String(pct.p99), String(pct.max)])],
    new Set([1, 2, 3, 4, 5])));
  }
  if (sum.undecoded?.length) {
    out.push('', 'Not decoded:');
    out.push(...table(sum.undecoded.map((n) => [noteKey(n), groupDigits(n.count)]), new Set([1])));
  }
  out.push(RULE, '');
  return out.join('\n');
}

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
