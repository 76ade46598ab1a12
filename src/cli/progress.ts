// The progress bar of `vvmp export` on stderr: captures done / total, frames
// and frames/s. Only on a terminal, and only once the run has taken a second
// (short runs print nothing); redrawn at most every 100 ms, erased at the end.

import { groupDigits } from '../output/format.js';

export interface ProgressOutput {
  isTTY?: boolean;
  write(s: string): unknown;
}

export class ExportProgress {
  private readonly on: boolean;
  private readonly start: number;
  private readonly perFile: number[];
  private doneFiles = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly total: number,
    private readonly out: ProgressOutput = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.on = out.isTTY === true;
    this.start = now();
    this.perFile = new Array<number>(total).fill(0);
  }

  frames(i: number, n: number): void {
    this.perFile[i] = n;
    this.draw();
  }

  done(_i: number): void {
    this.doneFiles++;
    this.draw();
  }

  private draw(): void {
    if (!this.on) return;
    const now = this.now();
    if (now - this.start < 1000 || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const frames = this.perFile.reduce((a, b) => a + b, 0);
    const rate = frames / ((now - this.start) / 1000);
    const width = 24;
    const filled = Math.round((this.doneFiles / Math.max(1, this.total)) * width);
    this.out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.doneFiles}/${this.total} captures  `
      + `${groupDigits(frames)} frames  ${groupDigits(Math.round(rate))} frames/s\x1b[K`);
    this.drawn = true;
  }

  close(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}
