// What a case changes, named through the field table: the trigger of a
// failure. A step mutated from a valid frame (`base`) changes the fields
// whose bytes differ (header, and the payload records of the base's layout);
// a checksum counts as one class, `bad`, whatever its byte (a fixed checksum
// differs from the base only because something else changed); a size change
// is `size±n`. Steps without a base are the moves of a sequence: the trigger
// is their opcode sequence.
//
// Keys are scoped by the transport and the base's opcode
// (`udp:Query|vvmp.dst_san=0x800000`):
// retiring one keeps the same value in other opcodes alive, so a bug that
// fires on every bad checksum does not hide another one that fires on a bad
// checksum in Statistics only.

import { Header } from '../../protocol/access.js';
import { readField } from '../../protocol/codec.js';
import { HEADER, HEADER_SIZE, OPCODE_BY_CODE, REPLY_BIT, type BlockLayout, type FieldDef } from '../../protocol/fields.js';
import type { FuzzCase } from './cases.js';
import { declaredSize, residue } from './frames.js';

export interface Triggers {
  /** `transport:opcode|filter=value` per changed field (and `tcp:Free|vvmp.checksum=bad`, `udp:Query|size+4`). */
  keys: string[];
  /** Changed field filters (`vvmp.dst_san`, `vvmp.checksum`, `size`). */
  fields: string[];
  /** Opcode names of the steps without a base, in order (a sequence case). */
  sequence: string[];
}

/** The opcode name of a frame (`Query`, `Free-reply`, `0x00ff`, or `frame` when too short for one). */
export function opcodeName(frame: Buffer): string {
  if (!Header.has.opcode(frame.length)) return 'frame';
  const op = Header.get.opcode(frame, 0);
  const def = OPCODE_BY_CODE.get(op & 0x7fff);
  return def ? (op & REPLY_BIT ? `${def.name}-reply` : def.name) : `0x${op.toString(16).padStart(4, '0')}`;
}

function layoutOf(base: Buffer): BlockLayout | null {
  if (base.length < HEADER_SIZE) return null;
  const op = Header.get.opcode(base, 0);
  const def = OPCODE_BY_CODE.get(op & 0x7fff);
  if (!def) return null;
  return op & REPLY_BIT ? def.reply : def.request;
}

function differs(a: Buffer, b: Buffer, at: number, width: number): boolean {
  for (let i = at; i < at + width; i++) if (a[i] !== b[i]) return true;
  return false;
}

function valueText(frame: Buffer, base: number, f: FieldDef): string {
  return `0x${BigInt(readField(frame, base, f)).toString(16)}`;
}

/** The triggers of one case. */
export function caseTriggers(c: FuzzCase): Triggers {
  const keys: string[] = [];
  const fields = new Set<string>();
  const sequence: string[] = [];
  for (const s of c.steps) {
    if (s.cleanup) continue;
    if (!s.base) {
      sequence.push(opcodeName(s.frame));
      continue;
    }
    const { frame, base } = s;
    // scoped by transport and opcode: a trigger retired over UDP stays in play over TCP
    const op = `${c.conns[s.conn] ?? 'tcp'}:${opcodeName(base)}`;
    const add = (field: string, value: string) => {
      keys.push(`${op}|${field}=${value}`);
      fields.add(field);
    };
    const n = Math.min(frame.length, base.length, HEADER_SIZE);
    // a length that tells the truth about a changed size follows the size: the size is the change
    const truthful = frame.length !== base.length && declaredSize(frame) === frame.length;
    for (const f of HEADER.fields) {
      if (f.offset + f.width > n || f === Header.field.checksum || (truthful && f === Header.field.length)) continue;
      if (differs(frame, base, f.offset, f.width)) add(f.filter, valueText(frame, 0, f));
    }
    if (frame.length >= HEADER_SIZE) {
      const framed = Math.min(frame.length, declaredSize(frame) ?? frame.length);
      if (residue(frame, framed) !== 0) add(Header.field.checksum.filter, 'bad');
    }
    const block = layoutOf(base);
    if (block) {
      const recs = block.repeated ? Math.floor((Math.min(frame.length, base.length) - HEADER_SIZE) / block.size) : 1;
      for (let r = 0; r < recs; r++) {
        const at = HEADER_SIZE + r * block.size;
        for (const f of block.fields) {
          if (at + f.offset + f.width > Math.min(frame.length, base.length)) continue;
          if (differs(frame, base, at + f.offset, f.width)) add(f.filter, valueText(frame, at, f));
        }
      }
    }
    if (frame.length !== base.length) add('size', `${frame.length > base.length ? '+' : ''}${frame.length - base.length}`);
    // the valid frame itself (a change taken back by minimisation): its opcode is the trigger
    if (keys.length === 0 && frame.equals(base)) sequence.push(opcodeName(base));
  }
  return { keys, fields: [...fields].sort(), sequence };
}

/** True when `small` appears in `seq` in order (not necessarily next to each other). */
export function isSubsequence(small: readonly string[], seq: readonly string[]): boolean {
  let i = 0;
  for (const x of seq) if (i < small.length && x === small[i]) i++;
  return i === small.length;
}
