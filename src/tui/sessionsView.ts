// The Sessions view: one row per session (and per Allocate exchange that
// never became one), its state coloured and its lifecycle as a timeline.
// Enter shows the session's frames: filter vvmp.session == "…".

import type { SessionRecord, SessionState } from '../analysis/sessions.js';
import { humanKb } from '../output/format.js';
import { STORAGE_TYPES } from '../protocol/fields.js';
import type { Action } from './keys.js';
import { sessionRecordFilter } from './filters.js';
import { TableView, type Row } from './table.js';
import { esc, fit, fitRight, seconds, shortId, type Colour } from './text.js';

const STATE_COLOUR: Record<SessionState, Colour | null> = {
  REQUESTED: 'cyan',
  WAITING: 'yellow',
  ALLOCATED: 'green',
  ACTIVE: 'green',
  REJECTED: 'red',
  CLOSED: null,
  TORN_DOWN: 'magenta',
};

/** `●alloc 0.39ms ─ ●init ─ ●modify ─ ●free`: the request and its grant merge when adjacent. */
export function lifecycle(s: SessionRecord): string {
  const ev = s.events;
  const parts: string[] = [];
  const latency = (detail: string) => detail.slice(2).trim().replace(/ ms$/, 'ms');
  for (let i = 0; i < ev.length; i++) {
    const e = ev[i]!;
    const next = ev[i + 1];
    if (e.kind === 'alloc' && e.detail === undefined && next?.kind === 'alloc' && next.detail?.startsWith('OK')) {
      const lat = latency(next.detail);
      parts.push(lat ? `●alloc ${lat}` : '●alloc');
      i++;
      continue;
    }
    if (e.kind === 'alloc' && e.detail === undefined && next?.kind === 'rejected') {
      parts.push(`●alloc ✗ ${next.detail ?? ''}`.trimEnd());
      i++;
      continue;
    }
    switch (e.kind) {
      case 'free-part': parts.push('●free(part)'); break;
      case 'rejected': parts.push(`●✗ ${e.detail ?? ''}`.trimEnd()); break;
      case 'alloc':
        if (e.detail?.startsWith('OK')) {
          const lat = latency(e.detail);
          parts.push(lat ? `●granted ${lat}` : '●granted');
        } else parts.push(e.detail ? `●alloc ${e.detail}` : '●alloc');
        break;
      default: parts.push(`●${e.kind}${e.detail ? ' ' + e.detail : ''}`);
    }
  }
  if (s.dropped > 0) parts.push(`+${s.dropped} more`);
  return parts.join(' ─ ');
}

export class SessionsView extends TableView {
  readonly id = 'sessions' as const;

  protected count(): number {
    return this.ctx.store.sessions.length;
  }

  /** Narrow terminals drop Type and Opened so the lifecycle keeps room. */
  private get narrow(): boolean {
    return this.width < 110;
  }

  protected header(): string {
    const idW = this.narrow ? 10 : 12;
    return `${fit('Server', idW)} ${fitRight('Session', 7)} ${fit('Client', idW)} ${fit('State', 10)} `
      + (this.narrow ? '' : `${fit('Type', 6)} `) + `${fitRight('Capacity', 10)} `
      + (this.narrow ? '' : `${fitRight('Opened', 11)}`) + '  Lifecycle';
  }

  protected row(i: number): Row {
    const s = this.ctx.store.sessions[i]!;
    const { theme, store } = this.ctx;
    const idW = this.narrow ? 10 : 12;
    const type = s.storage_type === null ? '—' : (STORAGE_TYPES[s.storage_type] ?? `0x${s.storage_type.toString(16)}`);
    const cap = s.capacity_kb === null ? '—' : humanKb(s.capacity_kb);
    const server = s.server_id === 0n && s.key === null ? 'any' : shortId(s.server_id);
    const text = `${fit(server, idW)} ${fitRight(s.key ? String(s.session_id) : '—', 7)} ${fit(shortId(s.client_id), idW)} `;
    const rest = (this.narrow ? '' : `${fit(type, 6)} `) + `${fitRight(cap, 10)} `
      + (this.narrow ? '' : fitRight(seconds(store.relative(s.opened.sec, s.opened.nsec), 4), 11)) + `  ${lifecycle(s)}`;
    const tail = theme.fg(STATE_COLOUR[s.state], esc(fit(s.state, 10))) + ' ' + esc(rest);
    return { text, tail };
  }

  protected activate(i: number, action: Action): boolean {
    if (action !== 'enter') return false;
    const store = this.ctx.store;
    this.ctx.applyFilter(sessionRecordFilter(store.sessions[i]!, (n) => (store.has(n - 1) ? store.sessionOf(n - 1) : null)));
    return true;
  }

  protected empty(): string {
    return 'no sessions (no Allocate seen yet)';
  }
}
