// Client side: one function per request (Query, Allocate, Initialize, Modify,
// Statistics, Free) with human options (`raid5`, `fc`, `100GiB`, `20MiB/s`),
// plus the option parsers and reply formatting the CLI prints.
//
// Units: VVMP sizes are in KB of 1,024 bytes. parseSize/parseRate read K, KB,
// KiB as 1 KB; M, MB, MiB as 1,024 KB; G/GB/GiB and T/TB/TiB likewise (binary
// throughout, as storage managers count); a bare number is KB; a `B` suffix is
// bytes, rounded up to whole KB.

import { hexId } from '../protocol/codec.js';
import type { DecodedFrame } from '../protocol/decode.js';
import type { FrameSpec } from '../protocol/encode.js';
import { recordAs, recordsAs } from '../protocol/access.js';
import {
  ACCESS_TYPES, ALLOC_BLOCK, ALLOC_FLAG_BITS, DEVICE_ACCESS_TYPES, DEVICE_CLASSES, DEVICE_RECORD, FREE_BLOCK, INIT_BLOCK,
  STATS_BLOCK, OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_MODIFY,
  OP_QUERY, OP_STATISTICS, QOS_CLASSES, STATUS_PENDING, STORAGE_TYPES, opcodeDef, statusName,
} from '../protocol/fields.js';
import { enumValue, parseId } from './config.js';
import {
  DEFAULT_PORT, VvmpConnection, parseHostPort, type HostPort, type TransportKind,
} from './transport.js';

// ---- option parsers ------------------------------------------------------------------

/** A bad command-line value; the message is one line. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

const U32 = 0xffffffff;
const UNIT_KB: Record<string, number> = {
  '': 1, k: 1, kb: 1, kib: 1, m: 1024, mb: 1024, mib: 1024, g: 1024 ** 2, gb: 1024 ** 2, gib: 1024 ** 2,
  t: 1024 ** 3, tb: 1024 ** 3, tib: 1024 ** 3,
};

function parseAmount(text: string | number, what: string, unitsKb: boolean, example: string, max = U32): number {
  if (typeof text === 'number') {
    if (!Number.isInteger(text) || text < 0 || text > max) throw new OptionError(`bad ${what} ${text}: must be a whole number 0..${max}`);
    return text;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) throw new OptionError(`bad ${what} "${text}": expected a number with an optional unit, e.g. ${example}`);
  const num = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  let value: number;
  if (unitsKb) {
    if (unit === 'b') value = Math.ceil(num / 1024);
    else if (unit in UNIT_KB) value = Math.ceil(num * UNIT_KB[unit]!);
    else throw new OptionError(`bad ${what} "${text}": unknown unit "${m[2]}" (use KiB, MiB, GiB, TiB), e.g. ${example}`);
  } else {
    const mult: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, gb: 1024 ** 3 };
    if (!(unit in mult)) throw new OptionError(`bad ${what} "${text}": unknown unit "${m[2]}" (use B, KiB, MiB), e.g. ${example}`);
    value = Math.ceil(num * mult[unit]!);
  }
  if (value > max) {
    throw new OptionError(`bad ${what} "${text}": ${value} ${unitsKb ? 'KB ' : ''}is over the ${max}${unitsKb ? ' KB' : ''} a VVMP field holds`);
  }
  return value;
}

/** `100GiB` → 104857600 (KB). */
export function parseSize(text: string | number): number {
  return parseAmount(text, 'size', true, '100GiB');
}

/** `20MiB/s` → 20480 (KB/s); `/s` or `ps` optional. */
export function parseRate(text: string | number): number {
  if (typeof text === 'number') return parseAmount(text, 'rate', true, '20MiB/s');
  const t = text.trim().replace(/(\/s|ps)$/i, '');
  try {
    return parseAmount(t, 'rate', true, '20MiB/s');
  } catch (e) {
    throw new OptionError((e as Error).message.replace(`"${t}"`, `"${text}"`));
  }
}

