// Server configuration: the SAN a manager runs, its devices, security domain,
// peers and limits. Loaded from JSON with one-line validation errors
// (`config.json: devices[2].capacity_kb must be a number`).
//
// JSON form (every key optional; missing keys take the built-in defaults):
//
// {
//   "san_id": 1,                                  // u24
//   "server_id": "0x00000000000000aa",            // u64 as a "0x…" hex string
//   "port": 7369,
//   "devices": [
//     { "device_id": 1, "device_class": "raid_controller", "storage_type": "raid5",
//       "access_type": "fc", "capacity_kb": 104857600, "bandwidth_kb": 204800,
//       "device_flags": 3, "san_id": 1,        // san_id defaults to the server's own
//       "address": "10.0.0.5" }                // optional: the device's own address (its boot Announce is honoured from there only)
//   ],
//   "allowed_clients": "open",                    // or ["0x11", "0x12"]: client ids of the domain
//   "client_networks": ["127.0.0.0/8", "::1/128"], // where the domain's clients may come from
//   "device_networks": [],                        // where Announces of new devices are accepted from (peers always)
//   "peers": { "2": "127.0.0.1:7370" },           // SAN id → host:port (TCP and UDP)
//   "limits": { "max_payload": 65536, "max_connections": 4096, "max_connections_per_source": 256,
//               "max_outstanding_per_client": 1024, "frame_timeout_ms": 60000,
//               "idle_timeout_ms": 120000, "peer_timeout_ms": 2000,
//               "max_sessions_per_client": 4096, "max_sessions_per_source": 16384,
//               "max_capacity_per_client_kb": 0, "udp_reply_factor": 8 },
//   "announce_interval_ms": 0,                    // 0 = no periodic Announce
//   "announce_targets": ["127.0.0.1:7369"]        // UDP targets of Announces (peers get them too)
// }
//
// Enumerations (storage_type, access_type, device_class) take the numbers of
// VVMP.md section 6 or their names, case-insensitive. The security model these
// keys set up is described in spec/SERVER.md.

import { readFileSync } from 'node:fs';
import { DEVICE_ACCESS_TYPES, DEVICE_CLASSES, STORAGE_TYPES } from '../protocol/fields.js';
import { LOOPBACK_NETWORKS, normalizeAddress, parseCidr } from './server/networks.js';
import { DEFAULT_MAX_PAYLOAD, DEFAULT_PORT, parseHostPort, type HostPort } from './transport.js';

export interface DeviceConfig {
  device_id: number;
  /** 0 disk, 1 tape, 2 RAID controller, 3 special hardware, 4 switch. */
  device_class: number;
  storage_type: number;
  /** 0x00 none (special hardware, switches), else an access type. */
  access_type: number;
  capacity_kb: number;
  bandwidth_kb: number;
  device_flags: number;
  san_id: number;
  /** The device's own network address: its boot/leaving Announces are honoured from there only. */
  address?: string;
}

export interface PeerConfig {
  san_id: number;
  /** As written, `host:port`. */
  address: string;
  host: string;
  port: number;
}

export interface ServerLimits {
  /** Largest request payload in bytes; a TCP frame over it closes the connection. */
  max_payload: number;
  /** TCP connections served at once; further ones are accepted and closed at once (FIN). */
  max_connections: number;
  /** TCP connections one source address may hold at once (same treatment over it). */
  max_connections_per_source: number;
  /** WAIT registrations plus forwarded requests one client may have open. */
  max_outstanding_per_client: number;
  /** A connection holding a partial frame this long is closed (slow-loris guard). */
  frame_timeout_ms: number;
  /** A connection with no bytes at all for this long is closed; 0 = never (default 2 min). */
  idle_timeout_ms: number;
  /** Longest wait for a peer SAN on a forward (further capped by the request's own timeout). */
  peer_timeout_ms: number;
  /** Live sessions one client id may hold; over it Allocate gets NO_CAPACITY. */
  max_sessions_per_client: number;
  /** Live sessions all client ids of one source address may hold together (spoofed ids cannot take them all). */
  max_sessions_per_source: number;
  /** Capacity (KB) one client id may hold in all its sessions; 0 = no quota. */
  max_capacity_per_client_kb: number;
  /** A UDP reply may be at most this many times the request's size; a longer one is TOO_LARGE (ask over TCP). */
  udp_reply_factor: number;
}

