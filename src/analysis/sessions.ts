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

/** Lifecycle events kept per session; beyond this only counts grow (memory stays flat). */
const MAX_EVENTS = 24;

export class SessionRecord {
  state: SessionState = 'REQUESTED';
  server_id: bigint;
  session_id = 0;
  storage_type: number | null;
  capacity_kb: number | null;
  closed: Stamp | null = null;
  events: LifecycleEvent[] = [];
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

  event(kind: LifecycleKind, frame: number, detail?: string): void {
    if (kind === 'modify') this.modifies++;
    if (kind === 'stats') this.statsQueries++;
    if (!this.keepEvents) return;
    if (this.events.length < MAX_EVENTS) this.events.push(detail === undefined ? { kind, frame } : { kind, frame, detail });
    else this.dropped++;
  }
}

export function isLive(s: SessionState): boolean {
  return s === 'ALLOCATED' || s === 'ACTIVE';
}

export function sessionKey(serverId: bigint, sessionId: number): string {
  return `${hexId(serverId)}/${sessionId}`;
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

/**
 * Finished sessions in columns (about 60 bytes each) instead of objects, so
 * `stats` on tens of millions of frames keeps its memory flat-ish: only
 * sessions still open stay as records.
 */
class SessionArchive {
  private n = 0;
  private cap = 0;
  private server = new BigUint64Array(0);
  private client = new BigUint64Array(0);
  private sid = new Uint16Array(0);
  private state = new Uint8Array(0);
  private storage = new Int16Array(0);
  private capacity = new Float64Array(0);
  private openedSec = new Float64Array(0);
  private openedNsec = new Uint32Array(0);
  private closedSec = new Float64Array(0);
  private closedNsec = new Uint32Array(0);
  private digits = new Uint8Array(0);

  private grow(): void {
    const cap = Math.max(1024, this.cap * 2);
    const g = <T extends { set(a: T): void }>(old: T, make: (n: number) => T): T => {
      const a = make(cap);
      a.set(old);
      return a;
    };
    this.server = g(this.server, (k) => new BigUint64Array(k));
    this.client = g(this.client, (k) => new BigUint64Array(k));
    this.sid = g(this.sid, (k) => new Uint16Array(k));
    this.state = g(this.state, (k) => new Uint8Array(k));
    this.storage = g(this.storage, (k) => new Int16Array(k));
    this.capacity = g(this.capacity, (k) => new Float64Array(k));
    this.openedSec = g(this.openedSec, (k) => new Float64Array(k));
    this.openedNsec = g(this.openedNsec, (k) => new Uint32Array(k));
    this.closedSec = g(this.closedSec, (k) => new Float64Array(k));
    this.closedNsec = g(this.closedNsec, (k) => new Uint32Array(k));
    this.digits = g(this.digits, (k) => new Uint8Array(k));
    this.cap = cap;
  }

  add(s: SessionRecord): number {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.server[i] = s.server_id;
    this.client[i] = s.client_id;
    this.sid[i] = s.session_id;
    this.state[i] = STATES.indexOf(s.state);
    this.storage[i] = s.storage_type ?? -1;
    this.capacity[i] = s.capacity_kb ?? NaN;
    this.openedSec[i] = s.opened.sec;
    this.openedNsec[i] = s.opened.nsec;
    this.digits[i] = s.opened.digits;
    this.closedSec[i] = s.closed ? s.closed.sec : NaN;
    this.closedNsec[i] = s.closed ? s.closed.nsec : 0;
    return i;
  }

  row(i: number): SessionRow {
    const d = this.digits[i]!;
    const cs = this.closedSec[i]!;
    const cap = this.capacity[i]!;
    const st = this.storage[i]!;
    return {
      server_id: this.server[i]!, session_id: this.sid[i]!, client_id: this.client[i]!, state: STATES[this.state[i]!]!,
      storage_type: st < 0 ? null : st, capacity_kb: Number.isNaN(cap) ? null : cap,
      opened: { sec: this.openedSec[i]!, nsec: this.openedNsec[i]!, digits: d },
      closed: Number.isNaN(cs) ? null : { sec: cs, nsec: this.closedNsec[i]!, digits: d },
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
  private readonly slot = new WeakMap<SessionRecord, number>();

  /** compact: archive finished sessions in columns (stats); otherwise keep every record whole (UI). */
  constructor(private readonly compact = false) {}

  get count(): number {
    return this.entries.length;
  }

  /** The records kept whole, in the order they began (all of them unless compact). */
  get all(): SessionRecord[] {
    return this.compact ? this.entries.filter((e): e is SessionRecord => typeof e !== 'number') : (this.entries as SessionRecord[]);
  }

  /** Every session in the order it began, live or archived. */
  *rows(): IterableIterator<SessionRow> {
    for (const e of this.entries) yield typeof e === 'number' ? this.archive.row(e) : e;
  }

  /** Whether `server` ever allocated `sessionId` in the capture. */
  wasSeen(server: bigint, sessionId: number): boolean {
    const bits = this.seen.get(server);
    return bits !== undefined && (bits[sessionId >> 3]! & (1 << (sessionId & 7))) !== 0;
  }

  /** A session reached a final state: in compact mode, move it to the archive. */
  private finished(s: SessionRecord): void {
    if (!this.compact) return;
    const at = this.slot.get(s);
    if (at === undefined || at < KEEP_WHOLE) return;
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
    this.slot.set(s, this.entries.length);
    this.entries.push(s);
    return s;
  }

  /** An Allocate OK: the entry becomes a session under its key. */
  allocated(s: SessionRecord, server: bigint, sessionId: number, storageType: number, capacity: number, at: Stamp, frame: number, latency?: string): void {
    s.server_id = server;
    s.session_id = sessionId;
    s.storage_type = storageType;
    s.capacity_kb = capacity;
    s.opened = at;
    s.state = 'ALLOCATED';
    s.key = sessionKey(server, sessionId);
    s.event('alloc', frame, latency ? `OK ${latency}` : 'OK');
    let ids = this.byServer.get(server);
    if (!ids) this.byServer.set(server, (ids = new Map()));
    ids.set(sessionId, s);
    this.liveSet(server).add(s);
    let bits = this.seen.get(server);
    if (!bits) this.seen.set(server, (bits = new Uint8Array(8192)));
    bits[sessionId >> 3]! |= 1 << (sessionId & 7);
  }

  waiting(s: SessionRecord, frame: number): void {
    s.state = 'WAITING';
    s.event('pending', frame);
  }

  rejected(s: SessionRecord, status: string, frame: number): void {
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
