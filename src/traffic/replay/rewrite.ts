// Rewriting captured requests before they are re-sent: client/server/SAN id
// maps, fresh transaction ids, mapped session ids. Checksums follow the
// rewrite: a frame whose captured checksum was good gets a good one; a frame
// that was captured with a bad checksum stays bad by exactly the same amount
// (recomputed, then broken again by the captured delta), so a replay
// reproduces the fault the capture shows.

import { fixChecksum } from '../../protocol/checksum.js';
import { Header, SessionRef } from '../../protocol/access.js';
import { readUint, writeUint } from '../../protocol/codec.js';
import { HEADER_SIZE } from '../../protocol/fields.js';

export interface RewriteMaps {
  clientIds: ReadonlyMap<bigint, bigint>;
  serverIds: ReadonlyMap<bigint, bigint>;
  sans: ReadonlyMap<number, number>;
  renumber: boolean;
}

export const NO_REWRITE: RewriteMaps = { clientIds: new Map(), serverIds: new Map(), sans: new Map(), renumber: false };

const U24_MAX = 0xffffff;
/** Every payload block declares session_id alike (u16). */
const SESSION_ID_WIDTH = SessionRef.field.session_id.width;

/** `A=B` with 64-bit ids (`0x11=0x99`, decimal too). Throws a one-line message. */
export function parseIdPair(text: string, what: string): [bigint, bigint] {
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*=\s*(0x[0-9a-f]+|\d+)\s*$/i.exec(text);
  const bad = () => new Error(`${what}: "${text}" is not OLD=NEW (e.g. 0x11=0x99)`);
  if (!m) throw bad();
  const a = BigInt(m[1]!);
  const b = BigInt(m[2]!);
  if (a > 0xffffffffffffffffn || b > 0xffffffffffffffffn) throw new Error(`${what}: "${text}": ids are 64-bit`);
  return [a, b];
}

/** `A=B` with SAN ids (u24). */
export function parseSanPair(text: string, what: string): [number, number] {
  const [a, b] = parseIdPair(text, what);
  if (a > U24_MAX || b > U24_MAX) throw new Error(`${what}: "${text}": SAN ids are 24-bit (0..16777215)`);
  return [Number(a), Number(b)];
}

export interface RewriteInput {
  bytes: Buffer;
  /** Bytes of the frame proper (the checksum covers these). */
  frameLen: number;
  /** Sum of the captured frame's bytes mod 256 (0: the checksum was good). */
  capturedSum: number;
  clientId: bigint;
  serverId: bigint;
  txid: number;
  /** New transaction id, or null to keep. */
  newTxid: number | null;
  /** Payload session id: where (byte offset in the frame), and the value to write (null: keep). */
  session: { offset: number; value: number } | null;
}

/**
 * The bytes to send: the captured buffer itself when nothing changes, else a
 * rewritten copy with the checksum recomputed (and re-broken by the captured
 * delta when it was bad).
 */
export function rewriteRequest(maps: RewriteMaps, r: RewriteInput): Buffer {
  const client = maps.clientIds.size ? maps.clientIds.get(r.clientId) : undefined;
  const server = maps.serverIds.size ? maps.serverIds.get(r.serverId) : undefined;
  let srcSan: number | undefined;
  let dstSan: number | undefined;
  if (maps.sans.size) {
    srcSan = maps.sans.get(Header.get.src_san(r.bytes, 0));
    dstSan = maps.sans.get(Header.get.dst_san(r.bytes, 0));
  }
  const txid = r.newTxid !== null && r.newTxid !== r.txid ? r.newTxid : undefined;
  const sess = r.session && r.frameLen >= r.session.offset + SESSION_ID_WIDTH
    && readUint(r.bytes, r.session.offset, SESSION_ID_WIDTH) !== r.session.value
    ? r.session : null;
  if (client === undefined && server === undefined && srcSan === undefined && dstSan === undefined && txid === undefined && !sess) {
    return r.bytes;
  }
  const out = Buffer.from(r.bytes);
  const frame = out.subarray(0, r.frameLen);
  // The checksum is settled once, below.
  if (client !== undefined) Header.set.client_id(frame, 0, client);
  if (server !== undefined) Header.set.server_id(frame, 0, server);
  if (srcSan !== undefined) Header.set.src_san(frame, 0, srcSan);
  if (dstSan !== undefined) Header.set.dst_san(frame, 0, dstSan);
  if (txid !== undefined) Header.set.transaction_id(frame, 0, txid);
  if (sess) writeUint(frame, sess.offset, SESSION_ID_WIDTH, sess.value);
  if (frame.length >= HEADER_SIZE) {
    fixChecksum(frame);
    if (r.capturedSum !== 0) Header.set.checksum(frame, 0, Header.get.checksum(frame, 0) + r.capturedSum);
  }
  return out;
}
