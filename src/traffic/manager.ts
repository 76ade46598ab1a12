// The SAN manager (VVMP.md sections 3–7) as a pure state machine: decoded
// requests and a clock in, reply specs out. This file dispatches; the pieces
// live in server/ (devices, placement, sessions, grants, proxy, waitQueue,
// query, announces, statistics, persistence; see server/README.md). No sockets: peers are reached
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
// * Sessions belong to their client_id and the source address that
//   allocated them, not to a connection: a disconnect does not end them. A
//   session of another client, or named from another address, is
//   UNKNOWN_SESSION (not DENIED: DENIED means outside the security domain,
//   and we do not reveal other clients' sessions). Session ids are random.
//   The domain (client ids and networks), Announce networks, teardown rights
//   and quotas: spec/SERVER.md.
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
//   out, the reply is still OK). A list over the payload limit is TOO_LARGE
//   with no payload, never cut. free_kb is capacity minus what sessions use;
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

import { devicesAs, recordAs, type DeviceRecord, type StatsRecord } from '../protocol/access.js';
import type { DecodedFrame, HeaderFields } from '../protocol/decode.js';
import type { FrameSpec } from '../protocol/encode.js';
import {
  ALLOC_BLOCK, FREE_BLOCK, INIT_BLOCK, SESSION_REF, OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS, REPLY_BIT, HEADER_SIZE,
} from '../protocol/fields.js';
import type { ServerConfig } from './config.js';
import { allocate } from './server/allocate.js';
import { announceAllowed, announceSpec, onAnnounce, teardownAll } from './server/announces.js';
import type { ManagerContext } from './server/context.js';
import { DeviceRegistry, type DeviceView } from './server/devices.js';
import {
  BAD_CHECKSUM, DEFAULT_TIMEOUT_MS, DENIED, MALFORMED, UNSUPPORTED, type AskPeer, type ManagerCounters, type Refusal, type Session,
} from './server/model.js';
import { NetworkSet, normalizeAddress } from './server/networks.js';
import { restore, snapshot, type ManagerState } from './server/persistence.js';
import { query } from './server/query.js';
import { free, initialize, modify, statistics } from './server/sessionOps.js';
import { SessionTable } from './server/sessions.js';
import { statsBlock } from './server/statistics.js';
import { WaitQueue } from './server/waitQueue.js';

export {
  OK, PENDING, NO_CAPACITY, NO_MATCH, UNKNOWN_SESSION, DENIED, CONFLICT, MALFORMED, BAD_CHECKSUM, UNSUPPORTED, TIMEOUT,
  TOO_LARGE,
  FLAG_EXCLUSIVE, FLAG_MIRROR, FLAG_BACKUP, FLAG_WAIT, SUBOP_LOCAL, SUBOP_EXPAND, SUBOP_ANYWHERE, ALL_SANS, INIT_RULES,
  type SessionState, type InitParams, type RemoteRef, type Session, type ManagerCounters, type Refusal,
} from './server/model.js';
export type { ManagerState } from './server/persistence.js';
export type { DeviceView } from './server/devices.js';

export interface ManagerOptions<T> {
  config: ServerConfig;
  /** Wall clock in ms (default Date.now); ages and statistics follow it. */
  now?: () => number;
  /**
   * Sends a request to a peer manager and resolves with its reply, or null
   * when it did not answer within timeoutMs (refused and reset count as no answer).
   */
  askPeer?: AskPeer;
  /** Pushes a reply that answers an earlier request (PENDING's second reply). */
  deliver?: (target: T, reply: FrameSpec) => void;
  /** Called after every change of sessions or devices (persistence). */
  onChange?: () => void;
  /** Called for every request or Announce refused for security or quota reasons (the log). */
  onRefused?: (r: Refusal) => void;
  /** Session ids drawn at random (default; servers) or counted up from 1 (deterministic tests). */
  sessionIds?: 'random' | 'sequential';
}

function hasFinding(f: DecodedFrame, code: string): boolean {
  for (const x of f.findings) if (x.code === code) return true;
  return false;
}

