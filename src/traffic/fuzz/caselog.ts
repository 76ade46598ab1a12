// cases.ndjson in --out: one line per case sent (sequence number, strategy,
// description, transports, every frame as hex, the one change of a
// deterministic case), so a run can be audited or replayed case by case.
// --no-case-log turns it off.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { FuzzCase } from './cases.js';

export class CaseLog {
  private readonly out: WriteStream;
  private buf: string[] = [];
  lines = 0;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.out = createWriteStream(join(dir, 'cases.ndjson'), { flags: 'a' });
  }

  add(c: FuzzCase): void {
    this.lines++;
    this.buf.push(JSON.stringify({
      case: c.seq, strategy: c.strategy, description: c.desc, transports: c.conns,
      frames: c.steps.map((s) => s.frame.toString('hex')), ...(c.change ? { change: c.change } : {}),
    }));
    if (this.buf.length >= 512) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.out.write(this.buf.join('\n') + '\n');
    this.buf = [];
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((r) => this.out.end(r));
  }
}
