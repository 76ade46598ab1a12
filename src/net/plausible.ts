// Is there a VVMP frame here? The judgement the framer uses to probe a
// connection (heuristic mode) and to find frame boundaries again (resync).

import { Header } from '../protocol/access.js';
import { decodeFrame, frameSizeAt, looksLikeVvmp } from '../protocol/decode.js';
import { HEADER_SIZE, REPLY_BIT, STATUSES, opcodeDef } from '../protocol/fields.js';

export const PLAUSIBLE_NO: number = 0;
export const PLAUSIBLE_YES: number = 1;
export const PLAUSIBLE_NEED_MORE: number = 2;

/**
 * Whether a VVMP frame starts at `at` with `avail` bytes present: NO, YES
 * (looksLikeVvmp: known opcode, fitting sub-opcode or status, length within
 * the limit, good checksum), or NEED_MORE when the bytes so far fit but the
 * frame is not all there to check its checksum. `strict` (used to resync
 * inside a stream) also wants the payload size the opcode calls for.
 * `anyChecksum`: a whole frame that fits passes with a bad checksum too (a
 * candidate right after a discontinuity, which needs confirming instead).
 */
export function plausibleAt(b: Uint8Array, at: number, avail: number, maxPayload: number, strict = false, anyChecksum = false): number {
  if (avail < 2) return PLAUSIBLE_NEED_MORE;
  const opcode = Header.get.opcode(b, at);
  const def = opcodeDef(opcode);
  if (!def) return PLAUSIBLE_NO;
  if (avail < HEADER_SIZE) return PLAUSIBLE_NEED_MORE;
  if (!headerFits(b, at, opcode, maxPayload)) return PLAUSIBLE_NO;
  const size = frameSizeAt(b, at)!;
  if (size > avail) return PLAUSIBLE_NEED_MORE;
  if (!anyChecksum && !looksLikeVvmp(b, at, avail, maxPayload)) return PLAUSIBLE_NO;
  if (strict) {
    const f = decodeFrame(Buffer.from(b.buffer, b.byteOffset + at, size));
    if (f.findings.some((x) => x.code === 'payload_size')) return PLAUSIBLE_NO;
  }
  return PLAUSIBLE_YES;
}

/** The lenient check of a whole header whose frame is not all present: opcode, sub-opcode/status, length limit. */
export function headerFits(b: Uint8Array, at: number, opcode: number, maxPayload: number): boolean {
  const def = opcodeDef(opcode);
  if (!def) return false;
  const sub = Header.get.sub_opcode(b, at);
  if (opcode & REPLY_BIT ? !(sub in STATUSES) : !(sub in def.subops)) return false;
  return frameSizeAt(b, at)! - HEADER_SIZE <= maxPayload;
}
