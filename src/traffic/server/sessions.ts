// The session table: live sessions by id, session-id allocation, and the
// binding of a session to its device's usage. Every change goes through
// bind/unbind/touch so that listeners (persistence) see each one.

import type { DeviceRegistry } from './devices.js';
import type { Session } from './model.js';

export interface SessionListener {
  /** A session was created or changed (the whole record). */
  put(s: Session): void;
  /** A session ended. */
  del(id: number): void;
}

export class SessionTable {
  private readonly byId = new Map<number, Session>();
  private nextId = 1;
  listener: SessionListener | null = null;

  constructor(private readonly devices: DeviceRegistry) {}

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

  /** The session `id` if `client` owns it (other clients' sessions are not revealed). */
  own(client: bigint, id: number): Session | undefined {
    const s = this.byId.get(id);
    return s && s.client_id === client ? s : undefined;
  }

  /** A free session id, or null when all 65,535 are in use. */
  newId(): number | null {
    for (let i = 0; i < 0xffff; i++) {
      const id = this.nextId;
      this.nextId = id >= 0xffff ? 1 : id + 1;
      if (!this.byId.has(id)) return id;
    }
    return null;
  }

  get counter(): number {
    return this.nextId;
  }

  set counter(n: number) {
    this.nextId = Number.isInteger(n) && n >= 1 && n <= 0xffff ? n : 1;
  }

  bind(s: Session): void {
    this.byId.set(s.session_id, s);
    this.devices.use(s);
    this.listener?.put(s);
  }

  unbind(s: Session): void {
    this.byId.delete(s.session_id);
    this.devices.unuse(s);
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
    apply(s);
    this.byId.set(s.session_id, s);
    this.devices.use(s);
    this.listener?.put(s);
  }
}
