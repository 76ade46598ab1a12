// ClickHouse DDL for the export tables (what `vvmp export --schema clickhouse`
// prints and what the ClickHouse sink creates when missing). Kept to what
// ClickHouse 18.16 (Debian) and current releases both accept: no DateTime64,
// no LowCardinality; times are UInt64 ns plus an ISO String.

import { SCHEMAS, TABLE_NAMES, type Column, type TableName, type TableSchema } from '../records/schema.js';

/** Where the tables go: plain tables, or `_local` MergeTree tables per node behind Distributed ones. */
export interface TableLayout {
  database: string;
  /** Cluster name (remote_servers) for Distributed tables; null for plain tables. */
  cluster: string | null;
}

/** The table of loaded captures (digest → when, how many rows): a reload is skipped by digest. */
export const CAPTURES_TABLE = 'captures';

export function columnType(c: Column): string {
  return c.nullable ? `Nullable(${c.type})` : c.type;
}

const quoteIdent = (s: string): string => '`' + s.replace(/[`\\]/g, (m) => '\\' + m) + '`';

export function qualified(db: string, table: string): string {
  return `${quoteIdent(db)}.${quoteIdent(table)}`;
}

function columnsDdl(t: Pick<TableSchema, 'columns'>): string {
  return t.columns.map((c) => `  ${quoteIdent(c.name)} ${columnType(c)}`).join(',\n');
}

function mergeTree(t: TableSchema): string {
  return `ENGINE = MergeTree() PARTITION BY ${t.partitionBy} ORDER BY (${t.orderBy.map(quoteIdent).join(', ')})`;
}

const CAPTURES_SCHEMA = {
  columns: [
    { name: 'capture_digest', type: 'String', nullable: false },
    { name: 'site', type: 'String', nullable: false },
    { name: 'capture', type: 'String', nullable: false },
    { name: 'loaded_ns', type: 'UInt64', nullable: false },
    { name: 'frames', type: 'UInt64', nullable: false },
    { name: 'transactions', type: 'UInt64', nullable: false },
    { name: 'sessions', type: 'UInt64', nullable: false },
    { name: 'flows', type: 'UInt64', nullable: false },
  ] as Column[],
};
export const CAPTURES_COLUMNS = CAPTURES_SCHEMA.columns.map((c) => c.name);

/** The name a table's data lives under on each node. */
export function localName(layout: TableLayout, table: string): string {
  return layout.cluster === null ? table : `${table}_local`;
}

/**
 * Statements to run on every node (with a cluster) or on the one server:
 * the database, each table (MergeTree; `_local` plus a Distributed table over
 * the cluster sharded by `shard_key`), and the captures table.
 */
export function ddlStatements(layout: TableLayout): string[] {
  const db = layout.database;
  const out = [`CREATE DATABASE IF NOT EXISTS ${quoteIdent(db)}`];
  for (const name of TABLE_NAMES) out.push(...tableDdl(layout, name));
  const cap = localName(layout, CAPTURES_TABLE);
  out.push(`CREATE TABLE IF NOT EXISTS ${qualified(db, cap)} (\n${columnsDdl(CAPTURES_SCHEMA)}\n) ENGINE = MergeTree() ORDER BY (${quoteIdent('capture_digest')})`);
  if (layout.cluster !== null) {
    out.push(`CREATE TABLE IF NOT EXISTS ${qualified(db, CAPTURES_TABLE)} AS ${qualified(db, cap)}\n`
      + `ENGINE = Distributed(${quoteIdent(layout.cluster)}, ${quoteIdent(db)}, ${quoteIdent(cap)}, cityHash64(${quoteIdent('capture_digest')}))`);
  }
  return out;
}

function tableDdl(layout: TableLayout, name: TableName): string[] {
  const t = SCHEMAS[name];
  const db = layout.database;
  const local = localName(layout, name);
  const out = [`CREATE TABLE IF NOT EXISTS ${qualified(db, local)} (\n${columnsDdl(t)}\n) ${mergeTree(t)}`];
  if (layout.cluster !== null) {
    // Sharded by the row's shard_key (a session's rows share it): any client, and
    // inserts through this table, put a row on the same shard.
    out.push(`CREATE TABLE IF NOT EXISTS ${qualified(db, name)} AS ${qualified(db, local)}\n`
      + `ENGINE = Distributed(${quoteIdent(layout.cluster)}, ${quoteIdent(db)}, ${quoteIdent(local)}, ${quoteIdent('shard_key')})`);
  }
  return out;
}

/** The DDL as a script (`vvmp export --schema clickhouse`). */
export function ddlScript(layout: TableLayout): string {
  const head = layout.cluster === null
    ? `-- vvmp export tables (plain MergeTree tables in ${layout.database}).\n`
    : `-- vvmp export tables: run on every node of cluster ${layout.cluster}. Data lives in the *_local\n`
      + `-- MergeTree tables; query and insert through the Distributed tables (sharded by shard_key,\n`
      + `-- which keeps one session's rows on one shard).\n`;
  return head + ddlStatements(layout).map((s) => s + ';\n').join('\n');
}
