// Announces (0x0007, never answered): registering and removing devices heard
// on the network, boot teardowns, and this manager's own Announces.

import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { DeviceRecord } from '../../protocol/access.js';
import { OP_ANNOUNCE } from '../../protocol/fields.js';
import type { ManagerContext } from './context.js';
import { serveWaiters } from './grants.js';
import { ALL_SANS, hex } from './model.js';
import { normalizeAddress, type NetworkSet } from './networks.js';

/** The address of the peer manager of SAN `san`, as configured. */
function peerAddress<T>(ctx: ManagerContext<T>, san: number): string | undefined {
  const p = ctx.config.peers.find((x) => x.san_id === san);
  return p ? normalizeAddress(p.host) : undefined;
}

/** An Announce from `source` may be heard at all: a device network, a peer, or a configured device's address. */
export function announceAllowed<T>(ctx: ManagerContext<T>, deviceNets: NetworkSet, source: string): boolean {
  if (deviceNets.has(source)) return true;
  if (ctx.config.peers.some((p) => normalizeAddress(p.host) === source)) return true;
  return ctx.config.devices.some((d) => d.address === source);
}

/**
 * Records of other SANs are registered (0x01, 0x02) or removed (0x03); an
 * unknown device of our SAN is registered; a boot (0x02) of one of our
 * devices tears down its sessions, and a boot from a peer manager (its
 * server_id) tears down the proxy sessions held there.
 *
 * `source` is the sender's address (undefined: not known, trusted). With
 * it, a teardown happens only when the Announce comes from the address that
 * registered the device (a configured device: its `address`), or for proxy
 * sessions from the peer manager's configured address; anything else is
 * refused and logged. The caller has checked the source's network.
 */
export function onAnnounce<T>(ctx: ManagerContext<T>, h: HeaderFields, records: DeviceRecord[], source?: string): void {
  if (h.server_id === ctx.serverId) return; // our own, looped back
  const sub = h.sub_opcode;
  let torn = 0;
  const refuse = (reason: string, detail: string) => ctx.refused({ reason, source: source ?? null, detail });
  if (sub === 0x02 && h.server_id !== null && h.server_id !== 0n) {
    let refusedPeer = 0;
    for (const s of [...ctx.table.values()]) {
      if (s.remote && s.remote.server_id === h.server_id) {
        if (source !== undefined && peerAddress(ctx, s.remote.san_id) !== source) {
          refusedPeer++;
          continue;
        }
        ctx.table.unbind(s);
        torn++;
      }
    }
    if (refusedPeer > 0) refuse('boot_not_from_peer', `server=${hex(h.server_id)} sessions=${refusedPeer}`);
  }
  let changed = torn > 0;
  for (const r of records) {
    const san = r.san_id;
    const id = r.device_id;
    if (san === ctx.san) {
      const d = ctx.registry.get(id);
      if (!d) {
        // Bounded like foreign devices: a flood of Announces must not grow the device table (and every Allocate's walk) without limit.
        if (sub !== 0x03 && id !== 0 && ctx.registry.dynamicRoom) {
          ctx.registry.add({
            device_id: id, device_class: r.device_class, storage_type: r.storage_type, access_type: r.access_type,
            capacity_kb: r.free_kb, bandwidth_kb: r.bandwidth_kb, device_flags: r.device_flags, san_id: san,
          }, true, source ?? null);
          changed = true;
        }
        continue;
      }
      const tearing = sub === 0x02 || (sub === 0x03 && d.dynamic);
      if (tearing && source !== undefined && d.registrant !== source) {
        refuse('teardown_not_from_registrant', `device=${id} sub=0x${sub.toString(16).padStart(2, '0')} registrant=${d.registrant ?? 'config'}`);
        continue;
      }
      if (tearing) {
        torn += teardownDevice(ctx, id);
        changed = true;
      }
      if (sub === 0x03 && d.dynamic) ctx.registry.removeDynamic(id);
    } else if (!ctx.registry.foreignRecord(san, id, r, sub === 0x03, source)) {
      refuse('record_not_from_announcer', `san=${san} device=${id}`);
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
