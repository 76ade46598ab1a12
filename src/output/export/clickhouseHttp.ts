// ClickHouse's HTTP interface, spoken with node:http: a query is a POST
// with the SQL in the `query` parameter (or the body), settings as URL
// parameters, rows as the body (JSONEachRow). Measured against
// @clickhouse/client (README, "Exporting"): the rows are JSON text already,
// so a plain POST sends them as they are.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The server could not be reached (connection refused, reset, timed out). */
export class ClickHouseUnavailable extends Error {}
/** The server answered with an error (bad SQL, type mismatch, missing table …). */
export class ClickHouseError extends Error {}

export class ClickHouseNode {
  readonly base: string;
  private readonly auth: string | null;

  /** `http://[user[:password]@]host:port[/]` (https too); a path or query string is an error. */
  constructor(readonly url: string, private readonly timeoutMs = 60_000) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`${url}: not a URL (expected http://host:8123)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${url}: not an http:// or https:// URL`);
    if ((u.pathname !== '/' && u.pathname !== '') || u.search) throw new Error(`${url}: give only scheme, host and port (no path or query)`);
    this.auth = u.username ? 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64') : null;
    u.username = '';
    u.password = '';
    this.base = u.toString().replace(/\/$/, '');
  }

  /** The URL as shown in messages (no password). */
  get label(): string {
    return this.base;
  }

  /**
   * Runs `sql`; with `body`, the SQL goes in the URL and the body is the data
   * (INSERT … FORMAT JSONEachRow). Returns the response text.
   */
  query(sql: string, body?: string, settings: Record<string, string | number> = {}): Promise<string> {
    const params = new URLSearchParams();
    if (body !== undefined) params.set('query', sql);
    for (const [k, v] of Object.entries(settings)) params.set(k, String(v));
    const payload = Buffer.from(body ?? sql);
    const u = new URL(`${this.base}/?${params}`);
    const headers: Record<string, string | number> = { 'content-length': payload.length };
    if (this.auth) headers.authorization = this.auth;
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      // A connection per request: the server closes idle keep-alive connections
      // after 3 s, and a request sent on one it just closed fails for nothing.
      const req = request(u, { method: 'POST', headers, agent: false, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new ClickHouseUnavailable(`${this.label}: connection lost (${err.message})`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            const first = text.trim().split('\n')[0]!.replace(/, Stack trace.*$/, '').replace(/, e\.what\(\) = .*$/, '');
            reject(new ClickHouseError(`${this.label}: ClickHouse error: ${first || `HTTP ${res.statusCode}`}`));
          } else resolve(text);
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: `timed out after ${this.timeoutMs / 1000} s` })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(new ClickHouseUnavailable(`${this.label}: cannot reach ClickHouse (${err.code ?? err.message})`));
      });
      req.end(payload);
    });
  }

  /** Rows of a SELECT as objects (FORMAT JSONEachRow). */
  async select<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const text = await this.query(`${sql} FORMAT JSONEachRow`);
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
  }
}
