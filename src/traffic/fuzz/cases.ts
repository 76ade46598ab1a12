// A fuzz case: frames (steps) sent over one or more connections, each with
// its timing, the session-id bindings that make stateful sequences replay
// against a fresh server, and the expectations derived from the bytes.

import { HEADER_SIZE } from '../../protocol/fields.js';
import { frameExpectation, tcpExpectations, type Expectation } from './expect.js';
import { hex, unhex } from './frames.js';

/** The one transport type of the data path (net/types.ts). */
import type { Transport } from '../../net/types.js';
export type { Transport };

/** Take `session_id` from the reply to step `from` and write it at `offset` (u16) of this step's frame. */
export interface Bind {
  from: number;
  /** Byte offset of the session_id field in the reply (header + field offset). */
  replyOffset: number;
  /** Byte offset in this step's frame. */
  offset: number;
}

export interface Step {
  conn: number;
  frame: Buffer;
  /** The valid frame this one was mutated from (same length): what the minimiser reverts bytes to. */
  base?: Buffer;
  /** Wait for this step's replies before sending the next step. */
  await?: boolean;
  /** Pause before sending, ms. */
  delayMs?: number;
  /** Send as segments of these sizes (TCP) … */
  segments?: number[];
  /** … with this pause between them, ms (0: back to back, one write each). */
  gapMs?: number;
  bind?: Bind[];
  /** Half-close our side (TCP FIN) after this step. */
  halfClose?: boolean;
  /** A frame that is not part of the case proper (cleanup): failures on it are not reported. */
  cleanup?: boolean;
}

/** The one change a deterministic case makes: which field of which opcode, set to what (for the coverage table). */
export interface Change {
  /** Opcode (template) name: `Query`, `Statistics-reply`. */
  opcode: string;
  /** Field filter name, or the kind of lie (`length`, `checksum`, `sub_opcode`). */
  field: string;
  /** Value label: `max`, `sign`, `RAID5+1`, `0x7f`. */
  value: string;
}

export interface FuzzCase {
  /** Position in the run (1-based), 0 before it is scheduled. */
  seq: number;
  strategy: string;
  desc: string;
  /** Transport of each connection the steps use. */
  conns: Transport[];
  steps: Step[];
  /** Run a health check right after this case (transport abuse). */
  health?: boolean;
  /** Replays of the whole case (memory cases). */
  repeat?: number;
  /** Already counted: it runs again because a pipelined connection broke before it was read. */
  rerun?: boolean;
  /** The one change of a deterministic case. */
  change?: Change;
  /** Already run once more after a crash beside it. */
  retried?: boolean;
  /** stateful:walk: the state model's state it started from. */
  from?: string;
  /** How many times it was run again because a crash or failed check beside it wiped out its verdict. */
  requeued?: number;
}

export interface CaseExpectations {
  /** Per step, the frames it completes as the server sees them. */
  perStep: Expectation[][];
  /** Single step, single whole frame, framing stays in sync: may share a pipelined connection. */
  pipelinable: boolean;
}

/** Expectations of every step (TCP connections framed as whole streams). */
export function caseExpectations(c: FuzzCase, maxPayload: number): CaseExpectations {
  const perStep: Expectation[][] = c.steps.map(() => []);
  let pipelinable = c.steps.length === 1 && !c.steps[0]!.segments && !c.steps[0]!.halfClose && !c.steps[0]!.delayMs;
  for (let conn = 0; conn < c.conns.length; conn++) {
    const idx: number[] = [];
    c.steps.forEach((s, i) => {
      if (s.conn === conn) idx.push(i);
    });
    if (idx.length === 0) continue;
    if (c.conns[conn] === 'udp') {
      for (const i of idx) perStep[i] = [frameExpectation(c.steps[i]!.frame, true)];
    } else {
      const framed = tcpExpectations(idx.map((i) => c.steps[i]!.frame), maxPayload);
      idx.forEach((i, k) => (perStep[i] = framed.perWrite[k]!));
      if (!framed.clean || framed.perWrite.some((x) => x.length !== 1)) pipelinable = false;
    }
  }
  if (c.steps[0] && c.steps[0].frame.length < HEADER_SIZE && c.conns[c.steps[0].conn] === 'tcp') pipelinable = false;
  return { perStep, pipelinable };
}

// ---- JSON (case.json) -------------------------------------------------------------

export interface StepJson {
  conn: number;
  transport: Transport;
  frame: string;
  base?: string;
  await?: boolean;
  delay_ms?: number;
  segments?: number[];
  gap_ms?: number;
  bind?: Array<{ from: number; reply_offset: number; offset: number }>;
  half_close?: boolean;
  cleanup?: boolean;
  expect: Array<{ kind: string; opcode: number | null; transaction_id: number | null; client_id: string | null; malformed: string[]; close_ok: boolean }>;
}

