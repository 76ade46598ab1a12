// Case generators. Every field-level strategy walks the field table
// (HEADER, the opcodes' request layouts, the reply-only layouts); nothing
// here lists fields by hand. Strategy names:
//
//   boundary:<filter>        interesting values of one field (values.ts); payload
//                            fields of session blocks (init, free, sessref, Modify's
//                            alloc block) run "deep": Allocate first, the session id
//                            bound from its reply, so the server's checks past the
//                            session lookup are reached
//   subop:<opcode>           every sub-opcode that is invalid for the opcode
//   opcode:unknown           opcodes outside section 3
//   opcode:reply             reply opcodes sent to the server (must not be answered)
//   length:zero|short|long|huge|over-limit   length field lies (checksum fixed and broken)
//   checksum:broken          wrong checksum bytes on every template
//   truncate                 frames cut short (UDP datagram / TCP stall)
//   trailing                 bytes after a valid frame
//   payload:size             payload size wrong for the opcode (length truthful)
//   records:count            device-record payloads of many sizes
//   flip                     random byte/bit flips on valid frames (length fixed up,
//                            checksum fixed or not)
//   random:fields            1–3 random fields set to random or interesting values
//   seed:flip, seed:field    the same on frames taken from --seed-capture
//   stateful:<sequence>      sequences VVMP.md section 7 forbids
//   transport:<abuse>        slow drip, 1-byte segments, coalescing, half-open,
//                            many connections, garbage
//
// Each strategy has its own PRNG stream derived from (seed, name).

import { decodeFrame } from '../../protocol/decode.js';
import {
  ALLOC_BLOCK, FREE_BLOCK, HEADER, HEADER_SIZE, INIT_BLOCK, OPCODES, OP_FREE, OP_QUERY, REPLY_BIT, SESSION_REF, opcodeDef,
  type BlockLayout, type FieldDef,
} from '../../protocol/fields.js';
import { writeField } from '../../protocol/codec.js';
import type { FuzzCase, Step, Transport } from './cases.js';
import {
  FUZZ_CLIENT, OFF, REQUEST_TEMPLATES, TEMPLATES, blockField, build, declaredSize, fixChecksumOver, fixLength, headerField,
  recordValues, setResidue, templateByName, templateForBlock, type Template,
} from './frames.js';
import { hash32, Rng } from './prng.js';
import { interestingValues, type InterestingValue } from './values.js';

export type TransportMode = 'tcp' | 'udp' | 'both';

export interface GenOptions {
  seed: number;
  transport: TransportMode;
  maxPayload: number;
  /** Whole frames taken from a capture (--seed-capture). */
  seeds?: Buffer[];
}

export interface Strategy {
  readonly name: string;
  readonly weight: number;
  readonly finite: boolean;
  /** Random mutations (flip, random:fields, seed:*): they keep finding new things, so they get more room before retiring. */
  readonly random?: boolean;
  next(): FuzzCase | null;
}

const UDP_MAX = 65507;
const SESSION_IN_ALLOC = blockField(ALLOC_BLOCK, 'session_id')!;
const REPLY_SESSION_OFFSET = HEADER_SIZE + SESSION_IN_ALLOC.offset;
/** Blocks that name a session: fuzzed after a real Allocate so the lookup succeeds. */
const SESSION_BLOCKS: ReadonlySet<BlockLayout> = new Set([INIT_BLOCK, FREE_BLOCK, SESSION_REF]);

function hex(v: bigint | number, width = 0): string {
  return '0x' + v.toString(16).padStart(width * 2, '0');
}

// ---- the generation context ------------------------------------------------------

class Ctx {
  constructor(readonly opts: GenOptions) {}

  rng(name: string): Rng {
    return Rng.forLabel(this.opts.seed, name);
  }

  /** Transport of the n-th case of a strategy. */
  transport(rng: Rng): Transport {
    if (this.opts.transport !== 'both') return this.opts.transport;
    return rng.chance(0.25) ? 'udp' : 'tcp';
  }

  /** Both transports for strategies whose meaning differs between them. */
  transports(): Transport[] {
    return this.opts.transport === 'both' ? ['tcp', 'udp'] : [this.opts.transport];
  }

  txid(name: string, n: number): number {
    return hash32(`${name}#${n}`, this.opts.seed) || 1;
  }

