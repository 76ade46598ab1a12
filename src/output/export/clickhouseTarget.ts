// `vvmp export … --clickhouse URL[,URL…] [--cluster NAME]`: the export tables
// in ClickHouse, created when missing, rows inserted over HTTP in batches.
//
// With a cluster, the URLs are its nodes: every node gets the `_local`
// MergeTree tables and the Distributed tables over the cluster (sharded by
// shard_key: one session's rows on one shard); rows go in through the
// Distributed tables with insert_distributed_sync=1, so when the command ends
// they are on their shards (or it failed). Without a cluster: plain tables.
//
// Reloading: a capture is known by the sha256 of its bytes. Its `captures` row
// is written last, after all its rows; a capture listed there is skipped
// (unless --replace, which deletes its rows first). Rows of a capture without
// a `captures` row are an interrupted load and are deleted before loading it
// again. So counts are exact at once, unlike a ReplacingMergeTree, which
// removes duplicates only at some later merge (or with FINAL in every query).

import { ClickHouseError, ClickHouseNode, ClickHouseUnavailable } from './clickhouseHttp.js';
import {
  CAPTURES_COLUMNS, CAPTURES_TABLE, ddlStatements, localName, qualified, type TableLayout,
} from './ddl.js';
import { JsonRowWriter } from './jsonRows.js';
import { SCHEMAS, TABLE_NAMES, type Row, type TableName } from '../records/schema.js';
import type { CaptureIdentity } from '../records/collect.js';
import type { CaptureWriter } from './source.js';

export interface ClickHouseOptions {
  urls: readonly string[];
  cluster: string | null;
  database: string;
  replace: boolean;
  /** Rows per INSERT (per table). */
  batchRows?: number;
  /** A request without an answer for this long fails (the node counts as unreachable). */
  timeoutMs?: number;
}

export const DEFAULT_BATCH_ROWS = 50_000;
const BATCH_BYTES = 16 << 20;
const MUTATION_WAIT_MS = 120_000;

