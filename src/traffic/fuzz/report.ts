// Output of a run: the JSON object of OUTPUT.md (exactly those keys, in that
// order), the human summary table and the live progress line.

import type { FuzzReport, Live } from './fuzzer.js';
import { ORACLES } from './oracle.js';

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
    failures: r.failures.map((f) => ({ id: f.id, oracle: f.oracle, strategy: f.strategy, detail: f.detail, case: f.case })),
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function summaryText(r: FuzzReport, target: string): string {
  const lines: string[] = [];
  lines.push(`vvmp fuzz: ${r.cases} cases in ${r.durationS.toFixed(1)} s (${Math.round(r.casesPerS)} cases/s), seed ${r.seed}, target ${target}`);
  lines.push('');
  lines.push(`${pad('oracle', 14)}failures`);
  for (const o of ORACLES) lines.push(`${pad(o, 14)}${r.byOracle[o]}`);
  lines.push('');
  if (r.failures.length) {
    lines.push('failures:');
    const w = Math.max(8, ...r.failures.map((f) => f.strategy.length)) + 2;
    for (const f of r.failures) {
      lines.push(`  ${pad(f.id, 7)}${pad(f.oracle, 14)}${pad(f.strategy, w)}${f.detail}`);
      lines.push(`  ${' '.repeat(7)}→ ${f.case}${f.duplicates ? `  (+${f.duplicates} duplicate${f.duplicates > 1 ? 's' : ''})` : ''}`);
    }
    lines.push('');
  } else lines.push('no failures', '');
  lines.push(`suspects not confirmed: ${r.unconfirmed}   duplicates: ${r.duplicates}   target restarts: ${r.restarts}   `
    + `grants freed: ${r.housekeeping}${r.orphans ? `   unattributed replies: ${r.orphans}` : ''}`);
  if (r.retired.length) lines.push(`retired after crashes/hangs: ${r.retired.join(', ')}`);
  const strat = [...r.byStrategy.entries()].sort((a, b) => b[1].cases - a[1].cases);
  lines.push(`strategies run: ${strat.length}  (most cases: ${strat.slice(0, 5).map(([s, st]) => `${s} ${st.cases}`).join(', ')})`);
  return lines.join('\n') + '\n';
}

export function progressLine(l: Live): string {
  const s = l.elapsedMs / 1000;
  const rate = s > 0 ? Math.round(l.cases / s) : 0;
  const fails = ORACLES.filter((o) => l.byOracle[o]).map((o) => `${o} ${l.byOracle[o]}`).join(' ') || 'none';
  const what = l.phase === 'fuzzing' ? l.current : `${l.phase} (${l.current})`;
  return `fuzz ${l.cases} cases  ${rate}/s  ${s.toFixed(0)} s  failures: ${fails}${l.restarts ? `  restarts ${l.restarts}` : ''}  ${what}`;
}