  client(name: string, n: number): bigint {
    return (FUZZ_CLIENT << 32n) | BigInt(hash32(`${name}@${n}`, this.opts.seed));
  }
}

function single(strategy: string, desc: string, transport: Transport, frame: Buffer, base?: Buffer): FuzzCase {
  return { seq: 0, strategy, desc, conns: [transport], steps: [{ conn: 0, frame, base }] };
}

/** Good checksum over what the receiver frames: min(declared size, bytes present). */
export function fixChecksumForView(frame: Buffer): void {
  const d = declaredSize(frame);
  fixChecksumOver(frame, d === null ? frame.length : Math.min(d, frame.length));
}

function fromList(name: string, weight: number, make: () => FuzzCase[]): Strategy {
  let list: FuzzCase[] | null = null;
  let i = 0;
  return {
    name, weight, finite: true,
    next() {
      list ??= make();
      return i < list.length ? list[i++]! : null;
    },
  };
}

function infinite(name: string, weight: number, make: (n: number) => FuzzCase, random = false): Strategy {
  let n = 0;
  return { name, weight, finite: false, random, next: () => make(n++) };
}

// ---- field mutations ------------------------------------------------------------------

/** Where a field of `t` sits in its frame (record `rec` for device records). */
function fieldAt(t: Template, f: FieldDef, block: BlockLayout | null, rec = 0): number {
  if (!block) return f.offset;
  return HEADER_SIZE + rec * block.size + f.offset;
}

function setAt(frame: Buffer, at: number, f: FieldDef, v: bigint): void {
  writeField(frame, at - f.offset, f, v);
}

function describeValue(f: FieldDef, v: InterestingValue): string {
  return `${f.filter} = ${v.label} (${hex(v.value)})`;
}

/** A deep case: Allocate (expandable), then `frame` with the session id bound, then a cleanup Free. */
function deepCase(ctx: Ctx, strategy: string, n: number, desc: string, t: Template, mutate: (frame: Buffer) => void, bindSession: boolean, rng: Rng): FuzzCase {
  const client = ctx.client(strategy, n);
  const alloc = build(templateByName('Allocate'), { client_id: client, sub_opcode: 0x02, transaction_id: ctx.txid(strategy, n * 4) });
  const frame = build(t, { client_id: client, transaction_id: ctx.txid(strategy, n * 4 + 1) });
  const base = Buffer.from(frame);
  mutate(frame);
  fixChecksumForView(frame);
  const sess = t.block ? blockField(t.block, 'session_id') : undefined;
  const steps: Step[] = [
    { conn: 0, frame: alloc, await: true },
    { conn: 0, frame, base, await: true, bind: bindSession && sess ? [{ from: 0, replyOffset: REPLY_SESSION_OFFSET, offset: HEADER_SIZE + sess.offset }] : undefined },
  ];
  if (t.opcode !== OP_FREE) steps.push(cleanupFree(ctx, strategy, n, client, 0));
  return { seq: 0, strategy, desc, conns: [ctx.transport(rng)], steps };
}

function cleanupFree(ctx: Ctx, strategy: string, n: number, client: bigint, from: number, conn = 0): Step {
  const free = build(templateByName('Free'), { client_id: client, transaction_id: ctx.txid(strategy, n * 4 + 3) });
  return { conn, frame: free, await: true, cleanup: true, bind: [{ from, replyOffset: REPLY_SESSION_OFFSET, offset: HEADER_SIZE + blockField(FREE_BLOCK, 'session_id')!.offset }] };
}

function headerBoundary(ctx: Ctx, f: FieldDef, fi: number): Strategy {
  const name = `boundary:${f.filter}`;
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    return interestingValues(f).map((v, i) => {
      const t = REQUEST_TEMPLATES[(i + fi) % REQUEST_TEMPLATES.length]!;
      const frame = build(t, { transaction_id: ctx.txid(name, i) });
      const base = Buffer.from(frame);
      setAt(frame, f.offset, f, v.value);
      if (f !== headerField('checksum')) fixChecksumForView(frame);
      return single(name, `${describeValue(f, v)} in ${t.name}`, ctx.transport(rng), frame, base);
    });
  });
}

