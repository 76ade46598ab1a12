// The --state file: an append-only journal of sessions.
//
//   line 1   {"vvmp_state":2,"san_id":1,"server_id":"0x…","saved_at":"…","next_session_id":n,"retired":[…]}
//   then     {"put":{session}}   a session made or changed (the whole record)
//            {"del":id}          a session ended
//
// Every change is appended (write(2), no fsync) before the reply that
// acknowledges it leaves the server, so a killed process loses nothing it
// acknowledged: `appended` counts the records handed in, `written` those the
// kernel has, and the server holds a reply back until `written` reaches the
// count its change made (server/replyGate.ts). The file I/O never runs on the
// event loop: records are written by one asynchronous write at a time (the
// records of a whole turn, and those arriving meanwhile, go in the next one:
// group commit), so a slow disk delays only the replies that wait for it,
// never another client's Query. The file is fsynced every SYNC_MS in the
// background (a power loss can cost the last SYNC_MS of changes, never the
// file's validity). A crash can only cut the last line short: a reader
// ignores a torn last line.
// When the journal holds many more records than live sessions it is
// compacted: the live sessions are written to a temp file beside it (in
// chunks, fsynced, off the event loop), the records written meanwhile follow,
// and a rename replaces the journal atomically; writes pause (the event loop
// does not) for the last step. Temp files of dead processes (`FILE.tmp-PID`)
// are removed at start.
//
// A version-1 state file (one JSON document, written whole) is still read.

import {
  close, closeSync, existsSync, fdatasync, fdatasyncSync, open, openSync, readFileSync, readdirSync, renameSync, unlinkSync,
  write, writeFileSync,
} from 'node:fs';
import { open as openAsync, rename as renameAsync } from 'node:fs/promises';
import { promisify } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { hex, type Session } from './model.js';
import { sessionToJson, type ManagerState, type SessionJson } from './persistence.js';
import type { SessionListener } from './sessions.js';

const SYNC_MS = 50;
const openFd = promisify(open);
const closeFd = promisify(close);
/** Compact when the records since the last compaction exceed this and twice the live sessions. */
const COMPACT_MIN = 20_000;

interface Header {
  vvmp_state: 2;
  san_id: number;
  server_id: string;
  saved_at: string;
  next_session_id: number;
  retired: number[];
}

export interface LoadedState {
  state: ManagerState;
  /** The last line was cut short by a crash and was ignored. */
  tornTail: boolean;
  /** Records read after the header. */
  records: number;
}

function oneLine(e: unknown): string {
  return (e as Error).message.split('\n')[0]!;
}

/** Reads a state file (journal, or a version-1 JSON file); throws a one-line error naming it. Missing file → null. */
export function loadStateFile(path: string): LoadedState | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: not a readable state file (${(e as NodeJS.ErrnoException).code ?? oneLine(e)})`);
  }
  const nl = text.indexOf('\n');
  let header: Header | null = null;
  try {
    const h = JSON.parse(nl < 0 ? text : text.slice(0, nl)) as Header;
    if (typeof h === 'object' && h !== null && h.vvmp_state === 2) header = h;
  } catch {
    // not a journal header: maybe a version-1 file
  }
  if (!header) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not a readable state file (${oneLine(e)})`);
    }
    const s = raw as ManagerState;
    if (typeof raw !== 'object' || raw === null || s.version !== 1 || !Array.isArray(s.sessions)) {
      throw new Error(`${path}: not a vvmp state file (journal or version 1 expected)`);
    }
    return { state: s, tornTail: false, records: 0 };
  }
  const live = new Map<number, SessionJson>();
  let next = Number(header.next_session_id) || 1;
  let records = 0;
  let tornTail = false;
  const lines = text.slice(nl + 1).split('\n');
  // A complete record ends with a newline: the piece after the last one is empty or torn.
  const last = lines.length - 1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    let rec: { put?: SessionJson; del?: number };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch (e) {
      if (i === last) {
        tornTail = true;
        break;
      }
      throw new Error(`${path}: line ${i + 2} is not a journal record (${oneLine(e)})`);
    }
    if (i === last) {
      tornTail = true; // whole JSON but no newline: the write was cut after it; keep it (it parses)
    }
    records++;
    if (rec.put && typeof rec.put.session_id === 'number') {
      if (!live.has(rec.put.session_id)) next = rec.put.session_id >= 0xffff ? 1 : rec.put.session_id + 1;
      live.set(rec.put.session_id, rec.put);
    } else if (typeof rec.del === 'number') live.delete(rec.del);
    else throw new Error(`${path}: line ${i + 2} is not a journal record (neither put nor del)`);
  }
  return {
    state: {
      version: 1, san_id: header.san_id, server_id: header.server_id, next_session_id: next, saved_at: header.saved_at,
      sessions: [...live.values()], retired: Array.isArray(header.retired) ? header.retired : [],
    },
    tornTail,
    records,
  };
}