const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class ClickHouseTarget {
  readonly nodes: ClickHouseNode[];
  readonly layout: TableLayout;
  private turn = 0;

  constructor(readonly opts: ClickHouseOptions) {
    this.nodes = opts.urls.map((u) => new ClickHouseNode(u, opts.timeoutMs));
    this.layout = { database: opts.database, cluster: opts.cluster };
  }

  /** Checks the nodes and creates what is missing (every node with a cluster, else the one server). */
  async prepare(): Promise<void> {
    for (const n of this.nodes) {
      if (this.layout.cluster !== null) {
        const rows = await n.select<{ n: string }>(`SELECT count() AS n FROM system.clusters WHERE cluster = ${sqlString(this.layout.cluster)}`);
        if (Number(rows[0]?.n ?? 0) === 0) {
          throw new ClickHouseError(`${n.label}: no cluster "${this.layout.cluster}" in this server's remote_servers`);
        }
      }
      for (const sql of ddlStatements(this.layout)) await n.query(sql);
    }
  }

  /** A node to send a statement through (round robin; the next one if it cannot be reached). */
  async any(run: (n: ClickHouseNode) => Promise<string>): Promise<string> {
    let last: Error | null = null;
    for (let k = 0; k < this.nodes.length; k++) {
      const n = this.nodes[(this.turn++) % this.nodes.length]!;
      try {
        return await run(n);
      } catch (err) {
        if (!(err instanceof ClickHouseUnavailable)) throw err;
        last = err;
      }
    }
    throw last!;
  }

  /** The table rows are inserted into and read from. */
  table(name: string): string {
    return qualified(this.layout.database, name);
  }

  private async count(table: string, digest: string): Promise<number> {
    const text = await this.any((n) => n.query(`SELECT count() FROM ${this.table(table)} WHERE capture_digest = ${sqlString(digest)}`));
    return Number(text.trim());
  }

  /**
   * Starts loading a capture: null when it is loaded already (and not --replace).
   * Leftovers of an interrupted load, or the old rows with --replace, are deleted first.
   */
  async begin(id: CaptureIdentity): Promise<ClickHouseCaptureWriter | null> {
    const loaded = (await this.count(CAPTURES_TABLE, id.digest)) > 0;
    if (loaded && !this.opts.replace) return null;
    let leftovers = loaded;
    for (const t of TABLE_NAMES) if (!leftovers) leftovers = (await this.count(t, id.digest)) > 0;
    if (leftovers) await this.deleteCapture(id.digest);
    return new ClickHouseCaptureWriter(this, id);
  }

  /** Deletes a capture's rows on every node and waits until the deletions are done. */
  async deleteCapture(digest: string): Promise<void> {
    const db = this.layout.database;
    for (const n of this.nodes) {
      for (const t of [...TABLE_NAMES, CAPTURES_TABLE]) {
        await n.query(`ALTER TABLE ${qualified(db, localName(this.layout, t))} DELETE WHERE capture_digest = ${sqlString(digest)}`);
      }
    }
    const until = Date.now() + MUTATION_WAIT_MS;
    for (const n of this.nodes) {
      for (;;) {
        const text = await n.query(`SELECT count() FROM system.mutations WHERE database = ${sqlString(db)} AND is_done = 0`);
        if (Number(text.trim()) === 0) break;
        if (Date.now() > until) throw new ClickHouseError(`${n.label}: deleting the old rows of capture ${digest.slice(0, 12)} did not finish in ${MUTATION_WAIT_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Inserts JSONEachRow text into a table (through the Distributed table with a cluster). */
  async insert(table: string, body: string): Promise<void> {
    const settings: Record<string, number> = this.layout.cluster !== null ? { insert_distributed_sync: 1 } : {};
    await this.any((n) => n.query(`INSERT INTO ${this.table(table)} FORMAT JSONEachRow`, body, settings));
  }
}

class Batch {
  readonly json: JsonRowWriter;
  parts: string[] = [];
  rows = 0;
  bytes = 0;
  constructor(table: TableName) {
    this.json = new JsonRowWriter(SCHEMAS[table]);
  }
  take(): string {
    const body = this.parts.join('');
    this.parts = [];
    this.rows = 0;
    this.bytes = 0;
    return body;
  }
}

/** One capture's rows into ClickHouse: batches per table, one INSERT in flight. */
export class ClickHouseCaptureWriter implements CaptureWriter {
  private readonly batches: Record<TableName, Batch>;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private readonly batchRows: number;

  constructor(private readonly target: ClickHouseTarget, private readonly id: CaptureIdentity) {
    this.batches = Object.fromEntries(TABLE_NAMES.map((t) => [t, new Batch(t)])) as Record<TableName, Batch>;
    this.batchRows = target.opts.batchRows ?? DEFAULT_BATCH_ROWS;
  }

  row(table: TableName, r: Row): void {
    const b = this.batches[table];
    const line = b.json.line(r) + '\n';
    b.parts.push(line);
    b.rows++;
    b.bytes += line.length;
    if (b.rows >= this.batchRows || b.bytes >= BATCH_BYTES) this.send(table);
  }

  private send(table: TableName): void {
    const body = this.batches[table].take();
    if (body === '') return;
    // One INSERT at a time, in order; a failure is kept and thrown by ready/finish.
    this.inFlight = this.inFlight.then(async () => {
      if (this.failure) return;
      try {
        await this.target.insert(table, body);
      } catch (err) {
        this.failure = err as Error;
      }
    });
  }

  async ready(): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  async finish(counts: Readonly<Record<TableName, number>>): Promise<void> {
    for (const t of TABLE_NAMES) this.send(t);
    await this.ready();
    // Written by hand: loaded_ns is a 64-bit integer (JSON number text, not a double).
    const values: Record<string, string> = {
      capture_digest: JSON.stringify(this.id.digest), site: JSON.stringify(this.id.site), capture: JSON.stringify(this.id.capture),
      loaded_ns: String(BigInt(Date.now()) * 1_000_000n), frames: String(counts.frames), transactions: String(counts.transactions),
      sessions: String(counts.sessions), flows: String(counts.flows),
    };
    const line = '{' + CAPTURES_COLUMNS.map((c) => `"${c}":${values[c]}`).join(',') + '}';
    await this.target.insert(CAPTURES_TABLE, line + '\n');
  }

  async abort(): Promise<void> {
    await this.inFlight.catch(() => undefined);
    await this.target.deleteCapture(this.id.digest);
  }
}
