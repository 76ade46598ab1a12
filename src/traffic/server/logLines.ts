// The server's structured log lines (`key=value`, one per event).

import type { DecodedFrame } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import { hexId } from '../../protocol/codec.js';
import { REPLY_BIT, opcodeDef, statusName } from '../../protocol/fields.js';
import type { Refusal } from './model.js';

export const ts = (): string => new Date().toISOString();

export function opLabel(opcode: number | null): string {
  if (opcode === null) return '-';
  const def = opcodeDef(opcode & ~REPLY_BIT);
  return def ? def.name : '0x' + opcode.toString(16).padStart(4, '0');
}

/** The session a reply (or else its request) names, for the log. */
export function sessionOf(spec: FrameSpec | null, req: DecodedFrame): string {
  const p = spec?.payload as Record<string, unknown> | null | undefined;
  const v = p && !(p instanceof Uint8Array) ? p['session_id'] : undefined;
  if (typeof v === 'number') return String(v);
  const q = req.payload as Record<string, unknown> | null;
  const w = q ? q['session_id'] : undefined;
  return typeof w === 'number' ? String(w) : '-';
}

export interface Where {
  peer: string;
  kind: 'tcp' | 'udp';
}

export function exchangeLine(t: Where, f: DecodedFrame, spec: FrameSpec, ms: number, sent: boolean): string {
  const h = f.header;
  return `ts=${ts()} peer=${t.peer} proto=${t.kind} op=${opLabel(h.opcode)} txid=${h.transaction_id ?? '-'} `
    + `client=${hexId(h.client_id ?? 0n)} status=${statusName(spec.sub_opcode ?? 0)} session=${sessionOf(spec, f)} `
    + `ms=${ms.toFixed(2)}${sent ? '' : ' dropped=1'}`;
}

export function pushedLine(t: Where, spec: FrameSpec, sent: boolean): string {
  return `ts=${ts()} peer=${t.peer} proto=${t.kind} op=${opLabel(spec.opcode)} txid=${spec.transaction_id} `
    + `client=${hexId(spec.client_id ?? 0n)} status=${statusName(spec.sub_opcode ?? 0)} `
    + `session=${(spec.payload as Record<string, unknown>)['session_id'] ?? '-'} pushed=1${sent ? '' : ' dropped=1'}`;
}

export function announceLine(t: Where, f: DecodedFrame): string {
  const h = f.header;
  return `ts=${ts()} peer=${t.peer} proto=${t.kind} op=Announce sub=0x${(h.sub_opcode ?? 0).toString(16).padStart(2, '0')} `
    + `server=${hexId(h.server_id ?? 0n)} san=${h.src_san ?? '-'} status=- checksum=${f.checksumOk ? 'ok' : 'bad'}`;
}

/** One line per refusal (security or quota): `event=refused reason=… source=…`. */
export function refusalLine(r: Refusal): string {
  return `ts=${ts()} event=refused reason=${r.reason} source=${r.source ?? '-'}`
    + `${r.client_id !== undefined ? ` client=${hexId(r.client_id)}` : ''}${r.detail ? ` ${r.detail}` : ''}`;
}
