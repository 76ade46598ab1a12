// The device registry: configured devices, devices of this SAN registered from
// Announces ("dynamic"), other SANs' devices heard in Announces ("foreign"),
// the capacity and bandwidth each device has given to sessions, and the
// encoded device records of Query replies.

import type { DeviceRecord } from '../../protocol/access.js';
import { encodeFrame } from '../../protocol/encode.js';
import { HEADER_SIZE, OP_QUERY, REPLY_BIT } from '../../protocol/fields.js';
import type { DeviceConfig } from '../config.js';
import { SUBOP_ANYWHERE, type Session } from './model.js';

/** At most this many devices of other SANs, and of this SAN from Announces, are remembered (a flood cannot grow the tables without limit). */
export const MAX_FOREIGN = 10_000;

export interface DeviceState {
  cfg: DeviceConfig;
  /** Registered from an Announce, not configured. */
  dynamic: boolean;
  used_kb: number;
  used_bw: number;
  /** client id → [sessions, exclusive sessions] on this device. */
  clients: Map<bigint, [number, number]>;
  exclusive: number;
  /**
   * The address whose Announces may tear this device's sessions down (boot,
   * leaving): the one that registered it, or a configured device's `address`;
   * null: none on the network.
   */
  registrant: string | null;
}

export interface DeviceView extends DeviceConfig {
  free_kb: number;
  free_bw: number;
  dynamic: boolean;
  sessions: number;
}

export class DeviceRegistry {
  readonly byId = new Map<number, DeviceState>();
  /** Devices of this SAN registered from Announces (bounded by MAX_FOREIGN). */
  private dynamicCount = 0;
  /** Devices of other SANs heard in Announces, keyed `san:device`. */
  private readonly foreign = new Map<string, DeviceRecord>();
  /** Who announced each foreign record (null: not known); only they may remove it. */
  private readonly foreignBy = new Map<string, string | null>();
  /**
   * Encoded device records of Query 0x01/0x02/0x03 replies, by sub-op, made
   * with the shared encoder and dropped on any change of devices or usage:
   * the hot path of a Query storm then encodes only the header.
   */
  private readonly queryCache = new Map<number, Uint8Array>();

  /** `announceCap` keeps this manager's own Announce within one datagram and the payload limit. */
  constructor(private readonly san: number, private readonly announceCap: (recs: DeviceRecord[]) => DeviceRecord[]) {}

  add(cfg: DeviceConfig, dynamic: boolean, registrant: string | null = cfg.address ?? null): DeviceState {
    const d: DeviceState = { cfg, dynamic, used_kb: 0, used_bw: 0, clients: new Map(), exclusive: 0, registrant };
    this.byId.set(cfg.device_id, d);
    if (dynamic) this.dynamicCount++;
    this.queryCache.clear();
    return d;
  }

  get(id: number): DeviceState | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Room for one more device of this SAN from an Announce. */
  get dynamicRoom(): boolean {
    return this.dynamicCount < MAX_FOREIGN;
  }

  removeDynamic(id: number): void {
    const d = this.byId.get(id);
    if (!d || !d.dynamic) return;
    this.byId.delete(id);
    this.dynamicCount--;
    this.queryCache.clear();
  }

  /**
   * Remembers (or forgets, `leaving`) a device of another SAN heard from
   * `source` (undefined: not known, trusted). A record is replaced or removed
   * only by the address that announced it; false when refused for that.
   */
  foreignRecord(san: number, id: number, r: DeviceRecord, leaving: boolean, source?: string): boolean {
    const key = `${san}:${id}`;
    const by = this.foreignBy.get(key);
    if (source !== undefined && by !== undefined && by !== null && by !== source) return false;
    if (leaving) {
      this.foreign.delete(key);
      this.foreignBy.delete(key);
    } else if (this.foreign.has(key) || this.foreign.size < MAX_FOREIGN) {
      this.foreign.set(key, { ...r, reserved: 0 });
      this.foreignBy.set(key, source ?? null);
    }
    this.queryCache.clear();
    return true;
  }

  /** Adds a session's capacity, bandwidth and access to its device. */
  use(s: Session): void {
    const d = this.byId.get(s.device_id);
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

  /** Gives a session's capacity, bandwidth and access back to its device. */
  unuse(s: Session): void {
    const d = this.byId.get(s.device_id);
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

  views(): DeviceView[] {
    return [...this.byId.values()].map((d) => ({
      ...d.cfg,
      free_kb: Math.max(0, d.cfg.capacity_kb - d.used_kb),
      free_bw: Math.max(0, d.cfg.bandwidth_kb - d.used_bw),
      dynamic: d.dynamic,
      sessions: [...d.clients.values()].reduce((n, c) => n + c[0], 0),
    }));
  }

  /** A device's record as Query replies and Announces carry it. */
  static record(d: DeviceState): DeviceRecord {
    const c = d.cfg;
    return {
      device_id: c.device_id, storage_type: c.storage_type, access_type: c.access_type, device_class: c.device_class,
      device_flags: c.device_flags, free_kb: Math.max(0, c.capacity_kb - d.used_kb), bandwidth_kb: c.bandwidth_kb,
      san_id: c.san_id, reserved: 0,
    };
  }

  /** Device records for a Query sub-op answered from local knowledge (0x01, 0x02, 0x03). */
  records(sub: number): DeviceRecord[] {
    const out: DeviceRecord[] = [];
    for (const d of this.byId.values()) {
      if (sub === 0x03 && d.cfg.san_id !== this.san) continue;
      out.push(DeviceRegistry.record(d));
    }
    if (sub === 0x02 || sub === SUBOP_ANYWHERE) for (const r of this.foreign.values()) out.push({ ...r });
    return out;
  }

  /** The configured devices' records (what this manager announces). */
  configuredRecords(): DeviceRecord[] {
    return this.announceCap([...this.byId.values()].filter((d) => !d.dynamic).map((d) => DeviceRegistry.record(d)));
  }

  /** The encoded payload of a Query reply answered locally, cached until devices or usage change. */
  encodedRecords(sub: number): Uint8Array {
    let bytes = this.queryCache.get(sub);
    if (!bytes) {
      bytes = encodeFrame({ opcode: OP_QUERY | REPLY_BIT, payload: { devices: this.records(sub) } }).subarray(HEADER_SIZE);
      this.queryCache.set(sub, bytes);
    }
    return bytes;
  }
}
