// Oracles (OUTPUT.md): what makes a case a failure. judge() reads an
// isolated run's observation; crash, health and memory come from the target
// watcher. Precedence when several apply: crash > reset > hang / wrong_reply
// > malformed_ok > health.
//
//   reset        a connection the case needs was refused, or closed/reset by
//                the server while a reply was still due
//   hang         a reply was due (whole header, request opcode, not Announce)
//                and nothing answering it came within --timeout ms of the send,
//                and nothing unmatched came either
//   wrong_reply  a reply (bit 15) that answers no request of the case: wrong
//                opcode, transaction_id or client_id, a reply to an Announce or
//                to a reply, or a second reply that was not after PENDING
//   malformed_ok a frame with a malformed finding (expect.ts) answered OK or PENDING

import { REPLY_BIT, opcodeDef, statusName } from '../../protocol/fields.js';
import { Header } from '../../protocol/access.js';
import type { DecodedFrame } from '../../protocol/decode.js';
import type { FuzzCase } from './cases.js';
import { acceptsStatus } from './expect.js';
import type { Observation } from './exec.js';

export const ORACLES = ['crash', 'hang', 'reset', 'wrong_reply', 'malformed_ok', 'health', 'memory'] as const;
export type OracleName = (typeof ORACLES)[number];

export interface Verdict {
  oracle: OracleName;
  detail: string;
  /** The step the failure shows on, when it is one. */
  step?: number;
  /** The request opcode of the frame it shows on. */
  opcode?: number | null;
  /** wrong_reply: the reply header field(s) that did not match the request. */
  replyField?: string;
  /** hang: `per-connection` (a fresh connection is still served) or `whole server`. */
  scope?: string;
}

/** Which header fields of a stray reply fail to answer the request. */
function wrongFields(f: DecodedFrame, opcode: number | null, txid: number | null, client: string | null): string {
  const h = f.header;
  const out: string[] = [];
  if (opcode !== null && h.opcode !== (opcode | REPLY_BIT)) out.push(Header.field.opcode.name);
  if (txid !== null && h.transaction_id !== txid) out.push(Header.field.transaction_id.name);
  if (client !== null && (h.client_id === null || h.client_id !== BigInt('0x' + client))) out.push(Header.field.client_id.name);
  return out.join('+') || 'unexpected reply';
}

export function describeReply(f: DecodedFrame): string {
  const op = f.header.opcode;
  const name = op === null ? 'frame' : `${opcodeDef(op & 0x7fff)?.name ?? 'opcode'} 0x${op.toString(16).padStart(4, '0')}`;
  const client = f.header.client_id === null ? '?' : '0x' + f.header.client_id.toString(16);
  return `${name} txid=${f.header.transaction_id ?? '?'} client=${client} status=${f.header.sub_opcode === null ? '?' : statusName(f.header.sub_opcode)}`;
}

export function judge(c: FuzzCase, obs: Observation, timeoutMs: number): Verdict | null {
  const counts = (step: number) => !c.steps[step]?.cleanup;
  // reset: refused, or closed by the server with a reply still due
  for (let i = 0; i < obs.conns.length; i++) {
    const s = obs.conns[i]!;
    if (s.refused) return { oracle: 'reset', detail: `${s.transport.toUpperCase()} connection ${i + 1}: ${s.refused.replace(/^[^ ]+: /, '')}` };
  }
  for (const p of obs.results) {
    if (p.exp.kind !== 'reply' || p.reply || !counts(p.step)) continue;
    const s = obs.conns[p.conn]!;
    if (s.closed && !s.ownClose) {
      const how = s.closed.kind === 'refused' ? 'port unreachable' : s.closed.detail;
      return { oracle: 'reset', detail: `${how} before the reply to ${p.exp.desc} (step ${p.step + 1})`, step: p.step, opcode: p.exp.opcode };
    }
  }
  for (const p of obs.results) {
    if (p.exp.kind !== 'reply' || p.reply || !counts(p.step)) continue;
    const stray = obs.unmatched.find((u) => u.conn === p.conn);
    if (stray) {
      const replyField = wrongFields(stray.frame, p.exp.opcode, p.exp.txid, p.exp.client);
      return {
        oracle: 'wrong_reply', detail: `${describeReply(stray.frame)} does not answer ${p.exp.desc} (client 0x${BigInt('0x' + (p.exp.client ?? '0')).toString(16)}): wrong ${replyField}`,
        step: p.step, opcode: p.exp.opcode, replyField,
      };
    }
    return { oracle: 'hang', detail: `no reply to ${p.exp.desc} within ${timeoutMs} ms (step ${p.step + 1})`, step: p.step, opcode: p.exp.opcode };
  }
  if (obs.unmatched.length) {
    const u = obs.unmatched[0]!;
    return { oracle: 'wrong_reply', detail: `${describeReply(u.frame)} answers no request of the case`, opcode: u.frame.header.opcode === null ? null : u.frame.header.opcode & 0x7fff, replyField: 'unexpected reply' };
  }
  for (const p of obs.results) {
    if (!p.reply || p.exp.malformed.length === 0 || !counts(p.step)) continue;
    if (acceptsStatus(p.reply.header.sub_opcode)) {
      return {
        oracle: 'malformed_ok',
        detail: `${p.exp.desc} with ${p.exp.malformed.join(', ')} answered ${statusName(p.reply.header.sub_opcode!)}`,
        step: p.step,
        opcode: p.exp.opcode,
      };
    }
  }
  return null;
}
