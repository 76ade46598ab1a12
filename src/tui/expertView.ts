// The Expert view: findings grouped by code — errors first (checksum_bad
// first among them), then warnings, then notes — with counts. A group opens
// to its frames; Enter on a frame jumps to it in the Frames view.

import { frameSummary } from '../output/summary.js';
import { severityRank, type ExpertCode } from '../protocol/expert.js';
import type { ExpertGroup } from './store.js';
import type { Action } from './keys.js';
import { TableView, type Row } from './table.js';
import { fit, fitRight, plural, seconds, thousands } from './text.js';

export class ExpertView extends TableView {
  readonly id = 'expert' as const;
  private readonly open = new Set<ExpertCode>();
  private groups: ExpertGroup[] = [];

  protected count(): number {
    this.groups = this.ctx.store.expertGroups();
    let n = 0;
    for (const g of this.groups) n += 1 + (this.open.has(g.code) ? g.frames.length : 0);
    return n;
  }

  /** Row i as (group, frame index in it; -1 for the group's own row). */
  private at(i: number): { g: ExpertGroup; k: number; header: number } {
    let row = 0;
    for (const g of this.groups) {
      const size = 1 + (this.open.has(g.code) ? g.frames.length : 0);
      if (i < row + size) return { g, k: i - row - 1, header: row };
      row += size;
    }
    throw new RangeError(`expert row ${i}`);
  }

  protected header(): string {
    return `  ${fit('Severity', 8)} ${fit('Code', 20)} ${fitRight('Count', 9)}  Frames`;
  }

  protected row(i: number): Row {
    const { g, k } = this.at(i);
    const rank = severityRank(g.severity);
    if (k < 0) {
      const mark = g.frames.length === 0 ? ' ' : this.open.has(g.code) ? '▾' : '▸';
      const where = g.frames.length > 0 ? plural(g.frames.length, 'frame') : 'TCP segments (no frame)';
      return { text: `${mark} ${fit(g.severity, 8)} ${fit(g.code, 20)} ${fitRight(thousands(g.count), 9)}  ${where}`, rank };
    }
    const { store } = this.ctx;
    const seq = g.frames.at(k);
    const f = store.get(seq);
    if (!f) return { text: `      frame ${seq + 1} (no longer kept)`, rank };
    const msgs = f.expert.filter((x) => x.code === g.code).map((x) => x.message).join('; ');
    return {
      text: `    ${fitRight(String(f.number), 8)}  ${seconds(store.relTime(seq), f.tsDigits)}  ${frameSummary(f)} — ${msgs}`,
      rank,
    };
  }

  protected activate(i: number, action: Action): boolean {
    const { g, k, header } = this.at(i);
    if (k < 0) {
      if (g.frames.length === 0) return true;
      if (action === 'enter' || action === 'toggle') {
        if (this.open.has(g.code)) this.open.delete(g.code);
        else this.open.add(g.code);
      } else if (action === 'right') this.open.add(g.code);
      else if (action === 'left') this.open.delete(g.code);
      else return false;
      return true;
    }
    if (action === 'left' || action === 'toggle') {
      this.open.delete(g.code);
      this.cursor.sel = header;
      return true;
    }
    if (action === 'enter') {
      this.ctx.jumpToFrame(g.frames.at(k));
      return true;
    }
    return false;
  }

  protected empty(): string {
    return 'no expert findings';
  }
}
