// The SAN manager (VVMP.md sections 3–7) as a pure state machine: decoded
// requests and a clock in, reply specs out. No sockets: peers are reached
// through an injected `askPeer`, and replies that are not answers to the frame
// at hand (the second reply after PENDING) go out through `deliver`.
//
// Choices where the spec leaves room (each one is tested):
//
// * Order of checks: bad checksum → BAD_CHECKSUM; cut-off or trailing bytes,
//   a (UDP) frame shorter than the header → MALFORMED with the header bytes
//   that are present echoed (under 2 bytes: no opcode, no reply); unknown opcode or invalid
//   sub-opcode → UNSUPPORTED; payload size wrong for the opcode (the
//   decoder's `payload_size` finding) → MALFORMED; client outside the security
//   domain → DENIED; then the operation. Reserved fields and reserved flag
//   bits are ignored (liberal in what we accept).
// * Allocate: session_id ≠ 0 or capacity_kb = 0 → MALFORMED. QoS > 4 (no such
//   class) → NO_MATCH. Candidates are devices that hold storage (classes 0–2,
//   capacity > 0) whose storage_type/access_type match (0xFF = any) and whose
//   total bandwidth covers the request; none → NO_MATCH. Every session
//   reserves its bandwidth on its device. Among devices with enough free
//   capacity and bandwidth that no other client holds exclusively (and, for
//   an EXCLUSIVE request, that no other client uses) the best fit (least free
//   capacity, then lowest id) wins. Otherwise CONFLICT when only another
//   client's access stood in the way, else NO_CAPACITY.
//   MIRROR and BACKUP are recorded and echoed; they do not change placement.
//   - 0x01 grants exactly what was asked or fails.
//   - 0x02 may grant less: the free capacity left on the matching device with
//     the most free capacity. Its sessions are expandable.
//   - 0xFF tries a whole local grant, then forwards to the peers one by one in
//     ascending SAN order (sub-op 0x01 at the peer so forwards never loop,
//     WAIT cleared, src_san = own, dst_san = peer, client_id unchanged, our
//     own transaction id) and relays the first grant; then a partial local
//     grant as 0x02 would; then PENDING if WAIT; then TIMEOUT if some peer did
//     not answer; else the most telling status. The whole forward gets
//     min(limits.peer_timeout_ms, ¾ of the request's timeout) so that the
//     client still hears TIMEOUT before it gives up. A relayed grant becomes a
//     local *proxy session*: the client keeps talking to this manager under a
//     local session id and Initialize/Modify/Statistics/Free are forwarded to
//     the peer's session.
//   - WAIT with NO_CAPACITY or CONFLICT → PENDING (the Allocate block echoed,
//     session 0); NO_MATCH is never worth waiting for. Whenever capacity or
//     access frees up (Free, shrinking Modify, teardown) the waiters are
//     tried in arrival order (first fit) and a granted one gets its second
//     reply, same transaction id, through `deliver`. Waiters of a closed
//     connection are dropped (`dropTarget`).
// * Sessions belong to their client_id, not to a connection: a disconnect
//   does not end them. A session of another client is UNKNOWN_SESSION (not
//   DENIED: DENIED means outside the security domain, and we do not reveal
//   other clients' sessions).
// * Modify: session_id = 0 or capacity_kb = 0 → MALFORMED; storage/access
//   other than 0xFF or the session's own → NO_MATCH. Sub-op 0x00 has no
//   partial grants, so growth is all or nothing: a session allocated with
//   0x01 cannot grow (NO_CAPACITY, it has no facility for expansion); an
//   expandable one grows when its device has the room, else NO_CAPACITY.
//   Shrinking always works. Turning EXCLUSIVE on while another client shares
//   the device → CONFLICT. WAIT is ignored in Modify.
// * Initialize: sizes must be 0 (device default) or powers of two with
//   stripe 512 B–16 MiB, cache line 16 B–1 MiB, block 512 B–1 MiB and
//   stripe ≥ block, else MALFORMED. include_device_id must be special
//   hardware (class 3) registered with this manager, exclude_device_id a
//   device registered with this manager other than the session's own storage
//   and not the included one; else NO_MATCH. The reply carries the values
//   applied (defaults filled in: stripe 64 KiB on RAID, 0 on JBOD/tape; cache
//   line 4 KiB; block 4 KiB). Initialize may be repeated (parameter change).
// * Free: release_kb = 0, or ≥ the session's capacity, releases all and ends
//   the session (the reply says release_kb 0); otherwise it shrinks.
// * Statistics: age_ms is real (wall clock since the grant). The data path
//   starts at Initialize: bytes move at half the session bandwidth, 60 %
//   read / 40 % written, io_ops = bytes / block size, io_errors one per 10^7
//   ops — deterministic functions of time.
// * Query: 0x01 the devices registered with this manager (configured and
//   announced), 0x03 those of them on this SAN, 0x02 all devices it knows
//   (also other SANs' devices it heard announced), 0xFF its own plus each
//   peer's Query 0x01 (asked in parallel; peers that do not answer are left
//   out, the reply is still OK). free_kb is capacity minus what sessions use;
//   bandwidth_kb the device's total.
// * Announce (never answered): records of other SANs are registered (0x01,
//   0x02) or removed (0x03 leaving); an unknown device of our SAN is
//   registered as a new device; a boot (0x02) of one of our devices tears
//   down its sessions, and a boot from a peer manager (its server_id) tears
//   down the proxy sessions held there. Our own Announces are ignored.
// * max_outstanding_per_client counts WAIT registrations plus forwards in
//   flight; over it, Allocate and proxied session operations get NO_CAPACITY
//   (the server has no room to hold more of that client's work) and Query 0xFF
//   answers with the local devices only.
//   All clients together hold at most 65,536.
// * At most 10,000 devices of other SANs, and 10,000 of its own SAN, are
//   remembered from Announces (a flood cannot grow the tables without limit).
// * dst_san is not checked: a manager answers whatever request reaches it.

