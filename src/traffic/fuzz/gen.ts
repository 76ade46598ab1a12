// What every strategy shares: the generation context (PRNG streams, the
// ordinary baseline's transaction and client ids, the transport choice), the
// strategy shapes (finite lists, infinite generators) and the helpers that
// build single cases, "deep" cases on a live session and sequences.

import { Alloc, Free } from '../../protocol/access.js';
import { FREE_BLOCK, HEADER_SIZE, INIT_BLOCK, OP_FREE, SESSION_REF, type BlockLayout, type FieldDef } from '../../protocol/fields.js';
import { writeField } from '../../protocol/codec.js';
import type { Change, FuzzCase, Step, Transport } from './cases.js';
import { FUZZ_CLIENT, build, sessionField, declaredSize, fixChecksumOver, templateByName, type Template } from './frames.js';
import { Rng } from './prng.js';
import type { StateModel } from './statemodel.js';
import type { InterestingValue } from './values.js';
export type TransportMode = 'tcp' | 'udp' | 'both';

export interface GenOptions {
  seed: number;
  transport: TransportMode;
  maxPayload: number;
  /** Whole frames taken from a capture (--seed-capture). */
  seeds?: Buffer[];
  /** --strategies: names or prefixes to run (all when absent). */
  only?: readonly string[];
  /** The state model the run infers (stateful:walk steers by it). */
  model?: StateModel;
}

export interface Strategy {
  readonly name: string;
  readonly weight: number;
  readonly finite: boolean;
  /** Random mutations (flip, random:fields, seed:*): they keep finding new things, so they get more room before retiring. */
  readonly random?: boolean;
  /** Part of the deterministic first pass (field boundaries, sub-opcodes, lies): runs before the others. */
  deterministic?: boolean;
  next(): FuzzCase | null;
}

export const UDP_MAX = 65507;
export const SESSION_IN_ALLOC: FieldDef = Alloc.field.session_id;
export const REPLY_SESSION_OFFSET = HEADER_SIZE + SESSION_IN_ALLOC.offset;
/** Blocks that name a session: fuzzed after a real Allocate so the lookup succeeds. */
export const SESSION_BLOCKS: ReadonlySet<BlockLayout> = new Set([INIT_BLOCK, FREE_BLOCK, SESSION_REF]);

export function hex(v: bigint | number, width = 0): string {
  return '0x' + v.toString(16).padStart(width * 2, '0');
}

// ---- the generation context ------------------------------------------------------

/** Stateful cases spread over this many client ids, the way a few real clients would. */
const STABLE_CLIENTS = 8;

export class Ctx {
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

  private lastTxid = 0;

  /**
   * The next transaction id: small and sequential, as a real client numbers
   * its requests (the arguments name the frame for readers of the code; an
   * unusual txid is a case of its own in boundary:vvmp.transaction_id).
   */
  txid(_name: string, _n: number): number {
    this.lastTxid = this.lastTxid >= 0x7ffffff0 ? 1 : this.lastTxid + 1;
    return this.lastTxid;
  }

  /** One of a few stable client ids (stateless cases use the templates' FUZZ_CLIENT). */
  client(_name: string, n: number): bigint {
    return FUZZ_CLIENT + 1n + BigInt(n % STABLE_CLIENTS);
  }
}

export function single(strategy: string, desc: string, transport: Transport, frame: Buffer, base?: Buffer, change?: Change): FuzzCase {
  return { seq: 0, strategy, desc, conns: [transport], steps: [{ conn: 0, frame, base }], change };
}

/** Good checksum over what the receiver frames: min(declared size, bytes present). */
export function fixChecksumForView(frame: Buffer): void {
  const d = declaredSize(frame);
  fixChecksumOver(frame, d === null ? frame.length : Math.min(d, frame.length));
}