/** Removes `FILE.tmp-PID` files beside the state file whose process is gone; returns their names. */
export function removeStrayTemps(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface JournalStats {
  records: number;
  compactions: number;
  syncs: number;
  /** Asynchronous writes (each carries the records of one or more turns). */
  writes: number;
}

/** Lines of the compaction snapshot joined per write (a join never blocks the loop for long). */
const SNAPSHOT_CHUNK = 1000;

export class StateJournal implements SessionListener {
  private fd = -1;
  private pending: string[] = [];
  /** The last `put` line of each live session: what a compaction writes. */
  private readonly lines = new Map<number, string>();
  private sinceCompaction = 0;
  /** Records handed in (put/del) so far. */
  appended = 0;
  /** Records the kernel has (their write returned); replies wait for this to reach their change. */
  written = 0;
  /** Called after each write that advanced `written`. */
  onWritten: (() => void) | null = null;
  private writing = false;
  /** Compaction's last step (append, rename, reopen): no write starts. */
  private swapping = false;
  private unsynced = false;
  private syncing = false;
  private readonly syncTimer: NodeJS.Timeout;
  private writeScheduled = false;
  /** Lines written while a compaction runs (they follow its snapshot). */
  private during: string[] | null = null;
  private compaction: Promise<void> | null = null;
  private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  private nextSessionId = 1;
  private retired: number[] = [];
  readonly stats: JournalStats = { records: 0, compactions: 0, syncs: 0, writes: 0 };

  constructor(
    readonly path: string,
    private readonly identity: { san_id: number; server_id: bigint },
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.syncTimer = setInterval(() => this.sync(), SYNC_MS);
    this.syncTimer.unref();
  }

  /**
   * Writes the whole state (header + live sessions) to a temp file, fsyncs
   * it and renames it over the journal, then keeps the journal open for
   * appending. Throws (one line) when the file cannot be written. (At start,
   * before the server listens: synchronous on purpose.)
   */
  start(sessions: Iterable<Session>, retired: number[], nextSessionId: number): void {
    this.lines.clear();
    for (const s of sessions) this.lines.set(s.session_id, JSON.stringify({ put: sessionToJson(s) }));
    this.retired = retired;
    this.nextSessionId = nextSessionId;
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, [this.headerLine(), ...this.lines.values()].join('\n') + '\n');
      const fd = openSync(tmp, 'r+');
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // never written
      }
      throw new Error(`${this.path}: cannot write the state file (${(e as NodeJS.ErrnoException).code ?? oneLine(e)})`);
    }
    this.fd = openSync(this.path, 'a');
    this.sinceCompaction = 0;
  }

  private headerLine(): string {
    const h: Header = {
      vvmp_state: 2, san_id: this.identity.san_id, server_id: hex(this.identity.server_id),
      saved_at: new Date().toISOString(), next_session_id: this.nextSessionId, retired: this.retired,
    };
    return JSON.stringify(h);
  }

  put(s: Session): void {
    const line = JSON.stringify({ put: sessionToJson(s) });
    if (!this.lines.has(s.session_id)) this.nextSessionId = s.session_id >= 0xffff ? 1 : s.session_id + 1;
    this.lines.set(s.session_id, line);
    this.append(line);
  }

  del(id: number): void {
    this.lines.delete(id);
    this.append(JSON.stringify({ del: id }));
  }

  /** Every record handed in has been written. */
  get idle(): boolean {
    return this.written === this.appended && !this.writing;
  }

  private append(line: string): void {
    this.pending.push(line);
    this.appended++;
    if (!this.writeScheduled) {
      // Changes that no reply follows (an Announce's teardown) are written at the end of the turn.
      this.writeScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Starts writing the pending records (called when the replies to a chunk of
   * requests are ready; they leave once the write returns). One write at a
   * time: records arriving meanwhile go in the next one.
   */
  flush(): void {
    this.writeScheduled = false;
    if (this.writing || this.swapping || this.pending.length === 0 || this.fd < 0) return;
    const lines = this.pending;
    this.pending = [];
    this.writing = true;
    writeAll(this.fd, Buffer.from(lines.join('\n') + '\n'), (err) => {
      this.writing = false;
      this.stats.writes++;
      if (err) {
        // Logged, and the replies go anyway (the server keeps serving; the log says what the file lacks).
        this.log(`event=state_write_error file=${this.path} error=${err.code ?? err.message}`);
      } else {
        this.stats.records += lines.length;
        this.sinceCompaction += lines.length;
        this.unsynced = true;
        if (this.during) this.during.push(...lines);
        else if (this.sinceCompaction > Math.max(COMPACT_MIN, 2 * this.lines.size)) this.compaction = this.compact();
      }
      this.written += lines.length;
      this.onWritten?.();
      this.wake();
      this.flush();
    });
  }

  private sync(): void {
    if (!this.unsynced || this.syncing || this.swapping || this.fd < 0) return;
    this.unsynced = false;
    this.syncing = true;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      this.stats.syncs++;
      if (err) this.log(`event=state_sync_error file=${this.path} error=${err.code ?? err.message}`);
      this.wake();
    });
  }

  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.ready()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Replaces the journal by its live sessions; records written meanwhile follow them. */
  private async compact(): Promise<void> {
    this.during = [];
    // The sessions as they are now; every record written from here on is also kept in `during`.
    const snapshot = [this.headerLine(), ...this.lines.values()];
    const tmp = `${this.path}.tmp-${process.pid}`;
    let swapped = false;
    try {
      const fh = await openAsync(tmp, 'w');
      try {
        for (let i = 0; i < snapshot.length; i += SNAPSHOT_CHUNK) {
          await fh.write(snapshot.slice(i, i + SNAPSHOT_CHUNK).join('\n') + '\n');
        }
        await fh.datasync();
        // Last step: no write may reach the old file after its records were copied.
        this.swapping = true;
        await this.until(() => !this.writing && !this.syncing);
        if (this.during.length > 0) await fh.write(this.during.join('\n') + '\n');
      } finally {
        await fh.close();
      }
      await renameAsync(tmp, this.path);
      swapped = true;
      const old = this.fd;
      this.fd = await openFd(this.path, 'a');
      await closeFd(old);
      this.sinceCompaction = this.during.length;
      this.stats.compactions++;
    } catch (e) {
      this.log(`event=state_compaction_error file=${this.path} error=${(e as NodeJS.ErrnoException).code ?? oneLine(e)}`);
      if (!swapped) {
        try {
          unlinkSync(tmp);
        } catch {
          // never written
        }
      }
    } finally {
      this.during = null;
      this.compaction = null;
      this.swapping = false;
      this.flush();
    }
  }

  /** Writes what is pending, waits for a running compaction, fsyncs and closes. */
  async close(): Promise<void> {
    clearInterval(this.syncTimer);
    for (;;) {
      this.flush();
      if (this.compaction) await this.compaction;
      else if (this.fd < 0 || (this.idle && !this.syncing)) break;
      else await this.until(() => (this.idle && !this.syncing) || this.compaction !== null);
    }
    if (this.fd >= 0) {
      try {
        fdatasyncSync(this.fd);
      } catch {
        // closing anyway
      }
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** write(2) until the whole buffer is in (a regular file takes it whole; the loop is for the rare short write). */
function writeAll(fd: number, buf: Buffer, done: (err: NodeJS.ErrnoException | null) => void): void {
  write(fd, buf, 0, buf.length, null, (err, n) => {
    if (err) done(err);
    else if (n < buf.length) writeAll(fd, buf.subarray(n), done);
    else done(null);
  });
}
