// Session lifecycles (VVMP.md section 7, OUTPUT.md convention 7), keyed by
// (reply server_id, payload session_id). REQUESTED, WAITING and REJECTED
// entries belong to one Allocate exchange each and carry session_id 0.

import { hexId } from '../protocol/codec.js';
import type { Stamp } from './time.js';

export type SessionState = 'REQUESTED' | 'WAITING' | 'ALLOCATED' | 'ACTIVE' | 'REJECTED' | 'CLOSED' | 'TORN_DOWN';

export type LifecycleKind =
  | 'alloc' | 'pending' | 'rejected' | 'init' | 'modify' | 'stats' | 'free-part' | 'free' | 'teardown' | 'forwarded' | 'relayed';

export interface LifecycleEvent {
  kind: LifecycleKind;
  frame: number;
  /** Extra text: a status, a latency, a SAN. */
  detail?: string;
}

const NO_EVENTS: readonly LifecycleEvent[] = Object.freeze([]);

/** Lifecycle events kept per session; beyond this only counts grow (memory stays flat). */
const MAX_EVENTS = 24;

export class SessionRecord {
  state: SessionState = 'REQUESTED';
  server_id: bigint;
  session_id = 0;
  storage_type: number | null;
  capacity_kb: number | null;
  closed: Stamp | null = null;
  /** Lifecycle events kept (a shared empty list until the first is kept). */
  events: readonly LifecycleEvent[] = NO_EVENTS;
  /** Events not kept in `events`, by kind. */
  dropped = 0;
  modifies = 0;
  statsQueries = 0;
  /** Frames of this session, counted. */
  frames = 0;
  /** Cross-SAN: the original exchange's session this one was forwarded for, and vice versa. */
  forwardedFor: SessionRecord | null = null;
  forwardedTo: SessionRecord | null = null;

  constructor(
    readonly client_id: bigint,
    server_id: bigint,
    storage_type: number | null,
    capacity_kb: number | null,
    public opened: Stamp,
    readonly firstFrame: number,
  ) {
    this.server_id = server_id;
    this.storage_type = storage_type;
    this.capacity_kb = capacity_kb;
  }

  /** `"<server_id>/<session_id>"` once allocated; null for REQUESTED, WAITING and REJECTED entries. */
  key: string | null = null;

  /** Compact mode keeps lifecycle events only for the sessions the text report shows. */
  keepEvents = true;
  /** A frame matching the display filter belongs to it (`stats -Y`). */
  selected = false;
  /** Position in the table's list of entries. */
  slot = -1;

  event(kind: LifecycleKind, frame: number, detail?: string): void {
    if (kind === 'modify') this.modifies++;
    if (kind === 'stats') this.statsQueries++;
    if (!this.keepEvents) return;
    if (this.events.length >= MAX_EVENTS) {
      this.dropped++;
      return;
    }
    const e: LifecycleEvent = detail === undefined ? { kind, frame } : { kind, frame, detail };
    if (this.events === NO_EVENTS) this.events = [e];
    else (this.events as LifecycleEvent[]).push(e);
  }
}

export function isLive(s: SessionState): boolean {
  return s === 'ALLOCATED' || s === 'ACTIVE';
}

/** `"<server_id>/<session_id>"`; `serverHex` is hexId(serverId) when the caller has it made already. */
export function sessionKey(serverId: bigint, sessionId: number, serverHex = hexId(serverId)): string {
  return `${serverHex}/${sessionId}`;
}

/** A session as `stats` lists it: a live record, or a finished one read back from the archive. */
export interface SessionRow {
  server_id: bigint;
  session_id: number;
  client_id: bigint;
  state: SessionState;
  storage_type: number | null;
  capacity_kb: number | null;
  opened: Stamp;
  closed: Stamp | null;
  /** Lifecycle events (empty for archived sessions). */
  events: readonly LifecycleEvent[];
  dropped: number;
}

const STATES: readonly SessionState[] = ['REQUESTED', 'WAITING', 'ALLOCATED', 'ACTIVE', 'REJECTED', 'CLOSED', 'TORN_DOWN'];
/** Sessions always kept whole in compact mode (the text report shows their lifecycles). */
const KEEP_WHOLE = 50;

/** Rows per archive chunk: chunks are never copied, and at most one is partly empty. */
const CHUNK_ROWS = 1 << 14;

/** One chunk of archived sessions, a typed array per column (53 bytes a row). */
class ArchiveChunk {
  readonly server = new BigUint64Array(CHUNK_ROWS);
  readonly client = new BigUint64Array(CHUNK_ROWS);
  readonly sid = new Uint16Array(CHUNK_ROWS);
  readonly state = new Uint8Array(CHUNK_ROWS);
  readonly storage = new Int16Array(CHUNK_ROWS);
  readonly capacity = new Float64Array(CHUNK_ROWS);
  readonly openedSec = new Float64Array(CHUNK_ROWS);
  readonly openedNsec = new Uint32Array(CHUNK_ROWS);
  readonly closedSec = new Float64Array(CHUNK_ROWS);
  readonly closedNsec = new Uint32Array(CHUNK_ROWS);
  readonly digits = new Uint8Array(CHUNK_ROWS);
  readonly selected = new Uint8Array(CHUNK_ROWS);
}