function blockBoundary(ctx: Ctx, block: BlockLayout, f: FieldDef): Strategy {
  const name = `boundary:${f.filter}`;
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    const out: FuzzCase[] = [];
    const values = interestingValues(f);
    values.forEach((v, i) => {
      const desc = describeValue(f, v);
      if (block === ALLOC_BLOCK) {
        // Allocate: stateless (the fuzzer frees what it is granted) …
        const t = templateByName('Allocate');
        const frame = build(t, { transaction_id: ctx.txid(name, i) });
        const base = Buffer.from(frame);
        setAt(frame, fieldAt(t, f, block), f, v.value);
        fixChecksumForView(frame);
        out.push(single(name, `${desc} in Allocate`, ctx.transport(rng), frame, base));
        // … and Modify of a live session.
        out.push(deepCase(ctx, name, i, `${desc} in Modify of a live session`, templateByName('Modify'),
          (fr) => setAt(fr, fieldAt(t, f, block), f, v.value), f.name !== 'session_id', rng));
      } else if (SESSION_BLOCKS.has(block)) {
        const t = templateForBlock(block);
        out.push(deepCase(ctx, name, i, `${desc} in ${t.name} of a live session`, t,
          (fr) => setAt(fr, fieldAt(t, f, block), f, v.value), f.name !== 'session_id', rng));
      } else {
        const t = templateForBlock(block);
        const rec = t.records > 1 ? i % t.records : 0;
        const frame = build(t, { transaction_id: ctx.txid(name, i) });
        const base = Buffer.from(frame);
        setAt(frame, fieldAt(t, f, block, rec), f, v.value);
        fixChecksumForView(frame);
        out.push(single(name, `${desc} in ${t.name}${t.records > 1 ? ` record ${rec + 1}` : ''}`, ctx.transport(rng), frame, base));
      }
    });
    return out;
  });
}

function subops(ctx: Ctx): Strategy[] {
  return OPCODES.map((def) => {
    const name = `subop:${def.name.toLowerCase()}`;
    return fromList(name, 1, () => {
      const rng = ctx.rng(name);
      const t = templateByName(def.name);
      const out: FuzzCase[] = [];
      // interesting values first (boundaries, neighbours of the valid ones), then the rest
      const first = new Set<number>();
      for (const x of interestingValues(headerField('sub_opcode'))) first.add(Number(x.value));
      for (const k of Object.keys(def.subops)) for (const d of [-1, 1]) first.add((Number(k) + d + 256) % 256);
      const order = [...first, ...Array.from({ length: 256 }, (_, v) => v).filter((v) => !first.has(v))];
      for (const v of order) {
        if (v in def.subops) continue;
        const frame = build(t, { sub_opcode: v, transaction_id: ctx.txid(name, v) });
        out.push(single(name, `sub-opcode ${hex(v, 1)} in ${def.name}`, ctx.transport(rng), frame, build(t, { transaction_id: ctx.txid(name, v) })));
      }
      return out;
    });
  });
}

const UNKNOWN_OPCODES = [0x0000, 0x0008, 0x0009, 0x000f, 0x0010, 0x0080, 0x00ff, 0x0100, 0x1000, 0x7ffe, 0x7fff, 0x8000, 0x8007, 0x8008, 0x80ff, 0xfffe, 0xffff];

function opcodeStrategies(ctx: Ctx): Strategy[] {
  const unknown = fromList('opcode:unknown', 1, () => {
    const rng = ctx.rng('opcode:unknown');
    return UNKNOWN_OPCODES.filter((op) => opcodeDef(op) === undefined).map((op, i) => {
      const t = REQUEST_TEMPLATES[i % REQUEST_TEMPLATES.length]!;
      const frame = build(t, { opcode: op, transaction_id: ctx.txid('opcode:unknown', i) });
      return single('opcode:unknown', `opcode ${hex(op, 2)} with ${t.name}'s payload`, ctx.transport(rng), frame, build(t, { transaction_id: ctx.txid('opcode:unknown', i) }));
    });
  });
  const reply = fromList('opcode:reply', 1, () => {
    const rng = ctx.rng('opcode:reply');
    return REQUEST_TEMPLATES.filter((t) => t.def?.hasReply).map((t, i) => {
      const frame = build(t, { opcode: t.opcode | REPLY_BIT, sub_opcode: 0, transaction_id: ctx.txid('opcode:reply', i) });
      return single('opcode:reply', `reply opcode ${hex(t.opcode | REPLY_BIT, 2)} sent to the server`, ctx.transport(rng), frame);
    });
  });
  return [unknown, reply];
}