import { isDevicesPayload, type DecodedFrame, type HeaderFields } from '../protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../protocol/encode.js';
import type { BlockRecord } from '../protocol/codec.js';
import {
  OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS, REPLY_BIT,
  STATUS_BY_NAME, HEADER_SIZE,
} from '../protocol/fields.js';
import type { DeviceConfig, PeerConfig, ServerConfig } from './config.js';

// ---- statuses (VVMP.md section 5; values from the field table) -------------------

function st(name: string): number {
  const v = STATUS_BY_NAME.get(name);
  if (v === undefined) throw new Error(`status ${name} missing from the field table`);
  return v;
}
export const OK = st('OK');
export const PENDING = st('PENDING');
export const NO_CAPACITY = st('NO_CAPACITY');
export const NO_MATCH = st('NO_MATCH');
export const UNKNOWN_SESSION = st('UNKNOWN_SESSION');
export const DENIED = st('DENIED');
export const CONFLICT = st('CONFLICT');
export const MALFORMED = st('MALFORMED');
export const BAD_CHECKSUM = st('BAD_CHECKSUM');
export const UNSUPPORTED = st('UNSUPPORTED');
export const TIMEOUT = st('TIMEOUT');

export const FLAG_EXCLUSIVE = 0x01;
export const FLAG_MIRROR = 0x02;
export const FLAG_BACKUP = 0x04;
export const FLAG_WAIT = 0x08;

export const SUBOP_LOCAL = 0x01;
export const SUBOP_EXPAND = 0x02;
export const SUBOP_ANYWHERE = 0xff;
export const ALL_SANS = 0xffffff;

const ANY = 0xff;
const DEFAULT_TIMEOUT_MS = 5000;
const MAX_QOS = 4;
const MAX_FOREIGN = 10_000;
/** WAIT registrations plus forwards of all clients together (spoofed client ids must not exhaust memory). */
const MAX_OUTSTANDING_TOTAL = 65_536;

/** Initialize limits and defaults (bytes). */
export const INIT_RULES = {
  stripe_size: { min: 512, max: 16 * 1024 * 1024, dflt: 64 * 1024 },
  cache_line_size: { min: 16, max: 1024 * 1024, dflt: 4096 },
  block_size: { min: 512, max: 1024 * 1024, dflt: 4096 },
} as const;

// ---- state ---------------------------------------------------------------------------

export type SessionState = 'ALLOCATED' | 'ACTIVE';

export interface InitParams {
  stripe_size: number;
  cache_line_size: number;
  block_size: number;
  include_device_id: number;
  exclude_device_id: number;
}

export interface RemoteRef {
  san_id: number;
  server_id: bigint;
  session_id: number;
}

export interface Session {
  session_id: number;
  client_id: bigint;
  /** 0 for a proxy session. */
  device_id: number;
  storage_type: number;
  access_type: number;
  capacity_kb: number;
  bandwidth_kb: number;
  qos: number;
  flags: number;
  exclusive: boolean;
  /** Allocated with 0x02 or 0xFF: Modify may grow it. */
  expandable: boolean;
  state: SessionState;
  /** Wall-clock ms of the grant. */
  created_ms: number;
  /** Wall-clock ms of the first Initialize (the data path starts). */
  activated_ms: number | null;
  init: InitParams | null;
  /** A grant relayed from a peer SAN: operations are forwarded there. */
  remote: RemoteRef | null;
}

interface DeviceState {
  cfg: DeviceConfig;
  /** Registered from an Announce, not configured. */
  dynamic: boolean;
  used_kb: number;
  used_bw: number;
  /** client id → [sessions, exclusive sessions] on this device. */
  clients: Map<bigint, [number, number]>;
  exclusive: number;
}

interface AllocReq {
  storage_type: number;
  access_type: number;
  capacity_kb: number;
  bandwidth_kb: number;
  qos: number;
  flags: number;
  timeout_ms: number;
}

interface Waiter<T> {
  client_id: bigint;
  transaction_id: number;
  src_san: number;
  sub_opcode: number;
  req: AllocReq;
  target: T;
}

type Decision = { device: DeviceState; capacity_kb: number } | { status: number };

export interface ManagerOptions<T> {
  config: ServerConfig;
  /** Wall clock in ms (default Date.now); ages and statistics follow it. */
  now?: () => number;
  /**
   * Sends a request to a peer manager and resolves with its reply, or null
   * when it did not answer within timeoutMs (refused and reset count as no answer).
   */
  askPeer?: (peer: PeerConfig, spec: FrameSpec, timeoutMs: number) => Promise<DecodedFrame | null>;
  /** Pushes a reply that answers an earlier request (PENDING's second reply). */
  deliver?: (target: T, reply: FrameSpec) => void;
  /** Called after every change of sessions or devices (persistence). */
  onChange?: () => void;
}

/** What a state file holds (JSON-ready). */
export interface ManagerState {
  version: 1;
  san_id: number;
  server_id: string;
  next_session_id: number;
  saved_at: string;
  sessions: Array<Omit<Session, 'client_id' | 'remote'> & { client_id: string; remote: null | { san_id: number; server_id: string; session_id: number } }>;
}

export interface DeviceView extends DeviceConfig {
  free_kb: number;
  free_bw: number;
  dynamic: boolean;
  sessions: number;
}

export interface ManagerCounters {
  requests: number;
  replies: number;
  pushed: number;
  forwards: number;
  announces: number;
  ignored: number;
  byStatus: Map<number, number>;
}

const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function hasFinding(f: DecodedFrame, code: string): boolean {
  for (const x of f.findings) if (x.code === code) return true;
  return false;
}

