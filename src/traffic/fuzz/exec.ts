// Running cases over real sockets: a raw connection that records what goes
// out and comes in (for exchange.pcapng), a reply matcher, the isolated
// executor (one case on fresh connections, steps in order, session ids
// bound from replies) and the health check.

import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeFrame, isDevicesPayload, type DecodedFrame } from '../../protocol/decode.js';
import { Header } from '../../protocol/access.js';
import { HEADER_SIZE, OP_ANNOUNCE, OP_QUERY, REPLY_BIT, STATUS_OK, STATUS_PENDING } from '../../protocol/fields.js';
import { ReplyMatcher, requestOpcode, type Waiting } from '../matcher.js';
import { StreamFramer } from '../../net/streamFramer.js';
import { ConnectionRefusedError, TimeoutError, VvmpConnection, transportError } from '../transport.js';
import { caseExpectations, type FuzzCase, type Step, type Transport } from './cases.js';
import type { Expectation } from './expect.js';
import { declaredSize, residue, setResidue } from './frames.js';

/** Wall-clock milliseconds with sub-ms resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- transcript (for exchange.pcapng) --------------------------------------------------

export interface TranscriptEvent {
  t: number;
  conn: number;
  transport: Transport;
  type: 'open' | 'out' | 'in' | 'fin-out' | 'fin-in' | 'reset';
  bytes?: Buffer;
}

// ---- a raw connection ---------------------------------------------------------------------

export type CloseKind = 'closed' | 'reset' | 'refused' | 'error';

export class RawConn {
  closed: { kind: CloseKind; at: number; detail: string } | null = null;
  onFrame: ((f: DecodedFrame) => void) | null = null;
  onEvent: (() => void) | null = null;
  private tcp: net.Socket | null = null;
  private udp: dgram.Socket | null = null;

  private constructor(
    readonly transport: Transport,
    readonly index: number,
    private readonly transcript: TranscriptEvent[] | null,
  ) {}

  static open(transport: Transport, host: string, port: number, index = 0, transcript: TranscriptEvent[] | null = null, connectTimeoutMs = 3000): Promise<RawConn> {
    const c = new RawConn(transport, index, transcript);
    return transport === 'tcp' ? c.openTcp(host, port, connectTimeoutMs) : c.openUdp(host, port);
  }

  private record(type: TranscriptEvent['type'], bytes?: Buffer): void {
    this.transcript?.push({ t: nowMs(), conn: this.index, transport: this.transport, type, bytes: bytes ? Buffer.from(bytes) : undefined });
  }

  private close(kind: CloseKind, detail: string): void {
    if (this.closed) return;
    this.closed = { kind, at: nowMs(), detail };
    this.onEvent?.();
  }

  private openTcp(host: string, port: number, timeoutMs: number): Promise<RawConn> {
    const target = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true });
      this.tcp = sock;
      let connected = false;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`${target}: connect timed out`));
      }, timeoutMs);
      const reader = new StreamFramer({
        maxPayload: 1 << 20,
        onFrame: (b) => this.onFrame?.(decodeFrame(Buffer.from(b))),
        onOversize: () => {
          this.close('error', 'reply stream cannot be framed (length over 1 MiB)');
          sock.destroy();
        },
      });
      sock.on('connect', () => {
        connected = true;
        clearTimeout(timer);
        this.record('open');
        resolve(this);
      });
      sock.on('data', (chunk: Buffer) => {
        this.record('in', chunk);
        reader.push(chunk);
        this.onEvent?.();
      });
      sock.on('end', () => {
        this.record('fin-in');
        this.close('closed', 'connection closed by peer');
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected) {
          clearTimeout(timer);
          reject(transportError(target, err));
          return;
        }
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
          this.record('reset');
          this.close('reset', 'connection reset by peer');
        } else this.close('error', `${err.code ?? err.message}`);
      });
      sock.on('close', () => {
        clearTimeout(timer);
        if (connected) this.close('closed', 'connection closed by peer');
      });
    });
  }

  private openUdp(host: string, port: number): Promise<RawConn> {
    const target = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      this.udp = sock;
      let ready = false;
      sock.on('message', (msg: Buffer) => {
        this.record('in', msg);
        this.onFrame?.(decodeFrame(msg, { udp: true }));
        this.onEvent?.();
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (!ready) {
          sock.close();
          reject(transportError(target, err));
          return;
        }
        if (err.code === 'ECONNREFUSED') this.close('refused', 'port unreachable (connection refused)');
        else this.close('error', `${err.code ?? err.message}`);
      });
      sock.connect(port, host, () => {
        ready = true;
        this.record('open');
        resolve(this);
      });
    });
  }

  get isOpen(): boolean {
    return this.closed === null;
  }

  write(b: Buffer): void {
    if (this.closed && this.closed.kind !== 'closed') return;
    this.record('out', b);
    try {
      if (this.tcp) {
        if (!this.tcp.destroyed && this.tcp.writable) this.tcp.write(b);
      } else this.udp!.send(b, (err) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.close('refused', 'port unreachable (connection refused)');
      });
    } catch (e) {
      this.close('error', (e as Error).message);
    }
  }

  cork(): void {
    this.tcp?.cork();
  }

  uncork(): void {
    this.tcp?.uncork();
  }

  /** Half-close (TCP FIN); UDP: nothing. */
  end(): void {
    if (this.tcp && !this.tcp.destroyed) {
      this.record('fin-out');
      this.tcp.end();
    }
  }

  destroy(): void {
    if (this.tcp) {
      if (!this.tcp.destroyed) {
        this.record('fin-out');
        this.tcp.destroy();
      }
    } else if (this.udp) {
      try {
        this.udp.close();
      } catch {
        // already closed
      }
      this.udp = null;
    }
    if (!this.closed) this.closed = { kind: 'closed', at: nowMs(), detail: 'closed by us' };
    this.ownClose = true;
  }

  /** True once we closed it ourselves. */
  ownClose = false;
}

