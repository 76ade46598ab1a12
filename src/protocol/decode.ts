// The VVMP decoder: any byte sequence in, what could be read plus the
// single-frame expert findings out. It never throws.

import { byteSum } from './checksum.js';
import { compileBitsTest, readBlock, readId, readUint, type BitsTest, type BlockRecord } from './codec.js';
import { Header } from './access.js';
import { finding, type Finding } from './expert.js';
import {
  HEADER_SIZE, REPLY_BIT, STATUSES, STATUS_PENDING, STATUS_TOO_LARGE, isErrorStatus, opcodeDef, replyStatus, statusName,
  type BlockLayout, type OpcodeDef,
} from './fields.js';

export interface HeaderFields {
  opcode: number | null;
  src_san: number | null;
  dst_san: number | null;
  client_id: bigint | null;
  server_id: bigint | null;
  transaction_id: number | null;
  sub_opcode: number | null;
  length: number | null;
  checksum: number | null;
}

export type DevicesPayload = { devices: BlockRecord[] };
export type Payload = BlockRecord | DevicesPayload;

export interface DecodedFrame {
  /** The frame's bytes that are present (for UDP: without trailing bytes). A view, not a copy. */
  bytes: Buffer;
  header: HeaderFields;
  /** The opcode's definition, undefined when unknown or absent. */
  def: OpcodeDef | undefined;
  /** `Query` … `Announce`, `Unknown`; null when the opcode bytes are absent. */
  name: string | null;
  reply: boolean | null;
  /** Reply status name (`OK`, `0x7E`); null in requests. */
  status: string | null;
  /** 32 + 4 × length, or null without a length field. */
  declaredSize: number | null;
  /** All of the frame's declared bytes are present. */
  complete: boolean;
  /** Bytes after the frame in its UDP datagram. */
  trailing: number;
  /** Layout the payload was decoded with (for the tree and hex highlighting). */
  payloadBlock: BlockLayout | null;
  /** The payload's records; null without a payload, and when decoded with `payload: false` (see DecodeOptions). */
  payload: Payload | null;
  /** Sum of the present bytes mod 256; 0 means the checksum is good. */
  sum: number;
  checksumOk: boolean;
  findings: Finding[];
}

/**
 * The findings of a frame that has none: one shared list (most frames have
 * none; a list per frame was garbage). Never push into it: add to a frame's
 * findings with `addFrameFinding`. It is a plain array of the same kind as a
 * frame's own list (made with an element, then emptied): frozen, or with an
 * own `push`, every `for…of` over findings turned polymorphic and allocated
 * an iterator per frame.
 */
export const NO_FINDINGS: Finding[] = [finding('frame_short', '')];
NO_FINDINGS.pop();

/** Appends `x` to the frame's findings, replacing the shared empty list by a list of its own. */
export function addFrameFinding(frame: DecodedFrame, x: Finding): void {
  if (frame.findings === NO_FINDINGS) frame.findings = [x];
  else frame.findings.push(x);
}

export interface DecodeOptions {
  /** The bytes are a whole UDP datagram: extra bytes after the frame are `udp_trailing`. */
  udp?: boolean;
  /**
   * false: do not build the payload records (`payload` stays null; the
   * findings, `payloadBlock` and everything else are the same). For readers
   * that take payload fields in place with protocol/access.ts (`stats`): a
   * record per frame was most of the decoder's garbage.
   */
  payload?: boolean;
}