export class SanManager<T = unknown> {
  readonly config: ServerConfig;
  readonly san: number;
  readonly serverId: bigint;
  private readonly now: () => number;
  private readonly askPeer: ManagerOptions<T>['askPeer'];
  private readonly deliver: ManagerOptions<T>['deliver'];
  private readonly onChange: (() => void) | undefined;
  private readonly allowed: Set<bigint> | null;
  private readonly devicesById = new Map<number, DeviceState>();
  /** Devices of this SAN registered from Announces (bounded by MAX_FOREIGN). */
  private dynamicDevices = 0;
  /** Devices of other SANs heard in Announces, keyed `san:device`. */
  private readonly foreign = new Map<string, BlockRecord>();
  private readonly sessionsById = new Map<number, Session>();
  /**
   * Encoded device records of Query 0x01/0x02/0x03 replies, by sub-op, made
   * with the shared encoder and dropped on any change of devices or usage:
   * the hot path of a Query storm then encodes only the header.
   */
  private readonly queryCache = new Map<number, Uint8Array>();
  private nextSessionId = 1;
  private waiters: Waiter<T>[] = [];
  private readonly outstanding = new Map<bigint, number>();
  private outstandingSum = 0;
  /**
   * Transaction ids of forwards (client_id is the client's): counted from
   * 0x80000000 + SAN × 65,536, so they meet neither the low ids clients count
   * up from nor (for a while) another manager's forwards for the same client.
   */
  private peerTxid: number;
  readonly counters: ManagerCounters = {
    requests: 0, replies: 0, pushed: 0, forwards: 0, announces: 0, ignored: 0, byStatus: new Map(),
  };

  constructor(opts: ManagerOptions<T>) {
    this.config = opts.config;
    this.san = opts.config.san_id;
    this.serverId = opts.config.server_id;
    this.now = opts.now ?? Date.now;
    this.askPeer = opts.askPeer;
    this.deliver = opts.deliver;
    this.onChange = opts.onChange;
    this.allowed = opts.config.allowed_clients === 'open' ? null : new Set(opts.config.allowed_clients);
    this.peerTxid = 0x80000000 + (opts.config.san_id & 0x7fff) * 0x10000;
    for (const d of opts.config.devices) this.addDevice({ ...d }, false);
  }

  private addDevice(cfg: DeviceConfig, dynamic: boolean): DeviceState {
    const d: DeviceState = { cfg, dynamic, used_kb: 0, used_bw: 0, clients: new Map(), exclusive: 0 };
    this.devicesById.set(cfg.device_id, d);
    this.queryCache.clear();
    return d;
  }

  // ---- views --------------------------------------------------------------------------

  /** Live sessions, by session id. */
  sessions(): Session[] {
    return [...this.sessionsById.values()].sort((a, b) => a.session_id - b.session_id);
  }

  session(id: number): Session | undefined {
    return this.sessionsById.get(id);
  }

  devices(): DeviceView[] {
    return [...this.devicesById.values()].map((d) => ({
      ...d.cfg,
      free_kb: Math.max(0, d.cfg.capacity_kb - d.used_kb),
      free_bw: Math.max(0, d.cfg.bandwidth_kb - d.used_bw),
      dynamic: d.dynamic,
      sessions: [...d.clients.values()].reduce((n, c) => n + c[0], 0),
    }));
  }

  /** Clients' WAIT registrations not yet granted. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** WAIT registrations plus forwards in flight, all clients. */
  get outstandingTotal(): number {
    return this.outstandingSum;
  }

  // ---- entry point ----------------------------------------------------------------------

  /**
   * Handles one received frame. Returns the reply (sync for local work, a
   * promise when peers are asked), or null when the frame gets no reply
   * (replies, Announces, fewer than 2 bytes).
   */
  handle(f: DecodedFrame, target: T): FrameSpec | null | Promise<FrameSpec | null> {
    const h = f.header;
    if (h.opcode === null || (h.opcode & REPLY_BIT) !== 0) {
      this.counters.ignored++;
      return null;
    }
    if (h.opcode === OP_ANNOUNCE) {
      this.counters.announces++;
      if (f.checksumOk && f.complete && f.payload && isDevicesPayload(f.payload)) this.onAnnounce(h, f.payload.devices);
      return null;
    }
    this.counters.requests++;
    if (f.bytes.length < HEADER_SIZE) return this.reply(h, MALFORMED);
    if (!f.checksumOk) return this.reply(h, BAD_CHECKSUM);
    if (!f.complete || f.trailing > 0) return this.reply(h, MALFORMED);
    const def = f.def;
    if (!def || !(h.sub_opcode! in def.subops)) return this.reply(h, UNSUPPORTED);
    if (hasFinding(f, 'payload_size') || (def.request !== null && f.payload === null)) return this.reply(h, MALFORMED);
    if (this.allowed !== null && !this.allowed.has(h.client_id!)) return this.reply(h, DENIED);
    const p = f.payload as BlockRecord;
    switch (h.opcode) {
      case OP_QUERY:
        return this.query(h);
      case OP_ALLOCATE:
        return this.allocate(h, p, target);
      case OP_INITIALIZE:
        return this.initialize(h, p);
      case OP_FREE:
        return this.free(h, p);
      case OP_MODIFY:
        return this.modify(h, p);
      case OP_STATISTICS:
        return this.statistics(h, p);
      default:
        return this.reply(h, UNSUPPORTED);
    }
  }

  /** Drops the WAIT registrations that would be delivered to `target` (its connection closed). */
  dropTarget(target: T): number {
    const before = this.waiters.length;
    const keep: Waiter<T>[] = [];
    for (const w of this.waiters) {
      if (w.target === target) this.release(w.client_id);
      else keep.push(w);
    }
    this.waiters = keep;
    return before - keep.length;
  }

  // ---- replies ----------------------------------------------------------------------------

  /** A reply header for request `h` (VVMP.md section 7) with status and payload. */
  reply(h: HeaderFields, status: number, payload: FrameSpec['payload'] = null): FrameSpec {
    this.counters.replies++;
    this.counters.byStatus.set(status, (this.counters.byStatus.get(status) ?? 0) + 1);
    return {
      opcode: ((h.opcode ?? 0) | REPLY_BIT) & 0xffff,
      src_san: this.san,
      dst_san: h.src_san ?? 0,
      client_id: h.client_id ?? 0n,
      server_id: this.serverId,
      transaction_id: h.transaction_id ?? 0,
      sub_opcode: status,
      payload,
    };
  }

