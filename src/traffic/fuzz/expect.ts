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
import { StreamFramer } from '../../net/streamFramer.js';
import { Header } from '../../protocol/access.js';

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
  const id = Header.field.client_id;
  const client = Header.has.client_id(bytes.length) ? bytes.toString('hex', id.offset, id.offset + id.width) : null;
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
  /** Every frame ends where a write ends, and the stream ends on a frame boundary with nothing over the limit. */
  clean: boolean;
}

/**
 * Frames a TCP byte stream the way the server does (the shared stream framer:
 * length field, payload limit) and returns the expectations per write: a
 * frame belongs to the write that carried its last byte, a header over the
 * limit to the write that completed it.
 */
export function tcpExpectations(writes: readonly Buffer[], maxPayload: number): TcpFramed {
  const perWrite: Expectation[][] = writes.map(() => []);
  let current: Expectation[] = perWrite[0] ?? [];
  let clean = true;
  const framer = new StreamFramer({
    maxPayload,
    onFrame: (frame) => current.push(frameExpectation(frame, false)),
    onOversize: (_h, _size, header) => {
      const e = frameExpectation(header, false);
      current.push({ ...e, kind: 'stall', closeOk: true, desc: `${e.desc} (length over the ${maxPayload}-byte limit)` });
    },
  });
  for (let i = 0; i < writes.length; i++) {
    current = perWrite[i]!;
    const before = framer.frames;
    framer.push(writes[i]!);
    // Clean: every frame ends where a write ends (at most one frame per write,
    // and none followed by bytes of the next in the same write).
    const n = framer.frames - before;
    if (framer.isStopped || n > 1 || (n === 1 && framer.buffered > 0)) clean = false;
  }
  const rest = framer.buffered;
  if (rest > 0) {
    clean = false;
    const held = framer.end();
    const e = frameExpectation(held.bytes, false);
    const size = held.size;
    const what = size < 0 ? `${rest} bytes of a header` : `${rest} of ${size} bytes`;
    perWrite[writes.length - 1]!.push({ ...e, kind: 'stall', desc: `${e.desc} (${what})` });
  }
  return { perWrite, clean };
}

/** Whether an OK (or PENDING) status answers a malformed frame. */
export function acceptsStatus(status: number | null): boolean {
  return status === 0x00 || status === 0x01;
}