/**
 * Finished sessions in columns instead of objects, so `stats` on tens of
 * millions of frames keeps its memory flat-ish: only sessions still open
 * stay as records.
 */
class SessionArchive {
  private n = 0;
  private readonly chunks: ArchiveChunk[] = [];

  add(s: SessionRecord): number {
    const i = this.n++;
    const at = i % CHUNK_ROWS;
    if (at === 0) this.chunks.push(new ArchiveChunk());
    const c = this.chunks[this.chunks.length - 1]!;
    c.server[at] = s.server_id;
    c.client[at] = s.client_id;
    c.sid[at] = s.session_id;
    c.state[at] = STATES.indexOf(s.state);
    c.storage[at] = s.storage_type ?? -1;
    c.capacity[at] = s.capacity_kb ?? NaN;
    c.openedSec[at] = s.opened.sec;
    c.openedNsec[at] = s.opened.nsec;
    c.digits[at] = s.opened.digits;
    c.closedSec[at] = s.closed ? s.closed.sec : NaN;
    c.closedNsec[at] = s.closed ? s.closed.nsec : 0;
    c.selected[at] = s.selected ? 1 : 0;
    return i;
  }

  select(i: number): void {
    this.chunks[Math.floor(i / CHUNK_ROWS)]!.selected[i % CHUNK_ROWS] = 1;
  }

  isSelected(i: number): boolean {
    return this.chunks[Math.floor(i / CHUNK_ROWS)]!.selected[i % CHUNK_ROWS] === 1;
  }

  row(i: number): SessionRow {
    const c = this.chunks[Math.floor(i / CHUNK_ROWS)]!;
    const at = i % CHUNK_ROWS;
    const d = c.digits[at]!;
    const cs = c.closedSec[at]!;
    const cap = c.capacity[at]!;
    const st = c.storage[at]!;
    return {
      server_id: c.server[at]!, session_id: c.sid[at]!, client_id: c.client[at]!, state: STATES[c.state[at]!]!,
      storage_type: st < 0 ? null : st, capacity_kb: Number.isNaN(cap) ? null : cap,
      opened: { sec: c.openedSec[at]!, nsec: c.openedNsec[at]!, digits: d },
      closed: Number.isNaN(cs) ? null : { sec: cs, nsec: c.closedNsec[at]!, digits: d },
      events: [], dropped: 0,
    };
  }
}

export class SessionTable {
  /**
   * Every session and exchange entry in the order it began. In compact mode
   * a finished one's slot holds its archive index instead of the record.
   */
  private readonly entries: (SessionRecord | number)[] = [];
  private readonly archive = new SessionArchive();
  /** Session ids each server has allocated, as a 65,536-bit map (for session_unknown). */
  private readonly seen = new Map<bigint, Uint8Array>();
  /** `0x…` text of each server id, made once (every session key starts with it). */
  private readonly serverText = new Map<bigint, string>();

  /** compact: archive finished sessions in columns (stats); otherwise keep every record whole (UI). */
  constructor(private readonly compact = false) {}

  get count(): number {
    return this.entries.length;
  }

  /** Sessions marked by `select` (what a filtered report lists). */
  selectedCount = 0;

  /** A frame that matches the display filter belongs to `s`: a filtered report lists it. */
  select(s: SessionRecord): void {
    if (s.selected) return;
    s.selected = true;
    this.selectedCount++;
    const e = this.entries[s.slot];
    if (typeof e === 'number') this.archive.select(e);
  }

  /** The records kept whole, in the order they began (all of them unless compact). */
  get all(): SessionRecord[] {
    return this.compact ? this.entries.filter((e): e is SessionRecord => typeof e !== 'number') : (this.entries as SessionRecord[]);
  }

  /** Every session in the order it began, live or archived; `selected`: only those `select` marked. */
  *rows(selected = false): IterableIterator<SessionRow> {
    for (const e of this.entries) {
      if (typeof e === 'number') {
        if (!selected || this.archive.isSelected(e)) yield this.archive.row(e);
      } else if (!selected || e.selected) yield e;
    }
  }

  /** Whether `server` ever allocated `sessionId` in the capture. */
  wasSeen(server: bigint, sessionId: number): boolean {
    const bits = this.seen.get(server);
    return bits !== undefined && (bits[sessionId >> 3]! & (1 << (sessionId & 7))) !== 0;
  }

  /**
   * The key of a session `server` allocated in the capture whose record is no
   * longer looked up (compact mode archives finished ones): a later frame
   * naming it still names its session, as with the whole table. Null when the
   * id was never allocated.
   */
  keyIfSeen(server: bigint, sessionId: number): string | null {
    if (!this.wasSeen(server, sessionId)) return null;
    let hex = this.serverText.get(server);
    if (hex === undefined) this.serverText.set(server, (hex = hexId(server)));
    return sessionKey(server, sessionId, hex);
  }