  private changed(): void {
    this.onChange?.();
  }

  private take(client: bigint): boolean {
    const n = this.outstanding.get(client) ?? 0;
    if (n >= this.config.limits.max_outstanding_per_client || this.outstandingSum >= MAX_OUTSTANDING_TOTAL) return false;
    this.outstanding.set(client, n + 1);
    this.outstandingSum++;
    return true;
  }

  private release(client: bigint): void {
    const n = this.outstanding.get(client);
    if (n === undefined) return;
    this.outstandingSum--;
    if (n <= 1) this.outstanding.delete(client);
    else this.outstanding.set(client, n - 1);
  }

  private nextPeerTxid(): number {
    const t = this.peerTxid;
    this.peerTxid = this.peerTxid >= 0xffffffff ? 0x80000000 : this.peerTxid + 1;
    return t;
  }

  private forwardBudget(timeoutMs: number): number {
    return Math.max(1, Math.min(this.config.limits.peer_timeout_ms, Math.floor(((timeoutMs || DEFAULT_TIMEOUT_MS) * 3) / 4)));
  }

  // ---- Query ----------------------------------------------------------------------------

  private record(d: DeviceState): BlockRecord {
    const c = d.cfg;
    return {
      device_id: c.device_id, storage_type: c.storage_type, access_type: c.access_type, device_class: c.device_class,
      device_flags: c.device_flags, free_kb: Math.max(0, c.capacity_kb - d.used_kb), bandwidth_kb: c.bandwidth_kb,
      san_id: c.san_id, reserved: 0,
    };
  }

  /** Device records for a Query sub-op answered from local knowledge (0x01, 0x02, 0x03). */
  deviceRecords(sub: number): BlockRecord[] {
    const out: BlockRecord[] = [];
    for (const d of this.devicesById.values()) {
      if (sub === 0x03 && d.cfg.san_id !== this.san) continue;
      out.push(this.record(d));
    }
    if (sub === 0x02 || sub === SUBOP_ANYWHERE) for (const r of this.foreign.values()) out.push({ ...r });
    return this.cap(out);
  }

  /** Keeps a Query reply within the payload limit (and a UDP datagram). */
  private cap(recs: BlockRecord[]): BlockRecord[] {
    const max = Math.floor(Math.min(this.config.limits.max_payload, 65507 - HEADER_SIZE) / 20);
    return recs.length > max ? recs.slice(0, max) : recs;
  }

  private query(h: HeaderFields): FrameSpec | Promise<FrameSpec> {
    const sub = h.sub_opcode!;
    if (sub !== SUBOP_ANYWHERE || !this.askPeer || this.config.peers.length === 0) {
      let bytes = this.queryCache.get(sub);
      if (!bytes) {
        bytes = encodeFrame({ opcode: OP_QUERY | REPLY_BIT, payload: { devices: this.deviceRecords(sub) } }).subarray(HEADER_SIZE);
        this.queryCache.set(sub, bytes);
      }
      return this.reply(h, OK, bytes);
    }
    const client = h.client_id!;
    if (!this.take(client)) return this.reply(h, OK, { devices: this.deviceRecords(sub) });
    const timeout = this.forwardBudget(DEFAULT_TIMEOUT_MS);
    const asks = this.config.peers.map((peer) => {
      this.counters.forwards++;
      return this.askPeer!(peer, {
        opcode: OP_QUERY, src_san: this.san, dst_san: peer.san_id, client_id: client, server_id: 0n,
        transaction_id: this.nextPeerTxid(), sub_opcode: 0x01,
      }, timeout).catch(() => null);
    });
    return Promise.all(asks).then((answers) => {
      this.release(client);
      const recs = this.deviceRecords(sub);
      const seen = new Set(recs.map((r) => `${r['san_id']}:${r['device_id']}`));
      for (const a of answers) {
        if (!a || a.header.sub_opcode !== OK || !a.payload || !isDevicesPayload(a.payload)) continue;
        for (const r of a.payload.devices) {
          const key = `${r['san_id']}:${r['device_id']}`;
          if (seen.has(key)) continue;
          seen.add(key);
          recs.push(r);
        }
      }
      return this.reply(h, OK, { devices: this.cap(recs) });
    });
  }

  // ---- Allocate -------------------------------------------------------------------------

  private static allocReq(p: BlockRecord): AllocReq {
    return {
      storage_type: p['storage_type'] as number, access_type: p['access_type'] as number,
      capacity_kb: p['capacity_kb'] as number, bandwidth_kb: p['bandwidth_kb'] as number,
      qos: p['qos'] as number, flags: (p['flags'] as number) & 0x0f, timeout_ms: p['timeout_ms'] as number,
    };
  }

  private static allocBlock(req: AllocReq, session_id: number, capacity_kb = req.capacity_kb, d?: DeviceConfig): BlockRecord {
    return {
      storage_type: d ? d.storage_type : req.storage_type, access_type: d ? d.access_type : req.access_type,
      session_id, capacity_kb, bandwidth_kb: req.bandwidth_kb, qos: req.qos, flags: req.flags, timeout_ms: req.timeout_ms,
    };
  }

  private static holdsStorage(d: DeviceState): boolean {
    const k = d.cfg.device_class;
    return (k === 0 || k === 1 || k === 2) && d.cfg.capacity_kb > 0;
  }

  /** Another client's access stands in the way of `client` (exclusive or not) on `d`. */
  private static conflicts(d: DeviceState, client: bigint, exclusive: boolean): boolean {
    const own = d.clients.get(client);
    if (d.exclusive - (own ? own[1] : 0) > 0) return true;
    return exclusive && d.clients.size - (own ? 1 : 0) > 0;
  }