function lengthStrategies(ctx: Ctx): Strategy[] {
  const lies: Array<[string, (words: number) => number | null]> = [
    ['zero', (w) => (w > 0 ? 0 : null)],
    ['short', (w) => (w > 0 ? w - 1 : null)],
    ['long', (w) => w + 1],
    ['huge', () => 0xffff],
    ['over-limit', () => (Math.floor(ctx.opts.maxPayload / 4) + 1 <= 0xffff ? Math.floor(ctx.opts.maxPayload / 4) + 1 : null)],
  ];
  return lies.map(([lie, value]) => {
    const name = `length:${lie}`;
    return fromList(name, 1, () => {
      const out: FuzzCase[] = [];
      let i = 0;
      for (const t of REQUEST_TEMPLATES) {
        const words = (build(t).length - HEADER_SIZE) / 4;
        const v = value(words);
        if (v === null) continue;
        for (const transport of ctx.transports()) {
          for (const sum of ['fixed', 'broken'] as const) {
            const frame = build(t, { transaction_id: ctx.txid(name, i++), lengthOverride: v });
            const base = build(t, { transaction_id: ctx.txid(name, i - 1) });
            const d = declaredSize(frame)!;
            if (sum === 'fixed') fixChecksumOver(frame, Math.min(d, frame.length));
            else setResidue(frame, 1, Math.min(d, frame.length));
            out.push(single(name, `${t.name} with length ${v} (true ${words}), checksum ${sum}`, transport, frame, base));
          }
        }
      }
      return out;
    });
  });
}

function checksumBroken(ctx: Ctx): Strategy {
  const name = 'checksum:broken';
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    const out: FuzzCase[] = [];
    let i = 0;
    for (const t of TEMPLATES) {
      for (const r of [1, 0xff, 0x80, 0x7f]) {
        const frame = build(t, { transaction_id: ctx.txid(name, i++) });
        const base = Buffer.from(frame);
        setResidue(frame, r);
        out.push(single(name, `${t.name} with checksum off by ${hex(r, 1)}`, ctx.transport(rng), frame, base));
      }
    }
    return out;
  });
}

function truncation(ctx: Ctx): Strategy {
  const name = 'truncate';
  return fromList(name, 1, () => {
    const out: FuzzCase[] = [];
    let i = 0;
    for (const t of TEMPLATES) {
      const full = build(t);
      const cuts = [...new Set([1, 2, 16, 28, 31, 32, full.length - 4, full.length - 1])].filter((n) => n > 0 && n < full.length);
      for (const transport of ctx.transports()) {
        for (const n of cuts) {
          const whole = build(t, { transaction_id: ctx.txid(name, i++) });
          out.push(single(name, `${t.name} cut to ${n} of ${whole.length} bytes`, transport, whole.subarray(0, n)));
        }
      }
    }
    return out;
  });
}

function trailing(ctx: Ctx): Strategy {
  const name = 'trailing';
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    const out: FuzzCase[] = [];
    let i = 0;
    for (const t of TEMPLATES) {
      for (const transport of ctx.transports()) {
        for (const n of [1, 3, 4, 20, 40]) {
          const frame = build(t, { transaction_id: ctx.txid(name, i++) });
          const extra = rng.bytes(n);
          // A TCP tail that could pass for a header must not claim a giant frame by accident:
          // keep its length field small so it stays a stall, not an oversize close.
          if (n >= HEADER_SIZE) extra[OFF.length] = 0;
          out.push(single(name, `${t.name} followed by ${n} extra bytes`, transport, Buffer.concat([frame, extra])));
        }
      }
    }
    return out;
  });
}

