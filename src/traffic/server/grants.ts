// Granting an Allocate: the request block typed, a local session made on a
// placement decision, PENDING registrations and their later grants.

import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { AllocRecord } from '../../protocol/access.js';
import { OP_ALLOCATE } from '../../protocol/fields.js';
import type { DeviceConfig } from '../config.js';
import type { ManagerContext } from './context.js';
import type { DeviceState } from './devices.js';
import {
  CONFLICT, FLAG_EXCLUSIVE, FLAG_WAIT, NO_CAPACITY, OK, PENDING, SUBOP_LOCAL, type AllocReq, type Session,
} from './model.js';
import { decide } from './placement.js';

export function allocReq(p: AllocRecord): AllocReq {
  return {
    storage_type: p.storage_type, access_type: p.access_type, capacity_kb: p.capacity_kb, bandwidth_kb: p.bandwidth_kb,
    qos: p.qos, flags: p.flags & 0x0f, timeout_ms: p.timeout_ms,
  };
}

/** The Allocate block of a reply: the device's types when placed, else the request's. */
export function allocBlock(req: AllocReq, session_id: number, capacity_kb = req.capacity_kb, d?: DeviceConfig): AllocRecord {
  return {
    storage_type: d ? d.storage_type : req.storage_type, access_type: d ? d.access_type : req.access_type,
    session_id, capacity_kb, bandwidth_kb: req.bandwidth_kb, qos: req.qos, flags: req.flags, timeout_ms: req.timeout_ms,
  };
}

/**
 * The quota a new session of `capacity_kb` for `client` at `source` would
 * exceed (limits.max_sessions_per_client, max_sessions_per_source,
 * max_capacity_per_client_kb), or null when it fits.
 */
export function overQuota<T>(ctx: ManagerContext<T>, client: bigint, source: string | null, capacity_kb: number): string | null {
  const l = ctx.config.limits;
  const [n, kb] = ctx.table.clientUsage(client);
  if (n >= l.max_sessions_per_client) return 'quota_sessions_per_client';
  if (source !== null && ctx.table.sourceUsage(source) >= l.max_sessions_per_source) return 'quota_sessions_per_source';
  if (l.max_capacity_per_client_kb > 0 && kb + capacity_kb > l.max_capacity_per_client_kb) return 'quota_capacity_per_client';
  return null;
}

/** NO_CAPACITY for a request over a quota (logged), or null when it fits. */
export function quotaRefusal<T>(ctx: ManagerContext<T>, h: HeaderFields, source: string | null, capacity_kb: number): FrameSpec | null {
  const why = overQuota(ctx, h.client_id!, source, capacity_kb);
  if (why === null) return null;
  ctx.refused({ reason: why, source, client_id: h.client_id!, detail: `op=Allocate txid=${h.transaction_id}` });
  return ctx.reply(h, NO_CAPACITY);
}

/** Creates a local session for a decision; null when all 65,535 session ids are in use. */
export function grant<T>(
  ctx: ManagerContext<T>, client: bigint, req: AllocReq, dev: DeviceState, capacity_kb: number, expandable: boolean,
  source: string | null,
): Session | null {
  const id = ctx.table.newId();
  if (id === null) return null;
  const s: Session = {
    session_id: id, client_id: client, device_id: dev.cfg.device_id, storage_type: dev.cfg.storage_type,
    access_type: dev.cfg.access_type, capacity_kb, bandwidth_kb: req.bandwidth_kb, qos: req.qos, flags: req.flags,
    exclusive: (req.flags & FLAG_EXCLUSIVE) !== 0, expandable, state: 'ALLOCATED', created_ms: ctx.now(),
    activated_ms: null, init: null, remote: null, source,
  };
  ctx.table.bind(s);
  ctx.changed();
  return s;
}

/** A refusal, or PENDING when the client asked to WAIT and waiting can help. */
export function refuse<T>(
  ctx: ManagerContext<T>, h: HeaderFields, req: AllocReq, status: number, target: T, source: string | null,
): FrameSpec {
  if ((req.flags & FLAG_WAIT) !== 0 && (status === NO_CAPACITY || status === CONFLICT)) {
    if (!ctx.waits.take(h.client_id!)) return ctx.reply(h, NO_CAPACITY);
    ctx.waits.push({
      client_id: h.client_id!, transaction_id: h.transaction_id!, src_san: h.src_san!, sub_opcode: h.sub_opcode!,
      req: { ...req }, target, source: source ?? undefined,
    });
    return ctx.reply(h, PENDING, allocBlock(req, 0));
  }
  return ctx.reply(h, status);
}

/** Grants WAIT registrations that fit now, in arrival order; pushes their second replies. */
export function serveWaiters<T>(ctx: ManagerContext<T>): void {
  const granted = ctx.waits.serve((w) => {
    const d = decide(ctx.registry, w.client_id, w.req, w.sub_opcode !== SUBOP_LOCAL);
    if (!('device' in d)) return null;
    // Over a quota (the client took sessions meanwhile): it waits until its own go.
    if (overQuota(ctx, w.client_id, w.source ?? null, d.capacity_kb) !== null) return null;
    const s = grant(ctx, w.client_id, w.req, d.device, d.capacity_kb, w.sub_opcode !== SUBOP_LOCAL, w.source ?? null);
    if (!s) return null;
    const h: HeaderFields = {
      opcode: OP_ALLOCATE, src_san: w.src_san, dst_san: ctx.san, client_id: w.client_id, server_id: 0n,
      transaction_id: w.transaction_id, sub_opcode: w.sub_opcode, length: 5, checksum: 0,
    };
    return ctx.reply(h, OK, allocBlock(w.req, s.session_id, d.capacity_kb, d.device.cfg));
  });
  for (const [w, spec] of granted) {
    ctx.counters.pushed++;
    ctx.deliver?.(w.target, spec);
  }
}
