// Display filters the UI writes for the user (follow a flow, a session, a
// list of frames): plain filter text, shown in the filter bar and editable.

import type { SessionRecord } from '../analysis/sessions.js';
import type { FlowEntry } from './store.js';

/** Exactly one flow: both directions of the endpoint pair on its transport. */
export function flowFilter(flow: FlowEntry): string {
  const t = flow.transport;
  const side = (x: FlowEntry['a'], y: FlowEntry['b']): string =>
    `ip.src == ${x.ip} && ${t}.srcport == ${x.port} && ip.dst == ${y.ip} && ${t}.dstport == ${y.port}`;
  if (flow.aText === flow.bText) return `${t} && ${side(flow.a, flow.b)}`;
  return `${t} && ((${side(flow.a, flow.b)}) || (${side(flow.b, flow.a)}))`;
}

export function sessionFilter(key: string): string {
  return `vvmp.session == "${key}"`;
}

function framesFilter(frames: readonly number[]): string {
  return frames.length === 1 ? `frame.number == ${frames[0]}` : `frame.number in {${frames.join(' ')}}`;
}

/**
 * A session's frames, as its lifecycle lists them: once allocated, every
 * frame naming the session plus those of its lifecycle that do not (the
 * request and the PENDING reply before a grant name no session); otherwise
 * the frames of its exchange. `sessionOfFrame` gives a frame number's session
 * key (null when it has none or is no longer kept).
 */
export function sessionRecordFilter(s: SessionRecord, sessionOfFrame: (frame: number) => string | null = () => null): string {
  const frames = [...new Set(s.events.map((e) => e.frame))].sort((a, b) => a - b);
  const key = s.key;
  if (!key) return framesFilter(frames);
  const outside = frames.filter((n) => sessionOfFrame(n) !== key);
  return outside.length === 0 ? sessionFilter(key) : `${sessionFilter(key)} || ${framesFilter(outside)}`;
}

/** The session a frame belongs to: the one naming it, else one whose lifecycle lists the frame. */
export function sessionRecordOf(sessions: readonly SessionRecord[], frame: number, key: string | null): SessionRecord | null {
  let byKey: SessionRecord | null = null;
  for (let i = sessions.length - 1; i >= 0; i--) {
    const s = sessions[i]!;
    const listed = s.events.some((e) => e.frame === frame);
    if (listed && (key === null || s.key === key)) return s;
    if (key !== null && byKey === null && s.key === key) byKey = s;
  }
  return byKey;
}