export class SanManager<T = unknown> implements ManagerContext<T> {
  readonly config: ServerConfig;
  readonly san: number;
  readonly serverId: bigint;
  readonly now: () => number;
  readonly askPeer: AskPeer | undefined;
  readonly deliver: ((target: T, reply: FrameSpec) => void) | undefined;
  private readonly onChange: (() => void) | undefined;
  private readonly onRefused: ((r: Refusal) => void) | undefined;
  private readonly allowed: Set<bigint> | null;
  private readonly clientNets: NetworkSet;
  private readonly deviceNets: NetworkSet;
  readonly registry: DeviceRegistry;
  readonly table: SessionTable;
  readonly waits: WaitQueue<T>;
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
    this.onRefused = opts.onRefused;
    this.clientNets = new NetworkSet(opts.config.client_networks);
    this.deviceNets = new NetworkSet(opts.config.device_networks);
    this.allowed = opts.config.allowed_clients === 'open' ? null : new Set(opts.config.allowed_clients);
    this.peerTxid = 0x80000000 + (opts.config.san_id & 0x7fff) * 0x10000;
    this.registry = new DeviceRegistry(this.san, (recs) => this.cap(recs));
    this.table = new SessionTable(this.registry, opts.sessionIds ?? 'random');
    this.waits = new WaitQueue<T>(() => this.config.limits.max_outstanding_per_client);
    for (const d of opts.config.devices) this.registry.add({ ...d }, false);
  }

  // ---- views --------------------------------------------------------------------------

  /** Live sessions, by session id. */
  sessions(): Session[] {
    return this.table.sorted();
  }

  session(id: number): Session | undefined {
    return this.table.get(id);
  }

  devices(): DeviceView[] {
    return this.registry.views();
  }

  /** Clients' WAIT registrations not yet granted. */
  get waiting(): number {
    return this.waits.length;
  }

  /** WAIT registrations plus forwards in flight, all clients. */
  get outstandingTotal(): number {
    return this.waits.outstandingTotal;
  }

  // ---- entry point ----------------------------------------------------------------------

  /**
   * Handles one received frame. Returns the reply (sync for local work, a
   * promise when peers are asked), or null when the frame gets no reply
   * (replies, Announces, fewer than 2 bytes). `from` is the sender's network
   * address: with it the security domain is enforced (client networks,
   * session ownership by client id and source, Announce networks and
   * teardown rights); without it (a manager driven without sockets) every
   * sender is trusted and sessions belong to their client id alone.
   */
  handle(f: DecodedFrame, target: T, from?: string): FrameSpec | null | Promise<FrameSpec | null> {
    const h = f.header;
    const source = from === undefined ? undefined : normalizeAddress(from);
    if (h.opcode === null || (h.opcode & REPLY_BIT) !== 0) {
      this.counters.ignored++;
      return null;
    }
    if (h.opcode === OP_ANNOUNCE) {
      this.counters.announces++;
      const devices = f.checksumOk && f.complete ? devicesAs(f.payloadBlock, f.payload) : null;
      if (!devices) return null;
      if (source !== undefined && !announceAllowed(this, this.deviceNets, source)) {
        this.refused({ reason: 'announce_network', source, detail: `sub=0x${(h.sub_opcode ?? 0).toString(16).padStart(2, '0')} devices=${devices.length}` });
        return null;
      }
      onAnnounce(this, h, devices, source);
      return null;
    }
    this.counters.requests++;
    if (f.bytes.length < HEADER_SIZE) return this.reply(h, MALFORMED);
    if (!f.checksumOk) return this.reply(h, BAD_CHECKSUM);
    if (!f.complete || f.trailing > 0) return this.reply(h, MALFORMED);
    const def = f.def;
    if (!def || !(h.sub_opcode! in def.subops)) return this.reply(h, UNSUPPORTED);
    if (hasFinding(f, 'payload_size') || (def.request !== null && f.payload === null)) return this.reply(h, MALFORMED);
    if (this.allowed !== null && !this.allowed.has(h.client_id!)) {
      this.refused({ reason: 'client_not_in_domain', source: source ?? null, client_id: h.client_id!, detail: `txid=${h.transaction_id}` });
      return this.reply(h, DENIED);
    }
    if (source !== undefined && !this.clientNets.has(source)) {
      this.refused({ reason: 'network_not_in_domain', source, client_id: h.client_id!, detail: `txid=${h.transaction_id}` });
      return this.reply(h, DENIED);
    }
    // Another owner's session is answered like one that does not exist.
    const own = (rq: HeaderFields, id: number): Session | undefined => {
      const s = this.table.own(rq.client_id!, id, source);
      if (!s && this.table.has(id)) {
        this.refused({ reason: 'session_not_owned', source: source ?? null, client_id: rq.client_id!, detail: `session=${id} txid=${rq.transaction_id}` });
      }
      return s;
    };
    // The request block, typed by its layout (the checks above made sure it is the opcode's).
    const { payloadBlock: block, payload } = f;
    const malformed = () => this.reply(h, MALFORMED);
    switch (h.opcode) {
      case OP_QUERY:
        return query(this, h, Math.min(this.config.limits.max_payload, 4 * 0xffff));
      case OP_ALLOCATE: {
        const p = recordAs(block, payload, ALLOC_BLOCK);
        return p ? allocate(this, h, p, target, source ?? null) : malformed();
      }
      case OP_INITIALIZE: {
        const p = recordAs(block, payload, INIT_BLOCK);
        return p ? initialize(this, own, h, p) : malformed();
      }
      case OP_FREE: {
        const p = recordAs(block, payload, FREE_BLOCK);
        return p ? free(this, own, h, p) : malformed();
      }
      case OP_MODIFY: {
        const p = recordAs(block, payload, ALLOC_BLOCK);
        return p ? modify(this, own, h, p) : malformed();
      }
      case OP_STATISTICS: {
        const p = recordAs(block, payload, SESSION_REF);
        return p ? statistics(this, own, h, p) : malformed();
      }
      default:
        return this.reply(h, UNSUPPORTED);
    }
  }

  /** Drops the WAIT registrations that would be delivered to `target` (its connection closed). */
  dropTarget(target: T): number {
    return this.waits.dropTarget(target);
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

  changed(): void {
    this.onChange?.();
  }

  refused(r: Refusal): void {
    this.onRefused?.(r);
  }

  nextPeerTxid(): number {
    const t = this.peerTxid;
    this.peerTxid = this.peerTxid >= 0xffffffff ? 0x80000000 : this.peerTxid + 1;
    return t;
  }

  forwardBudget(timeoutMs: number): number {
    return Math.max(1, Math.min(this.config.limits.peer_timeout_ms, Math.floor(((timeoutMs || DEFAULT_TIMEOUT_MS) * 3) / 4)));
  }

  /** Keeps this manager's own Announce within the payload limit and one UDP datagram. */
  private cap(recs: DeviceRecord[]): DeviceRecord[] {
    const max = Math.floor(Math.min(this.config.limits.max_payload, 65507 - HEADER_SIZE) / 20);
    return recs.length > max ? recs.slice(0, max) : recs;
  }

  /** Device records for a Query sub-op answered from local knowledge (0x01, 0x02, 0x03). */
  deviceRecords(sub: number): DeviceRecord[] {
    return this.registry.records(sub);
  }

  /** The Statistics block of a local session at the manager's clock. */
  statsBlock(s: Session): StatsRecord {
    return statsBlock(s, this.now());
  }

  // ---- Announces, teardown, persistence --------------------------------------------------------

  /** Tears down every session (what a boot Announce of this server means). Returns how many. */
  teardownAll(): number {
    return teardownAll(this);
  }

  /** An Announce of this manager's devices (sub-op 0x01 periodic, 0x02 boot, 0x03 leaving). */
  announceSpec(sub: number, transaction_id = 0, dst_san?: number): FrameSpec {
    return announceSpec(this, sub, transaction_id, dst_san);
  }

  snapshot(): ManagerState {
    return snapshot(this.config, this.table, this.now());
  }

  /**
   * Restores a snapshot. The session-id counter always survives, so ids are
   * not reused. mode 'keep' restores the sessions (those on devices no longer
   * configured are dropped); 'teardown' drops them all. Returns the counts.
   */
  restore(state: ManagerState, mode: 'keep' | 'teardown' = 'keep'): { restored: number; dropped: number } {
    return restore(this.config, this.registry, this.table, state, mode);
  }
}