// ---- reply matching ------------------------------------------------------------------------

export interface Pending {
  exp: Expectation;
  step: number;
  conn: number;
  sentAt: number;
  reply: DecodedFrame | null;
  replyAt: number;
  /** The first reply was PENDING: one more (final) reply may follow. */
  pendingOpen: boolean;
  /** Owner tag (pipelined batches: the case). */
  tag?: unknown;
}

/** Most PENDING exchanges kept waiting for their final reply; the oldest is given up beyond it. */
const MAX_AWAITING_FINAL = 10_000;

/** Matchers of one connection: requests waiting for a first reply, and PENDING ones for their final reply. */
interface ConnMatchers {
  first: ReplyMatcher<Pending>;
  final: ReplyMatcher<Pending>;
}

/**
 * Matches replies to requests with the traffic side's one rule (matcher.ts:
 * per connection, the oldest waiting request with the same client_id,
 * transaction_id and opcode, OUTPUT.md convention 5). Requests whose header
 * is partial (short UDP frames), and those that may or may not be answered,
 * match on the fields they have, after the requests that must be.
 */
export class Matcher {
  private readonly conns = new Map<number, ConnMatchers>();
  private partial: Pending[] = [];
  /** PENDING exchanges waiting for their final reply, oldest first (bounded). */
  private readonly awaitingFinal = new Set<Waiting<Pending>>();
  private readonly place = new Map<Pending, Waiting<Pending>>();

  private of(conn: number): ConnMatchers {
    let m = this.conns.get(conn);
    if (!m) this.conns.set(conn, (m = { first: new ReplyMatcher(), final: new ReplyMatcher() }));
    return m;
  }

  add(p: Pending): void {
    const e = p.exp;
    if (e.kind === 'none') return;
    if (e.kind === 'reply' && e.opcode !== null && e.txid !== null && e.client !== null) {
      this.place.set(p, this.of(p.conn).first.add(e.txid, BigInt(`0x${e.client}`), e.opcode, p));
    } else this.partial.push(p);
  }

  /** Drops a pending entry (batch over); a late reply to it then matches nothing. */
  remove(p: Pending): void {
    const w = this.place.get(p);
    if (w) {
      this.place.delete(p);
      this.of(p.conn).first.remove(w);
    }
    const i = this.partial.indexOf(p);
    if (i >= 0) this.partial.splice(i, 1);
  }