  /** Where `req` fits now: a device and the capacity to grant, or the refusal status. */
  private decide(client: bigint, req: AllocReq, partialOk: boolean): Decision {
    if (req.qos > MAX_QOS) return { status: NO_MATCH };
    const exclusive = (req.flags & FLAG_EXCLUSIVE) !== 0;
    let match = false;
    let conflict = false;
    let best: DeviceState | null = null;
    let bestFree = 0;
    let part: DeviceState | null = null;
    let partFree = 0;
    for (const d of this.devicesById.values()) {
      const c = d.cfg;
      if (!SanManager.holdsStorage(d)) continue;
      if (req.storage_type !== ANY && c.storage_type !== req.storage_type) continue;
      if (req.access_type !== ANY && c.access_type !== req.access_type) continue;
      if (c.bandwidth_kb < req.bandwidth_kb) continue;
      match = true;
      const free = c.capacity_kb - d.used_kb;
      const fitsBw = c.bandwidth_kb - d.used_bw >= req.bandwidth_kb;
      const fits = fitsBw && free >= req.capacity_kb;
      const fitsPart = fitsBw && partialOk && free > 0;
      if (!fits && !fitsPart) continue;
      if (SanManager.conflicts(d, client, exclusive)) {
        conflict = true;
        continue;
      }
      if (fits) {
        if (!best || free < bestFree || (free === bestFree && c.device_id < best.cfg.device_id)) {
          best = d;
          bestFree = free;
        }
      } else if (!part || free > partFree || (free === partFree && c.device_id < part.cfg.device_id)) {
        part = d;
        partFree = free;
      }
    }
    if (!match) return { status: NO_MATCH };
    if (best) return { device: best, capacity_kb: req.capacity_kb };
    if (part) return { device: part, capacity_kb: partFree };
    return { status: conflict ? CONFLICT : NO_CAPACITY };
  }

  private newSessionId(): number | null {
    for (let i = 0; i < 0xffff; i++) {
      const id = this.nextSessionId;
      this.nextSessionId = id >= 0xffff ? 1 : id + 1;
      if (!this.sessionsById.has(id)) return id;
    }
    return null;
  }

  private bind(s: Session): void {
    this.sessionsById.set(s.session_id, s);
    const d = this.devicesById.get(s.device_id);
    if (!d) return;
    this.queryCache.clear();
    d.used_kb += s.capacity_kb;
    d.used_bw += s.bandwidth_kb;
    const c = d.clients.get(s.client_id);
    if (c) {
      c[0]++;
      if (s.exclusive) c[1]++;
    } else d.clients.set(s.client_id, [1, s.exclusive ? 1 : 0]);
    if (s.exclusive) d.exclusive++;
  }

  private unbind(s: Session): void {
    this.sessionsById.delete(s.session_id);
    const d = this.devicesById.get(s.device_id);
    if (!d) return;
    this.queryCache.clear();
    d.used_kb -= s.capacity_kb;
    d.used_bw -= s.bandwidth_kb;
    const c = d.clients.get(s.client_id);
    if (c) {
      c[0]--;
      if (s.exclusive) c[1]--;
      if (c[0] <= 0) d.clients.delete(s.client_id);
    }
    if (s.exclusive) d.exclusive--;
  }

  /** Creates a local session for a decision; null when all 65,535 session ids are in use. */
  private grant(client: bigint, req: AllocReq, dev: DeviceState, capacity_kb: number, expandable: boolean): Session | null {
    const id = this.newSessionId();
    if (id === null) return null;
    const s: Session = {
      session_id: id, client_id: client, device_id: dev.cfg.device_id, storage_type: dev.cfg.storage_type,
      access_type: dev.cfg.access_type, capacity_kb, bandwidth_kb: req.bandwidth_kb, qos: req.qos, flags: req.flags,
      exclusive: (req.flags & FLAG_EXCLUSIVE) !== 0, expandable, state: 'ALLOCATED', created_ms: this.now(),
      activated_ms: null, init: null, remote: null,
    };
    this.bind(s);
    this.changed();
    return s;
  }

  private allocate(h: HeaderFields, p: BlockRecord, target: T): FrameSpec | Promise<FrameSpec> {
    if (p['session_id'] !== 0 || p['capacity_kb'] === 0) return this.reply(h, MALFORMED);
    const req = SanManager.allocReq(p);
    const sub = h.sub_opcode!;
    const client = h.client_id!;
    const d = this.decide(client, req, sub === SUBOP_EXPAND);
    if ('device' in d) {
      const s = this.grant(client, req, d.device, d.capacity_kb, sub !== SUBOP_LOCAL);
      if (!s) return this.reply(h, NO_CAPACITY);
      return this.reply(h, OK, SanManager.allocBlock(req, s.session_id, d.capacity_kb, d.device.cfg));
    }
    if (sub === SUBOP_ANYWHERE && this.askPeer && this.config.peers.length > 0 && req.qos <= MAX_QOS) {
      if (!this.take(client)) return this.reply(h, NO_CAPACITY);
      return this.forwardAllocate(h, req, target);
    }
    return this.refuse(h, req, d.status, target);
  }

  /** A refusal, or PENDING when the client asked to WAIT and waiting can help. */
  private refuse(h: HeaderFields, req: AllocReq, status: number, target: T): FrameSpec {
    if ((req.flags & FLAG_WAIT) !== 0 && (status === NO_CAPACITY || status === CONFLICT)) {
      if (!this.take(h.client_id!)) return this.reply(h, NO_CAPACITY);
      this.waiters.push({
        client_id: h.client_id!, transaction_id: h.transaction_id!, src_san: h.src_san!, sub_opcode: h.sub_opcode!,
        req: { ...req }, target,
      });
      return this.reply(h, PENDING, SanManager.allocBlock(req, 0));
    }
    return this.reply(h, status);
  }

