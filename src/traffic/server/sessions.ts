// The session table: live sessions by id, session-id allocation, ownership,
// per-client and per-source usage (quotas), and the binding of a session to
// its device's usage. Every change goes through bind/unbind/touch/resize so
// that listeners (persistence) see each one.
//
// Session ids are drawn at random (crypto) from 1..65535 among the free ones,
// so that an id tells nothing about other sessions and cannot be guessed;
// ids of sessions torn down at a restart are "retired" and drawn last, so a
// client still holding one from before does not silently reach a new session.

import { randomFillSync } from 'node:crypto';
import type { DeviceRegistry } from './devices.js';
import type { Session } from './model.js';

export interface SessionListener {
  /** A session was created or changed (the whole record). */
  put(s: Session): void;
  /** A session ended. */
  del(id: number): void;
}

const MAX_RETIRED = 16_384;

export class SessionTable {
  private readonly byId = new Map<number, Session>();
  /** client id → [sessions, capacity KB]. */
  private readonly perClient = new Map<bigint, [number, number]>();
  /** source address → sessions. */
  private readonly perSource = new Map<string, number>();
  private readonly retired = new Set<number>();
  private readonly pool = new Uint16Array(512);
  private poolAt = 512;
  /** Sequential mode's next id. */
  private nextId = 1;
  listener: SessionListener | null = null;

  /**
   * `sequential` counts ids up from 1 (deterministic: unit tests, fixtures);
   * servers use `random`.
   */
  constructor(private readonly devices: DeviceRegistry, private readonly ids: 'random' | 'sequential' = 'random') {}

  get size(): number {
    return this.byId.size;
  }

  get(id: number): Session | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** Live sessions, by session id. */
  sorted(): Session[] {
    return [...this.byId.values()].sort((a, b) => a.session_id - b.session_id);
  }

  /**
   * The session `id` if `client` at `source` owns it; other owners' sessions
   * are not revealed. `source` undefined (no sockets): the client id alone.
   */
  own(client: bigint, id: number, source?: string): Session | undefined {
    const s = this.byId.get(id);
    if (!s || s.client_id !== client) return undefined;
    if (source !== undefined && s.source !== null && s.source !== source) return undefined;
    return s;
  }

  /** Sessions and capacity (KB) a client id holds. */
  clientUsage(client: bigint): [number, number] {
    return this.perClient.get(client) ?? [0, 0];
  }

  /** Sessions all client ids of one source hold. */
  sourceUsage(source: string): number {
    return this.perSource.get(source) ?? 0;
  }

  private random(): number {
    if (this.poolAt >= this.pool.length) {
      randomFillSync(this.pool);
      this.poolAt = 0;
    }
    return this.pool[this.poolAt++]!;
  }

  /** A free session id drawn at random (or the next one, sequential), or null when all 65,535 are in use. */
  newId(): number | null {
    if (this.ids === 'sequential') {
      for (let i = 0; i < 0xffff; i++) {
        const id = this.nextId;
        this.nextId = id >= 0xffff ? 1 : id + 1;
        if (!this.byId.has(id)) return id;
      }
      return null;
    }
    for (let i = 0; i < 64; i++) {
      const id = this.random();
      if (id !== 0 && !this.byId.has(id) && !this.retired.has(id)) return id;
    }
    // Nearly full: walk from a random point, retired ids last.
    const start = this.random();
    let fallback: number | null = null;
    for (let i = 0; i < 0x10000; i++) {
      const id = (start + i) & 0xffff;
      if (id === 0 || this.byId.has(id)) continue;
      if (!this.retired.has(id)) return id;
      fallback ??= id;
    }
    if (fallback !== null) this.retired.delete(fallback);
    return fallback;
  }

  /** Sequential mode's counter (kept in snapshots so ids are not reused after a restart). */
  get counter(): number {
    return this.nextId;
  }

  set counter(n: number) {
    this.nextId = Number.isInteger(n) && n >= 1 && n <= 0xffff ? n : 1;
  }

  /** Keeps ids of torn-down sessions out of the draw while others are free. */
  retire(ids: Iterable<number>): void {
    for (const id of ids) {
      this.retired.delete(id);
      this.retired.add(id);
      if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.values().next().value!);
    }
  }

  retiredIds(): number[] {
    return [...this.retired];
  }

  private count(s: Session, sign: 1 | -1): void {
    const c = this.perClient.get(s.client_id) ?? [0, 0];
    c[0] += sign;
    c[1] += sign * s.capacity_kb;
    if (c[0] <= 0) this.perClient.delete(s.client_id);
    else this.perClient.set(s.client_id, c);
    if (s.source !== null) {
      const n = (this.perSource.get(s.source) ?? 0) + sign;
      if (n <= 0) this.perSource.delete(s.source);
      else this.perSource.set(s.source, n);
    }
  }

  bind(s: Session): void {
    this.byId.set(s.session_id, s);
    this.retired.delete(s.session_id);
    this.devices.use(s);
    this.count(s, 1);
    this.listener?.put(s);
  }

  unbind(s: Session): void {
    if (this.byId.get(s.session_id) !== s) return;
    this.byId.delete(s.session_id);
    this.devices.unuse(s);
    this.count(s, -1);
    this.listener?.del(s.session_id);
  }

  /** A live session changed in place (fields that do not touch device usage). */
  touch(s: Session): void {
    if (this.byId.get(s.session_id) === s) this.listener?.put(s);
  }

  /** Changes a session's usage fields: unbinds, applies, binds again. */
  resize(s: Session, apply: (s: Session) => void): void {
    this.byId.delete(s.session_id);
    this.devices.unuse(s);
    this.count(s, -1);
    apply(s);
    this.byId.set(s.session_id, s);
    this.devices.use(s);
    this.count(s, 1);
    this.listener?.put(s);
  }
}