  /** The pending request a reply on connection `conn` answers, or null. Only frames with bit 15 are replies. */
  match(f: DecodedFrame, at: number, conn = 0): Pending | null {
    const b = f.bytes;
    if (b.length < HEADER_SIZE) return null;
    const opcode = Header.get.opcode(b, 0);
    if ((opcode & REPLY_BIT) === 0) return null;
    const m = this.of(conn);
    // an unanswered request first; a final reply after PENDING only when none is waiting
    let p: Pending | undefined;
    const w = m.first.findFor(b);
    if (w) {
      m.first.remove(w);
      this.place.delete(w.item);
      p = w.item;
    } else {
      const fin = m.final.findFor(b);
      if (fin) {
        m.final.remove(fin);
        this.awaitingFinal.delete(fin);
        fin.item.pendingOpen = false;
        return fin.item;
      }
      const req = requestOpcode(opcode);
      const txid = Header.get.transaction_id(b, 0);
      const client = b.toString('hex', Header.field.client_id.offset, Header.field.client_id.offset + Header.field.client_id.width);
      const i = this.partial.findIndex((x) => x.conn === conn
        && (x.exp.opcode === null || x.exp.opcode === req) && (x.exp.txid === null || x.exp.txid === txid) && (x.exp.client === null || x.exp.client === client));
      if (i >= 0) p = this.partial.splice(i, 1)[0];
    }
    if (!p) return null;
    p.reply = f;
    p.replyAt = at;
    if (f.header.sub_opcode === STATUS_PENDING) {
      p.pendingOpen = true;
      this.awaitingFinal.add(m.final.add(Header.get.transaction_id(b, 0), Header.get.client_id(b, 0), opcode, p));
      if (this.awaitingFinal.size > MAX_AWAITING_FINAL) {
        const oldest = this.awaitingFinal.values().next().value!;
        this.awaitingFinal.delete(oldest);
        this.of(oldest.item.conn).final.remove(oldest);
      }
    }
    return p;
  }

  get outstanding(): number {
    let n = this.partial.length;
    for (const m of this.conns.values()) n += m.first.size;
    return n;
  }
}

// ---- the isolated executor ------------------------------------------------------------------

export interface ExecOptions {
  host: string;
  port: number;
  timeoutMs: number;
  maxPayload: number;
  /** After the last step: wait this long for late or unexpected replies (confirmation runs). */
  settleMs?: number;
  /** Keep a transcript for exchange.pcapng. */
  record?: boolean;
  /** Called after each step once its replies are in (or timed out): the memory oracle reads the
   * target's memory here to tell which step keeps what. */
  afterStep?: (step: number) => void;
}

export interface ConnState {
  transport: Transport;
  refused: string | null;
  closed: { kind: CloseKind; at: number; detail: string } | null;
  /** We closed it (end of case): a close after that is not the server's doing. */
  ownClose: boolean;
}

export interface Observation {
  results: Pending[];
  unmatched: Array<{ conn: number; frame: DecodedFrame; at: number }>;
  conns: ConnState[];
  transcript: TranscriptEvent[];
  /** Steps actually sent. */
  sent: number;
  started: number;
  ended: number;
}

/** Writes bound session ids into a copy of the step's frame, keeping its checksum residue. */
export function applyBindings(step: Step, replies: ReadonlyArray<DecodedFrame | null>): Buffer {
  if (!step.bind || step.bind.length === 0) return step.frame;
  const frame = Buffer.from(step.frame);
  const d = declaredSize(frame);
  const end = d === null ? frame.length : Math.min(d, frame.length);
  const r = residue(frame, end);
  let changed = false;
  for (const b of step.bind) {
    const reply = replies[b.from];
    if (!reply || reply.header.sub_opcode !== STATUS_OK || reply.bytes.length < b.replyOffset + 2 || frame.length < b.offset + 2) continue;
    frame.writeUInt16BE(reply.bytes.readUInt16BE(b.replyOffset), b.offset);
    changed = true;
  }
  if (changed) setResidue(frame, r, end);
  return frame;
}