  private async forwardAllocate(h: HeaderFields, req: AllocReq, target: T): Promise<FrameSpec> {
    const client = h.client_id!;
    const deadline = this.now() + this.forwardBudget(req.timeout_ms);
    let timedOut = false;
    const statuses: number[] = [];
    try {
      for (const peer of this.config.peers) {
        const remaining = Math.floor(deadline - this.now());
        if (remaining <= 0) {
          timedOut = true;
          break;
        }
        this.counters.forwards++;
        const r = await this.askPeer!(peer, {
          opcode: OP_ALLOCATE, src_san: this.san, dst_san: peer.san_id, client_id: client, server_id: 0n,
          transaction_id: this.nextPeerTxid(), sub_opcode: SUBOP_LOCAL,
          payload: { ...SanManager.allocBlock(req, 0), flags: req.flags & ~FLAG_WAIT, timeout_ms: remaining },
        }, remaining).catch(() => null);
        if (!r || r.header.sub_opcode === null) {
          timedOut = true;
          continue;
        }
        const status = r.header.sub_opcode;
        const g = r.payload as BlockRecord | null;
        if (status === OK && g && !isDevicesPayload(g) && typeof g['session_id'] === 'number') {
          const id = this.newSessionId();
          if (id === null) return this.reply(h, NO_CAPACITY);
          const s: Session = {
            session_id: id, client_id: client, device_id: 0, storage_type: g['storage_type'] as number,
            access_type: g['access_type'] as number, capacity_kb: g['capacity_kb'] as number,
            bandwidth_kb: g['bandwidth_kb'] as number, qos: g['qos'] as number, flags: (g['flags'] as number) & 0x0f,
            exclusive: ((g['flags'] as number) & FLAG_EXCLUSIVE) !== 0, expandable: false, state: 'ALLOCATED',
            created_ms: this.now(), activated_ms: null, init: null,
            remote: { san_id: peer.san_id, server_id: r.header.server_id ?? 0n, session_id: g['session_id'] },
          };
          this.bind(s);
          this.changed();
          return this.reply(h, OK, { ...g, session_id: id, timeout_ms: req.timeout_ms });
        }
        statuses.push(status);
      }
    } finally {
      this.release(client);
    }
    // No peer granted: what a local 0x02 would do, then WAIT, then TIMEOUT.
    const d = this.decide(client, req, true);
    if ('device' in d) {
      const s = this.grant(client, req, d.device, d.capacity_kb, true);
      if (s) return this.reply(h, OK, SanManager.allocBlock(req, s.session_id, d.capacity_kb, d.device.cfg));
      return this.reply(h, NO_CAPACITY);
    }
    if ((req.flags & FLAG_WAIT) !== 0 && (d.status === NO_CAPACITY || d.status === CONFLICT)) {
      return this.refuse(h, req, d.status, target);
    }
    if (timedOut) return this.reply(h, TIMEOUT);
    let status = d.status;
    if (status === NO_MATCH) {
      if (statuses.includes(NO_CAPACITY)) status = NO_CAPACITY;
      else if (statuses.includes(CONFLICT)) status = CONFLICT;
    }
    return this.reply(h, status);
  }

