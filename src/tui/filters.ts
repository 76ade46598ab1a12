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

/** A session row: its key once allocated; otherwise the frames of its exchange. */
export function sessionRecordFilter(s: SessionRecord): string {
  const key = s.key;
  if (key) return sessionFilter(key);
  const frames = [...new Set(s.events.map((e) => e.frame))].sort((a, b) => a - b);
  return frames.length === 1 ? `frame.number == ${frames[0]}` : `frame.number in {${frames.join(' ')}}`;
}
