// Announces (0x0007, never answered): registering and removing devices heard
// on the network, boot teardowns, and this manager's own Announces.

import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { BlockRecord } from '../../protocol/codec.js';
import { OP_ANNOUNCE } from '../../protocol/fields.js';
import type { ManagerContext } from './context.js';
import { serveWaiters } from './grants.js';
import { ALL_SANS } from './model.js';

/**
 * Records of other SANs are registered (0x01, 0x02) or removed (0x03); an
 * unknown device of our SAN is registered; a boot (0x02) of one of our
 * devices tears down its sessions, and a boot from a peer manager (its
 * server_id) tears down the proxy sessions held there.
 */
export function onAnnounce<T>(ctx: ManagerContext<T>, h: HeaderFields, records: BlockRecord[]): void {
  if (h.server_id === ctx.serverId) return; // our own, looped back
  const sub = h.sub_opcode;
  let torn = 0;
  if (sub === 0x02 && h.server_id !== null && h.server_id !== 0n) {
    for (const s of [...ctx.table.values()]) {
      if (s.remote && s.remote.server_id === h.server_id) {
        ctx.table.unbind(s);
        torn++;
      }
    }
  }
  let changed = torn > 0;
  for (const r of records) {
    const san = r['san_id'] as number;
    const id = r['device_id'] as number;
    if (san === ctx.san) {
      const d = ctx.registry.get(id);
      if (!d) {
        // Bounded like foreign devices: a flood of Announces must not grow the device table (and every Allocate's walk) without limit.
        if (sub !== 0x03 && id !== 0 && ctx.registry.dynamicRoom) {
          ctx.registry.add({
            device_id: id, device_class: r['device_class'] as number, storage_type: r['storage_type'] as number,
            access_type: r['access_type'] as number, capacity_kb: r['free_kb'] as number,
            bandwidth_kb: r['bandwidth_kb'] as number, device_flags: r['device_flags'] as number, san_id: san,
          }, true);
          changed = true;
        }
        continue;
      }
      if (sub === 0x02 || (sub === 0x03 && d.dynamic)) {
        torn += teardownDevice(ctx, id);
        changed = true;
      }
      if (sub === 0x03 && d.dynamic) ctx.registry.removeDynamic(id);
    } else {
      ctx.registry.foreignRecord(san, id, r, sub === 0x03);
    }
  }
  if (changed) ctx.changed();
  if (torn > 0) serveWaiters(ctx);
}

/** Tears down the local sessions on one device; returns how many. */
export function teardownDevice<T>(ctx: ManagerContext<T>, deviceId: number): number {
  let n = 0;
  for (const s of [...ctx.table.values()]) {
    if (!s.remote && s.device_id === deviceId) {
      ctx.table.unbind(s);
      n++;
    }
  }
  return n;
}

/** Tears down every session (what a boot Announce of this server means). Returns how many. */
export function teardownAll<T>(ctx: ManagerContext<T>): number {
  const n = ctx.table.size;
  for (const s of [...ctx.table.values()]) ctx.table.unbind(s);
  if (n > 0) ctx.changed();
  serveWaiters(ctx);
  return n;
}

/** An Announce of this manager's configured devices (sub-op 0x01 periodic, 0x02 boot, 0x03 leaving). */
export function announceSpec<T>(ctx: ManagerContext<T>, sub: number, transaction_id = 0, dst_san = ALL_SANS): FrameSpec {
  return {
    opcode: OP_ANNOUNCE, src_san: ctx.san, dst_san, client_id: 0n, server_id: ctx.serverId, transaction_id,
    sub_opcode: sub, payload: { devices: ctx.registry.configuredRecords() },
  };
}