export interface CaseJson {
  version: 1;
  strategy: string;
  description: string;
  seed: number;
  case: number;
  target: string;
  timeout_ms: number;
  max_payload: number;
  connections: Transport[];
  steps: StepJson[];
  health: boolean;
  repeat: number;
  /** The failure this case showed (also in verdict.json). */
  oracle: string;
  /** Memory cases: the growth that counts as a leak. */
  memory_threshold_mb?: number;
  /** --transport of the run. */
  transport?: string;
  /** The --spawn command the target was started with (null: not spawned): --reproduce restarts it. */
  spawn?: string | null;
}

export function caseToJson(c: FuzzCase, extra: { seed: number; target: string; timeoutMs: number; maxPayload: number; oracle: string; memoryThresholdMb?: number; transport?: string; spawn?: string | null }): CaseJson {
  const ex = caseExpectations(c, extra.maxPayload);
  return {
    version: 1,
    strategy: c.strategy,
    description: c.desc,
    seed: extra.seed,
    case: c.seq,
    target: extra.target,
    timeout_ms: extra.timeoutMs,
    max_payload: extra.maxPayload,
    connections: [...c.conns],
    steps: c.steps.map((s, i) => {
      const j = { conn: s.conn, transport: c.conns[s.conn]!, frame: hex(s.frame) } as StepJson;
      if (s.base && !s.base.equals(s.frame)) j.base = hex(s.base);
      if (s.await) j.await = true;
      if (s.delayMs) j.delay_ms = s.delayMs;
      if (s.segments) j.segments = [...s.segments];
      if (s.gapMs) j.gap_ms = s.gapMs;
      if (s.bind?.length) j.bind = s.bind.map((b) => ({ from: b.from, reply_offset: b.replyOffset, offset: b.offset }));
      if (s.halfClose) j.half_close = true;
      if (s.cleanup) j.cleanup = true;
      j.expect = ex.perStep[i]!.map((e) => ({
        kind: e.kind, opcode: e.opcode, transaction_id: e.txid, client_id: e.client === null ? null : `0x${e.client}`,
        malformed: [...e.malformed], close_ok: e.closeOk,
      }));
      return j;
    }),
    health: !!c.health,
    repeat: c.repeat ?? 1,
    oracle: extra.oracle,
    ...(extra.memoryThresholdMb !== undefined ? { memory_threshold_mb: extra.memoryThresholdMb } : {}),
    ...(extra.transport !== undefined ? { transport: extra.transport } : {}),
    ...(extra.spawn !== undefined ? { spawn: extra.spawn } : {}),
  };
}

function bad(what: string): never {
  throw new Error(`case.json: ${what}`);
}

export function caseFromJson(raw: unknown): { c: FuzzCase; json: CaseJson } {
  const j = raw as CaseJson;
  if (typeof j !== 'object' || j === null || j.version !== 1) bad('not a vvmp fuzz case (version 1 expected)');
  if (!Array.isArray(j.connections) || !Array.isArray(j.steps)) bad('connections and steps must be arrays');
  for (const t of j.connections) if (t !== 'tcp' && t !== 'udp') bad(`unknown transport ${String(t)}`);
  const steps: Step[] = j.steps.map((s, i) => {
    if (typeof s.frame !== 'string') bad(`steps[${i}].frame must be hex`);
    if (!Number.isInteger(s.conn) || s.conn < 0 || s.conn >= j.connections.length) bad(`steps[${i}].conn out of range`);
    const st: Step = { conn: s.conn, frame: unhex(s.frame) };
    if (s.base) st.base = unhex(s.base);
    if (s.await) st.await = true;
    if (s.delay_ms) st.delayMs = s.delay_ms;
    if (s.segments) st.segments = [...s.segments];
    if (s.gap_ms) st.gapMs = s.gap_ms;
    if (s.bind) st.bind = s.bind.map((b) => ({ from: b.from, replyOffset: b.reply_offset, offset: b.offset }));
    if (s.half_close) st.halfClose = true;
    if (s.cleanup) st.cleanup = true;
    return st;
  });
  const c: FuzzCase = {
    seq: j.case ?? 0, strategy: String(j.strategy ?? 'unknown'), desc: String(j.description ?? ''), conns: [...j.connections], steps,
    health: !!j.health, repeat: j.repeat && j.repeat > 1 ? j.repeat : undefined,
  };
  return { c, json: j };
}

/** A deep copy (frames copied) so that minimisation never changes the original. */
export function cloneCase(c: FuzzCase): FuzzCase {
  return {
    ...c,
    conns: [...c.conns],
    steps: c.steps.map((s) => ({
      ...s, frame: Buffer.from(s.frame), base: s.base ? Buffer.from(s.base) : undefined,
      segments: s.segments ? [...s.segments] : undefined, bind: s.bind ? s.bind.map((b) => ({ ...b })) : undefined,
    })),
  };
}