/** Initialize sizes in bytes: `64KiB` → 65536; a bare number is bytes. */
export function parseBytes(text: string | number): number {
  return parseAmount(text, 'byte size', false, '64KiB');
}

function parseEnum(text: string | number, names: Readonly<Record<number, string>>, what: string, extra: Record<string, number> = {}): number {
  if (typeof text === 'string' && text.toLowerCase() in extra) return extra[text.toLowerCase()]!;
  const v = enumValue(text, names);
  if (v === undefined) {
    throw new OptionError(`bad ${what} "${text}": use one of ${Object.values(names).map((n) => n.toLowerCase().replace(/_/g, '-')).join(', ')}`);
  }
  return v;
}

/** `raid5`, `jbod`, `any`, or a number. */
export function parseStorageType(text: string | number): number {
  return parseEnum(text, STORAGE_TYPES, 'storage type', { tape: 0x00 });
}

/** `fc`, `scsi`, `hippi`, `atm`, `any`, or a number. */
export function parseAccessType(text: string | number): number {
  return parseEnum(text, ACCESS_TYPES, 'access type');
}

/** `best_effort`/`best-effort`, `bronze` … `platinum`, or 0–4. */
export function parseQos(text: string | number): number {
  return parseEnum(text, QOS_CLASSES, 'QoS class', { besteffort: 0, 'best-effort': 0, be: 0 });
}

/** A 64-bit id: `0x11`, `17`. */
export function parseClientId(text: string | number | bigint): bigint {
  const v = parseId(text);
  if (v === undefined) throw new OptionError(`bad client id "${String(text)}": expected a 64-bit id such as 0x11`);
  return v;
}

/** Allocate qualifier: `local` 0x01, `expand` 0x02, `any`/`anywhere` 0xFF, or a number. */
export function parseAllocSubop(text: string | number): number {
  if (typeof text === 'number') return text;
  const t = text.toLowerCase();
  const names: Record<string, number> = { local: 0x01, expand: 0x02, expandable: 0x02, any: 0xff, anywhere: 0xff };
  if (t in names) return names[t]!;
  if (/^(0x[0-9a-f]{1,2}|\d{1,3})$/.test(t) && Number(t) <= 0xff) return Number(t);
  throw new OptionError(`bad allocate mode "${text}": use local, expand or anywhere`);
}

/** Query scope: `san` 0x01, `all` 0x02, `local` 0x03, `everywhere`/`sans` 0xFF, or a number. */
export function parseQueryScope(text: string | number): number {
  if (typeof text === 'number') return text;
  const t = text.toLowerCase();
  const names: Record<string, number> = { san: 0x01, this: 0x01, all: 0x02, local: 0x03, everywhere: 0xff, sans: 0xff, global: 0xff };
  if (t in names) return names[t]!;
  if (/^(0x[0-9a-f]{1,2}|\d{1,3})$/.test(t) && Number(t) <= 0xff) return Number(t);
  throw new OptionError(`bad query scope "${text}": use san, all, local or everywhere`);
}

// ---- formatting ------------------------------------------------------------------------

/** 10485760 → `10 GiB`, 1536 → `1.5 MiB`, 100 → `100 KB`. */
export function formatKb(kb: number): string {
  const units: Array<[number, string]> = [[1024 ** 3, 'TiB'], [1024 ** 2, 'GiB'], [1024, 'MiB']];
  for (const [n, u] of units) {
    if (kb >= n) {
      const v = kb / n;
      return `${Number.isInteger(v) ? v : v.toFixed(v < 10 ? 2 : 1)} ${u}`;
    }
  }
  return `${kb} KB`;
}

function name(table: Readonly<Record<number, string>>, v: number): string {
  return table[v] ?? String(v);
}

