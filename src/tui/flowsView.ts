// The Flows view: one row per TCP connection / UDP endpoint pair that carried
// VVMP (for all frames, also those a live ring has let go). Enter follows the
// flow: a filter for it in the Frames view.

import { humanBytes } from '../output/format.js';
import type { Action } from './keys.js';
import { flowFilter } from './filters.js';
import { TableView, type Row } from './table.js';
import { fit, fitRight, seconds, thousands } from './text.js';

export class FlowsView extends TableView {
  readonly id = 'flows' as const;

  private epW(): number {
    return Math.max(12, Math.min(40, this.ctx.store.endpointWidth || 15));
  }

  protected count(): number {
    return this.ctx.store.flows.length;
  }

  protected header(): string {
    const w = this.epW();
    return `${fit('Proto', 5)} ${fit('Endpoint A', w)} ${fit('Endpoint B', w)} ${fitRight('Frames', 9)} ${fitRight('Bytes', 10)} `
      + `${fitRight('First', 11)} ${fitRight('Last', 11)} ${fitRight('Errors', 7)}`;
  }

  protected row(i: number): Row {
    const f = this.ctx.store.flows[i]!;
    const s = this.ctx.store;
    const w = this.epW();
    return {
      text: `${fit(f.transport.toUpperCase(), 5)} ${fit(f.aText, w)} ${fit(f.bText, w)} ${fitRight(thousands(f.frames), 9)} `
        + `${fitRight(humanBytes(f.bytes), 10)} ${fitRight(seconds(s.relative(f.firstSec, f.firstNsec)), 11)} `
        + `${fitRight(seconds(s.relative(f.lastSec, f.lastNsec)), 11)} ${fitRight(thousands(f.errors), 7)}`,
      rank: f.errors > 0 ? 3 : 0,
    };
  }

  protected activate(i: number, action: Action): boolean {
    if (action !== 'enter') return false;
    this.ctx.applyFilter(flowFilter(this.ctx.store.flows[i]!));
    return true;
  }

  protected empty(): string {
    return 'no flows with VVMP frames (yet)';
  }
}
