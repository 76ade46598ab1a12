// The ClickHouse sink of `vvmp live --clickhouse`: rows are batched (by rows
// and by time), sent in order, and held back while ClickHouse cannot take
// them: in memory up to a bound, then spilled to files (JSONEachRow, loadable
// as they are), then — past the disk bound — the oldest batches are dropped
// and accounted for exactly (table, rows, row ids, times). Sending is retried
// until it works; stderr says when rows start being held back, how many, and
// when they went out.
//
// With a cluster, rows go in through the Distributed tables without waiting
// for the remote shards (insert_distributed_sync=0): the receiving node keeps
// a stopped shard's rows on its disk and delivers them when it is back, so a
// batch is written once (no partial write to retry). A node that cannot be
// reached is skipped for the next one; only when none can take the batch does
// vvmp hold rows back.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { JsonRowWriter } from './jsonRows.js';
import { ClickHouseTarget } from './clickhouseTarget.js';
import { SCHEMAS, TABLE_NAMES, columnIndex, type Row, type TableName } from '../records/schema.js';
import type { RecordSink } from '../records/collect.js';

export interface LiveSinkOptions {
  batchRows: number;
  /** A partial batch goes out after this long. */
  flushMs: number;
  /** Text held in memory before batches are spilled to disk. */
  memoryBytes: number;
  /** Spilled text kept on disk before the oldest batches are dropped. */
  diskBytes: number;
  spillDir: string;
  /** Where the progress lines go (stderr). */
  report: (line: string) => void;
}

interface Batch {
  table: TableName;
  rows: number;
  bytes: number;
  body: string | null;
  file: string | null;
  firstId: string;
  lastId: string;
  firstTime: string;
  lastTime: string;
}

/** The column each table's rows are timed by, for the reports. */
/** Largest INSERT body when held batches are sent together. */
const SEND_BYTES = 16 << 20;

const TIME_COLUMN: Record<TableName, string> = { frames: 'time', transactions: 'time', sessions: 'opened', flows: 'first' };

class Pending {
  readonly json: JsonRowWriter;
  readonly timeAt: number;
  parts: string[] = [];
  rows = 0;
  bytes = 0;
  firstId = '';
  lastId = '';
  firstTime = '';
  lastTime = '';
  since = 0;

  constructor(readonly table: TableName) {
    this.json = new JsonRowWriter(SCHEMAS[table]);
    this.timeAt = columnIndex(SCHEMAS[table])[TIME_COLUMN[table]]!;
  }

  add(r: Row): void {
    const line = this.json.line(r) + '\n';
    if (this.rows === 0) {
      this.firstId = r[0] as string;
      this.firstTime = String(r[this.timeAt] ?? '');
      this.since = Date.now();
    }
    this.lastId = r[0] as string;
    this.lastTime = String(r[this.timeAt] ?? '');
    this.parts.push(line);
    this.rows++;
    this.bytes += line.length;
  }

  take(): Batch {
    const b: Batch = {
      table: this.table, rows: this.rows, bytes: this.bytes, body: this.parts.join(''), file: null,
      firstId: this.firstId, lastId: this.lastId, firstTime: this.firstTime, lastTime: this.lastTime,
    };
    this.parts = [];
    this.rows = 0;
    this.bytes = 0;
    return b;
  }
}

export interface LiveSinkTotals {
  sent: number;
  held: number;
  dropped: number;
}

export class LiveClickHouseSink implements RecordSink {
  private readonly pending: Record<TableName, Pending>;
  private readonly queue: Batch[] = [];
  private memBytes = 0;
  private diskBytes = 0;
  private spilled = 0;
  private sending = false;
  private down: string | null = null;
  private heldSince = 0;
  private lastReport = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;
  /** Closing gave up waiting: no new INSERT starts. */
  private stopped = false;
  private inFlight: Promise<void> = Promise.resolve();
  /** The batches of the INSERT under way (never spilled twice or dropped meanwhile). */
  private sendingNow = new Set<Batch>();
  readonly totals: LiveSinkTotals = { sent: 0, held: 0, dropped: 0 };
  /** Exact accounts of what was dropped (reported as it happens and at the end). */
  readonly drops: string[] = [];
  private idle: (() => void) | null = null;

  /** `prepared`: the tables exist (made before the capture started, or on the first send). */
  constructor(private readonly target: ClickHouseTarget, private readonly opts: LiveSinkOptions, private prepared = true) {
    this.pending = Object.fromEntries(TABLE_NAMES.map((t) => [t, new Pending(t)])) as Record<TableName, Pending>;
    this.flushTimer = setInterval(() => this.flushOld(), Math.max(50, Math.min(1000, opts.flushMs / 2)));
    this.flushTimer.unref();
  }

  row(table: TableName, r: Row): void {
    const p = this.pending[table];
    p.add(r);
    if (p.rows >= this.opts.batchRows) this.enqueue(p.take());
  }

  private flushOld(): void {
    const now = Date.now();
    for (const t of TABLE_NAMES) {
      const p = this.pending[t];
      if (p.rows > 0 && now - p.since >= this.opts.flushMs) this.enqueue(p.take());
    }
    if (this.down !== null) this.reportHeld(false);
  }

  /** Rows not yet in ClickHouse. */
  get heldRows(): number {
    let n = 0;
    for (const b of this.queue) n += b.rows;
    return n;
  }

  private enqueue(b: Batch): void {
    this.queue.push(b);
    this.memBytes += b.bytes;
    // Over the memory bound: the newest batches in memory go to disk (the oldest go out first).
    for (let i = this.queue.length - 1; i >= 0 && this.memBytes > this.opts.memoryBytes; i--) {
      const q = this.queue[i]!;
      if (q.body !== null && !this.sendingNow.has(q)) this.spill(q);
    }
    // Over the disk bound: drop the oldest spilled batches, and say exactly which.
    while (this.diskBytes > this.opts.diskBytes) {
      const i = this.queue.findIndex((q) => q.file !== null && !this.sendingNow.has(q));
      if (i < 0) break;
      this.drop(this.queue.splice(i, 1)[0]!);
    }
    this.pump();
  }

