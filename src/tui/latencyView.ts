// The Latency view: request → first-reply latency per opcode (or client, or
// server; ←/→ switch), with nearest-rank percentiles, and the histogram of
// the selected group drawn in the terminal. Enter on a group opens its
// histogram; Enter on a bucket filters the Frames view to the replies in it.

import { ChartView } from './chartView.js';
import type { Action } from './keys.js';
import { isMove, ListCursor } from './list.js';
import { bucketFilter, bucketLabel, bucketOf, GROUPINGS, latencyGroups, type LatencyGroup, type LatencyGrouping } from './latencyData.js';
import { hbar } from './graph.js';
import { esc, fit, fitRight, plural, thousands } from './text.js';

type Focus = 'groups' | 'buckets';

export class LatencyView extends ChartView<LatencyGroup[]> {
  readonly id = 'latency' as const;
  private by: LatencyGrouping = 'opcode';
  private focus: Focus = 'groups';
  private readonly groupCursor = new ListCursor();
  private readonly bucketCursor = new ListCursor();

  /** Groups for the current rows, recomputed only when the rows or the grouping changed. */
  private groups(): LatencyGroup[] {
    const { store, frames } = this.ctx;
    return this.data(this.by, () => latencyGroups(store, frames, this.by));
  }

  /** Buckets of a group shown: from its first to its last non-empty bucket. */
  private span(g: LatencyGroup): [number, number] {
    let a = g.buckets.findIndex((c) => c > 0);
    let b = g.buckets.length - 1;
    while (b > a && g.buckets[b] === 0) b--;
    if (a < 0) a = b = 0;
    return [a, b + 1];
  }

  private groupRows(n: number): number {
    return Math.max(1, Math.min(n, Math.floor((this.height - 4) / 2)));
  }

  handle(action: Action): boolean {
    const groups = this.groups();
    if (action === 'left' || action === 'right') {
      const i = GROUPINGS.indexOf(this.by);
      this.by = GROUPINGS[(i + (action === 'right' ? 1 : GROUPINGS.length - 1)) % GROUPINGS.length]!;
      this.groupCursor.sel = 0;
      this.bucketCursor.sel = 0;
      return true;
    }
    if (action === 'nextPane' || action === 'prevPane') {
      this.focus = this.focus === 'groups' ? 'buckets' : 'groups';
      return true;
    }
    const g = groups[this.groupCursor.sel];
    if (this.focus === 'groups') {
      if (isMove(action)) {
        this.groupCursor.move(action, groups.length, this.groupRows(groups.length));
        this.bucketCursor.sel = 0;
        return true;
      }
      if (action === 'enter' && g) this.focus = 'buckets';
      return action === 'enter';
    }
    if (!g) return false;
    const [a, b] = this.span(g);
    if (isMove(action)) return this.bucketCursor.move(action, b - a, this.height);
    if (action === 'enter') {
      const i = a + this.bucketCursor.sel;
      this.filterTo(`${g.filter} && ${bucketFilter(i)}`);
      return true;
    }
    return false;
  }

  render(): void {
    const { theme, frames } = this.ctx;
    const w = this.width;
    const groups = this.groups();
    const lines: string[] = [];
    const scope = this.scope();
    const tabs = GROUPINGS.map((x) => (x === this.by ? theme.inverse(esc(` ${x} `)) : esc(` ${x} `))).join('');
    const heading = ' Latency to first reply, by';
    lines.push(theme.bold(esc(heading)) + tabs + esc(fit(`  ←/→ · ${scope}`, Math.max(0, w - heading.length - 24))));
    const labW = Math.min(20, Math.max(8, ...groups.map((g) => g.label.length)));
    const head = `  ${fit(this.by === 'opcode' ? 'Opcode' : this.by === 'client' ? 'Client' : 'Server', labW)} ${fitRight('Replies', 9)} ${fitRight('p50', 9)} ${fitRight('p90', 9)} ${fitRight('p99', 9)} ${fitRight('max', 9)}  ms`;
    lines.push(this.focus === 'groups' ? theme.inverse(esc(fit(head, w))) : theme.bold(esc(fit(head, w))));
    if (groups.length === 0) {
      lines.push(esc(frames.pending ? '  filtering…' : '  no request/reply pairs with a latency among these frames'));
      this.box.setContent(lines.join('\n'));
      return;
    }
    const gh = this.groupRows(groups.length);
    this.groupCursor.clamp(groups.length, gh);
    const [ga, gb] = this.groupCursor.visible(groups.length, gh);
    const ms = (v: number): string => v.toFixed(3);
    for (let i = ga; i < gb; i++) {
      const g = groups[i]!;
      const sel = i === this.groupCursor.sel;
      const text = `${sel ? '>' : ' '} ${fit(g.label, labW)} ${fitRight(thousands(g.n), 9)} ${fitRight(ms(g.pct.p50), 9)} ${fitRight(ms(g.pct.p90), 9)} ${fitRight(ms(g.pct.p99), 9)} ${fitRight(ms(g.pct.max), 9)}`;
      lines.push(theme.row(fit(text, w), 0, sel, this.focus === 'groups'));
    }
    const g = groups[this.groupCursor.sel]!;
    const [a, b] = this.span(g);
    const title = `── ${g.label}: ${plural(g.n, 'reply', 'replies')}, p50 ${ms(g.pct.p50)} · p90 ${ms(g.pct.p90)} · p99 ${ms(g.pct.p99)} ms · Enter filters a bucket `;
    lines.push((this.focus === 'buckets' ? theme.inverse(esc(title)) : theme.bold(esc(title))) + esc('─'.repeat(Math.max(0, w - title.length))));
    const bh = Math.max(1, this.height - lines.length);
    this.bucketCursor.clamp(b - a, bh);
    const [ba, bb] = this.bucketCursor.visible(b - a, bh);
    const max = Math.max(...g.buckets);
    const labelW = 18;
    const countW = 9;
    const barW = Math.max(4, w - labelW - countW - 5);
    // Which bucket holds each percentile: marked beside its bar.
    const mark = (i: number): string => {
      const tags: string[] = [];
      for (const [name, v] of [['p50', g.pct.p50], ['p90', g.pct.p90], ['p99', g.pct.p99]] as const) {
        const us = Math.round(v * 1e3);
        if (i === bucketOf(us)) tags.push(name);
      }
      return tags.length ? ` ◀ ${tags.join(' ')}` : '';
    };
    for (let k = ba; k < bb; k++) {
      const i = a + k;
      const c = g.buckets[i]!;
      const sel = k === this.bucketCursor.sel;
      const left = `${sel ? '>' : ' '} ${fitRight(bucketLabel(i), labelW - 2)} ${fitRight(thousands(c), countW)} `;
      const bar = hbar(c, max, Math.max(4, barW - 16)); // room for the percentile marks
      const text = fit(left + bar + mark(i), w);
      lines.push(sel && this.focus === 'buckets' ? theme.inverse(esc(text)) : esc(left) + theme.fg('cyan', esc(bar)) + esc(mark(i)));
    }
    this.box.setContent(lines.join('\n'));
  }
}