export function fromList(name: string, weight: number, make: () => FuzzCase[]): Strategy {
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

export function infinite(name: string, weight: number, make: (n: number) => FuzzCase, random = false): Strategy {
  let n = 0;
  return { name, weight, finite: false, random, next: () => make(n++) };
}

// ---- field mutations ------------------------------------------------------------------

/** Where a field of `t` sits in its frame (record `rec` for device records). */
export function fieldAt(t: Template, f: FieldDef, block: BlockLayout | null, rec = 0): number {
  if (!block) return f.offset;
  return HEADER_SIZE + rec * block.size + f.offset;
}

export function setAt(frame: Buffer, at: number, f: FieldDef, v: bigint): void {
  writeField(frame, at - f.offset, f, v);
}

export function describeValue(f: FieldDef, v: InterestingValue): string {
  return `${f.filter} = ${v.label} (${hex(v.value)})`;
}

/** A deep case: Allocate (expandable), then `frame` with the session id bound, then a cleanup Free. */
export function deepCase(ctx: Ctx, strategy: string, n: number, desc: string, t: Template, mutate: (frame: Buffer) => void, bindSession: boolean, rng: Rng, change?: Change): FuzzCase {
  const client = ctx.client(strategy, n);
  const alloc = build(templateByName('Allocate'), { client_id: client, sub_opcode: 0x02, transaction_id: ctx.txid(strategy, n * 4) });
  const frame = build(t, { client_id: client, transaction_id: ctx.txid(strategy, n * 4 + 1) });
  const base = Buffer.from(frame);
  mutate(frame);
  fixChecksumForView(frame);
  const sess = t.block ? sessionField(t.block) : undefined;
  const steps: Step[] = [
    { conn: 0, frame: alloc, await: true },
    { conn: 0, frame, base, await: true, bind: bindSession && sess ? [{ from: 0, replyOffset: REPLY_SESSION_OFFSET, offset: HEADER_SIZE + sess.offset }] : undefined },
  ];
  if (t.opcode !== OP_FREE) steps.push(cleanupFree(ctx, strategy, n, client, 0));
  return { seq: 0, strategy, desc, conns: [ctx.transport(rng)], steps, change };
}

export function cleanupFree(ctx: Ctx, strategy: string, n: number, client: bigint, from: number, conn = 0): Step {
  const free = build(templateByName('Free'), { client_id: client, transaction_id: ctx.txid(strategy, n * 4 + 3) });
  return { conn, frame: free, await: true, cleanup: true, bind: [{ from, replyOffset: REPLY_SESSION_OFFSET, offset: HEADER_SIZE + Free.field.session_id.offset }] };
}


// ---- stateful sequences (VVMP.md section 7) ------------------------------------------------

export interface SeqBuilder {
  steps: Step[];
  /** Adds a step; `bindFrom` binds its session_id to the Allocate reply of that step. */
  add(t: Template, over: Record<string, unknown>, opts?: { bindFrom?: number; await?: boolean; payload?: Record<string, unknown>; conn?: number; cleanup?: boolean; txid?: number }): number;
}

export function sequence(ctx: Ctx, name: string, n: number): SeqBuilder {
  let k = 0;
  const steps: Step[] = [];
  return {
    steps,
    add(t, over, opts = {}) {
      const payload = opts.payload ? { ...(t.spec.payload as Record<string, unknown>), ...opts.payload } : t.spec.payload;
      const frame = build(t, { ...over, payload: payload as never, transaction_id: opts.txid ?? ctx.txid(name, n * 64 + k++) });
      const sess = t.block ? sessionField(t.block) : undefined;
      steps.push({
        conn: opts.conn ?? 0, frame, await: opts.await ?? true, cleanup: opts.cleanup,
        bind: opts.bindFrom !== undefined && sess ? [{ from: opts.bindFrom, replyOffset: REPLY_SESSION_OFFSET, offset: HEADER_SIZE + sess.offset }] : undefined,
      });
      return steps.length - 1;
    },
  };
}
