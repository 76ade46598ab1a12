// Proxy sessions and forwarding to peer SANs: an Allocate 0xFF the local SAN
// cannot serve whole goes to the peers one by one; a relayed grant becomes a
// local proxy session whose operations are forwarded to the peer's session.

import {
  recordAs, type AllocRecord, type FreeRecord, type InitRecord, type SessionRefRecord,
} from '../../protocol/access.js';
import { isDevicesPayload, type HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import { ALLOC_BLOCK, FREE_BLOCK, OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_STATISTICS } from '../../protocol/fields.js';
import type { ManagerContext } from './context.js';
import { allocBlock, grant, refuse } from './grants.js';
import {
  CONFLICT, DEFAULT_TIMEOUT_MS, FLAG_EXCLUSIVE, FLAG_WAIT, NO_CAPACITY, NO_MATCH, OK, SUBOP_LOCAL, TIMEOUT,
  UNKNOWN_SESSION, type AllocReq, type Session,
} from './model.js';
import { decide } from './placement.js';

/**
 * Forwards an Allocate 0xFF to the peers in ascending SAN order and relays the
 * first grant as a proxy session; then a partial local grant, PENDING (WAIT),
 * TIMEOUT (a peer did not answer) or the most telling status. The caller has
 * taken the client's outstanding slot; it is released here.
 */
export async function forwardAllocate<T>(
  ctx: ManagerContext<T>, h: HeaderFields, req: AllocReq, target: T, source: string | null,
): Promise<FrameSpec> {
  const client = h.client_id!;
  const deadline = ctx.now() + ctx.forwardBudget(req.timeout_ms);
  let timedOut = false;
  const statuses: number[] = [];
  try {
    for (const peer of ctx.config.peers) {
      const remaining = Math.floor(deadline - ctx.now());
      if (remaining <= 0) {
        timedOut = true;
        break;
      }
      ctx.counters.forwards++;
      const r = await ctx.askPeer!(peer, {
        opcode: OP_ALLOCATE, src_san: ctx.san, dst_san: peer.san_id, client_id: client, server_id: 0n,
        transaction_id: ctx.nextPeerTxid(), sub_opcode: SUBOP_LOCAL,
        payload: { ...allocBlock(req, 0), flags: req.flags & ~FLAG_WAIT, timeout_ms: remaining },
      }, remaining).catch(() => null);
      if (!r || r.header.sub_opcode === null) {
        timedOut = true;
        continue;
      }
      const status = r.header.sub_opcode;
      const g = status === OK ? recordAs(r.payloadBlock, r.payload, ALLOC_BLOCK) : null;
      if (g) {
        const id = ctx.table.newId();
        if (id === null) return ctx.reply(h, NO_CAPACITY);
        const s: Session = {
          session_id: id, client_id: client, device_id: 0, storage_type: g.storage_type, access_type: g.access_type,
          capacity_kb: g.capacity_kb, bandwidth_kb: g.bandwidth_kb, qos: g.qos, flags: g.flags & 0x0f,
          exclusive: (g.flags & FLAG_EXCLUSIVE) !== 0, expandable: false, state: 'ALLOCATED',
          created_ms: ctx.now(), activated_ms: null, init: null,
          remote: { san_id: peer.san_id, server_id: r.header.server_id ?? 0n, session_id: g.session_id }, source,
        };
        ctx.table.bind(s);
        ctx.changed();
        return ctx.reply(h, OK, { ...g, session_id: id, timeout_ms: req.timeout_ms });
      }
      statuses.push(status);
    }
  } finally {
    ctx.waits.release(client);
  }
  // No peer granted: what a local 0x02 would do, then WAIT, then TIMEOUT.
  const d = decide(ctx.registry, client, req, true);
  if ('device' in d) {
    const s = grant(ctx, client, req, d.device, d.capacity_kb, true, source);
    if (s) return ctx.reply(h, OK, allocBlock(req, s.session_id, d.capacity_kb, d.device.cfg));
    return ctx.reply(h, NO_CAPACITY);
  }
  if ((req.flags & FLAG_WAIT) !== 0 && (d.status === NO_CAPACITY || d.status === CONFLICT)) {
    return refuse(ctx, h, req, d.status, target, source);
  }
  if (timedOut) return ctx.reply(h, TIMEOUT);
  let status = d.status;
  if (status === NO_MATCH) {
    if (statuses.includes(NO_CAPACITY)) status = NO_CAPACITY;
    else if (statuses.includes(CONFLICT)) status = CONFLICT;
  }
  return ctx.reply(h, status);
}

/** The request block of a session operation: Modify's Allocate block, Initialize's, Free's, Statistics' reference. */
export type SessionRequest = AllocRecord | InitRecord | FreeRecord | SessionRefRecord;

/** Forwards Initialize/Modify/Statistics/Free of a proxy session to the peer's session and mirrors the outcome. */
export function forwardSession<T>(ctx: ManagerContext<T>, h: HeaderFields, s: Session, p: SessionRequest): FrameSpec | Promise<FrameSpec> {
  const remote = s.remote!;
  const peer = ctx.config.peers.find((x) => x.san_id === remote.san_id);
  if (!peer || !ctx.askPeer) return ctx.reply(h, TIMEOUT);
  if (!ctx.waits.take(s.client_id)) return ctx.reply(h, NO_CAPACITY);
  const timeout = ctx.forwardBudget('timeout_ms' in p ? p.timeout_ms : DEFAULT_TIMEOUT_MS);
  ctx.counters.forwards++;
  const spec: FrameSpec = {
    opcode: h.opcode!, src_san: ctx.san, dst_san: remote.san_id, client_id: s.client_id, server_id: remote.server_id,
    transaction_id: ctx.nextPeerTxid(), sub_opcode: 0,
    payload: { ...p, session_id: remote.session_id, ...(h.opcode === OP_MODIFY ? { timeout_ms: timeout } : {}) },
  };
  return ctx.askPeer(peer, spec, timeout).catch(() => null).then((r) => {
    ctx.waits.release(s.client_id);
    if (!r || r.header.sub_opcode === null) return ctx.reply(h, TIMEOUT);
    const status = r.header.sub_opcode;
    const g = r.payload && !isDevicesPayload(r.payload) ? r.payload : null;
    const freed = recordAs(r.payloadBlock, r.payload, FREE_BLOCK);
    const modified = recordAs(r.payloadBlock, r.payload, ALLOC_BLOCK);
    const live = ctx.table.get(s.session_id) === s;
    if (live && status === UNKNOWN_SESSION) {
      ctx.table.unbind(s);
      ctx.changed();
    } else if (live && status === OK) {
      if (h.opcode === OP_FREE && (('release_kb' in p && p.release_kb === 0) || freed?.release_kb === 0)) {
        ctx.table.unbind(s);
      } else if (h.opcode === OP_FREE && freed) {
        s.capacity_kb = Math.max(0, s.capacity_kb - freed.release_kb);
        ctx.table.touch(s);
      } else if (h.opcode === OP_INITIALIZE) {
        s.state = 'ACTIVE';
        if (s.activated_ms === null) s.activated_ms = ctx.now();
        ctx.table.touch(s);
      } else if (h.opcode === OP_MODIFY && modified) {
        s.capacity_kb = modified.capacity_kb;
        s.bandwidth_kb = modified.bandwidth_kb;
        s.qos = modified.qos;
        s.flags = modified.flags & 0x0f;
        s.exclusive = (s.flags & FLAG_EXCLUSIVE) !== 0;
        ctx.table.touch(s);
      }
      if (h.opcode !== OP_STATISTICS) ctx.changed();
    }
    return ctx.reply(h, status, g ? { ...g, session_id: s.session_id } : null);
  });
}