export interface ServerConfig {
  san_id: number;
  server_id: bigint;
  port: number;
  devices: DeviceConfig[];
  /** 'open', or the client ids of this server's security domain. */
  allowed_clients: 'open' | bigint[];
  /** Networks (CIDR) the domain's clients may come from; others get DENIED. */
  client_networks: string[];
  /** Networks (CIDR) Announces of devices are accepted from (peers' addresses are always accepted). */
  device_networks: string[];
  /** Peer SAN managers, by ascending SAN id (the order forwards try them). */
  peers: PeerConfig[];
  limits: ServerLimits;
  /** Period of the periodic Announce (sub-op 0x01); 0 = off. */
  announce_interval_ms: number;
  /** UDP targets of Announces besides the peers. */
  announce_targets: HostPort[];
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  max_payload: DEFAULT_MAX_PAYLOAD,
  max_connections: 4096,
  max_connections_per_source: 256,
  max_outstanding_per_client: 1024,
  frame_timeout_ms: 60_000,
  idle_timeout_ms: 120_000,
  peer_timeout_ms: 2000,
  max_sessions_per_client: 4096,
  max_sessions_per_source: 16_384,
  max_capacity_per_client_kb: 0,
  udp_reply_factor: 8,
};

const GiB = 1024 * 1024; // in KB
const MiBps = 1024; // in KB/s

/** The built-in SAN: one of each kind of device (VVMP.md section 6). */
export function defaultServerConfig(): ServerConfig {
  const san = 1;
  const dev = (d: Omit<DeviceConfig, 'san_id'>): DeviceConfig => ({ ...d, san_id: san });
  return {
    san_id: san,
    server_id: 0xaan,
    port: DEFAULT_PORT,
    devices: [
      dev({ device_id: 1, device_class: 2, storage_type: 0x05, access_type: 0x02, capacity_kb: 100 * GiB, bandwidth_kb: 400 * MiBps, device_flags: 0x03 }),
      dev({ device_id: 2, device_class: 2, storage_type: 0x01, access_type: 0x01, capacity_kb: 50 * GiB, bandwidth_kb: 320 * MiBps, device_flags: 0x01 }),
      dev({ device_id: 3, device_class: 0, storage_type: 0x00, access_type: 0x02, capacity_kb: 20 * GiB, bandwidth_kb: 100 * MiBps, device_flags: 0x04 }),
      dev({ device_id: 4, device_class: 2, storage_type: 0x03, access_type: 0x03, capacity_kb: 200 * GiB, bandwidth_kb: 800 * MiBps, device_flags: 0x09 }),
      dev({ device_id: 5, device_class: 1, storage_type: 0x00, access_type: 0x01, capacity_kb: 400 * GiB, bandwidth_kb: 40 * MiBps, device_flags: 0x04 }),
      dev({ device_id: 6, device_class: 3, storage_type: 0x00, access_type: 0x02, capacity_kb: 0, bandwidth_kb: 1000 * MiBps, device_flags: 0x01 }),
    ],
    allowed_clients: 'open',
    client_networks: [...LOOPBACK_NETWORKS],
    device_networks: [],
    peers: [],
    limits: { ...DEFAULT_LIMITS },
    announce_interval_ms: 0,
    announce_targets: [],
  };
}

// ---- validation -------------------------------------------------------------------

