// The session timeline: each session's lifecycle drawn along capture time —
// allocate, pending, initialize, modify, statistics, free, teardown — one
// row per session (and per Allocate that never became one). A session a
// manager forwarded to another SAN is drawn right under the session it was
// forwarded for, linked to it (└▶, and ↘ where the forwarding happened).
// Enter shows the session's frames.

import type { LifecycleKind, SessionRecord } from '../analysis/sessions.js';
import type { Action } from './keys.js';
import { sessionRecordFilter } from './filters.js';
import { durationText } from './graph.js';
import { TableView, type Row } from './table.js';
import { fit, plural, shortId } from './text.js';

const SYMBOL: Record<LifecycleKind, string> = {
  alloc: 'A', pending: 'P', rejected: '✗', init: 'I', modify: 'M', stats: 'S', 'free-part': 'f', free: 'F',
  teardown: 'X', forwarded: '↘', relayed: 'R',
};

export const TIMELINE_LEGEND = 'A alloc  P pending  ✗ rejected  I init  M modify  S stats  f free(part)  F free  X teardown  ↘ forwarded';

interface Line {
  s: SessionRecord;
  /** Forwarded for the session on the line above. */
  child: boolean;
}

export class TimelineView extends TableView {
  readonly id = 'timeline' as const;
  private lines: Line[] = [];
  private built = -1;
  private readonly labelW = 29;

  /** Rows in the order sessions began, each forwarded session under the one it serves. */
  private order(): Line[] {
    const all = this.ctx.store.sessions;
    if (this.built === all.length) return this.lines;
    const placed = new Set<SessionRecord>();
    const listed = new Set(all);
    const out: Line[] = [];
    for (const s of all) {
      if (placed.has(s) || (s.forwardedFor && listed.has(s.forwardedFor) && !placed.has(s.forwardedFor))) continue;
      out.push({ s, child: false });
      placed.add(s);
      for (let t = s.forwardedTo; t && !placed.has(t); t = t.forwardedTo) {
        out.push({ s: t, child: true });
        placed.add(t);
      }
    }
    for (const s of all) if (!placed.has(s)) out.push({ s, child: false });
    this.lines = out;
    this.built = all.length;
    return out;
  }

  protected count(): number {
    return this.order().length;
  }

  /**
   * Capture time shown, in seconds from the first packet: from the first
   * session's start to the last lifecycle event (sessions still open run on
   * to the right edge), so a quiet tail of the capture does not squeeze them.
   */
  private range(): [number, number] {
    const st = this.ctx.store;
    const key = `${st.total}|${st.sessions.length}`;
    if (this.rangeKey === key) return this.rangeCache;
    let t0 = Infinity;
    let t1 = -Infinity;
    for (const s of st.sessions) {
      t0 = Math.min(t0, st.relative(s.opened.sec, s.opened.nsec));
      if (s.closed) t1 = Math.max(t1, st.relative(s.closed.sec, s.closed.nsec));
      for (const e of s.events) if (st.has(e.frame - 1)) t1 = Math.max(t1, st.relTime(e.frame - 1));
    }
    if (!Number.isFinite(t0)) t0 = 0;
    if (!Number.isFinite(t1) || t1 <= t0) t1 = t0 + 1e-6;
    this.rangeKey = key;
    this.rangeCache = [t0, t1];
    return this.rangeCache;
  }

  private rangeKey = '';
  private rangeCache: [number, number] = [0, 1e-6];

  private trackW(): number {
    return Math.max(10, this.width - 2 - this.labelW - 13);
  }

  protected header(): string {
    const tw = this.trackW();
    const [t0, t1] = this.range();
    const a = `${t0.toFixed(6)} s`;
    const b = `${t1.toFixed(6)} s`;
    return `${fit('Session', 16)} ${fit('Client', 13)} ${fit('State', 10)} ${a.padEnd(Math.max(a.length + 1, tw - b.length))}${b}`;
  }

  private label(l: Line): string {
    const s = l.s;
    const name = s.key ? `${shortId(s.server_id)}/${s.session_id}` : `(${s.state.toLowerCase()})`;
    return l.child ? `└▶ ${name}` : name;
  }

  protected row(i: number): Row {
    const l = this.order()[i]!;
    const s = l.s;
    const st = this.ctx.store;
    const tw = this.trackW();
    const [t0, t1] = this.range();
    const col = (t: number): number => Math.max(0, Math.min(tw - 1, Math.round(((t - t0) / (t1 - t0)) * (tw - 1))));
    const track = new Array<string>(tw).fill(' ');
    const open = col(st.relative(s.opened.sec, s.opened.nsec));
    const live = s.state === 'ALLOCATED' || s.state === 'ACTIVE' || s.state === 'WAITING';
    const close = s.closed ? col(st.relative(s.closed.sec, s.closed.nsec)) : live ? tw - 1 : open;
    for (let c = open; c <= close; c++) track[c] = live && !s.closed ? '═' : '─';
    if (live && !s.closed) track[tw - 1] = '▶';
    for (const e of s.events) {
      const seq = e.frame - 1;
      if (!st.has(seq)) continue;
      track[col(st.relTime(seq))] = SYMBOL[e.kind];
    }
    if (l.child) track[open] = '└';
    const text = `${fit(this.label(l), 16)} ${fit(shortId(s.client_id), 13)} ${fit(s.state, 10)} ${track.join('')}`;
    return { text, rank: s.state === 'REJECTED' ? 3 : s.state === 'TORN_DOWN' ? 2 : 0 };
  }

  protected activate(i: number, action: Action): boolean {
    if (action !== 'enter') return false;
    const st = this.ctx.store;
    this.ctx.applyFilter(sessionRecordFilter(this.order()[i]!.s, (n) => (st.has(n - 1) ? st.sessionOf(n - 1) : null)));
    return true;
  }

  protected empty(): string {
    return 'no sessions (no Allocate seen yet)';
  }

  protected footer(): string {
    const [t0, t1] = this.range();
    return `${plural(this.count(), 'session')} over ${durationText(t1 - t0)} · ${TIMELINE_LEGEND} · ▶ still open`;
  }
}