function payloadSize(ctx: Ctx): Strategy {
  const name = 'payload:size';
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    const out: FuzzCase[] = [];
    let i = 0;
    for (const t of REQUEST_TEMPLATES) {
      const full = build(t);
      const payload = full.subarray(HEADER_SIZE);
      let sizes: number[];
      if (!t.block) sizes = [4, 20, 40, 64];
      else if (t.block.repeated) sizes = [4, 8, 16, 24, 36, 44, 64];
      else {
        const s = t.block.size;
        sizes = [0, s - 4, s + 4, 2 * s, 20, 4, 64].filter((x) => x !== s && x >= 0);
      }
      for (const size of [...new Set(sizes)]) {
        const body = Buffer.alloc(size);
        for (let k = 0; k < size; k++) body[k] = payload.length ? payload[k % payload.length]! : 0;
        const frame = Buffer.concat([build(t, { transaction_id: ctx.txid(name, i++) }).subarray(0, HEADER_SIZE), body]);
        fixLength(frame);
        fixChecksumForView(frame);
        out.push(single(name, `${t.name} with a ${size}-byte payload (${t.block ? (t.block.repeated ? `records of ${t.block.size}` : `expected ${t.block.size}`) : 'expected none'})`, ctx.transport(rng), frame));
      }
    }
    return out;
  });
}

function recordsCount(ctx: Ctx): Strategy {
  const name = 'records:count';
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    const out: FuzzCase[] = [];
    const fit = Math.floor(ctx.opts.maxPayload / 20);
    const shapes: Array<[Template, number[]]> = [
      [templateByName('Announce'), [0, 1, 2, 16, 64, 100, 101, 255, 256, 1000, fit, fit + 1]],
      [templateByName('Query'), [1, 2, 100]],
    ];
    const queryReply = TEMPLATES.find((t) => t.reply && t.opcode === (OP_QUERY | REPLY_BIT));
    const device = templateByName('Announce').block!;
    let i = 0;
    for (const [t, counts] of shapes) {
      for (const n of counts) {
        const spec = { ...t.spec, transaction_id: ctx.txid(name, i++), payload: { devices: Array.from({ length: n }, (_, k) => recordValues(device, k)) }, block: device };
        const frame = build(t, spec);
        let transport = ctx.transport(rng);
        if (frame.length > UDP_MAX) transport = 'tcp';
        if (ctx.opts.transport === 'udp' && frame.length > UDP_MAX) continue;
        out.push(single(name, `${t.name} carrying ${n} device records`, transport, frame));
      }
    }
    if (queryReply) {
      for (const n of [0, 1, 100]) {
        const frame = build(queryReply, { transaction_id: ctx.txid(name, i++), payload: { devices: Array.from({ length: n }, (_, k) => recordValues(device, k)) } });
        out.push(single(name, `Query reply with ${n} device records sent to the server`, ctx.transport(rng), frame));
      }
    }
    return out;
  });
}

