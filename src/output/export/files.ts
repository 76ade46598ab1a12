// `vvmp export --format ndjson|parquet|ek --out DIR`: one file per table and
// capture, `DIR/<table>/<capture>-<digest12>.<ext>`, written under a temporary
// name and renamed when complete (a reader never sees half a file; exporting
// the same capture again replaces its files, never doubles them).
//   ndjson: ClickHouse `FORMAT JSONEachRow`, DuckDB `read_json`
//   ek:     OpenSearch/Elasticsearch `_bulk` body (action line + document)
//   parquet: NDJSON converted by DuckDB with the declared column types

import * as fs from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { JsonRowWriter } from './jsonRows.js';
import { SCHEMAS, TABLE_NAMES, type Row, type TableName } from '../records/schema.js';
import type { CaptureIdentity } from '../records/collect.js';
import type { CaptureWriter } from './source.js';
import { ndjsonToParquet } from './parquet.js';

export type FileFormat = 'ndjson' | 'parquet' | 'ek';
export const FILE_FORMATS: readonly FileFormat[] = ['ndjson', 'parquet', 'ek'];

const EXT: Record<FileFormat, string> = { ndjson: 'ndjson', parquet: 'parquet', ek: 'ek.ndjson' };
/** Text buffered per table before a write. */
const PIECE = 1 << 18;

export function outputPath(dir: string, table: TableName, id: CaptureIdentity, format: FileFormat): string {
  const stem = id.capture.replace(/\.(pcapng|pcap|cap)$/i, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return join(dir, table, `${stem}-${id.digest.slice(0, 12)}.${EXT[format]}`);
}

class TableFile {
  readonly json: JsonRowWriter;
  readonly stream: fs.WriteStream;
  private parts: string[] = [];
  private size = 0;

  constructor(table: TableName, readonly final: string, readonly temp: string, private readonly ek: boolean) {
    this.json = new JsonRowWriter(SCHEMAS[table]);
    this.stream = fs.createWriteStream(temp);
    this.stream.on('error', () => undefined); // reported by finish/ready
  }

  add(r: Row): void {
    const line = this.ek ? `${this.json.action(r)}\n${this.json.line(r)}\n` : `${this.json.line(r)}\n`;
    this.parts.push(line);
    this.size += line.length;
    if (this.size >= PIECE) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }

  async close(): Promise<void> {
    this.flush();
    this.stream.end();
    await once(this.stream, 'close');
    if (this.stream.errored) throw this.stream.errored;
  }
}

/** Writes one capture's four tables to files in `dir`. */
export class FileCaptureWriter implements CaptureWriter {
  private readonly files: Record<TableName, TableFile>;

  constructor(private readonly dir: string, id: CaptureIdentity, private readonly format: FileFormat) {
    const files = {} as Record<TableName, TableFile>;
    for (const t of TABLE_NAMES) {
      fs.mkdirSync(join(dir, t), { recursive: true });
      const final = outputPath(dir, t, id, format);
      const temp = `${final}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      files[t] = new TableFile(t, final, format === 'parquet' ? `${temp}.ndjson` : temp, format === 'ek');
    }
    this.files = files;
  }

  row(table: TableName, r: Row): void {
    this.files[table].add(r);
  }

  async ready(): Promise<void> {
    for (const f of Object.values(this.files)) {
      f.flush();
      if (f.stream.errored) throw f.stream.errored;
      if (f.stream.writableNeedDrain) await once(f.stream, 'drain');
    }
  }

  async finish(): Promise<void> {
    for (const t of TABLE_NAMES) await this.files[t].close();
    for (const t of TABLE_NAMES) {
      const f = this.files[t];
      if (this.format === 'parquet') {
        const temp = f.temp.replace(/\.ndjson$/, '');
        await ndjsonToParquet(f.temp, temp, SCHEMAS[t]);
        fs.rmSync(f.temp, { force: true });
        fs.renameSync(temp, f.final);
      } else {
        fs.renameSync(f.temp, f.final);
      }
    }
  }

  async abort(): Promise<void> {
    for (const f of Object.values(this.files)) {
      f.stream.destroy();
      fs.rmSync(f.temp, { force: true });
      fs.rmSync(f.temp.replace(/\.ndjson$/, ''), { force: true });
    }
  }
}
