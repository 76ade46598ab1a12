// Random mutations: byte flips on valid frames (length fixed up, checksum
// fixed or not), random field values, and both on frames of --seed-capture.

import { decodeFrame } from '../../protocol/decode.js';
import { HEADER, HEADER_SIZE, REPLY_BIT, type FieldDef } from '../../protocol/fields.js';
import { Header } from '../../protocol/access.js';
import { TEMPLATES, build } from './frames.js';
import { UDP_MAX, fixChecksumForView, hex, infinite, setAt, single, type Ctx, type Strategy } from './gen.js';
import type { Rng } from './prng.js';
import { interestingValues } from './values.js';

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** Flips/replaces 1–4 bytes, then restores the length field (boofuzz-style size fix-up); checksum fixed or not. */
function flipFrame(rng: Rng, frame: Buffer): string {
  const n = 1 + rng.int(4);
  const where: number[] = [];
  const lengthBefore = Header.get.length(frame, 0);
  for (let k = 0; k < n; k++) {
    const at = rng.int(frame.length);
    where.push(at);
    const how = rng.int(3);
    if (how === 0) frame[at] = frame[at]! ^ (1 << rng.int(8));
    else if (how === 1) frame[at] = rng.int(256);
    else frame[at] = rng.pick(INTERESTING_BYTES);
  }
  Header.set.length(frame, 0, lengthBefore);
  const fixed = rng.chance(0.5);
  if (fixed) fixChecksumForView(frame);
  return `bytes ${[...new Set(where)].sort((a, b) => a - b).join(', ')} changed, checksum ${fixed ? 'fixed' : 'as is'}`;
}

function flip(ctx: Ctx): Strategy {
  const name = 'flip';
  const rng = ctx.rng(name);
  return infinite(name, 6, (n) => {
    const t = rng.pick(TEMPLATES);
    const frame = build(t, { transaction_id: ctx.txid(name, n) });
    const base = Buffer.from(frame);
    const what = flipFrame(rng, frame);
    return single(name, `${t.name}: ${what}`, ctx.transport(rng), frame, base);
  }, true);
}

/** The fields of a frame with their byte offsets: header (but length/checksum) and payload records. */
function mutableFields(frame: Buffer): Array<{ f: FieldDef; at: number }> {
  const out: Array<{ f: FieldDef; at: number }> = [];
  for (const f of HEADER.fields) if (f !== Header.field.length && f !== Header.field.checksum) out.push({ f, at: f.offset });
  const d = decodeFrame(frame);
  const def = d.def;
  const block = def ? ((Header.get.opcode(frame, 0) & REPLY_BIT) !== 0 ? def.reply : def.request) : null;
  if (block) {
    const n = block.repeated ? Math.floor((frame.length - HEADER_SIZE) / block.size) : frame.length - HEADER_SIZE >= block.size ? 1 : 0;
    for (let r = 0; r < n; r++) for (const f of block.fields) out.push({ f, at: HEADER_SIZE + r * block.size + f.offset });
  }
  return out;
}

function mutateFields(rng: Rng, frame: Buffer): string {
  const fields = mutableFields(frame);
  const k = 1 + rng.int(3);
  const parts: string[] = [];
  for (let i = 0; i < k; i++) {
    const { f, at } = rng.pick(fields);
    const v = rng.chance(0.5) ? rng.pick(interestingValues(f)).value : rng.uint(f.width);
    setAt(frame, at, f, v);
    parts.push(`${f.filter}=${hex(v)}`);
  }
  const fixed = rng.chance(0.9);
  if (fixed) fixChecksumForView(frame);
  return `${parts.join(' ')}${fixed ? '' : ' (checksum as is)'}`;
}

function randomFields(ctx: Ctx): Strategy {
  const name = 'random:fields';
  const rng = ctx.rng(name);
  return infinite(name, 3, (n) => {
    const t = rng.pick(TEMPLATES);
    const frame = build(t, { transaction_id: ctx.txid(name, n) });
    const base = Buffer.from(frame);
    const what = mutateFields(rng, frame);
    return single(name, `${t.name}: ${what}`, ctx.transport(rng), frame, base);
  }, true);
}

export function seedStrategies(ctx: Ctx): Strategy[] {
  const seeds = (ctx.opts.seeds ?? []).filter((s) => s.length >= HEADER_SIZE && s.length <= UDP_MAX);
  if (seeds.length === 0) return [];
  const fl = ctx.rng('seed:flip');
  const fd = ctx.rng('seed:field');
  return [
    infinite('seed:flip', 2, (n) => {
      const i = fl.int(seeds.length);
      const frame = Buffer.from(seeds[i]!);
      const base = Buffer.from(frame);
      const what = flipFrame(fl, frame);
      return single('seed:flip', `seed frame ${i + 1}: ${what}`, ctx.transport(fl), frame, base);
    }, true),
    infinite('seed:field', 2, (n) => {
      const i = fd.int(seeds.length);
      const frame = Buffer.from(seeds[i]!);
      const base = Buffer.from(frame);
      const what = mutateFields(fd, frame);
      void n;
      return single('seed:field', `seed frame ${i + 1}: ${what}`, ctx.transport(fd), frame, base);
    }, true),
  ];
}

export function randomStrategies(ctx: Ctx): Strategy[] {
  return [flip(ctx), randomFields(ctx)];
}
