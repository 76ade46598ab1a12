// Output of a run: the JSON object of OUTPUT.md (exactly those keys, in that
// order; one failure per bug), the human summary (bugs with their counts and
// smallest case, first-pass coverage, speed and restarts) and the live
// progress line.

import type { FuzzReport, Live } from './fuzzer.js';
import { ORACLES } from './oracle.js';
import { describeCause } from './registry.js';

export interface FuzzJson {
  seed: number;
  cases: number;
  duration_s: number;
  cases_per_s: number;
  by_oracle: Record<string, number>;
  failures: Array<{ id: string; oracle: string; strategy: string; detail: string; case: string }>;
}

export function reportJson(r: FuzzReport): FuzzJson {
  return {
    seed: r.seed,
    cases: r.cases,
    duration_s: Math.round(r.durationS * 10) / 10,
    cases_per_s: Math.round(r.casesPerS),
    by_oracle: Object.fromEntries(ORACLES.map((o) => [o, r.byOracle[o]])),
    failures: r.bugs.map((b) => ({ id: b.id, oracle: b.cause.oracle, strategy: b.strategy, detail: b.detail, case: b.dir })),
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

export function summaryText(r: FuzzReport, target: string): string {
  const lines: string[] = [];
  lines.push(`vvmp fuzz: ${r.cases} cases in ${r.durationS.toFixed(1)} s (${Math.round(r.casesPerS)} cases/s), seed ${r.seed}, target ${target}`);
  lines.push(`target: median reply ${r.latency.medianMs.toFixed(1)} ms, a reply is due within ${r.latency.deadlineMs} ms; `
    + `${r.restarts} restart${r.restarts === 1 ? '' : 's'}${r.restarts ? ` (${Math.round(r.meanRestartMs)} ms each: stop ${Math.round(r.restartParts.stop)}, start until TCP accepts ${Math.round(r.restartParts.tcp)}, until UDP answers ${Math.round(r.restartParts.udp)})` : ''}`);
  lines.push('');
  if (r.bugs.length) {
    lines.push(`bugs: ${r.bugs.length}`);
    for (const b of r.bugs) {
      lines.push(`  ${pad(b.id, 7)}${describeCause(b)}  ×${b.count}`);
      lines.push(`  ${' '.repeat(7)}${b.detail}`);
      lines.push(`  ${' '.repeat(7)}→ ${b.dir}  (found by ${b.strategy})`);
    }
  } else lines.push('no failures');
  lines.push('');
  const fp = r.firstPass;
  lines.push(`first pass: ${fp.cases} cases${fp.seconds === null ? ' (not finished)' : ` in ${fp.seconds.toFixed(1)} s`}; fields × values sent per opcode:`);
  for (const row of r.coverage) {
    lines.push(`  ${pad(row.opcode, 18)}${lpad(String(row.fieldsSent), 3)}/${pad(String(row.fields), 4)}fields  ${lpad(String(row.valuesSent), 4)}/${pad(String(row.values), 5)}values`);
  }
  lines.push('');
  lines.push(`failures counted on known bugs: ${r.duplicates}   cases skipped (retired triggers): ${r.skipped}   suspects not confirmed: ${r.unconfirmed}`);
  lines.push(`states seen: ${r.states} (state-model.dot)   grants freed: ${r.housekeeping}${r.orphans ? `   unattributed replies: ${r.orphans}` : ''}`);
  if (r.retired.length) lines.push(`retired (sequence bugs): ${r.retired.join(', ')}`);
  const strat = [...r.byStrategy.entries()].sort((a, b) => b[1].cases - a[1].cases);
  lines.push(`strategies run: ${strat.length}  (most cases: ${strat.slice(0, 5).map(([s, st]) => `${s} ${st.cases}`).join(', ')})`);
  return lines.join('\n') + '\n';
}

export function progressLine(l: Live): string {
  const s = l.elapsedMs / 1000;
  const rate = s > 0 ? Math.round(l.cases / s) : 0;
  const what = l.phase === 'fuzzing' ? l.current : `${l.phase} (${l.current})`;
  return `fuzz ${l.cases} cases  ${rate}/s  ${s.toFixed(0)} s  bugs: ${l.bugs}${l.restarts ? `  restarts ${l.restarts}` : ''}  ${what}`;
}
