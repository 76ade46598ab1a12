// `read` and `live`: what the TCP layer lost or skipped (tcp_gap segment
// events) goes to stderr as it happens, one line each, so that nothing read
// vanishes without notice; `stats` counts it all.

import type { SegmentEvent } from '../net/types.js';
import { endpointText } from '../net/endpoint.js';
import { warn } from './report.js';

/** Lines shown before the rest is only counted. */
const SHOWN = 20;

export class LossReport {
  private shown = 0;
  private more = 0;

  constructor(private readonly label: string) {}

  readonly segment = (e: SegmentEvent): void => {
    if (e.code !== 'tcp_gap') return;
    if (this.shown >= SHOWN) {
      this.more++;
      return;
    }
    this.shown++;
    warn(`${this.label}: packet ${e.packet.index}: ${endpointText(e.src)} → ${endpointText(e.dst)}: ${e.message}`);
  };

  /** The end of the input: how many were not shown. */
  end(): void {
    if (this.more > 0) warn(`${this.label}: ${this.more} more TCP gaps or skipped bytes not shown (vvmp stats counts them all)`);
  }
}
