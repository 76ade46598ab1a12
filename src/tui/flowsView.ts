// The Flows view: one row per TCP connection / UDP endpoint pair that carried
// VVMP. Without a filter the numbers are the analysis' flow table (what
// `stats` prints, for all frames, also those a live ring has let go); with a
// filter, each flow's frames, bytes, times and errors count only the frames
// the filter keeps, and flows without any are left out. Enter follows the
// flow: a filter for it in the Frames view.

import { humanBytes } from '../output/format.js';
import type { Action } from './keys.js';
import { flowFilter } from './filters.js';
import type { FlowEntry } from './store.js';
import { TableView, type Row } from './table.js';
import { fit, fitRight, seconds, thousands } from './text.js';

interface FlowRow {
  flow: FlowEntry;
  frames: number;
  bytes: number;
  first: number;
  last: number;
  errors: number;
}

export class FlowsView extends TableView {
  readonly id = 'flows' as const;
  private cache: { key: string; rows: FlowRow[] } | null = null;

  private epW(): number {
    return Math.max(12, Math.min(40, this.ctx.store.endpointWidth || 15));
  }

  /** The flows of the filtered frames (null without a filter). */
  private filtered(): FlowRow[] | null {
    const { store, frames } = this.ctx;
    if (!frames.filter) return null;
    const key = `${frames.filter.text}|${frames.length}|${store.total}|${store.first}`;
    if (this.cache?.key === key) return this.cache.rows;
    const byId = new Map<number, FlowRow>();
    for (let r = 0; r < frames.length; r++) {
      const seq = frames.seqAt(r);
      const id = store.flowIdOf(seq);
      let row = byId.get(id);
      if (!row) byId.set(id, (row = { flow: store.flows[id]!, frames: 0, bytes: 0, first: seq, last: seq, errors: 0 }));
      row.frames++;
      row.bytes += store.sizeOf(seq);
      row.last = seq;
      if (store.severity(seq) === 3) row.errors++;
    }
    const rows = [...byId.values()].sort((a, b) => a.flow.id - b.flow.id);
    this.cache = { key, rows };
    return rows;
  }

  protected count(): number {
    return this.filtered()?.length ?? this.ctx.store.flows.length;
  }

  protected header(): string {
    const w = this.epW();
    return `${fit('Proto', 5)} ${fit('Endpoint A', w)} ${fit('Endpoint B', w)} ${fitRight('Frames', 9)} ${fitRight('Bytes', 10)} `
      + `${fitRight('First', 11)} ${fitRight('Last', 11)} ${fitRight('Errors', 7)}`;
  }

  protected row(i: number): Row {
    const s = this.ctx.store;
    const w = this.epW();
    const rows = this.filtered();
    const fr = rows?.[i];
    const f = fr ? fr.flow : s.flows[i]!;
    const frames = fr ? fr.frames : f.frames;
    const bytes = fr ? fr.bytes : f.bytes;
    const errors = fr ? fr.errors : f.errors;
    const first = fr ? s.relTime(fr.first) : s.relative(f.firstSec, f.firstNsec);
    const last = fr ? s.relTime(fr.last) : s.relative(f.lastSec, f.lastNsec);
    return {
      text: `${fit(f.transport.toUpperCase(), 5)} ${fit(f.aText, w)} ${fit(f.bText, w)} ${fitRight(thousands(frames), 9)} `
        + `${fitRight(humanBytes(bytes), 10)} ${fitRight(seconds(first), 11)} `
        + `${fitRight(seconds(last), 11)} ${fitRight(thousands(errors), 7)}`,
      rank: errors > 0 ? 3 : 0,
    };
  }

  protected footer(): string | null {
    const { store, frames } = this.ctx;
    const rows = this.filtered();
    if (!rows) return null;
    return `${thousands(rows.length)} of ${thousands(store.flows.length)} flows carry frames matching the filter ${frames.filter!.text}${frames.pending ? ' (filtering…)' : ''}`;
  }

  protected activate(i: number, action: Action): boolean {
    if (action !== 'enter') return false;
    const rows = this.filtered();
    this.ctx.applyFilter(flowFilter(rows ? rows[i]!.flow : this.ctx.store.flows[i]!));
    return true;
  }

  protected empty(): string {
    return this.ctx.frames.filter ? 'no flow carries a frame matching the filter' : 'no flows with VVMP frames (yet)';
  }
}
