// The manager's sessions as JSON-ready data and back (state files).

import type { ServerConfig } from '../config.js';
import type { DeviceRegistry } from './devices.js';
import { hex, type Session } from './model.js';
import type { SessionTable } from './sessions.js';

export type SessionJson = Omit<Session, 'client_id' | 'remote'> & {
  client_id: string;
  remote: null | { san_id: number; server_id: string; session_id: number };
};

/** What a state file holds (JSON-ready). */
export interface ManagerState {
  version: 1;
  san_id: number;
  server_id: string;
  /** Sequential ids: the next one. Random ids: unused (0). */
  next_session_id: number;
  saved_at: string;
  sessions: SessionJson[];
  /** Ids of sessions torn down at a restart, drawn last for new sessions. */
  retired?: number[];
}

export function sessionToJson(s: Session): SessionJson {
  return {
    ...s,
    init: s.init ? { ...s.init } : null,
    client_id: hex(s.client_id),
    remote: s.remote ? { san_id: s.remote.san_id, server_id: hex(s.remote.server_id), session_id: s.remote.session_id } : null,
  };
}

export function sessionFromJson(j: SessionJson): Session {
  const remote = j.remote ? { san_id: j.remote.san_id, server_id: BigInt(j.remote.server_id), session_id: j.remote.session_id } : null;
  return { ...j, init: j.init ? { ...j.init } : null, client_id: BigInt(j.client_id), remote, source: j.source ?? null };
}

export function snapshot(config: ServerConfig, sessions: SessionTable, nowMs: number): ManagerState {
  return {
    version: 1,
    san_id: config.san_id,
    server_id: hex(config.server_id),
    next_session_id: sessions.counter,
    saved_at: new Date(nowMs).toISOString(),
    sessions: sessions.sorted().map(sessionToJson),
    retired: sessions.retiredIds(),
  };
}

/**
 * Restores a snapshot. Ids are not reused: the sequential counter survives,
 * and the ids of dropped sessions are retired (drawn last). mode 'keep'
 * restores the sessions (those on devices no longer configured are dropped);
 * 'teardown' drops them all. Returns the counts.
 */
export function restore(
  config: ServerConfig, devices: DeviceRegistry, sessions: SessionTable, state: ManagerState, mode: 'keep' | 'teardown',
): { restored: number; dropped: number } {
  if (state.version !== 1 || !Array.isArray(state.sessions)) throw new Error('state: unknown format');
  for (const s of [...sessions.values()]) sessions.unbind(s);
  sessions.counter = Number(state.next_session_id);
  sessions.retire(state.retired ?? []);
  let restored = 0;
  let dropped = 0;
  const gone: number[] = [];
  for (const j of state.sessions) {
    const s = sessionFromJson(j);
    const remote = s.remote;
    const ok = mode === 'keep' && !sessions.has(j.session_id)
      && (remote ? config.peers.some((p) => p.san_id === remote.san_id) : devices.has(j.device_id));
    if (!ok) {
      dropped++;
      gone.push(j.session_id);
      continue;
    }
    sessions.bind(s);
    restored++;
  }
  sessions.retire(gone);
  return { restored, dropped };
}
