// Rows as JSON objects, one per line: NDJSON that ClickHouse loads as
// `FORMAT JSONEachRow` and DuckDB as `read_json`, and the OpenSearch bulk
// form (`-T ek` style: an action line before each document).

import type { Row, TableSchema } from '../records/schema.js';

/** A writer of one table's rows as JSON text, keys made once. */
export class JsonRowWriter {
  private readonly keys: string[];

  constructor(readonly schema: TableSchema) {
    this.keys = schema.columns.map((c, i) => `${i === 0 ? '{' : ','}"${c.name}":`);
  }

  /** One row as a JSON object (no newline). */
  line(r: Row): string {
    let out = '';
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const v = r[i];
      out += keys[i]!;
      if (v === null || v === undefined) out += 'null';
      else if (typeof v === 'string') out += jsonString(v);
      else if (typeof v === 'number' || typeof v === 'bigint') out += String(v);
      else out += JSON.stringify(v);
    }
    return out + '}';
  }

  /** The OpenSearch/Elasticsearch bulk action for a row: index `vvmp-<table>`, `_id` the row id. */
  action(r: Row): string {
    return `{"index":{"_index":"vvmp-${this.schema.name}","_id":${jsonString(r[0] as string)}}}`;
  }
}

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON string text; the common case (printable ASCII, no quote or backslash) without JSON.stringify. */
function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}
