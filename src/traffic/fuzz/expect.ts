// What a correct server does with the bytes a case sends, decided with the
// shared decoder's findings on exactly those bytes (no second list of rules):
//
//   UDP, one datagram = one frame:
//     < 2 bytes (no opcode)           optional reply, nothing to match it by
//     reply opcode (bit 15) / Announce none: a server never answers them
//     < 32 bytes (frame_short)        optional reply; if one comes it must not be OK
//     length ≠ datagram size          optional reply (length lies either way, trailing
//                                     bytes): answered or dropped; an answer to a
//                                     malformed one must not be OK
//     otherwise                       a reply is due (whole header, same opcode|0x8000,
//                                     transaction_id, client_id); OK only if not malformed
//   TCP, a byte stream framed by the length field (as the server frames it):
//     each whole frame                as for UDP (reply due unless reply opcode / Announce)
//     a frame over the payload limit  the stream cannot be framed: the server may close
//                                     the connection; nothing after it is expected
//     a cut-off tail (length lie that promises more bytes, truncation)
//                                     stall: the server waits for the rest, no reply,
//                                     the connection may be closed; not a hang
//
// "Malformed" = the decoder reports one of MALFORMED_CODES: bad checksum,
// frame short or cut off (length lies), payload size wrong for the opcode,
// unknown opcode, invalid sub-opcode. Reserved bits, unknown enum values and
// trailing UDP bytes are not malformed: a server may accept them.

import { decodeFrame } from '../../protocol/decode.js';
import { expertCodesWhere, type ExpertCode } from '../../protocol/expert.js';
import { HEADER_SIZE, OP_ANNOUNCE, REPLY_BIT, opcodeDef } from '../../protocol/fields.js';
import { OFF } from './frames.js';

export const MALFORMED_CODES: ReadonlySet<ExpertCode> = expertCodesWhere((d) => d.refused);

export type ExpectKind = 'reply' | 'optional' | 'none' | 'stall';

export interface Expectation {
  kind: ExpectKind;
  /** Request opcode / transaction id / client id (16 hex digits) when present, for matching the reply. */
  opcode: number | null;
  txid: number | null;
  client: string | null;
  /** Malformed findings of the frame; non-empty → an OK reply is `malformed_ok`. */
  malformed: ExpertCode[];
  /** The server may close the connection after this (TCP frame over the payload limit). */
  closeOk: boolean;
  /** `Allocate txid=7` for messages. */
  desc: string;
}

function name(opcode: number | null): string {
  if (opcode === null) return 'frame';
  const d = opcodeDef(opcode);
  return d ? (opcode & REPLY_BIT ? `${d.name} reply` : d.name) : `opcode 0x${opcode.toString(16).padStart(4, '0')}`;
}

function describe(opcode: number | null, txid: number | null): string {
  return txid === null ? name(opcode) : `${name(opcode)} txid=${txid}`;
}

/** Expectation for one frame as the server frames it (`udp`: a whole datagram). */
export function frameExpectation(bytes: Buffer, udp: boolean): Expectation {
  const f = decodeFrame(bytes, { udp });
  const h = f.header;
  const client = bytes.length >= OFF.client + 8 ? bytes.toString('hex', OFF.client, OFF.client + 8) : null;
  const malformed = f.findings.map((x) => x.code).filter((c) => MALFORMED_CODES.has(c));
  const base = { opcode: h.opcode, txid: h.transaction_id, client, malformed, closeOk: false, desc: describe(h.opcode, h.transaction_id) };
  if (h.opcode === null) return { ...base, kind: 'optional' };
  if ((h.opcode & REPLY_BIT) !== 0 || h.opcode === OP_ANNOUNCE) return { ...base, kind: 'none' };
  if (bytes.length < HEADER_SIZE) return { ...base, kind: 'optional' };
  // UDP: a length field that disagrees with the datagram (a lie either way, or
  // trailing bytes) may be answered or dropped; an answer must still not be OK
  // when the frame is malformed.
  if (udp && f.declaredSize !== bytes.length) return { ...base, kind: 'optional' };
  return { ...base, kind: 'reply' };
}

export function udpExpectation(datagram: Buffer): Expectation {
  return frameExpectation(datagram, true);
}

export interface TcpFramed {
  /** Per write (step), the expectations of the frames whose last byte it carried. */
  perWrite: Expectation[][];
  /** Every write ended exactly on a frame boundary and nothing is over the limit. */
  clean: boolean;
}

/**
 * Frames a TCP byte stream the way the server does (length field, payload
 * limit) and returns the expectations per write.
 */
export function tcpExpectations(writes: readonly Buffer[], maxPayload: number): TcpFramed {
  const perWrite: Expectation[][] = writes.map(() => []);
  const stream = Buffer.concat(writes);
  const ends: number[] = [];
  let acc = 0;
  for (const w of writes) ends.push((acc += w.length));
  const writeOf = (end: number) => {
    const i = ends.findIndex((e) => e >= end);
    return i < 0 ? writes.length - 1 : i;
  };
  let at = 0;
  let clean = true;
  while (at < stream.length) {
    const rest = stream.length - at;
    if (rest < HEADER_SIZE) {
      const e = frameExpectation(stream.subarray(at), false);
      perWrite[writes.length - 1]!.push({ ...e, kind: 'stall', desc: `${e.desc} (${rest} bytes of a header)` });
      clean = false;
      break;
    }
    const size = HEADER_SIZE + 4 * stream.readUInt16BE(at + OFF.length);
    if (size - HEADER_SIZE > maxPayload) {
      const e = frameExpectation(stream.subarray(at, at + HEADER_SIZE), false);
      perWrite[writeOf(at + HEADER_SIZE)]!.push({ ...e, kind: 'stall', closeOk: true, desc: `${e.desc} (length over the ${maxPayload}-byte limit)` });
      clean = false;
      break;
    }
    if (rest < size) {
      const e = frameExpectation(stream.subarray(at), false);
      perWrite[writes.length - 1]!.push({ ...e, kind: 'stall', desc: `${e.desc} (${rest} of ${size} bytes)` });
      clean = false;
      break;
    }
    const end = at + size;
    if (!ends.includes(end)) clean = false;
    perWrite[writeOf(end)]!.push(frameExpectation(stream.subarray(at, end), false));
    at = end;
  }
  return { perWrite, clean };
}

/** Whether an OK (or PENDING) status answers a malformed frame. */
export function acceptsStatus(status: number | null): boolean {
  return status === 0x00 || status === 0x01;
}

