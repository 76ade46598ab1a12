// A flow as the terminal UI lists it: its endpoints as objects (for the
// filters the UI writes) and its numbers as the analysis counts them, read
// from the `stats` flow table (analysis/flows.ts) row by row, so the Flows
// view and `vvmp stats` cannot disagree.

import type { FlowTable } from '../analysis/flows.js';
import type { Endpoint, Transport } from '../net/types.js';

/**
 * One flow: its endpoints as objects (for filters), its numbers as the
 * analysis counts them (the `stats` flow table, row `id`).
 */
export class FlowEntry {
  constructor(
    readonly id: number,
    readonly key: string,
    readonly transport: Transport,
    /** The endpoint that sent the flow's first frame, and the other. */
    readonly a: Endpoint,
    readonly b: Endpoint,
    readonly aText: string,
    readonly bText: string,
    private readonly table: FlowTable,
  ) {}

  private get rec() {
    return this.table.record(this.id);
  }

  get frames(): number { return this.rec.frames; }
  get bytes(): number { return this.rec.bytes; }
  get firstSec(): number { return this.rec.firstSec; }
  get firstNsec(): number { return this.rec.firstNsec; }
  get lastSec(): number { return this.rec.lastSec; }
  get lastNsec(): number { return this.rec.lastNsec; }
  /** Frames with an error finding. */
  get errors(): number { return this.rec.errors; }
}

