// Valid base frames ("templates") built from the field table, and the byte
// helpers mutations use: field writes, length and checksum fix-ups (like
// boofuzz's Size and Checksum primitives) and residue-preserving rewrites.

import { byteSum, fixChecksum } from '../../protocol/checksum.js';
import { writeField, type BlockRecord } from '../../protocol/codec.js';
import { encodeFrame, type FrameSpec } from '../../protocol/encode.js';
import { Header, SESSION_ID_FIELDS } from '../../protocol/access.js';
import {
  HEADER_SIZE, OPCODES, PAYLOAD_BLOCKS, REPLY_BIT, STATUS_OK,
  type BlockLayout, type FieldDef, type OpcodeDef,
} from '../../protocol/fields.js';

/** Client id of stateless fuzz cases ("FUZZ"). */
export const FUZZ_CLIENT = 0x46555a5an;
/** Session id that stateless templates name: far above what a fresh server hands out. */
export const TEMPLATE_SESSION = 0xbeef;
export const FUZZ_SAN = 1;

/** Header byte offsets, from the field table (for byte-level mutations that address header bytes). */
export const OFF = {
  opcode: Header.field.opcode.offset,
  client: Header.field.client_id.offset,
  txid: Header.field.transaction_id.offset,
  sub: Header.field.sub_opcode.offset,
  length: Header.field.length.offset,
  checksum: Header.field.checksum.offset,
} as const;

/** The session id field of a payload block, or undefined for blocks that name none (device records). */
export function sessionField(block: BlockLayout): FieldDef | undefined {
  return SESSION_ID_FIELDS.get(block)?.field;
}

/** A valid frame of one opcode (or a reply shape) that mutations start from. */
export interface Template {
  /** `Query` … `Announce`, or `Statistics-reply` for reply-only layouts. */
  name: string;
  opcode: number;
  def: OpcodeDef | undefined;
  /** Layout of the payload, null for none. */
  block: BlockLayout | null;
  /** Records in the payload (1 for fixed blocks, n for device records, 0 without payload). */
  records: number;
  /** True for a reply-shaped frame (the server must not answer). */
  reply: boolean;
  spec: FrameSpec;
}

/** Field values that make each block valid for the reference server. */
function blockValues(block: BlockLayout, i = 0): Partial<BlockRecord> {
  const v: Partial<BlockRecord> = {};
  for (const f of block.fields) {
    if (f.kind === 'reserved') v[f.name] = 0;
    else if (f.kind === 'enum' && f.names) {
      const keys = Object.keys(f.names).map(Number);
      // a concrete value where one exists (the "any" 0xFF last), for devices too
      v[f.name] = keys.includes(0xff) ? 0xff : keys[Math.min(keys.length - 1, 2)]!;
    } else if (f.kind === 'flags') v[f.name] = 0;
    else if (f === SESSION_ID_FIELDS.get(block)?.field) v[f.name] = TEMPLATE_SESSION;
    else v[f.name] = 0;
  }
  switch (block.id) {
    case 'alloc':
      Object.assign(v, { session_id: 0, capacity_kb: 1024, bandwidth_kb: 1024, qos: 1, timeout_ms: 0 });
      break;
    case 'init':
      Object.assign(v, { stripe_size: 65536, cache_line_size: 4096, block_size: 4096 });
      break;
    case 'free':
      Object.assign(v, { release_kb: 0 });
      break;
    case 'device':
      Object.assign(v, {
        device_id: 0x1000 + i, storage_type: 0x05, access_type: 0x02, device_class: 2, device_flags: 0x01,
        free_kb: 1 << 20, bandwidth_kb: 1 << 16, san_id: 2,
      });
      break;
    case 'stats':
      Object.assign(v, { age_ms: 1000, bytes_read: 4096n, bytes_written: 4096n, io_ops: 2 });
      break;
    default:
      break;
  }
  return v;
}

export function recordValues(block: BlockLayout, i = 0): Partial<BlockRecord> {
  return blockValues(block, i);
}

function firstSubop(def: OpcodeDef): number {
  return Number(Object.keys(def.subops)[0]);
}

function header(opcode: number, sub: number): FrameSpec {
  return { opcode, src_san: FUZZ_SAN, dst_san: FUZZ_SAN, client_id: FUZZ_CLIENT, server_id: 0n, transaction_id: 0, sub_opcode: sub };
}

