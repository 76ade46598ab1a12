// ClickHouse's HTTP interface, spoken with Node's fetch: a query is a POST
// with the SQL in the `query` parameter (or the body), settings as URL
// parameters, rows as the body (JSONEachRow). Measured against
// @clickhouse/client (README, "Exporting"): the rows are JSON text already,
// so plain fetch sends them as they are.

/** The server could not be reached (connection refused, reset, timed out). */
export class ClickHouseUnavailable extends Error {}
/** The server answered with an error (bad SQL, type mismatch, missing table …). */
export class ClickHouseError extends Error {}

export class ClickHouseNode {
  readonly base: string;
  private readonly auth: string | null;

  /** `http://[user[:password]@]host:port[/]` (https too); a path or query string is an error. */
  constructor(readonly url: string, private readonly timeoutMs = 30_000) {
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
  async query(sql: string, body?: string, settings: Record<string, string | number> = {}): Promise<string> {
    const params = new URLSearchParams();
    if (body !== undefined) params.set('query', sql);
    for (const [k, v] of Object.entries(settings)) params.set(k, String(v));
    const headers: Record<string, string> = {};
    if (this.auth) headers.authorization = this.auth;
    let res: Response;
    try {
      res = await fetch(`${this.base}/?${params}`, {
        method: 'POST', headers, body: body ?? sql, signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ClickHouseUnavailable(`${this.label}: cannot reach ClickHouse (${why})`);
    }
    const text = await res.text().catch((err: Error) => {
      throw new ClickHouseUnavailable(`${this.label}: connection lost (${err.message})`);
    });
    if (!res.ok) {
      const first = text.trim().split('\n')[0]!.replace(/, Stack trace.*$/, '');
      throw new ClickHouseError(`${this.label}: ClickHouse error: ${first}`);
    }
    return text;
  }

  /** Rows of a SELECT as objects (FORMAT JSONEachRow). */
  async select<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const text = await this.query(`${sql} FORMAT JSONEachRow`);
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
  }
}