/** Runs one case on fresh connections, in order, and reports what happened. */
export async function runCase(c: FuzzCase, opts: ExecOptions): Promise<Observation> {
  const ex = caseExpectations(c, opts.maxPayload);
  const transcript: TranscriptEvent[] = [];
  const conns: Array<RawConn | null> = c.conns.map(() => null);
  const states: ConnState[] = c.conns.map((t) => ({ transport: t, refused: null, closed: null, ownClose: false }));
  const matcher = new Matcher();
  const results: Pending[] = [];
  const byStep: Pending[][] = c.steps.map(() => []);
  const unmatched: Observation['unmatched'] = [];
  const firstReply: Array<DecodedFrame | null> = c.steps.map(() => null);
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const waitUntil = async (cond: () => boolean, deadline: number) => {
    while (!cond()) {
      const left = deadline - nowMs();
      if (left <= 0) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  };
  const started = nowMs();
  let sent = 0;
  let aborted = false;

  const getConn = async (i: number): Promise<RawConn | null> => {
    const have = conns[i];
    if (have) return have;
    if (states[i]!.refused) return null;
    try {
      const conn = await RawConn.open(c.conns[i]!, opts.host, opts.port, i, opts.record ? transcript : null);
      conn.onFrame = (f) => {
        const at = nowMs();
        const p = matcher.match(f, at, i);
        if (p) {
          if (firstReply[p.step] === null && p.exp.kind === 'reply') firstReply[p.step] = f;
        } else if (f.header.opcode !== null && f.header.opcode !== OP_ANNOUNCE) {
          unmatched.push({ conn: i, frame: f, at });
        }
      };
      conn.onEvent = poke;
      conns[i] = conn;
      return conn;
    } catch (e) {
      states[i]!.refused = (e as Error).message;
      return null;
    }
  };

  const connDead = (i: number) => {
    const cn = conns[i];
    return states[i]!.refused !== null || (cn !== null && cn.closed !== null);
  };
  // a reply that answers nothing is already a failure: no need to wait out the timeout
  const strayOn = (i: number) => unmatched.some((u) => u.conn === i);
  const answered = (p: Pending) => p.reply !== null || p.exp.kind !== 'reply' || connDead(p.conn) || strayOn(p.conn);

  try {
    for (let i = 0; i < c.steps.length; i++) {
      const step = c.steps[i]!;
      if (step.delayMs) await sleep(step.delayMs);
      if (step.bind) {
        for (const b of step.bind) {
          const src = byStep[b.from] ?? [];
          await waitUntil(() => src.every(answered), nowMs() + opts.timeoutMs);
        }
      }
      const conn = await getConn(step.conn);
      if (!conn) {
        aborted = true;
        break;
      }
      const frame = applyBindings(step, firstReply);
      const at = nowMs();
      for (const exp of ex.perStep[i]!) {
        const p: Pending = { exp, step: i, conn: step.conn, sentAt: at, reply: null, replyAt: 0, pendingOpen: false };
        results.push(p);
        byStep[i]!.push(p);
        matcher.add(p);
      }
      if (step.segments && c.conns[step.conn] === 'tcp') {
        let off = 0;
        for (const n of step.segments) {
          if (off >= frame.length) break;
          conn.write(frame.subarray(off, off + n));
          off += n;
          if (step.gapMs) await sleep(step.gapMs);
          else await new Promise<void>((r) => setImmediate(r));
        }
        if (off < frame.length) conn.write(frame.subarray(off));
      } else conn.write(frame);
      for (const p of byStep[i]!) p.sentAt = nowMs();
      sent++;
      if (step.halfClose) conn.end();
      if (step.await || opts.afterStep) {
        const mine = byStep[i]!;
        await waitUntil(() => mine.every(answered), nowMs() + opts.timeoutMs);
      }
      opts.afterStep?.(i);
    }
    if (!aborted) {
      // every reply that is due, each within the timeout of its own send
      for (const p of results) {
        if (p.exp.kind !== 'reply') continue;
        await waitUntil(() => answered(p), p.sentAt + opts.timeoutMs);
      }
      if (opts.settleMs) await waitUntil(() => false, nowMs() + opts.settleMs);
    }
  } finally {
    conns.forEach((cn, i) => {
      if (!cn) return;
      states[i]!.closed = cn.closed;
      cn.destroy();
      states[i]!.ownClose = states[i]!.closed === null;
    });
  }
  return { results, unmatched, conns: states, transcript, sent, started, ended: nowMs() };
}

// ---- health ------------------------------------------------------------------------------------

export const HEALTH_CLIENT = 0x4845414c5448n; // "HEALTH"

export interface Health {
  ok: boolean;
  detail: string;
  refused: boolean;
}

/** A valid Query (sub-op 0x01) on a fresh TCP connection: a good reply is OK with whole device records. */
export async function healthCheck(host: string, port: number, timeoutMs: number): Promise<Health> {
  let c: VvmpConnection | null = null;
  try {
    c = await VvmpConnection.connect({ host, port, transport: 'tcp', connectTimeoutMs: timeoutMs });
    const r = await c.request({ opcode: OP_QUERY, sub_opcode: 0x01, src_san: 1, dst_san: 1, client_id: HEALTH_CLIENT, server_id: 0n }, { timeoutMs });
    if (r.status !== 'OK') return { ok: false, detail: `health Query answered ${r.status}`, refused: false };
    if (!r.payload || !isDevicesPayload(r.payload)) return { ok: false, detail: 'health Query answered OK without whole device records', refused: false };
    return { ok: true, detail: '', refused: false };
  } catch (e) {
    if (e instanceof ConnectionRefusedError) return { ok: false, detail: 'health Query: connection refused', refused: true };
    if (e instanceof TimeoutError) return { ok: false, detail: `health Query: no reply within ${timeoutMs} ms`, refused: false };
    return { ok: false, detail: `health Query: ${(e as Error).message}`, refused: false };
  } finally {
    if (c) void c.close().catch(() => undefined);
  }
}
