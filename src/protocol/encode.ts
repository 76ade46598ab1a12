// The VVMP encoder: the one place frames are written, for the server, the
// client, replay and fuzz. It fills length and checksum, or lies when told.

import { fixChecksum } from './checksum.js';
import { writeBlock, writeUint, type BlockRecord } from './codec.js';
import { Header } from './access.js';
import { HEADER, HEADER_SIZE, REPLY_BIT, opcodeDef, type BlockLayout, type FieldName } from './fields.js';

export interface FrameSpec {
  opcode: number;
  src_san?: number;
  dst_san?: number;
  client_id?: bigint;
  server_id?: bigint;
  transaction_id?: number;
  /** Request qualifier or reply status. */
  sub_opcode?: number;
  /**
   * The payload: a record for the opcode's block, `{devices: [...]}` for
   * device records, raw bytes, or nothing.
   */
  payload?: Partial<BlockRecord> | { devices: Partial<BlockRecord>[] } | Uint8Array | null;
  /** Encode the record with this layout instead of the opcode's own. */
  block?: BlockLayout;
  /** Write this in the length field instead of the true length (a lie, for fuzzing). */
  lengthOverride?: number;
  /** Write this checksum byte instead of the correct one. */
  checksumOverride?: number;
  /** Write a wrong checksum (the correct one plus one). */
  corruptChecksum?: boolean;
}

function payloadBytes(spec: FrameSpec): Uint8Array {
  const p = spec.payload;
  if (p === undefined || p === null) return new Uint8Array(0);
  if (p instanceof Uint8Array) return p;
  const def = opcodeDef(spec.opcode);
  const isReply = (spec.opcode & REPLY_BIT) !== 0;
  if ('devices' in p && Array.isArray(p.devices)) {
    const layout = spec.block ?? def?.reply ?? def?.request;
    if (!layout) throw new Error('device records need a block layout');
    const out = new Uint8Array(layout.size * p.devices.length);
    p.devices.forEach((rec, i) => writeBlock(out, i * layout.size, layout, rec));
    return out;
  }
  const layout = spec.block ?? (isReply ? def?.reply : def?.request);
  if (!layout) throw new Error(`opcode 0x${spec.opcode.toString(16)} has no payload layout; pass block or bytes`);
  const out = new Uint8Array(layout.size);
  writeBlock(out, 0, layout, p as Partial<BlockRecord>);
  return out;
}

/** Encodes one frame. Payloads whose size is not a multiple of 4 are zero-padded. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = payloadBytes(spec);
  const words = Math.ceil(payload.length / 4);
  const frame = Buffer.alloc(HEADER_SIZE + 4 * words);
  writeBlock(frame, 0, HEADER, {
    opcode: spec.opcode,
    src_san: spec.src_san ?? 0,
    dst_san: spec.dst_san ?? 0,
    client_id: spec.client_id ?? 0n,
    server_id: spec.server_id ?? 0n,
    transaction_id: spec.transaction_id ?? 0,
    sub_opcode: spec.sub_opcode ?? 0,
    length: spec.lengthOverride ?? words,
    checksum: 0,
  });
  frame.set(payload, HEADER_SIZE);
  fixChecksum(frame);
  if (spec.checksumOverride !== undefined) frame[31] = spec.checksumOverride & 0xff;
  else if (spec.corruptChecksum) frame[31] = (frame[31]! + 1) & 0xff;
  return frame;
}

/** Rewrites a header field of an encoded frame in place and fixes the checksum if it was good. */
export function rewriteHeaderField(
  frame: Uint8Array, name: FieldName<typeof HEADER>, value: number | bigint, keepChecksum = false,
): void {
  Header.set[name](frame, 0, value);
  if (!keepChecksum) fixChecksum(frame);
}