// ---- random mutations ------------------------------------------------------------------

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** Flips/replaces 1–4 bytes, then restores the length field (boofuzz-style size fix-up); checksum fixed or not. */
function flipFrame(rng: Rng, frame: Buffer): string {
  const n = 1 + rng.int(4);
  const where: number[] = [];
  const lengthBefore = frame.readUInt16BE(OFF.length);
  for (let k = 0; k < n; k++) {
    const at = rng.int(frame.length);
    where.push(at);
    const how = rng.int(3);
    if (how === 0) frame[at] = frame[at]! ^ (1 << rng.int(8));
    else if (how === 1) frame[at] = rng.int(256);
    else frame[at] = rng.pick(INTERESTING_BYTES);
  }
  frame.writeUInt16BE(lengthBefore, OFF.length);
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
  for (const f of HEADER.fields) if (f.name !== 'length' && f.name !== 'checksum') out.push({ f, at: f.offset });
  const d = decodeFrame(frame);
  const def = d.def;
  const block = def ? ((frame.readUInt16BE(0) & REPLY_BIT) !== 0 ? def.reply : def.request) : null;
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

function seedStrategies(ctx: Ctx): Strategy[] {
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

// ---- stateful sequences (VVMP.md section 7) ------------------------------------------------

interface SeqBuilder {
  steps: Step[];
  /** Adds a step; `bindFrom` binds its session_id to the Allocate reply of that step. */
  add(t: Template, over: Record<string, unknown>, opts?: { bindFrom?: number; await?: boolean; payload?: Record<string, unknown>; conn?: number; cleanup?: boolean; txid?: number }): number;
}

function sequence(ctx: Ctx, name: string, n: number): SeqBuilder {
  let k = 0;
  const steps: Step[] = [];
  return {
    steps,
    add(t, over, opts = {}) {
      const payload = opts.payload ? { ...(t.spec.payload as Record<string, unknown>), ...opts.payload } : t.spec.payload;
      const frame = build(t, { ...over, payload: payload as never, transaction_id: opts.txid ?? ctx.txid(name, n * 64 + k++) });
      const sess = t.block ? blockField(t.block, 'session_id') : undefined;
      steps.push({
        conn: opts.conn ?? 0, frame, await: opts.await ?? true, cleanup: opts.cleanup,
        bind: opts.bindFrom !== undefined && sess ? [{ from: opts.bindFrom, replyOffset: REPLY_SESSION_OFFSET, offset: HEADER_SIZE + sess.offset }] : undefined,
      });
      return steps.length - 1;
    },
  };
}

function statefulStrategies(ctx: Ctx): Strategy[] {
  const A = templateByName('Allocate');
  const I = templateByName('Initialize');
  const F = templateByName('Free');
  const M = templateByName('Modify');
  const S = templateByName('Statistics');
  const Q = templateByName('Query');
  const W = 0.5;
  const mk = (name: string, body: (rng: Rng, n: number, b: SeqBuilder, client: bigint) => string): Strategy => {
    const rng = ctx.rng(name);
    return infinite(name, W, (n) => {
      const b = sequence(ctx, name, n);
      const client = ctx.client(name, n);
      const desc = body(rng, n, b, client);
      return { seq: 0, strategy: name, desc, conns: [ctx.transport(rng)], steps: b.steps };
    });
  };
  const allocSub = (rng: Rng) => rng.pick([0x01, 0x02, 0xff]);
  const list: Strategy[] = [
    mk('stateful:init-before-alloc', (rng, _n, b, c) => {
      const guess = 1 + rng.int(64);
      b.add(I, { client_id: c }, { payload: { session_id: guess } });
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(I, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a, cleanup: true });
      return `Initialize of session ${guess} before any Allocate, then Allocate and Initialize`;
    }),
    mk('stateful:double-free', (rng, _n, b, c) => {
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(F, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a });
      return 'Allocate, Free, Free of the same session';
    }),
    mk('stateful:free-other-client', (rng, _n, b, c) => {
      const other = c ^ 0xffffn;
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(F, { client_id: other }, { bindFrom: a });
      b.add(S, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a, cleanup: true });
      return "Free of another client's session, then the owner's Statistics and Free";
    }),
    mk('stateful:modify-after-free', (rng, _n, b, c) => {
      const a = b.add(A, { client_id: c, sub_opcode: 0x02 });
      b.add(F, { client_id: c }, { bindFrom: a });
      b.add(M, { client_id: c }, { bindFrom: a, payload: { capacity_kb: 2048 + rng.int(1024) } });
      return 'Allocate, Free, Modify of the freed session';
    }),
    mk('stateful:use-after-free', (rng, _n, b, c) => {
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(I, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a });
      b.add(S, { client_id: c }, { bindFrom: a });
      b.add(I, { client_id: c }, { bindFrom: a });
      return 'Allocate, Initialize, Free, then Statistics and Initialize of the freed session';
    }),
    mk('stateful:txid-reuse', (rng, n, b, c) => {
      const tx = ctx.txid('stateful:txid-reuse/shared', n);
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) }, { await: false, txid: tx });
      b.add(Q, { client_id: c }, { await: false, txid: tx });
      b.add(Q, { client_id: c }, { await: false, txid: tx });
      b.add(S, { client_id: c }, { await: true, txid: tx });
      b.add(F, { client_id: c }, { bindFrom: a, cleanup: true });
      return `Allocate, Query, Query, Statistics with one transaction id (${tx}) outstanding together`;
    }),
    mk('stateful:interleaved-sessions', (rng, _n, b, c) => {
      const ca = c;
      const cb = c ^ 0x1n;
      const cc = c ^ 0x2n;
      const a = b.add(A, { client_id: ca, sub_opcode: 0x02 });
      const bb = b.add(A, { client_id: cb, sub_opcode: allocSub(rng) });
      const cs = b.add(A, { client_id: cc, sub_opcode: 0x02 });
      b.add(I, { client_id: ca }, { bindFrom: a });
      b.add(S, { client_id: cb }, { bindFrom: bb });
      b.add(M, { client_id: cc }, { bindFrom: cs, payload: { capacity_kb: 4096 } });
      b.add(F, { client_id: cb }, { bindFrom: bb, payload: { release_kb: rng.pick([1, 256, 512]) } });
      b.add(S, { client_id: ca }, { bindFrom: a });
      b.add(F, { client_id: cc }, { bindFrom: cs });
      b.add(M, { client_id: ca }, { bindFrom: a, payload: { capacity_kb: 512 } });
      b.add(I, { client_id: cb }, { bindFrom: bb });
      b.add(F, { client_id: ca }, { bindFrom: a, cleanup: true });
      b.add(F, { client_id: cb }, { bindFrom: bb, cleanup: true });
      return 'three clients\' sessions interleaved on one connection';
    }),
  ];
  // 1,000 outstanding requests on TCP; UDP gets 100 (a burst the kernel's buffers hold).
  list.push(fromList('stateful:outstanding-1000', 0.1, () => ctx.transports().map((transport) => {
    const name = 'stateful:outstanding-1000';
    const count = transport === 'tcp' ? 1000 : 100;
    const b = sequence(ctx, name, transport === 'tcp' ? 0 : 1);
    const c = ctx.client(name, transport === 'tcp' ? 0 : 1);
    for (let k = 0; k < count; k++) b.add(k % 2 ? S : Q, { client_id: c }, { await: k === count - 1 });
    return { seq: 0, strategy: name, desc: `${count} requests outstanding at once`, conns: [transport], steps: b.steps, health: true };
  })));
  return list;
}

