// The server's structured log lines (`key=value`, one per event).

import { recordAs } from '../../protocol/access.js';
import type { DecodedFrame } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import { hexId } from '../../protocol/codec.js';
import {
  ALLOC_BLOCK, FREE_BLOCK, INIT_BLOCK, REPLY_BIT, SESSION_REF, STATS_BLOCK, opcodeDef, statusName, type BlockLayout,
} from '../../protocol/fields.js';
import type { Refusal } from './model.js';

export const ts = (): string => new Date().toISOString();

export function opLabel(opcode: number | null): string {
  if (opcode === null) return '-';
  const def = opcodeDef(opcode & ~REPLY_BIT);
  return def ? def.name : '0x' + opcode.toString(16).padStart(4, '0');
}

/** The session id a payload of layout `block` carries (every block but the device records has one). */
function sessionIdIn(block: BlockLayout | null | undefined, payload: unknown): number | undefined {
  if (!block || payload === null || payload === undefined || payload instanceof Uint8Array) return undefined;
  return (recordAs(block, payload, ALLOC_BLOCK) ?? recordAs(block, payload, INIT_BLOCK) ?? recordAs(block, payload, FREE_BLOCK)
    ?? recordAs(block, payload, SESSION_REF) ?? recordAs(block, payload, STATS_BLOCK))?.session_id;
}

/** The session of a reply we built (its layout is the opcode's reply block). */
function replySession(spec: FrameSpec | null | undefined): number | undefined {
  return spec ? sessionIdIn(spec.block ?? opcodeDef(spec.opcode)?.reply, spec.payload) : undefined;
}

/** The session a reply (or else its request) names, for the log. */
export function sessionOf(spec: FrameSpec | null, req: DecodedFrame): string {
  const v = replySession(spec) ?? sessionIdIn(req.payloadBlock, req.payload);
  return v === undefined ? '-' : String(v);
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
    + `session=${replySession(spec) ?? '-'} pushed=1${sent ? '' : ' dropped=1'}`;
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
