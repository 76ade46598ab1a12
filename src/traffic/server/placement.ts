// Placement: which device an Allocate goes to (best fit), or why none.

import { ANY, CONFLICT, FLAG_EXCLUSIVE, MAX_QOS, NO_CAPACITY, NO_MATCH, type AllocReq } from './model.js';
import type { DeviceRegistry, DeviceState } from './devices.js';

export type Decision = { device: DeviceState; capacity_kb: number } | { status: number };

/** A device that holds storage: disk, tape or RAID controller with capacity. */
export function holdsStorage(d: DeviceState): boolean {
  const k = d.cfg.device_class;
  return (k === 0 || k === 1 || k === 2) && d.cfg.capacity_kb > 0;
}

/** Another client's access stands in the way of `client` (exclusive or not) on `d`. */
export function conflicts(d: DeviceState, client: bigint, exclusive: boolean): boolean {
  const own = d.clients.get(client);
  if (d.exclusive - (own ? own[1] : 0) > 0) return true;
  return exclusive && d.clients.size - (own ? 1 : 0) > 0;
}

/**
 * Where `req` fits now: among devices with enough free capacity and bandwidth
 * that no other client's access stands in the way of, the best fit (least free
 * capacity, then lowest id); with `partialOk` the matching device with the
 * most free capacity for a partial grant. Else NO_MATCH, CONFLICT or NO_CAPACITY.
 */
export function decide(devices: DeviceRegistry, client: bigint, req: AllocReq, partialOk: boolean): Decision {
  if (req.qos > MAX_QOS) return { status: NO_MATCH };
  const exclusive = (req.flags & FLAG_EXCLUSIVE) !== 0;
  let match = false;
  let conflict = false;
  let best: DeviceState | null = null;
  let bestFree = 0;
  let part: DeviceState | null = null;
  let partFree = 0;
  for (const d of devices.byId.values()) {
    const c = d.cfg;
    if (!holdsStorage(d)) continue;
    if (req.storage_type !== ANY && c.storage_type !== req.storage_type) continue;
    if (req.access_type !== ANY && c.access_type !== req.access_type) continue;
    if (c.bandwidth_kb < req.bandwidth_kb) continue;
    match = true;
    const free = c.capacity_kb - d.used_kb;
    const fitsBw = c.bandwidth_kb - d.used_bw >= req.bandwidth_kb;
    const fits = fitsBw && free >= req.capacity_kb;
    const fitsPart = fitsBw && partialOk && free > 0;
    if (!fits && !fitsPart) continue;
    if (conflicts(d, client, exclusive)) {
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
