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

import { Header, SESSION_ID_FIELDS } from '../../protocol/access.js';
import {
  ALLOC_BLOCK, HEADER, HEADER_SIZE, OPCODES, OP_QUERY, REPLY_BIT, opcodeDef, type BlockLayout, type FieldDef,
} from '../../protocol/fields.js';
import type { FuzzCase } from './cases.js';
import {
  OFF, REQUEST_TEMPLATES, TEMPLATES, build, declaredSize, fixChecksumOver, fixLength, recordValues, setResidue,
  templateByName, templateForBlock, type Template,
} from './frames.js';
import {
  Ctx, SESSION_BLOCKS, UDP_MAX, deepCase, describeValue, fieldAt, fixChecksumForView, fromList, hex, setAt, single,
  type GenOptions, type Strategy,
} from './gen.js';
import { randomStrategies, seedStrategies } from './random.js';
import { statefulStrategies, walkStrategy } from './stateful.js';
import { StateModel } from './statemodel.js';
import { transportStrategies } from './abuse.js';
import { interestingValues } from './values.js';

export type { GenOptions, Strategy, TransportMode } from './gen.js';
export { fixChecksumForView } from './gen.js';

/** Every interesting value of a header field in every request opcode (one change per case). */
function headerBoundary(ctx: Ctx, f: FieldDef): Strategy {
  const name = `boundary:${f.filter}`;
  return fromList(name, 1, () => {
    const rng = ctx.rng(name);
    const out: FuzzCase[] = [];
    for (const v of interestingValues(f)) {
      for (const t of REQUEST_TEMPLATES) {
        const frame = build(t, { transaction_id: ctx.txid(name, out.length) });
        const base = Buffer.from(frame);
        setAt(frame, f.offset, f, v.value);
        if (f !== Header.field.checksum) fixChecksumForView(frame);
        out.push(single(name, `${describeValue(f, v)} in ${t.name}`, ctx.transport(rng), frame, base, { opcode: t.name, field: f.filter, value: v.label }));
      }
    }
    return out;
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
      const change = (opcode: string) => ({ opcode, field: f.filter, value: v.label });
      if (block === ALLOC_BLOCK) {
        // Allocate: stateless (the fuzzer frees what it is granted) …
        const t = templateByName('Allocate');
        const frame = build(t, { transaction_id: ctx.txid(name, i) });
        const base = Buffer.from(frame);
        setAt(frame, fieldAt(t, f, block), f, v.value);
        fixChecksumForView(frame);
        out.push(single(name, `${desc} in Allocate`, ctx.transport(rng), frame, base, change('Allocate')));
        // … and Modify of a live session.
        out.push(deepCase(ctx, name, i, `${desc} in Modify of a live session`, templateByName('Modify'),
          (fr) => setAt(fr, fieldAt(t, f, block), f, v.value), f !== SESSION_ID_FIELDS.get(block)?.field, rng, change('Modify')));
      } else if (SESSION_BLOCKS.has(block)) {
        const t = templateForBlock(block);
        out.push(deepCase(ctx, name, i, `${desc} in ${t.name} of a live session`, t,
          (fr) => setAt(fr, fieldAt(t, f, block), f, v.value), f !== SESSION_ID_FIELDS.get(block)?.field, rng, change(t.name)));
      } else {
        const t = templateForBlock(block);
        const rec = t.records > 1 ? i % t.records : 0;
        const frame = build(t, { transaction_id: ctx.txid(name, i) });
        const base = Buffer.from(frame);
        setAt(frame, fieldAt(t, f, block, rec), f, v.value);
        fixChecksumForView(frame);
        out.push(single(name, `${desc} in ${t.name}${t.records > 1 ? ` record ${rec + 1}` : ''}`, ctx.transport(rng), frame, base, change(t.name)));
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
      for (const x of interestingValues(Header.field.sub_opcode)) first.add(Number(x.value));
      for (const k of Object.keys(def.subops)) for (const d of [-1, 1]) first.add((Number(k) + d + 256) % 256);
      const order = [...first, ...Array.from({ length: 256 }, (_, v) => v).filter((v) => !first.has(v))];
      for (const v of order) {
        if (v in def.subops) continue;
        const frame = build(t, { sub_opcode: v, transaction_id: ctx.txid(name, v) });
        const base = Buffer.from(frame);
        base[OFF.sub] = t.spec.sub_opcode ?? 0;
        fixChecksumForView(base);
        out.push(single(name, `sub-opcode ${hex(v, 1)} in ${def.name}`, ctx.transport(rng), frame, base, { opcode: def.name, field: 'vvmp.sub_opcode', value: hex(v, 1) }));
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
        const base = build(t, { transaction_id: ctx.txid(name, i++) });
        const frame = Buffer.concat([base.subarray(0, HEADER_SIZE), body]);
        fixLength(frame);
        fixChecksumForView(frame);
        out.push(single(name, `${t.name} with a ${size}-byte payload (${t.block ? (t.block.repeated ? `records of ${t.block.size}` : `expected ${t.block.size}`) : 'expected none'})`,
          ctx.transport(rng), frame, base, { opcode: t.name, field: 'size', value: String(size) }));
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


// ---- all strategies ---------------------------------------------------------------------------

/** Whether a strategy name is chosen by `--strategies` patterns (exact name, `prefix:` or `prefix*`). */
export function strategyChosen(name: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p.endsWith(':') ? name.startsWith(p) : name === p));
}

export function makeStrategies(opts: GenOptions): Strategy[] {
  const ctx = new Ctx(opts);
  const first: Strategy[] = [];
  HEADER.fields.forEach((f) => first.push(headerBoundary(ctx, f)));
  const blocks: BlockLayout[] = [];
  for (const t of TEMPLATES) if (t.block && !blocks.includes(t.block)) blocks.push(t.block);
  for (const b of blocks) for (const f of b.fields) first.push(blockBoundary(ctx, b, f));
  first.push(...subops(ctx), ...opcodeStrategies(ctx), ...lengthStrategies(ctx), checksumBroken(ctx), truncation(ctx), trailing(ctx),
    payloadSize(ctx), recordsCount(ctx));
  for (const s of first) s.deterministic = true;
  const rest = [...randomStrategies(ctx), ...seedStrategies(ctx), ...statefulStrategies(ctx), walkStrategy(ctx, opts.model ?? new StateModel()),
    ...transportStrategies(ctx)];
  return [...first, ...rest].filter((s) => strategyChosen(s.name, opts.only));
}

/** Strategy names for the statistics table and --strategies, in declaration order. */
export function strategyNames(opts: GenOptions): string[] {
  return makeStrategies({ ...opts, only: undefined }).map((s) => s.name);
}
