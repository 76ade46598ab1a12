// Allocate: a local grant by placement, else forwarding (0xFF), else a
// refusal or PENDING.

import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { AllocRecord } from '../../protocol/access.js';
import type { ManagerContext } from './context.js';
import { allocBlock, allocReq, grant, quotaRefusal, refuse } from './grants.js';
import { MALFORMED, MAX_QOS, NO_CAPACITY, OK, SUBOP_ANYWHERE, SUBOP_EXPAND, SUBOP_LOCAL } from './model.js';
import { decide } from './placement.js';
import { forwardAllocate } from './proxy.js';

export function allocate<T>(
  ctx: ManagerContext<T>, h: HeaderFields, p: AllocRecord, target: T, source: string | null,
): FrameSpec | Promise<FrameSpec> {
  if (p.session_id !== 0 || p.capacity_kb === 0) return ctx.reply(h, MALFORMED);
  const req = allocReq(p);
  const over = quotaRefusal(ctx, h, source, req.capacity_kb);
  if (over) return over;
  const sub = h.sub_opcode!;
  const client = h.client_id!;
  const d = decide(ctx.registry, client, req, sub === SUBOP_EXPAND);
  if ('device' in d) {
    const s = grant(ctx, client, req, d.device, d.capacity_kb, sub !== SUBOP_LOCAL, source);
    if (!s) return ctx.reply(h, NO_CAPACITY);
    return ctx.reply(h, OK, allocBlock(req, s.session_id, d.capacity_kb, d.device.cfg));
  }
  if (sub === SUBOP_ANYWHERE && ctx.askPeer && ctx.config.peers.length > 0 && req.qos <= MAX_QOS) {
    if (!ctx.waits.take(client)) return ctx.reply(h, NO_CAPACITY);
    return forwardAllocate(ctx, h, req, target, source);
  }
  return refuse(ctx, h, req, d.status, target, source);
}
