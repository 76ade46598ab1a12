// Parquet through DuckDB (@duckdb/node-api): the rows are written once as
// NDJSON (the same text the other formats use) and DuckDB's reader converts
// them with the declared column types. Chosen by measurement on this machine
// (README, "Exporting"): DuckDB's appender and its JSON → Parquet conversion
// beat parquet-wasm + apache-arrow and hyparquet-writer, and DuckDB also reads
// the files back (read_parquet / read_json) for the tests.

import type { Column, TableSchema } from '../records/schema.js';

function duckType(c: Column): string {
  switch (c.type) {
    case 'String': return 'VARCHAR';
    case 'UInt8': return 'UTINYINT';
    case 'UInt16': return 'USMALLINT';
    case 'UInt32': return 'UINTEGER';
    case 'UInt64': return 'UBIGINT';
    case 'Int64': return 'BIGINT';
    case 'Float64': return 'DOUBLE';
    case 'Array(String)': return 'VARCHAR[]';
  }
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The `columns=` struct of DuckDB's read_json for a table. */
export function duckColumns(t: TableSchema): string {
  return `{${t.columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckType(c))}`).join(', ')}}`;
}

export async function ndjsonToParquet(input: string, output: string, t: TableSchema): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  try {
    await con.run(`COPY (SELECT * FROM read_json(${sqlString(input)}, format = 'newline_delimited', columns = ${duckColumns(t)})) `
      + `TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