// ---- transport abuse ------------------------------------------------------------------------

function transportStrategies(ctx: Ctx): Strategy[] {
  const tcpOk = ctx.opts.transport !== 'udp';
  const udpOk = ctx.opts.transport !== 'tcp';
  const W = 0.1;
  const out: Strategy[] = [];
  if (tcpOk) {
    out.push(fromList('transport:slow-drip', W, () => {
      const name = 'transport:slow-drip';
      const b = sequence(ctx, name, 0);
      const c = ctx.client(name, 0);
      const a = b.add(templateByName('Allocate'), { client_id: c });
      const s = b.steps[a]!;
      s.segments = Array.from({ length: s.frame.length }, () => 1);
      s.gapMs = 3;
      b.add(templateByName('Free'), { client_id: c }, { bindFrom: a, cleanup: true });
      return [{ seq: 0, strategy: name, desc: 'Allocate dripped one byte every 3 ms', conns: ['tcp'], steps: b.steps, health: true }];
    }));
    out.push(fromList('transport:split-1byte', W, () => REQUEST_TEMPLATES.map((t, i) => {
      const frame = build(t, { transaction_id: ctx.txid('transport:split-1byte', i) });
      return {
        seq: 0, strategy: 'transport:split-1byte', desc: `${t.name} in 1-byte segments`, conns: ['tcp'] as Transport[], health: true,
        steps: [{ conn: 0, frame, segments: Array.from({ length: frame.length }, () => 1), gapMs: 0 }],
      };
    })));
    out.push(fromList('transport:coalesced', W, () => {
      const name = 'transport:coalesced';
      const frames = REQUEST_TEMPLATES.map((t, i) => build(t, { transaction_id: ctx.txid(name, i) }));
      const all = Buffer.concat(frames);
      // three writes cutting frames at odd places: many frames per segment, frames across segments
      const cuts = [Math.floor(all.length / 3) + 1, Math.floor((2 * all.length) / 3) + 3];
      const parts = [all.subarray(0, cuts[0]), all.subarray(cuts[0], cuts[1]), all.subarray(cuts[1])];
      return [{
        seq: 0, strategy: name, desc: `${frames.length} frames in 3 writes cut mid-frame`, conns: ['tcp'] as Transport[], health: true,
        steps: parts.map((p, k) => ({ conn: 0, frame: Buffer.from(p), await: k === parts.length - 1 })),
      }];
    }));
    out.push(fromList('transport:half-open', W, () => {
      const name = 'transport:half-open';
      const conns: Transport[] = [];
      const steps: Step[] = [];
      for (let k = 0; k < 20; k++) {
        conns.push('tcp');
        const frame = build(templateByName('Allocate'), { transaction_id: ctx.txid(name, k) }).subarray(0, 10 + k);
        steps.push({ conn: k, frame: Buffer.from(frame), halfClose: k % 2 === 0 });
      }
      conns.push('tcp');
      steps.push({ conn: 20, frame: build(templateByName('Query'), { transaction_id: ctx.txid(name, 99) }), await: true });
      return [{ seq: 0, strategy: name, desc: '20 connections left with partial frames (half of them half-closed), then a Query', conns, steps, health: true }];
    }));
  }
  out.push(fromList('transport:many-connections', W, () => {
    const name = 'transport:many-connections';
    const cases: FuzzCase[] = [];
    const kinds: Transport[] = [...(tcpOk ? ['tcp' as const] : []), ...(udpOk ? ['udp' as const] : [])];
    for (const transport of kinds) {
      const conns: Transport[] = [];
      const steps: Step[] = [];
      for (let k = 0; k < 200; k++) {
        conns.push(transport);
        steps.push({ conn: k, frame: build(templateByName('Query'), { transaction_id: ctx.txid(`${name}/${transport}`, k) }) });
      }
      steps[steps.length - 1]!.await = true;
      cases.push({ seq: 0, strategy: name, desc: `200 ${transport.toUpperCase()} connections, a Query on each`, conns, steps, health: true });
    }
    return cases;
  }));
  out.push(fromList('transport:garbage', W, () => {
    const name = 'transport:garbage';
    const rng = ctx.rng(name);
    const cases: FuzzCase[] = [];
    if (tcpOk) cases.push({ seq: 0, strategy: name, desc: '4 KiB of random bytes on a TCP connection', conns: ['tcp'], steps: [{ conn: 0, frame: rng.bytes(4096) }], health: true });
    if (udpOk) {
      cases.push({
        seq: 0, strategy: name, desc: '20 random datagrams', conns: ['udp'], health: true,
        steps: Array.from({ length: 20 }, (_, k) => ({ conn: 0, frame: rng.bytes(1 + rng.int(k < 10 ? 40 : 300)) })),
      });
    }
    return cases;
  }));
  return out;
}