/** A config problem; the message is one line starting with the source name. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Resolves a name (case-insensitive, `_`/`-`/space ignored) or number against a value-name table. */
export function enumValue(v: unknown, names: Readonly<Record<number, string>>): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v in names ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const norm = (s: string) => s.toLowerCase().replace(/[\s_-]/g, '');
  const want = norm(v);
  if (/^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) {
    const n = Number(v.trim());
    return n in names ? n : undefined;
  }
  for (const [k, name] of Object.entries(names)) if (norm(name) === want) return Number(k);
  return undefined;
}

/** Parses a 64-bit id: "0x…" hex string, decimal string, bigint or safe integer. */
export function parseId(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v >= 0n && v < 1n << 64n ? v : undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!/^(0x[0-9a-fA-F]{1,16}|\d+)$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < 1n << 64n ? n : undefined;
}

/**
 * Validates a parsed JSON value into a ServerConfig (defaults for what is
 * missing). `source` prefixes error messages, e.g. the file name.
 */
export function validateServerConfig(raw: unknown, source = 'config'): ServerConfig {
  const fail = (where: string, what: string): never => {
    throw new ConfigError(`${source}: ${where} ${what}`);
  };
  if (!isObj(raw)) fail('top level', 'must be a JSON object');
  const o = raw as Obj;
  const def = defaultServerConfig();

  const address = (v: unknown, where: string): string => {
    if (typeof v !== 'string') fail(where, 'must be an IP address string');
    try {
      const c = parseCidr(v as string);
      if (c.text.includes('/')) throw new Error('one address, not a network');
    } catch (e) {
      fail(where, (e as Error).message);
    }
    return normalizeAddress(v as string);
  };

  const uint = (v: unknown, where: string, max: number, dflt?: number): number => {
    if (v === undefined && dflt !== undefined) return dflt;
    if (v === undefined) fail(where, 'is required');
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, 'must be a number');
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) fail(where, `must be an integer 0..${max}`);
    return v as number;
  };

  const known = new Set(['san_id', 'server_id', 'port', 'devices', 'allowed_clients', 'client_networks', 'device_networks', 'peers', 'limits', 'announce_interval_ms', 'announce_targets']);
  for (const k of Object.keys(o)) if (!known.has(k) && !k.startsWith('//') && !k.startsWith('_')) fail(k, `is not a known key (known: ${[...known].join(', ')})`);

  const san_id = uint(o['san_id'], 'san_id', 0xfffffe, def.san_id);
  let server_id = def.server_id;
  if (o['server_id'] !== undefined) {
    // A string only: JSON numbers cannot hold every u64 exactly.
    const id = typeof o['server_id'] === 'string' ? parseId(o['server_id']) : undefined;
    if (id === undefined) fail('server_id', 'must be a 64-bit id as a "0x…" hex string');
    server_id = id!;
  }
  const port = uint(o['port'], 'port', 65535, def.port);

  let devices = def.devices.map((d) => ({ ...d, san_id }));
  if (o['devices'] !== undefined) {
    if (!Array.isArray(o['devices'])) fail('devices', 'must be an array');
    const seen = new Set<number>();
    devices = (o['devices'] as unknown[]).map((d, i) => {
      const w = `devices[${i}]`;
      if (!isObj(d)) fail(w, 'must be an object');
      const r = d as Obj;
      const en = (key: string, names: Readonly<Record<number, string>>, dflt?: number): number => {
        const v = r[key];
        if (v === undefined && dflt !== undefined) return dflt;
        if (v === undefined) fail(`${w}.${key}`, 'is required');
        const n = enumValue(v, names);
        if (n === undefined) fail(`${w}.${key}`, `must be one of ${Object.values(names).join(', ')} (or its number)`);
        return n!;
      };
      const device_id = uint(r['device_id'], `${w}.device_id`, 0xffffffff);
      if (device_id === 0) fail(`${w}.device_id`, 'must not be 0 (0 means "none" in Initialize)');
      if (seen.has(device_id)) fail(`${w}.device_id`, `${device_id} is used twice`);
      seen.add(device_id);
      const device_class = en('device_class', DEVICE_CLASSES, 0);
      const storageNames: Record<number, string> = { ...STORAGE_TYPES };
      delete storageNames[0xff];
      const accessNames: Record<number, string> = { ...DEVICE_ACCESS_TYPES };
      delete accessNames[0xff];
      return {
        device_id,
        device_class,
        storage_type: en('storage_type', storageNames, 0),
        access_type: en('access_type', accessNames),
        capacity_kb: uint(r['capacity_kb'], `${w}.capacity_kb`, 0xffffffff, device_class === 3 || device_class === 4 ? 0 : undefined),
        bandwidth_kb: uint(r['bandwidth_kb'], `${w}.bandwidth_kb`, 0xffffffff),
        device_flags: uint(r['device_flags'], `${w}.device_flags`, 0xff, 0),
        san_id: uint(r['san_id'], `${w}.san_id`, 0xfffffe, san_id),
        ...(r['address'] !== undefined ? { address: address(r['address'], `${w}.address`) } : {}),
      };
    });
  }

  let allowed_clients: 'open' | bigint[] = 'open';
  const ac = o['allowed_clients'];
  if (ac !== undefined && ac !== 'open') {
    if (!Array.isArray(ac)) fail('allowed_clients', 'must be "open" or an array of "0x…" client ids');
    allowed_clients = (ac as unknown[]).map((v, i) => {
      const id = typeof v === 'string' ? parseId(v) : undefined;
      if (id === undefined) fail(`allowed_clients[${i}]`, 'must be a 64-bit id as a "0x…" hex string');
      return id!;
    });
  }

  const networks = (key: 'client_networks' | 'device_networks'): string[] => {
    const v = o[key];
    if (v === undefined) return key === 'client_networks' ? [...LOOPBACK_NETWORKS] : [];
    if (!Array.isArray(v)) fail(key, 'must be an array of networks ("a.b.c.d/n", "x::y/n")');
    return (v as unknown[]).map((x, i) => {
      if (typeof x !== 'string') fail(`${key}[${i}]`, 'must be a network string ("a.b.c.d/n")');
      try {
        parseCidr(x as string);
      } catch (e) {
        fail(`${key}[${i}]`, (e as Error).message);
      }
      return (x as string).trim();
    });
  };
  const client_networks = networks('client_networks');
  const device_networks = networks('device_networks');

  const peers: PeerConfig[] = [];
  if (o['peers'] !== undefined) {
    if (!isObj(o['peers'])) fail('peers', 'must be an object mapping SAN id to "host:port"');
    for (const [k, v] of Object.entries(o['peers'] as Obj)) {
      const w = `peers["${k}"]`;
      if (!/^\d+$/.test(k) || Number(k) > 0xfffffe) fail(w, 'key must be a SAN id 0..16777214');
      if (Number(k) === san_id) fail(w, 'is this server\'s own SAN');
      if (typeof v !== 'string') fail(w, 'must be a "host:port" string');
      let hp: HostPort;
      try {
        hp = parseHostPort(v as string);
      } catch (e) {
        fail(w, (e as Error).message);
      }
      if (hp!.port === 0) fail(w, 'port must not be 0');
      peers.push({ san_id: Number(k), address: v as string, host: hp!.host, port: hp!.port });
    }
    peers.sort((a, b) => a.san_id - b.san_id);
  }

  const limits: ServerLimits = { ...DEFAULT_LIMITS };
  if (o['limits'] !== undefined) {
    if (!isObj(o['limits'])) fail('limits', 'must be an object');
    const l = o['limits'] as Obj;
    for (const k of Object.keys(l)) if (!(k in limits)) fail(`limits.${k}`, `is not a known limit (known: ${Object.keys(limits).join(', ')})`);
    limits.max_payload = uint(l['max_payload'], 'limits.max_payload', 4 * 0xffff, DEFAULT_LIMITS.max_payload);
    limits.max_connections = uint(l['max_connections'], 'limits.max_connections', 1_000_000, DEFAULT_LIMITS.max_connections);
    limits.max_outstanding_per_client = uint(l['max_outstanding_per_client'], 'limits.max_outstanding_per_client', 1_000_000, DEFAULT_LIMITS.max_outstanding_per_client);
    limits.frame_timeout_ms = uint(l['frame_timeout_ms'], 'limits.frame_timeout_ms', 86_400_000, DEFAULT_LIMITS.frame_timeout_ms);
    limits.idle_timeout_ms = uint(l['idle_timeout_ms'], 'limits.idle_timeout_ms', 86_400_000, DEFAULT_LIMITS.idle_timeout_ms);
    limits.peer_timeout_ms = uint(l['peer_timeout_ms'], 'limits.peer_timeout_ms', 0xffffff, DEFAULT_LIMITS.peer_timeout_ms);
    limits.max_connections_per_source = uint(l['max_connections_per_source'], 'limits.max_connections_per_source', 1_000_000, DEFAULT_LIMITS.max_connections_per_source);
    limits.max_sessions_per_client = uint(l['max_sessions_per_client'], 'limits.max_sessions_per_client', 65535, DEFAULT_LIMITS.max_sessions_per_client);
    limits.max_sessions_per_source = uint(l['max_sessions_per_source'], 'limits.max_sessions_per_source', 65535, DEFAULT_LIMITS.max_sessions_per_source);
    limits.max_capacity_per_client_kb = uint(l['max_capacity_per_client_kb'], 'limits.max_capacity_per_client_kb', Number.MAX_SAFE_INTEGER, DEFAULT_LIMITS.max_capacity_per_client_kb);
    limits.udp_reply_factor = uint(l['udp_reply_factor'], 'limits.udp_reply_factor', 1000, DEFAULT_LIMITS.udp_reply_factor);
    if (limits.max_connections === 0) fail('limits.max_connections', 'must be at least 1');
    for (const k of ['max_connections_per_source', 'max_sessions_per_client', 'max_sessions_per_source', 'udp_reply_factor'] as const) {
      if (limits[k] === 0) fail(`limits.${k}`, 'must be at least 1');
    }
  }

  const announce_interval_ms = uint(o['announce_interval_ms'], 'announce_interval_ms', 86_400_000, 0);
  const announce_targets: HostPort[] = [];
  if (o['announce_targets'] !== undefined) {
    if (!Array.isArray(o['announce_targets'])) fail('announce_targets', 'must be an array of "host:port"');
    (o['announce_targets'] as unknown[]).forEach((v, i) => {
      if (typeof v !== 'string') fail(`announce_targets[${i}]`, 'must be a "host:port" string');
      try {
        announce_targets.push(parseHostPort(v as string));
      } catch (e) {
        fail(`announce_targets[${i}]`, (e as Error).message);
      }
    });
  }

  return { san_id, server_id, port, devices, allowed_clients, client_networks, device_networks, peers, limits, announce_interval_ms, announce_targets };
}

/** Reads and validates a JSON config file; throws ConfigError with a one-line message. */
export function loadServerConfig(path: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message.split('\n')[0];
    throw new ConfigError(`${path}: ${why}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return validateServerConfig(raw, path);
}

/** The config as JSON-ready data (ids as "0x…" strings), e.g. to write an example file. */
export function serverConfigToJson(c: ServerConfig): Record<string, unknown> {
  const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');
  return {
    san_id: c.san_id,
    server_id: hex(c.server_id),
    port: c.port,
    devices: c.devices.map((d) => ({ ...d })),
    allowed_clients: c.allowed_clients === 'open' ? 'open' : c.allowed_clients.map(hex),
    client_networks: [...c.client_networks],
    device_networks: [...c.device_networks],
    peers: Object.fromEntries(c.peers.map((p) => [String(p.san_id), p.address])),
    limits: { ...c.limits },
    announce_interval_ms: c.announce_interval_ms,
    announce_targets: c.announce_targets.map((t) => `${t.host}:${t.port}`),
  };
}