function makeTemplates(): Template[] {
  const out: Template[] = [];
  for (const def of OPCODES) {
    const spec = header(def.code, firstSubop(def));
    let records = 0;
    if (def.request) {
      if (def.request.repeated) {
        records = 2;
        spec.payload = { devices: [0, 1].map((i) => blockValues(def.request!, i)) };
        // an Announce comes from another SAN's manager
        spec.src_san = 2;
        spec.server_id = 0xf022n;
        spec.client_id = 0n;
      } else {
        records = 1;
        spec.payload = blockValues(def.request);
      }
    }
    out.push({ name: def.name, opcode: def.code, def, block: def.request, records, reply: false, spec });
  }
  // Layouts that no request carries are fuzzed in the reply that carries them
  // (a server must ignore them: it never answers a reply).
  const used = new Set(OPCODES.map((o) => o.request).filter((b): b is BlockLayout => b !== null));
  for (const block of PAYLOAD_BLOCKS) {
    if (used.has(block)) continue;
    const def = OPCODES.find((o) => o.reply === block);
    if (!def) continue;
    const spec = header(def.code | REPLY_BIT, STATUS_OK);
    spec.server_id = 0xf022n;
    spec.payload = block.repeated ? { devices: [blockValues(block, 0)] } : blockValues(block);
    out.push({ name: `${def.name}-reply`, opcode: def.code | REPLY_BIT, def, block, records: 1, reply: true, spec });
  }
  return out;
}

export const TEMPLATES: readonly Template[] = makeTemplates();
export const REQUEST_TEMPLATES: readonly Template[] = TEMPLATES.filter((t) => !t.reply);

export function templateByName(name: string): Template {
  const t = TEMPLATES.find((x) => x.name === name);
  if (!t) throw new Error(`no template ${name}`);
  return t;
}

/** The template whose payload is `block` (requests first). */
export function templateForBlock(block: BlockLayout): Template {
  const t = TEMPLATES.find((x) => x.block === block);
  if (!t) throw new Error(`no template carries ${block.id}`);
  return t;
}

/** Encodes a template with the given header overrides (valid length and checksum). */
export function build(t: Template, over: Partial<FrameSpec> = {}): Buffer {
  // the template's own layout, whatever opcode the override writes
  return encodeFrame({ ...t.spec, block: t.block ?? undefined, ...over });
}

// ---- byte helpers ----------------------------------------------------------------

export function setUint(frame: Uint8Array, at: number, f: FieldDef, value: bigint | number): void {
  writeField(frame, at, f, value);
}

/** Writes the true payload length into the length field (payload rounded down to words). */
export function fixLength(frame: Uint8Array): void {
  if (frame.length < HEADER_SIZE) return;
  Header.set.length(frame, 0, Math.floor((frame.length - HEADER_SIZE) / 4));
}

/** Makes the bytes [0, end) sum to 0 (a good checksum over what the receiver frames). */
export function fixChecksumOver(frame: Uint8Array, end = frame.length): void {
  if (frame.length < HEADER_SIZE) return;
  const view = frame.subarray(0, Math.min(end, frame.length));
  fixChecksum(view);
}

/** Sum of the bytes mod 256: 0 for a good checksum, else the "residue" a lie keeps. */
export function residue(frame: Uint8Array, end = frame.length): number {
  return byteSum(frame, 0, Math.min(end, frame.length));
}

/** Sets byte 31 so the bytes [0, end) sum to `want` (keeps a deliberately bad checksum bad by the same amount). */
export function setResidue(frame: Uint8Array, want: number, end = frame.length): void {
  if (frame.length < HEADER_SIZE) return;
  const now = byteSum(frame, 0, Math.min(end, frame.length));
  Header.set.checksum(frame, 0, Header.get.checksum(frame, 0) - now + want + 512);
}

export function txidOf(frame: Uint8Array): number | null {
  return Header.has.transaction_id(frame.length) ? Header.get.transaction_id(frame, 0) : null;
}

/** The frame size the length field declares, or null without one. */
export function declaredSize(frame: Uint8Array, at = 0): number | null {
  if (frame.length - at < HEADER_SIZE) return null;
  return HEADER_SIZE + 4 * Header.get.length(frame, at);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function unhex(s: string): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`not hex: ${s.slice(0, 40)}`);
  return Buffer.from(s, 'hex');
}