function flagNames(v: number): string {
  const n = ALLOC_FLAG_BITS.filter((b) => v & (1 << b.bit)).map((b) => b.name);
  return n.length ? n.join('|') : 'none';
}

/** Human lines describing a reply's payload (by the layout it was decoded with). */
export function describePayload(f: DecodedFrame): string[] {
  const { payloadBlock: block, payload: p } = f;
  if (!p) return [];
  const devices = recordsAs(block, p, DEVICE_RECORD);
  if (devices.length) {
    return devices.map((d) => `device ${d.device_id} san=${d.san_id} ${name(STORAGE_TYPES, d.storage_type)}/${name(DEVICE_ACCESS_TYPES, d.access_type)} `
      + `class=${name(DEVICE_CLASSES, d.device_class)} free=${formatKb(d.free_kb)} bandwidth=${formatKb(d.bandwidth_kb)}/s`);
  }
  const a = recordAs(block, p, ALLOC_BLOCK);
  if (a) {
    return [`session ${a.session_id} ${name(STORAGE_TYPES, a.storage_type)}/${name(ACCESS_TYPES, a.access_type)} `
      + `capacity=${formatKb(a.capacity_kb)} bandwidth=${formatKb(a.bandwidth_kb)}/s `
      + `qos=${name(QOS_CLASSES, a.qos)} flags=${flagNames(a.flags)}`];
  }
  const i = recordAs(block, p, INIT_BLOCK);
  if (i) {
    return [`session ${i.session_id} stripe=${i.stripe_size} cache_line=${i.cache_line_size} block=${i.block_size} `
      + `include=${i.include_device_id} exclude=${i.exclude_device_id}`];
  }
  const fr = recordAs(block, p, FREE_BLOCK);
  if (fr) {
    const r = fr.release_kb;
    return [`session ${fr.session_id} ${r === 0 ? 'released all, session closed' : `released ${formatKb(r)}`}`];
  }
  const s = recordAs(block, p, STATS_BLOCK);
  if (s) {
    return [`session ${s.session_id} age=${s.age_ms} ms read=${s.bytes_read} B written=${s.bytes_written} B `
      + `ops=${s.io_ops} errors=${s.io_errors}`];
  }
  return [];
}

/** One line: `Allocate txid=7 → OK (0.42 ms) server=0x…`. */
export function describeReply(f: DecodedFrame, ms?: number): string {
  const op = f.header.opcode ?? 0;
  const nm = opcodeDef(op & 0x7fff)?.name ?? `0x${op.toString(16).padStart(4, '0')}`;
  return `${nm} txid=${f.header.transaction_id} → ${statusName(f.header.sub_opcode ?? 0)}`
    + `${ms === undefined ? '' : ` (${ms.toFixed(2)} ms)`} server=${hexId(f.header.server_id ?? 0n)}`;
}

// ---- requests ----------------------------------------------------------------------------

export interface ClientOptions {
  /** `host:port` or {host, port}; default 127.0.0.1:7369. */
  target?: string | HostPort;
  transport?: TransportKind;
  /** Default 0x11. */
  clientId?: bigint | string | number;
  /** Header src_san (the client's SAN), default 1. */
  srcSan?: number;
  /** Header dst_san, default 1. */
  dstSan?: number;
  /** Header server_id, default 0 (any server may answer). */
  serverId?: bigint;
  /** Reply timeout; default per VVMP.md section 7. */
  timeoutMs?: number;
  /** Use this open connection instead of opening (and closing) one. */
  connection?: VvmpConnection;
  transactionId?: number;
}

export interface ClientResult {
  op: string;
  target: string;
  /** The request as sent (with its transaction id). */
  request: FrameSpec;
  /** The final reply. */
  reply: DecodedFrame;
  /** The PENDING reply that came first, if any. */
  pending: DecodedFrame | null;
  /** Final status name (`OK`, `NO_CAPACITY`, …). */
  status: string;
  ok: boolean;
  /** Request → final reply, ms. */
  ms: number;
  /** Print-friendly lines. */
  lines: string[];
}