  /** Grants WAIT registrations that fit now, in arrival order; pushes their second replies. */
  private serveWaiters(): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter<T>[] = [];
    const granted: Array<[Waiter<T>, FrameSpec]> = [];
    for (const w of this.waiters) {
      const d = this.decide(w.client_id, w.req, w.sub_opcode !== SUBOP_LOCAL);
      if (!('device' in d)) {
        keep.push(w);
        continue;
      }
      const s = this.grant(w.client_id, w.req, d.device, d.capacity_kb, w.sub_opcode !== SUBOP_LOCAL);
      if (!s) {
        keep.push(w);
        continue;
      }
      this.release(w.client_id);
      const h: HeaderFields = {
        opcode: OP_ALLOCATE, src_san: w.src_san, dst_san: this.san, client_id: w.client_id, server_id: 0n,
        transaction_id: w.transaction_id, sub_opcode: w.sub_opcode, length: 5, checksum: 0,
      };
      granted.push([w, this.reply(h, OK, SanManager.allocBlock(w.req, s.session_id, d.capacity_kb, d.device.cfg))]);
    }
    this.waiters = keep;
    for (const [w, spec] of granted) {
      this.counters.pushed++;
      this.deliver?.(w.target, spec);
    }
  }

  // ---- session operations -------------------------------------------------------------------

  /** The client's own session, or undefined (other clients' sessions are not revealed). */
  private own(h: HeaderFields, id: number): Session | undefined {
    const s = this.sessionsById.get(id);
    return s && s.client_id === h.client_id ? s : undefined;
  }

  private forwardSession(h: HeaderFields, s: Session, p: BlockRecord): FrameSpec | Promise<FrameSpec> {
    const remote = s.remote!;
    const peer = this.config.peers.find((x) => x.san_id === remote.san_id);
    if (!peer || !this.askPeer) return this.reply(h, TIMEOUT);
    if (!this.take(s.client_id)) return this.reply(h, NO_CAPACITY);
    const timeout = this.forwardBudget(h.opcode === OP_MODIFY ? (p['timeout_ms'] as number) : DEFAULT_TIMEOUT_MS);
    this.counters.forwards++;
    const spec: FrameSpec = {
      opcode: h.opcode!, src_san: this.san, dst_san: remote.san_id, client_id: s.client_id, server_id: remote.server_id,
      transaction_id: this.nextPeerTxid(), sub_opcode: 0,
      payload: { ...p, session_id: remote.session_id, ...(h.opcode === OP_MODIFY ? { timeout_ms: timeout } : {}) },
    };
    return this.askPeer(peer, spec, timeout).catch(() => null).then((r) => {
      this.release(s.client_id);
      if (!r || r.header.sub_opcode === null) return this.reply(h, TIMEOUT);
      const status = r.header.sub_opcode;
      const g = r.payload && !isDevicesPayload(r.payload) ? (r.payload as BlockRecord) : null;
      const live = this.sessionsById.get(s.session_id) === s;
      if (live && status === UNKNOWN_SESSION) {
        this.unbind(s);
        this.changed();
      } else if (live && status === OK) {
        if (h.opcode === OP_FREE && (p['release_kb'] === 0 || (g && g['release_kb'] === 0))) {
          this.unbind(s);
        } else if (h.opcode === OP_FREE && g) {
          s.capacity_kb = Math.max(0, s.capacity_kb - (g['release_kb'] as number));
        } else if (h.opcode === OP_INITIALIZE) {
          s.state = 'ACTIVE';
          if (s.activated_ms === null) s.activated_ms = this.now();
        } else if (h.opcode === OP_MODIFY && g) {
          s.capacity_kb = g['capacity_kb'] as number;
          s.bandwidth_kb = g['bandwidth_kb'] as number;
          s.qos = g['qos'] as number;
          s.flags = (g['flags'] as number) & 0x0f;
          s.exclusive = (s.flags & FLAG_EXCLUSIVE) !== 0;
        }
        if (h.opcode !== OP_STATISTICS) this.changed();
      }
      return this.reply(h, status, g ? { ...g, session_id: s.session_id } : null);
    });
  }

  private initialize(h: HeaderFields, p: BlockRecord): FrameSpec | Promise<FrameSpec> {
    const s = this.own(h, p['session_id'] as number);
    if (!s) return this.reply(h, UNKNOWN_SESSION);
    if (s.remote) return this.forwardSession(h, s, p);
    const sizes = {
      stripe_size: p['stripe_size'] as number,
      cache_line_size: p['cache_line_size'] as number,
      block_size: p['block_size'] as number,
    };
    for (const k of ['stripe_size', 'cache_line_size', 'block_size'] as const) {
      const v = sizes[k];
      const r = INIT_RULES[k];
      if (v !== 0 && (!isPow2(v) || v < r.min || v > r.max)) return this.reply(h, MALFORMED);
    }
    const raid = s.storage_type >= 0x01 && s.storage_type <= 0x05;
    const applied: InitParams = {
      stripe_size: raid ? sizes.stripe_size || INIT_RULES.stripe_size.dflt : 0,
      cache_line_size: sizes.cache_line_size || INIT_RULES.cache_line_size.dflt,
      block_size: sizes.block_size || INIT_RULES.block_size.dflt,
      include_device_id: p['include_device_id'] as number,
      exclude_device_id: p['exclude_device_id'] as number,
    };
    if (raid && applied.stripe_size < applied.block_size) return this.reply(h, MALFORMED);
    const inc = applied.include_device_id;
    const exc = applied.exclude_device_id;
    if (inc !== 0) {
      const d = this.devicesById.get(inc);
      if (!d || d.cfg.device_class !== 3) return this.reply(h, NO_MATCH);
    }
    if (exc !== 0) {
      if (!this.devicesById.has(exc) || exc === s.device_id || exc === inc) return this.reply(h, NO_MATCH);
    }
    s.init = applied;
    s.state = 'ACTIVE';
    if (s.activated_ms === null) s.activated_ms = this.now();
    this.changed();
    return this.reply(h, OK, { session_id: s.session_id, reserved: 0, ...applied });
  }

  private modify(h: HeaderFields, p: BlockRecord): FrameSpec | Promise<FrameSpec> {
    const id = p['session_id'] as number;
    if (id === 0 || p['capacity_kb'] === 0) return this.reply(h, MALFORMED);
    const s = this.own(h, id);
    if (!s) return this.reply(h, UNKNOWN_SESSION);
    if (s.remote) return this.forwardSession(h, s, p);
    const req = SanManager.allocReq(p);
    const d = this.devicesById.get(s.device_id)!;
    if (req.qos > MAX_QOS) return this.reply(h, NO_MATCH);
    if (req.storage_type !== ANY && req.storage_type !== d.cfg.storage_type) return this.reply(h, NO_MATCH);
    if (req.access_type !== ANY && req.access_type !== d.cfg.access_type) return this.reply(h, NO_MATCH);
    if (req.bandwidth_kb > d.cfg.bandwidth_kb) return this.reply(h, NO_MATCH);
    const exclusive = (req.flags & FLAG_EXCLUSIVE) !== 0;
    if (exclusive && !s.exclusive && SanManager.conflicts(d, s.client_id, true)) return this.reply(h, CONFLICT);
    const dCap = req.capacity_kb - s.capacity_kb;
    const dBw = req.bandwidth_kb - s.bandwidth_kb;
    if (dCap > 0 && (!s.expandable || d.cfg.capacity_kb - d.used_kb < dCap)) return this.reply(h, NO_CAPACITY);
    if (dBw > 0 && d.cfg.bandwidth_kb - d.used_bw < dBw) return this.reply(h, NO_CAPACITY);
    const frees = dCap < 0 || dBw < 0 || (s.exclusive && !exclusive);
    this.unbind(s);
    s.capacity_kb = req.capacity_kb;
    s.bandwidth_kb = req.bandwidth_kb;
    s.qos = req.qos;
    s.flags = req.flags & ~FLAG_WAIT;
    s.exclusive = exclusive;
    this.bind(s);
    this.changed();
    const out = this.reply(h, OK, {
      storage_type: s.storage_type, access_type: s.access_type, session_id: s.session_id, capacity_kb: s.capacity_kb,
      bandwidth_kb: s.bandwidth_kb, qos: s.qos, flags: s.flags, timeout_ms: req.timeout_ms,
    });
    if (frees) this.serveWaiters();
    return out;
  }

  private statistics(h: HeaderFields, p: BlockRecord): FrameSpec | Promise<FrameSpec> {
    const s = this.own(h, p['session_id'] as number);
    if (!s) return this.reply(h, UNKNOWN_SESSION);
    if (s.remote) return this.forwardSession(h, s, p);
    return this.reply(h, OK, this.statsBlock(s));
  }

  /** The Statistics block of a local session at the manager's clock. */
  statsBlock(s: Session): BlockRecord {
    const now = this.now();
    const active = s.activated_ms === null ? 0 : Math.max(0, now - s.activated_ms);
    const bw = s.bandwidth_kb > 0 ? s.bandwidth_kb : 1024;
    // Half the bandwidth on average: bw KB/s = bw × 1.024 bytes per ms.
    const total = Math.floor((active * bw * 1024) / 2000);
    const read = Math.floor((total * 3) / 5);
    const ops = Math.floor(total / (s.init?.block_size || INIT_RULES.block_size.dflt));
    return {
      session_id: s.session_id, reserved: 0, age_ms: Math.min(0xffffffff, Math.max(0, Math.floor(now - s.created_ms))),
      bytes_read: read, bytes_written: total - read, io_ops: ops % 0x100000000, io_errors: Math.floor(ops / 10_000_000) % 0x100000000,
    };
  }

  private free(h: HeaderFields, p: BlockRecord): FrameSpec | Promise<FrameSpec> {
    const s = this.own(h, p['session_id'] as number);
    if (!s) return this.reply(h, UNKNOWN_SESSION);
    if (s.remote) return this.forwardSession(h, s, p);
    const release = p['release_kb'] as number;
    let done = release;
    if (release === 0 || release >= s.capacity_kb) {
      this.unbind(s);
      done = 0;
    } else {
      this.unbind(s);
      s.capacity_kb -= release;
      this.bind(s);
    }
    this.changed();
    const out = this.reply(h, OK, { session_id: s.session_id, reserved: 0, release_kb: done });
    this.serveWaiters();
    return out;
  }

  // ---- Announce, teardown -------------------------------------------------------------------

  private onAnnounce(h: HeaderFields, records: BlockRecord[]): void {
    if (h.server_id === this.serverId) return; // our own, looped back
    const sub = h.sub_opcode;
    let torn = 0;
    if (sub === 0x02 && h.server_id !== null && h.server_id !== 0n) {
      for (const s of [...this.sessionsById.values()]) {
        if (s.remote && s.remote.server_id === h.server_id) {
          this.unbind(s);
          torn++;
        }
      }
    }
    let changed = torn > 0;
    for (const r of records) {
      const san = r['san_id'] as number;
      const id = r['device_id'] as number;
      if (san === this.san) {
        const d = this.devicesById.get(id);
        if (!d) {
          // Bounded like foreign devices: a flood of Announces must not grow the device table (and every Allocate's walk) without limit.
          if (sub !== 0x03 && id !== 0 && this.dynamicDevices < MAX_FOREIGN) {
            this.dynamicDevices++;
            this.addDevice({
              device_id: id, device_class: r['device_class'] as number, storage_type: r['storage_type'] as number,
              access_type: r['access_type'] as number, capacity_kb: r['free_kb'] as number,
              bandwidth_kb: r['bandwidth_kb'] as number, device_flags: r['device_flags'] as number, san_id: san,
            }, true);
            changed = true;
          }
          continue;
        }
        if (sub === 0x02 || (sub === 0x03 && d.dynamic)) {
          torn += this.teardownDevice(id);
          changed = true;
        }
        if (sub === 0x03 && d.dynamic) {
          this.devicesById.delete(id);
          this.dynamicDevices--;
          this.queryCache.clear();
        }
      } else {
        const key = `${san}:${id}`;
        if (sub === 0x03) this.foreign.delete(key);
        else if (this.foreign.has(key) || this.foreign.size < MAX_FOREIGN) this.foreign.set(key, { ...r, reserved: 0 });
        this.queryCache.clear();
      }
    }
    if (changed) this.changed();
    if (torn > 0) this.serveWaiters();
  }

  private teardownDevice(deviceId: number): number {
    let n = 0;
    for (const s of [...this.sessionsById.values()]) {
      if (!s.remote && s.device_id === deviceId) {
        this.unbind(s);
        n++;
      }
    }
    return n;
  }

  /** Tears down every session (what a boot Announce of this server means). Returns how many. */
  teardownAll(): number {
    const n = this.sessionsById.size;
    for (const s of [...this.sessionsById.values()]) this.unbind(s);
    if (n > 0) this.changed();
    this.serveWaiters();
    return n;
  }

  /** An Announce of this manager's devices (sub-op 0x01 periodic, 0x02 boot, 0x03 leaving). */
  announceSpec(sub: number, transaction_id = 0, dst_san = ALL_SANS): FrameSpec {
    const devices = [...this.devicesById.values()].filter((d) => !d.dynamic).map((d) => this.record(d));
    return {
      opcode: OP_ANNOUNCE, src_san: this.san, dst_san, client_id: 0n, server_id: this.serverId, transaction_id,
      sub_opcode: sub, payload: { devices: this.cap(devices) },
    };
  }

  // ---- persistence ---------------------------------------------------------------------------

  snapshot(): ManagerState {
    return {
      version: 1,
      san_id: this.san,
      server_id: hex(this.serverId),
      next_session_id: this.nextSessionId,
      saved_at: new Date(this.now()).toISOString(),
      sessions: this.sessions().map((s) => ({
        ...s,
        init: s.init ? { ...s.init } : null,
        client_id: hex(s.client_id),
        remote: s.remote ? { san_id: s.remote.san_id, server_id: hex(s.remote.server_id), session_id: s.remote.session_id } : null,
      })),
    };
  }

  /**
   * Restores a snapshot. The session-id counter always survives, so ids are
   * not reused. mode 'keep' restores the sessions (those on devices no longer
   * configured are dropped); 'teardown' drops them all. Returns the counts.
   */
  restore(state: ManagerState, mode: 'keep' | 'teardown' = 'keep'): { restored: number; dropped: number } {
    if (state.version !== 1 || !Array.isArray(state.sessions)) throw new Error('state: unknown format');
    for (const s of [...this.sessionsById.values()]) this.unbind(s);
    const n = Number(state.next_session_id);
    this.nextSessionId = Number.isInteger(n) && n >= 1 && n <= 0xffff ? n : 1;
    let restored = 0;
    let dropped = 0;
    for (const j of state.sessions) {
      const remote = j.remote ? { san_id: j.remote.san_id, server_id: BigInt(j.remote.server_id), session_id: j.remote.session_id } : null;
      const ok = mode === 'keep' && !this.sessionsById.has(j.session_id)
        && (remote ? this.config.peers.some((p) => p.san_id === remote.san_id) : this.devicesById.has(j.device_id));
      if (!ok) {
        dropped++;
        continue;
      }
      this.bind({ ...j, init: j.init ? { ...j.init } : null, client_id: BigInt(j.client_id), remote });
      restored++;
    }
    return { restored, dropped };
  }
}
