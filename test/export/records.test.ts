// The export records and files without a server: Community ID against the
// spec's vectors and an independent implementation (Python's hashlib), the
// shard hash against a bigint FNV-1a, the schema's conventions, and the files
// of `vvmp export` read back by DuckDB (read_parquet, read_json) and as
// OpenSearch bulk bodies.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { communityId, addressBytes } from '../../src/output/records/communityId.js';
import { shardHash } from '../../src/output/records/values.js';
import { SCHEMAS, TABLE_NAMES, HEADER_COLUMNS } from '../../src/output/records/schema.js';
import { HEADER } from '../../src/protocol/fields.js';
import { ddlScript } from '../../src/output/export/ddl.js';
import { ROOT, ndjson, tempDir, vvmp } from '../helpers/cli.js';

const CAPTURES = join(ROOT, 'captures');

/** Community IDs computed by Python's hashlib and socket, one line per flow `proto sip sport dip dport`. */
function pythonCommunityIds(flows: readonly (readonly [number, string, number, string, number])[]): string[] {
  const py = `
import hashlib, base64, socket, struct, sys
for line in sys.stdin.read().split('\\n'):
    if not line: continue
    proto, sip, sport, dip, dport = line.split(' ')
    proto, sport, dport = int(proto), int(sport), int(dport)
    fam = socket.AF_INET6 if ':' in sip else socket.AF_INET
    a, b = socket.inet_pton(fam, sip), socket.inet_pton(fam, dip)
    if (a, sport) > (b, dport): a, b, sport, dport = b, a, dport, sport
    h = hashlib.sha1(struct.pack('!H', 0) + a + b + struct.pack('!BBHH', proto, 0, sport, dport)).digest()
    print('1:' + base64.b64encode(h).decode())
`;
  const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', input: flows.map((f) => f.join(' ')).join('\n') + '\n' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n');
}

describe('Community ID v1', () => {
  it('gives the spec\'s values for TCP and UDP over IPv4, in both directions', () => {
    expect(communityId(6, '1.2.3.4', 1122, '5.6.7.8', 3344)).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
    expect(communityId(6, '5.6.7.8', 3344, '1.2.3.4', 1122)).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
    expect(communityId(17, '1.2.3.4', 1122, '5.6.7.8', 3344)).toBe('1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=');
  });

  it('equals an independent implementation for IPv4 and IPv6 flows', () => {
    const cases: [number, string, number, string, number][] = [
      [6, '127.0.0.1', 55790, '127.0.0.1', 7369], [17, '10.0.0.9', 7369, '10.0.0.1', 7369],
      [6, '::1', 40000, '::1', 7369], [17, 'fe80::1:2', 7369, '2001:db8::ff00:42:8329', 1234],
      [6, '::ffff:192.0.2.1', 5, '2001:db8:0:0:1:0:0:1', 6],
    ];
    expect(cases.map((c) => communityId(...c))).toEqual(pythonCommunityIds(cases));
  });

  it('reads IPv6 text as its 16 bytes', () => {
    expect(addressBytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(addressBytes('2001:db8::1').toString('hex')).toBe('20010db8000000000000000000000001');
    expect(() => addressBytes('1.2.3')).toThrow(/not an IPv4 address/);
  });
});

describe('shard key', () => {
  it('is FNV-1a 64 with the top bit cleared (fits a signed 64-bit column everywhere)', () => {
    const reference = (s: string): bigint => {
      let h = 0xcbf29ce484222325n;
      for (const ch of s) h = ((h ^ BigInt(ch.charCodeAt(0) & 0xff)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h & 0x7fffffffffffffffn;
    };
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 64 }), (s) => shardHash(s) === reference(s)));
    expect(shardHash('0x00000000000000aa/1')).toBe(reference('0x00000000000000aa/1'));
  });
});

describe('the schema', () => {
  it('has flat, unique column names and starts every table with the row identity', () => {
    for (const t of TABLE_NAMES) {
      const names = SCHEMAS[t].columns.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(names.slice(0, 5)).toEqual(['row_id', 'site', 'capture', 'capture_digest', 'shard_key']);
    }
  });

  it('takes the header columns from the field table (ids as strings)', () => {
    expect(HEADER_COLUMNS.map((c) => c.name)).toEqual(HEADER.fields.map((f) => f.name));
    for (const c of HEADER_COLUMNS) {
      const f = HEADER.fields.find((x) => x.name === c.name)!;
      expect(c.type).toBe(f.kind === 'id' ? 'String' : f.width === 8 ? 'UInt64' : f.width === 2 ? 'UInt16' : f.width === 1 ? 'UInt8' : 'UInt32');
    }
  });

  it('prints DDL with MergeTree tables and, for a cluster, Distributed tables sharded by shard_key', () => {
    const plain = ddlScript({ database: 'db', cluster: null });
    expect(plain).toContain('CREATE TABLE IF NOT EXISTS `db`.`transactions` (');
    expect(plain).not.toContain('Distributed');
    const sharded = ddlScript({ database: 'db', cluster: 'c1' });
    expect(sharded).toContain('CREATE TABLE IF NOT EXISTS `db`.`transactions_local` (');
    expect(sharded).toContain("ENGINE = Distributed(`c1`, `db`, `transactions_local`, `shard_key`)");
    expect(sharded).not.toMatch(/DateTime64|LowCardinality/);
  });
});