export const DEFAULT_CLIENT_ID = 0x11n;

function resolveTarget(t: ClientOptions['target']): HostPort {
  if (t === undefined) return { host: '127.0.0.1', port: DEFAULT_PORT };
  return typeof t === 'string' ? parseHostPort(t) : t;
}

/** Opens a connection for the options (or uses the given one) and runs `fn`. */
export async function withConnection<R>(opts: ClientOptions, fn: (c: VvmpConnection) => Promise<R>): Promise<R> {
  if (opts.connection) return fn(opts.connection);
  const t = resolveTarget(opts.target);
  const c = await VvmpConnection.connect({ host: t.host, port: t.port, transport: opts.transport ?? 'tcp' });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

function header(opts: ClientOptions, opcode: number, sub: number): FrameSpec {
  return {
    opcode,
    src_san: opts.srcSan ?? 1,
    dst_san: opts.dstSan ?? 1,
    client_id: opts.clientId === undefined ? DEFAULT_CLIENT_ID : parseClientId(opts.clientId),
    server_id: opts.serverId ?? 0n,
    transaction_id: opts.transactionId,
    sub_opcode: sub,
  };
}

/**
 * Sends one request and waits for its final reply (following a PENDING
 * reply to the second one when `follow` is set; `pendingTimeoutMs` bounds that wait).
 */
export async function send(opts: ClientOptions, spec: FrameSpec, follow = false, pendingTimeoutMs?: number): Promise<ClientResult> {
  return withConnection(opts, async (c) => {
    const req: FrameSpec = { ...spec, transaction_id: spec.transaction_id ?? c.nextTransactionId() };
    const t0 = performance.now();
    let reply: DecodedFrame;
    let pending: DecodedFrame | null = null;
    if (follow) {
      const x = await c.requestWithPending(req, { timeoutMs: opts.timeoutMs, pendingTimeoutMs });
      if (x.pending) pending = x.first;
      reply = await x.final;
    } else {
      reply = await c.request(req, { timeoutMs: opts.timeoutMs });
    }
    const ms = performance.now() - t0;
    const status = statusName(reply.header.sub_opcode ?? 0);
    const lines: string[] = [];
    if (pending) lines.push(`${describeReply(pending)} (registered; waiting for storage)`);
    lines.push(describeReply(reply, ms), ...describePayload(reply).map((l) => '  ' + l));
    return {
      op: opcodeDef(spec.opcode)?.name ?? `0x${spec.opcode.toString(16)}`, target: c.target, request: req, reply, pending,
      status, ok: reply.header.sub_opcode === 0, ms, lines,
    };
  });
}

export interface QueryOptions extends ClientOptions {
  /** `san` (default), `all`, `local`, `everywhere`, or a sub-op number. */
  scope?: string | number;
}

export function query(opts: QueryOptions = {}): Promise<ClientResult> {
  return send(opts, header(opts, OP_QUERY, parseQueryScope(opts.scope ?? 'san')));
}

export interface AllocateOptions extends ClientOptions {
  /** Storage type (default any). */
  type?: string | number;
  /** Access type (default any). */
  access?: string | number;
  /** Capacity, e.g. `100GiB` (KB when a number). */
  capacity: string | number;
  /** Bandwidth, e.g. `20MiB/s` (KB/s when a number; default 0). */
  bandwidth?: string | number;
  /** QoS class (default best effort). */
  qos?: string | number;
  exclusive?: boolean;
  mirror?: boolean;
  backup?: boolean;
  /** Register for allocation on availability: a PENDING reply is followed to the grant. */
  wait?: boolean;
  /** `local` (default), `expand`, `anywhere`. */
  mode?: string | number;
  /** The block's timeout_ms (0 = the 5,000 ms default). */
  requestTimeoutMs?: number;
  /** Bound on the wait after PENDING (default: none). */
  pendingTimeoutMs?: number;
}

function allocFlags(o: { exclusive?: boolean; mirror?: boolean; backup?: boolean; wait?: boolean }): number {
  return (o.exclusive ? 1 : 0) | (o.mirror ? 2 : 0) | (o.backup ? 4 : 0) | (o.wait ? 8 : 0);
}

export function allocate(opts: AllocateOptions): Promise<ClientResult> {
  const spec = header(opts, OP_ALLOCATE, parseAllocSubop(opts.mode ?? 'local'));
  spec.payload = {
    storage_type: parseStorageType(opts.type ?? 'any'),
    access_type: parseAccessType(opts.access ?? 'any'),
    session_id: 0,
    capacity_kb: parseSize(opts.capacity),
    bandwidth_kb: parseRate(opts.bandwidth ?? 0),
    qos: parseQos(opts.qos ?? 0),
    flags: allocFlags(opts),
    timeout_ms: opts.requestTimeoutMs ?? 0,
  };
  return send(opts, spec, !!opts.wait, opts.pendingTimeoutMs);
}

export interface SessionOptions extends ClientOptions {
  session: number;
}

export interface InitializeOptions extends SessionOptions {
  /** Bytes, e.g. `64KiB` (0/omitted = device default). */
  stripe?: string | number;
  cacheLine?: string | number;
  blockSize?: string | number;
  /** Special hardware to bind into the data path. */
  include?: number;
  /** Hardware to keep out of the data path. */
  exclude?: number;
}

export function initialize(opts: InitializeOptions): Promise<ClientResult> {
  const spec = header(opts, OP_INITIALIZE, 0);
  spec.payload = {
    session_id: opts.session, reserved: 0,
    stripe_size: parseBytes(opts.stripe ?? 0), cache_line_size: parseBytes(opts.cacheLine ?? 0),
    block_size: parseBytes(opts.blockSize ?? 0),
    include_device_id: opts.include ?? 0, exclude_device_id: opts.exclude ?? 0,
  };
  return send(opts, spec);
}

/** Modify carries a whole Allocate block: what is omitted is sent as any / 0. */
export interface ModifyOptions extends SessionOptions {
  capacity: string | number;
  bandwidth?: string | number;
  qos?: string | number;
  type?: string | number;
  access?: string | number;
  exclusive?: boolean;
  mirror?: boolean;
  backup?: boolean;
  requestTimeoutMs?: number;
}

export function modify(opts: ModifyOptions): Promise<ClientResult> {
  const spec = header(opts, OP_MODIFY, 0);
  spec.payload = {
    storage_type: parseStorageType(opts.type ?? 'any'),
    access_type: parseAccessType(opts.access ?? 'any'),
    session_id: opts.session,
    capacity_kb: parseSize(opts.capacity),
    bandwidth_kb: parseRate(opts.bandwidth ?? 0),
    qos: parseQos(opts.qos ?? 0),
    flags: allocFlags(opts),
    timeout_ms: opts.requestTimeoutMs ?? 0,
  };
  return send(opts, spec);
}

export function stats(opts: SessionOptions): Promise<ClientResult> {
  const spec = header(opts, OP_STATISTICS, 0);
  spec.payload = { session_id: opts.session, reserved: 0 };
  return send(opts, spec);
}

export interface FreeOptions extends SessionOptions {
  /** Capacity to give back (`1GiB`); 0/omitted = release all and end the session. */
  release?: string | number;
}

export function free(opts: FreeOptions): Promise<ClientResult> {
  const spec = header(opts, OP_FREE, 0);
  spec.payload = { session_id: opts.session, reserved: 0, release_kb: parseSize(opts.release ?? 0) };
  return send(opts, spec);
}

/** True when a reply is PENDING. */
export function isPending(f: DecodedFrame): boolean {
  return f.header.sub_opcode === STATUS_PENDING;
}
