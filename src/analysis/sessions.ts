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

  event(kind: LifecycleKind, frame: number, detail?: string): void {
    if (kind === 'modify') this.modifies++;
    if (kind === 'stats') this.statsQueries++;
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

export class SessionTable {
  /** Every session and exchange entry in the order it began. */
  readonly all: SessionRecord[] = [];
  /** Allocated sessions by server, then session id (the newest holder of an id). */
  private readonly byServer = new Map<bigint, Map<number, SessionRecord>>();
  /** Live sessions per server, for boot teardown. */
  private readonly liveByServer = new Map<bigint, Set<SessionRecord>>();
  /** Servers whose boot Announce was seen. */
  private readonly booted = new Set<bigint>();

  begin(client: bigint, server: bigint, storageType: number | null, capacity: number | null, at: Stamp, frame: number): SessionRecord {
    const s = new SessionRecord(client, server, storageType, capacity, at, frame);
    s.event('alloc', frame);
    this.all.push(s);
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
  }

  waiting(s: SessionRecord, frame: number): void {
    s.state = 'WAITING';
    s.event('pending', frame);
  }

  rejected(s: SessionRecord, status: string, frame: number): void {
    s.state = 'REJECTED';
    s.event('rejected', frame, status);
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
    live.clear();
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