function hex2(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

export function isDevicesPayload(p: Payload): p is DevicesPayload {
  return Array.isArray((p as DevicesPayload).devices);
}

const H = Header.get;

/** A header with every field absent, to fill (all fields present: one shape for every header). */
export function emptyHeader(): HeaderFields {
  return {
    opcode: null, src_san: null, dst_san: null, client_id: null, server_id: null, transaction_id: null,
    sub_opcode: null, length: null, checksum: null,
  };
}

/** Fills `h` with the header fields whose bytes are present; the rest null (OUTPUT.md convention 2). */
function readHeader(b: Buffer, n: number, h: HeaderFields): HeaderFields {
  // The usual case, a whole header: each field read where it lies by the table's compiled readers.
  if (n >= HEADER_SIZE) {
    h.opcode = H.opcode(b, 0);
    h.src_san = H.src_san(b, 0);
    h.dst_san = H.dst_san(b, 0);
    h.client_id = H.client_id(b, 0);
    h.server_id = H.server_id(b, 0);
    h.transaction_id = H.transaction_id(b, 0);
    h.sub_opcode = H.sub_opcode(b, 0);
    h.length = H.length(b, 0);
    h.checksum = H.checksum(b, 0);
    return h;
  }
  h.opcode = n >= 2 ? (readUint(b, 0, 2) as number) : null;
  h.src_san = n >= 5 ? (readUint(b, 2, 3) as number) : null;
  h.dst_san = n >= 8 ? (readUint(b, 5, 3) as number) : null;
  h.client_id = n >= 16 ? readId(b, 8) : null;
  h.server_id = n >= 24 ? readId(b, 16) : null;
  h.transaction_id = n >= 28 ? (readUint(b, 24, 4) as number) : null;
  h.sub_opcode = n >= 29 ? b[28]! : null;
  h.length = n >= 31 ? (readUint(b, 29, 2) as number) : null;
  h.checksum = n >= 32 ? b[31]! : null;
  return h;
}

const NO_BYTES = Buffer.alloc(0);

/** A decoded frame to fill with `decodeFrameInto` (every field present, so all frames share one shape). */
export function emptyDecodedFrame(): DecodedFrame {
  return {
    bytes: NO_BYTES, header: emptyHeader(), def: undefined, reply: null, status: null, declaredSize: null, complete: false,
    trailing: 0, name: null, payloadBlock: null, payload: null, sum: 0, checksumOk: true, findings: NO_FINDINGS,
  };
}

export function decodeFrame(input: Buffer, opts: DecodeOptions = {}): DecodedFrame {
  return decodeFrameInto(emptyDecodedFrame(), input, opts);
}

/**
 * decodeFrame into `frame`, which is overwritten whole (its header object
 * too): for a caller that reuses frames nobody holds any more (the analysis
 * in `stats`), so decoding allocates nothing for a frame without findings.
 */
export function decodeFrameInto(frame: DecodedFrame, input: Buffer, opts: DecodeOptions = {}): DecodedFrame {
  const header = readHeader(input, input.length, frame.header);
  const declaredSize = header.length === null ? null : HEADER_SIZE + 4 * header.length;
  let frameLen = input.length;
  let trailing = 0;
  if (declaredSize !== null && input.length > declaredSize) {
    frameLen = declaredSize;
    trailing = opts.udp ? input.length - declaredSize : 0;
  }
  const bytes = frameLen === input.length ? input : input.subarray(0, frameLen);
  const complete = declaredSize !== null && frameLen === declaredSize;
  const sum = byteSum(bytes);
  const opcode = header.opcode;
  const def = opcode === null ? undefined : opcodeDef(opcode);
  const reply = opcode === null ? null : (opcode & REPLY_BIT) !== 0;
  const sub = header.sub_opcode;
  const statusCode = opcode === null || sub === null ? null : replyStatus(opcode, sub);
  const status = statusCode === null ? null : statusName(statusCode);
  frame.bytes = bytes;
  frame.def = def;
  frame.reply = reply;
  frame.status = status;
  frame.declaredSize = declaredSize;
  frame.complete = complete;
  frame.trailing = trailing;
  frame.name = opcode === null ? null : def ? def.name : 'Unknown';
  frame.payloadBlock = null;
  frame.payload = null;
  frame.sum = sum;
  frame.checksumOk = sum === 0;
  frame.findings = NO_FINDINGS;

  if (sum !== 0) {
    addFrameFinding(frame, finding('checksum_bad', `frame bytes sum to ${hex2(sum)}, not 0`));
  }
  if (input.length < HEADER_SIZE) {
    addFrameFinding(frame, finding('frame_short', `${input.length} bytes, fewer than the 32-byte header`));
    return frame;
  }
  if (!complete) {
    addFrameFinding(frame, finding('frame_truncated',
      `length ${header.length} words asks for ${declaredSize} bytes, only ${frameLen} present`));
  }
  if (trailing > 0) {
    addFrameFinding(frame, finding('udp_trailing', `${trailing} bytes after the ${declaredSize}-byte frame in the datagram`));
  }

  if (!def) {
    addFrameFinding(frame, finding('opcode_unknown', `opcode 0x${opcode!.toString(16).padStart(4, '0')} is not defined`));
  }
  if (statusCode !== null) {
    if (!(statusCode in STATUSES)) {
      addFrameFinding(frame, finding('subop_invalid', `reply status ${status} is not defined`));
    }
    if (statusCode === STATUS_PENDING) {
      addFrameFinding(frame, finding('status_pending', 'PENDING: a second reply follows when storage frees up'));
    } else if (isErrorStatus(statusCode)) {
      addFrameFinding(frame, finding('status_error', statusCode === STATUS_TOO_LARGE
        ? `reply status ${status}: the whole answer does not fit this exchange (UDP bound or payload limit); ask over TCP`
        : `reply status ${status}`));
    }
  } else if (def && !(sub! in def.subops)) {
    addFrameFinding(frame, finding('subop_invalid', `sub-opcode ${hex2(sub!)} is not valid for ${def.name}`));
  }
  if (!def) return frame;

  const payloadLen = 4 * header.length!;
  const block = reply ? def.reply : def.request;
  const errorReply = statusCode !== null && isErrorStatus(statusCode);
  if (errorReply && payloadLen === 0) return frame; // error replies may be empty
  if (block === null) {
    if (payloadLen !== 0) addFrameFinding(frame, finding('payload_size', `${def.name} request carries no payload, got ${payloadLen} bytes`));
    return frame;
  }
  if (block.repeated ? payloadLen % block.size !== 0 : payloadLen !== block.size) {
    const want = block.repeated ? `a multiple of ${block.size}` : `${block.size}`;
    addFrameFinding(frame, finding('payload_size', `${def.name} ${reply ? 'reply' : 'request'} payload is ${payloadLen} bytes, expected ${want}`));
    return frame;
  }
  if (!complete) return frame;

  frame.payloadBlock = block;
  if (opts.payload === false) {
    // Reserved bits are checked in place; a record is built only for the finding's text.
    const check = reservedCheck(block);
    const n = block.repeated ? (frameLen - HEADER_SIZE) / block.size : 1;
    for (let i = 0; i < n; i++) {
      const bad = check(bytes, HEADER_SIZE + i * block.size);
      if (bad >= 0) {
        addFrameFinding(frame, reservedFinding(block, bad, readBlock(bytes, HEADER_SIZE + i * block.size, block), block.repeated ? i : -1));
        break;
      }
    }
    return frame;
  }
  if (block.repeated) {
    const devices: BlockRecord[] = [];
    for (let at = HEADER_SIZE; at < frameLen; at += block.size) devices.push(readBlock(bytes, at, block));
    frame.payload = { devices };
    const check = reservedCheck(block);
    for (let i = 0; i < devices.length; i++) {
      const bad = check(bytes, HEADER_SIZE + i * block.size);
      if (bad >= 0) {
        addFrameFinding(frame, reservedFinding(block, bad, devices[i]!, i));
        break;
      }
    }
  } else {
    const rec = readBlock(bytes, HEADER_SIZE, block);
    frame.payload = rec;
    const bad = reservedCheck(block)(bytes, HEADER_SIZE);
    if (bad >= 0) addFrameFinding(frame, reservedFinding(block, bad, rec, -1));
  }
  return frame;
}

const reservedChecks = new Map<BlockLayout, BitsTest>();

/**
 * The reserved-bits test of a layout, made from the table once: the fields
 * that must be zero (whole, or under their reserved mask), read in place in
 * table order; returns the index in `block.fields` of the first set, or -1.
 */
function reservedCheck(block: BlockLayout): BitsTest {
  let check = reservedChecks.get(block);
  if (check) return check;
  const tests = block.fields.flatMap((f, index) => {
    if (f.kind === 'reserved') return [{ index, offset: f.offset, width: f.width, mask: -1 }];
    if (f.reservedMask !== undefined && f.reservedMask !== 0) return [{ index, offset: f.offset, width: f.width, mask: f.reservedMask }];
    return [];
  });
  check = compileBitsTest(tests);
  reservedChecks.set(block, check);
  return check;
}

/** The finding for reserved field `at` of record `index` of a repeated block (-1: the only record). */
function reservedFinding(block: BlockLayout, at: number, rec: BlockRecord, index: number): Finding {
  const f = block.fields[at]!;
  const v = rec[f.name]!;
  const where = index >= 0 ? `${block.label.toLowerCase()} ${index + 1}: ` : '';
  return finding('reserved_nonzero', f.kind === 'reserved'
    ? `${where}${f.label.toLowerCase()} ${f.name} is ${v}, not 0`
    : `${where}reserved bits of ${f.name} set (0x${Number(v).toString(16).padStart(2, '0')})`);
}

/**
 * The layout `decodeFrame` decodes the payload of `bytes` with (its
 * `payloadBlock`), found from the header alone without decoding anything:
 * `bytes` are the frame's present bytes, trailing bytes of a UDP datagram
 * excluded (as `DecodedFrame.bytes`). Filters and the UI read payload fields
 * in place with it.
 */
export function payloadBlockOf(bytes: Uint8Array): BlockLayout | null {
  const n = bytes.length;
  if (n < HEADER_SIZE) return null;
  const opcode = Header.get.opcode(bytes, 0);
  const def = opcodeDef(opcode);
  if (!def) return null;
  const payloadLen = 4 * Header.get.length(bytes, 0);
  if (n !== HEADER_SIZE + payloadLen) return null; // cut off
  const reply = (opcode & REPLY_BIT) !== 0;
  const block = reply ? def.reply : def.request;
  if (block === null || payloadLen === 0 && reply && Header.get.sub_opcode(bytes, 0) > STATUS_PENDING) return null;
  return (block.repeated ? payloadLen % block.size === 0 : payloadLen === block.size) ? block : null;
}

/**
 * Size of the frame starting at `at` if a header is there, else null. Used by
 * the TCP framer, which needs only the length field.
 */
export function frameSizeAt(buf: Uint8Array, at: number): number | null {
  if (buf.length - at < HEADER_SIZE) return null;
  return HEADER_SIZE + 4 * ((buf[at + 29]! << 8) | buf[at + 30]!);
}

/**
 * Heuristic test (VVMP.md section 1): a known opcode, a sub-opcode or status
 * that fits it, a declared size no larger than `available` allows, and a
 * good checksum when the whole frame is present.
 */
export function looksLikeVvmp(buf: Uint8Array, at: number, available: number, maxPayload = 65536): boolean {
  if (available < HEADER_SIZE) return false;
  const opcode = (buf[at]! << 8) | buf[at + 1]!;
  const def = opcodeDef(opcode);
  if (!def) return false;
  const sub = buf[at + 28]!;
  if (opcode & REPLY_BIT ? !(sub in STATUSES) : !(sub in def.subops)) return false;
  const size = HEADER_SIZE + 4 * ((buf[at + 29]! << 8) | buf[at + 30]!);
  if (size - HEADER_SIZE > maxPayload) return false;
  if (size > available) return false;
  return byteSum(buf, at, at + size) === 0;
}
