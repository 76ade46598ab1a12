// The session lifecycle after the grant: Initialize, Modify, Free and
// Statistics of a client's own session (a proxy session's go to its peer).

import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { AllocRecord, FreeRecord, InitRecord, SessionRefRecord } from '../../protocol/access.js';
import type { ManagerContext } from './context.js';
import { allocReq, serveWaiters } from './grants.js';
import {
  ANY, CONFLICT, FLAG_EXCLUSIVE, FLAG_WAIT, INIT_RULES, MALFORMED, MAX_QOS, NO_CAPACITY, NO_MATCH, OK, UNKNOWN_SESSION,
  type InitParams, type Session,
} from './model.js';
import { conflicts } from './placement.js';
import { forwardSession } from './proxy.js';
import { statsBlock } from './statistics.js';

type Reply = FrameSpec | Promise<FrameSpec>;

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** The session named by the request if the requester owns it; other clients' sessions are not revealed. */
export type OwnLookup = (h: HeaderFields, id: number) => Session | undefined;

export function initialize<T>(ctx: ManagerContext<T>, own: OwnLookup, h: HeaderFields, p: InitRecord): Reply {
  const s = own(h, p.session_id);
  if (!s) return ctx.reply(h, UNKNOWN_SESSION);
  if (s.remote) return forwardSession(ctx, h, s, p);
  const sizes = { stripe_size: p.stripe_size, cache_line_size: p.cache_line_size, block_size: p.block_size };
  for (const k of ['stripe_size', 'cache_line_size', 'block_size'] as const) {
    const v = sizes[k];
    const r = INIT_RULES[k];
    if (v !== 0 && (!isPow2(v) || v < r.min || v > r.max)) return ctx.reply(h, MALFORMED);
  }
  const raid = s.storage_type >= 0x01 && s.storage_type <= 0x05;
  const applied: InitParams = {
    stripe_size: raid ? sizes.stripe_size || INIT_RULES.stripe_size.dflt : 0,
    cache_line_size: sizes.cache_line_size || INIT_RULES.cache_line_size.dflt,
    block_size: sizes.block_size || INIT_RULES.block_size.dflt,
    include_device_id: p.include_device_id,
    exclude_device_id: p.exclude_device_id,
  };
  if (raid && applied.stripe_size < applied.block_size) return ctx.reply(h, MALFORMED);
  const inc = applied.include_device_id;
  const exc = applied.exclude_device_id;
  if (inc !== 0) {
    const d = ctx.registry.get(inc);
    if (!d || d.cfg.device_class !== 3) return ctx.reply(h, NO_MATCH);
  }
  if (exc !== 0) {
    if (!ctx.registry.has(exc) || exc === s.device_id || exc === inc) return ctx.reply(h, NO_MATCH);
  }
  s.init = applied;
  s.state = 'ACTIVE';
  if (s.activated_ms === null) s.activated_ms = ctx.now();
  ctx.table.touch(s);
  ctx.changed();
  return ctx.reply(h, OK, { session_id: s.session_id, reserved: 0, ...applied });
}

export function modify<T>(ctx: ManagerContext<T>, own: OwnLookup, h: HeaderFields, p: AllocRecord): Reply {
  const id = p.session_id;
  if (id === 0 || p.capacity_kb === 0) return ctx.reply(h, MALFORMED);
  const s = own(h, id);
  if (!s) return ctx.reply(h, UNKNOWN_SESSION);
  if (s.remote) return forwardSession(ctx, h, s, p);
  const req = allocReq(p);
  const d = ctx.registry.get(s.device_id)!;
  if (req.qos > MAX_QOS) return ctx.reply(h, NO_MATCH);
  if (req.storage_type !== ANY && req.storage_type !== d.cfg.storage_type) return ctx.reply(h, NO_MATCH);
  if (req.access_type !== ANY && req.access_type !== d.cfg.access_type) return ctx.reply(h, NO_MATCH);
  if (req.bandwidth_kb > d.cfg.bandwidth_kb) return ctx.reply(h, NO_MATCH);
  const exclusive = (req.flags & FLAG_EXCLUSIVE) !== 0;
  if (exclusive && !s.exclusive && conflicts(d, s.client_id, true)) return ctx.reply(h, CONFLICT);
  const dCap = req.capacity_kb - s.capacity_kb;
  const dBw = req.bandwidth_kb - s.bandwidth_kb;
  if (dCap > 0 && (!s.expandable || d.cfg.capacity_kb - d.used_kb < dCap)) return ctx.reply(h, NO_CAPACITY);
  if (dBw > 0 && d.cfg.bandwidth_kb - d.used_bw < dBw) return ctx.reply(h, NO_CAPACITY);
  const frees = dCap < 0 || dBw < 0 || (s.exclusive && !exclusive);
  ctx.table.resize(s, (x) => {
    x.capacity_kb = req.capacity_kb;
    x.bandwidth_kb = req.bandwidth_kb;
    x.qos = req.qos;
    x.flags = req.flags & ~FLAG_WAIT;
    x.exclusive = exclusive;
  });
  ctx.changed();
  const out = ctx.reply(h, OK, {
    storage_type: s.storage_type, access_type: s.access_type, session_id: s.session_id, capacity_kb: s.capacity_kb,
    bandwidth_kb: s.bandwidth_kb, qos: s.qos, flags: s.flags, timeout_ms: req.timeout_ms,
  });
  if (frees) serveWaiters(ctx);
  return out;
}

export function statistics<T>(ctx: ManagerContext<T>, own: OwnLookup, h: HeaderFields, p: SessionRefRecord): Reply {
  const s = own(h, p.session_id);
  if (!s) return ctx.reply(h, UNKNOWN_SESSION);
  if (s.remote) return forwardSession(ctx, h, s, p);
  return ctx.reply(h, OK, statsBlock(s, ctx.now()));
}

export function free<T>(ctx: ManagerContext<T>, own: OwnLookup, h: HeaderFields, p: FreeRecord): Reply {
  const s = own(h, p.session_id);
  if (!s) return ctx.reply(h, UNKNOWN_SESSION);
  if (s.remote) return forwardSession(ctx, h, s, p);
  const release = p.release_kb;
  let done = release;
  if (release === 0 || release >= s.capacity_kb) {
    ctx.table.unbind(s);
    done = 0;
  } else {
    ctx.table.resize(s, (x) => {
      x.capacity_kb -= release;
    });
  }
  ctx.changed();
  const out = ctx.reply(h, OK, { session_id: s.session_id, reserved: 0, release_kb: done });
  serveWaiters(ctx);
  return out;
}