describe('vvmp export to files', () => {
  const out = tempDir('vvmp-export-files-');
  const run = (format: string, extra: string[] = []): string => {
    const dir = join(out, format);
    const r = vvmp(['export', CAPTURES, '--format', format, '--out', dir, '--site', 'lab', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`exported 5 captures to ${format} files in .*rows/s\\)\\n$`));
    return dir;
  };
  const readTable = (dir: string, table: string): Record<string, unknown>[] =>
    readdirSync(join(dir, table)).sort().flatMap((f) => ndjson(readFileSync(join(dir, table, f), 'utf8')));

  it('writes one NDJSON file per table and capture, with nulls (never "-") and hex ids', () => {
    const dir = run('ndjson');
    for (const t of TABLE_NAMES) expect(readdirSync(join(dir, t)).length).toBe(5);
    const tx = readTable(dir, 'transactions');
    const s = JSON.parse(vvmp(['stats', '--json', CAPTURES]).stdout) as { transactions: { requests: number } };
    expect(tx.length).toBe(s.transactions.requests);
    for (const r of tx) {
      expect(Object.keys(r)).toEqual(SCHEMAS.transactions.columns.map((c) => c.name));
      expect(Object.values(r)).not.toContain('-');
      expect(r.client_id).toMatch(/^0x[0-9a-f]{16}$/);
      expect(r.site).toBe('lab');
    }
    expect(tx.some((r) => r.response_time_ns === null)).toBe(true);
  });

  it('is deterministic: the same captures give the same bytes, also with -j', () => {
    const a = join(out, 'ndjson');
    for (const [name, jobs] of [['again', '1'], ['j3', '3']]) {
      const c = join(out, name!);
      const r = vvmp(['export', CAPTURES, '--format', 'ndjson', '--out', c, '--site', 'lab', '-j', jobs!]);
      expect(r.code, r.stderr).toBe(0);
      for (const t of TABLE_NAMES) {
        for (const f of readdirSync(join(a, t))) expect(readFileSync(join(c, t, f), 'utf8'), f).toBe(readFileSync(join(a, t, f), 'utf8'));
      }
    }
  });

  it('writes Parquet that DuckDB reads with the declared types and the same rows as NDJSON', async () => {
    const pq = run('parquet');
    const nd = join(out, 'ndjson');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    for (const t of TABLE_NAMES) {
      const a = await con.runAndReadAll(`SELECT count(*) AS n, sum(shard_key % 1000) AS k FROM read_parquet('${pq}/${t}/*.parquet')`);
      const b = await con.runAndReadAll(`SELECT count(*) AS n, sum(shard_key % 1000) AS k FROM read_json('${nd}/${t}/*.ndjson', format = 'newline_delimited')`);
      expect(a.getRows(), t).toEqual(b.getRows());
    }
    const types = await con.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${pq}/transactions/*.parquet'))`);
    const byName = Object.fromEntries(types.getRows().map((r) => [r[0], r[1]]));
    expect(byName.time_ns).toBe('UBIGINT');
    expect(byName.findings).toBe('VARCHAR[]');
    expect(byName.response_time_ns).toBe('BIGINT');
    const p = await con.runAndReadAll(`SELECT quantile_disc(response_time_ns, 0.5) FROM read_parquet('${pq}/transactions/*.parquet')`);
    expect(Number(p.getRows()[0]![0])).toBeGreaterThan(0);
    con.closeSync();
    db.closeSync();
  }, 60_000);

  it('writes OpenSearch bulk bodies: an index action with the row id before each document', () => {
    const dir = run('ek');
    const nd = join(out, 'ndjson');
    for (const t of TABLE_NAMES) {
      for (const f of readdirSync(join(dir, t))) {
        const lines = ndjson(readFileSync(join(dir, t, f), 'utf8'));
        const docs = ndjson(readFileSync(join(nd, t, f.replace(/\.ek\.ndjson$/, '.ndjson')), 'utf8'));
        expect(lines.length).toBe(docs.length * 2);
        docs.forEach((d, i) => {
          expect(lines[i * 2]).toEqual({ index: { _index: `vvmp-${t}`, _id: d.row_id } });
          expect(lines[i * 2 + 1]).toEqual(d);
        });
      }
    }
  });

  it('refuses bad usage with one line and exit 2', () => {
    for (const [args, msg] of [
      [['export', CAPTURES], /give --format and --out, or --clickhouse URL/],
      [['export', CAPTURES, '--format', 'csv', '--out', out], /argument 'csv' is invalid/],
      [['export', CAPTURES, '--format', 'ndjson'], /--format and --out go together/],
      [['export', CAPTURES, '--clickhouse', 'http://a:1,http://b:2'], /several URLs are the nodes of a cluster: name it with --cluster/],
      [['export', CAPTURES, '--clickhouse', 'ftp://x'], /not an http:\/\/ or https:\/\/ URL/],
    ] as const) {
      const r = vvmp([...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const missing = vvmp(['export', join(out, 'nosuch.pcap'), '--format', 'ndjson', '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nosuch\.pcap: no such file/);
  });
});