  private spill(b: Batch): void {
    fs.mkdirSync(this.opts.spillDir, { recursive: true });
    const file = join(this.opts.spillDir, `${String(++this.spilled).padStart(8, '0')}-${b.table}.ndjson`);
    fs.writeFileSync(file, b.body!);
    b.file = file;
    b.body = null;
    this.memBytes -= b.bytes;
    this.diskBytes += b.bytes;
  }

  private drop(b: Batch): void {
    this.diskBytes -= b.bytes;
    if (b.file) fs.rmSync(b.file, { force: true });
    this.totals.dropped += b.rows;
    const line = `dropped ${b.rows} ${b.table} rows (row ids ${b.firstId} … ${b.lastId}, ${b.firstTime} … ${b.lastTime}): `
      + `ClickHouse unreachable and the buffer bound (${mb(this.opts.memoryBytes)} in memory + ${mb(this.opts.diskBytes)} on disk) passed`;
    this.drops.push(line);
    this.opts.report(line);
  }

  private pump(): void {
    if (this.sending || this.retryTimer !== null || this.stopped || this.queue.length === 0) {
      if (!this.sending && this.queue.length === 0) this.idle?.();
      return;
    }
    this.sending = true;
    // The oldest batch, with the other held batches of its table: catching up is one INSERT, not one per batch.
    const table = this.queue[0]!.table;
    const batches: Batch[] = [];
    let size = 0;
    for (const q of this.queue) {
      if (q.table !== table) continue;
      if (batches.length > 0 && size + q.bytes > SEND_BYTES) break;
      batches.push(q);
      size += q.bytes;
    }
    const body = batches.map((b) => b.body ?? fs.readFileSync(b.file!, 'utf8')).join('');
    this.sendingNow = new Set(batches);
    const rows = batches.reduce((a, b) => a + b.rows, 0);
    const settings: Record<string, number> = this.target.layout.cluster !== null ? { insert_distributed_sync: 0 } : {};
    const insert = (): Promise<string> =>
      this.target.any((n) => n.query(`INSERT INTO ${this.target.table(table)} FORMAT JSONEachRow`, body, settings));
    // Tables not made yet (ClickHouse was down when the capture started): make them first.
    this.inFlight = (this.prepared ? insert() : this.target.prepare().then(() => { this.prepared = true; return insert(); }))
      .then(() => {
        const sent = this.sendingNow;
        this.sendingNow = new Set();
        for (let i = this.queue.length - 1; i >= 0; i--) if (sent.has(this.queue[i]!)) this.queue.splice(i, 1);
        for (const b of batches) {
          if (b.file) {
            fs.rmSync(b.file, { force: true });
            this.diskBytes -= b.bytes;
          } else this.memBytes -= b.bytes;
        }
        this.totals.sent += rows;
        if (this.down !== null) {
          this.opts.report(`ClickHouse takes rows again after ${((Date.now() - this.heldSince) / 1000).toFixed(1)} s; sending the ${this.heldRows + rows} rows held back`);
          this.down = null;
        }
        this.sending = false;
        this.pump();
      }, (err: Error) => {
        this.sendingNow = new Set();
        this.sending = false;
        if (this.down === null) {
          this.down = err.message;
          this.heldSince = Date.now();
          this.lastReport = 0;
          this.opts.report(`${err.message}; holding rows back and retrying`);
        }
        this.reportHeld(false);
        if (this.stopped) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.pump();
        }, this.closed ? 250 : 1000);
      });
  }

  private reportHeld(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastReport < 5000) return;
    this.lastReport = now;
    const rows = this.heldRows;
    this.totals.held = Math.max(this.totals.held, rows);
    this.opts.report(`holding back ${rows} rows (${mb(this.memBytes)} in memory, ${mb(this.diskBytes)} spilled to ${this.opts.spillDir})`);
  }

  /**
   * Sends what is left, waiting up to `waitMs` for ClickHouse. Rows that still
   * could not be sent stay in the spill directory (JSONEachRow) and are
   * reported; returns the rows left unsent.
   */
  async close(waitMs: number): Promise<number> {
    this.closed = true;
    clearInterval(this.flushTimer);
    for (const t of TABLE_NAMES) if (this.pending[t].rows > 0) this.enqueue(this.pending[t].take());
    if (this.queue.length > 0 || this.sending) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => resolve(), waitMs);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
        if (this.retryTimer !== null) {
          clearTimeout(this.retryTimer);
          this.retryTimer = null;
          this.pump();
        }
      });
    }
    // No new INSERT from here; the one under way ends (its request has a timeout) before anything is counted.
    this.stopped = true;
    this.idle = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.inFlight.catch(() => undefined);
    const left = this.heldRows;
    if (left > 0) {
      for (const b of this.queue) if (b.body !== null) this.spill(b);
      const per = TABLE_NAMES.map((t) => [t, this.queue.filter((b) => b.table === t).reduce((a, b) => a + b.rows, 0)] as const)
        .filter(([, n]) => n > 0).map(([t, n]) => `${n} ${t}`).join(', ');
      this.opts.report(`not sent: ${left} rows (${per}), kept in ${this.opts.spillDir} (JSONEachRow, one file per batch: <n>-<table>.ndjson)`);
    } else if (this.spilled > 0) {
      fs.rmSync(this.opts.spillDir, { recursive: true, force: true });
    }
    return left;
  }
}

function mb(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}