  /** A session reached a final state: in compact mode, move it to the archive. */
  private finished(s: SessionRecord): void {
    if (!this.compact) return;
    const at = s.slot;
    if (at < KEEP_WHOLE) return;
    this.entries[at] = this.archive.add(s);
    const ids = this.byServer.get(s.server_id);
    if (ids?.get(s.session_id) === s) ids.delete(s.session_id);
  }
  /** Allocated sessions by server, then session id (the newest holder of an id). */
  private readonly byServer = new Map<bigint, Map<number, SessionRecord>>();
  /** Live sessions per server, for boot teardown. */
  private readonly liveByServer = new Map<bigint, Set<SessionRecord>>();
  /** Servers whose boot Announce was seen. */
  private readonly booted = new Set<bigint>();

  begin(client: bigint, server: bigint, storageType: number | null, capacity: number | null, at: Stamp, frame: number): SessionRecord {
    const s = new SessionRecord(client, server, storageType, capacity, at, frame);
    if (this.compact && this.entries.length >= KEEP_WHOLE) s.keepEvents = false;
    s.event('alloc', frame);
    s.slot = this.entries.length;
    this.entries.push(s);
    return s;
  }

  /** An Allocate OK: the entry becomes a session under its key. */
  allocated(s: SessionRecord, server: bigint, sessionId: number, storageType: number, capacity: number, at: Stamp, frame: number, latencyMs: number | null = null): void {
    s.server_id = server;
    s.session_id = sessionId;
    s.storage_type = storageType;
    s.capacity_kb = capacity;
    s.opened = at;
    s.state = 'ALLOCATED';
    let hex = this.serverText.get(server);
    if (hex === undefined) this.serverText.set(server, (hex = hexId(server)));
    s.key = sessionKey(server, sessionId, hex);
    if (s.keepEvents) s.event('alloc', frame, latencyMs === null ? 'OK' : `OK ${latencyMs} ms`);
    let ids = this.byServer.get(server);
    if (!ids) this.byServer.set(server, (ids = new Map()));
    ids.set(sessionId, s);
    this.liveSet(server).add(s);
    let bits = this.seen.get(server);
    if (!bits) this.seen.set(server, (bits = new Uint8Array(8192)));
    bits[sessionId >> 3]! |= 1 << (sessionId & 7);
  }

  /** A PENDING reply: keyed by its server_id and the session id its Allocate block carries. */
  waiting(s: SessionRecord, server: bigint, sessionId: number, frame: number): void {
    s.server_id = server;
    s.session_id = sessionId;
    s.state = 'WAITING';
    s.event('pending', frame);
  }

  /** An error reply: the entry keeps session_id 0 and takes the reply's server_id. */
  rejected(s: SessionRecord, server: bigint, status: string, frame: number): void {
    s.server_id = server;
    s.session_id = 0;
    s.state = 'REJECTED';
    s.event('rejected', frame, status);
    this.finished(s);
  }

  get(server: bigint, sessionId: number): SessionRecord | undefined {
    return this.byServer.get(server)?.get(sessionId);
  }

  initialized(s: SessionRecord, frame: number): void {
    if (s.state === 'ALLOCATED') s.state = 'ACTIVE';
    s.event('init', frame);
  }

  modified(s: SessionRecord, capacity: number | null, frame: number): void {
    if (capacity !== null) s.capacity_kb = capacity;
    s.event('modify', frame);
  }

  freed(s: SessionRecord, releaseKb: number, at: Stamp, frame: number): void {
    if (releaseKb > 0) {
      if (s.capacity_kb !== null) s.capacity_kb = Math.max(0, s.capacity_kb - releaseKb);
      s.event('free-part', frame);
      return;
    }
    if (isLive(s.state)) {
      s.state = 'CLOSED';
      s.closed = at;
      this.liveByServer.get(s.server_id)?.delete(s);
    }
    s.event('free', frame);
    this.finished(s);
  }

  /** A boot Announce of `server`: tears down its live sessions; returns how many. */
  boot(server: bigint, at: Stamp, frame: number): number {
    this.booted.add(server);
    const live = this.liveByServer.get(server);
    if (!live || live.size === 0) return 0;
    const n = live.size;
    for (const s of live) {
      s.state = 'TORN_DOWN';
      s.closed = at;
      s.event('teardown', frame);
    }
    const gone = [...live];
    live.clear();
    for (const s of gone) this.finished(s);
    return n;
  }

  wasBooted(server: bigint): boolean {
    return this.booted.has(server);
  }

  private liveSet(server: bigint): Set<SessionRecord> {
    let set = this.liveByServer.get(server);
    if (!set) this.liveByServer.set(server, (set = new Set()));
    return set;
  }
}