// ---- all strategies ---------------------------------------------------------------------------

export function makeStrategies(opts: GenOptions): Strategy[] {
  const ctx = new Ctx(opts);
  const out: Strategy[] = [];
  HEADER.fields.forEach((f, i) => out.push(headerBoundary(ctx, f, i)));
  const blocks: BlockLayout[] = [];
  for (const t of TEMPLATES) if (t.block && !blocks.includes(t.block)) blocks.push(t.block);
  for (const b of blocks) for (const f of b.fields) out.push(blockBoundary(ctx, b, f));
  out.push(...subops(ctx), ...opcodeStrategies(ctx), ...lengthStrategies(ctx), checksumBroken(ctx), truncation(ctx), trailing(ctx),
    payloadSize(ctx), recordsCount(ctx), flip(ctx), randomFields(ctx), ...seedStrategies(ctx), ...statefulStrategies(ctx),
    ...transportStrategies(ctx));
  return out;
}

/**
 * Round-robin over strategies by weight (smooth weighted round robin, as
 * nginx balances): every strategy gets its first case early, finite lists
 * drop out when used up, retired strategies (crash threshold) are skipped.
 */
export class Scheduler {
  readonly strategies: Strategy[];
  private readonly cw: number[];
  private readonly done = new Set<string>();
  private readonly retired = new Set<string>();

  constructor(strategies: Strategy[]) {
    this.strategies = strategies;
    this.cw = strategies.map(() => 0);
  }

  retire(name: string): void {
    this.retired.add(name);
  }

  isRetired(name: string): boolean {
    return this.retired.has(name);
  }

  /** The next case, or null when every strategy is used up or retired. */
  next(): FuzzCase | null {
    for (;;) {
      let total = 0;
      let best = -1;
      for (let i = 0; i < this.strategies.length; i++) {
        const s = this.strategies[i]!;
        if (this.done.has(s.name) || this.retired.has(s.name)) continue;
        this.cw[i]! += s.weight;
        total += s.weight;
        if (best < 0 || this.cw[i]! > this.cw[best]!) best = i;
      }
      if (best < 0) return null;
      this.cw[best]! -= total;
      const s = this.strategies[best]!;
      const c = s.next();
      if (c) return c;
      this.done.add(s.name);
    }
  }
}

/** Strategy names for the statistics table, in declaration order. */
export function strategyNames(opts: GenOptions): string[] {
  return makeStrategies(opts).map((s) => s.name);
}
