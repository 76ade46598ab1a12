// Live capture: one interface for two backends.
//
//   cap      the libpcap binding (src/capture/liveCap.ts): in-process, no timestamps or drop
//            counts from the binding (stamps are taken in JS at the callback).
//   tcpdump  `tcpdump -w -` piped into the capture parser (src/capture/liveTcpdump.ts): kernel
//            timestamps (ns), real original lengths, kernel drop counts at the end.
//
// Both hand every packet to `onPacket` as a Packet (packet.ts); `data` stays valid after the
// callback for cap (it is a copy) but consumers must not rely on that (tcpdump gives views).
// Errors a user can cause (no such interface, no permission, bad capture filter, backend
// missing) are one-line InputErrors (exit 1 in the CLI).

import { spawnSync } from 'node:child_process';
import { InputError } from '../cli/errors.js';
import type { Packet } from './packet.js';

export type LiveBackend = 'cap' | 'tcpdump';

export const LIVE_BACKENDS: readonly LiveBackend[] = ['cap', 'tcpdump'];

/** libpcap ring default (MiB): smaller rings lose packets in bursts (see dependencies notes). */
export const DEFAULT_BUFFER_MIB = 64;

export interface LiveOptions {
  iface: string;
  /** BPF capture filter (pcap-filter syntax); '' = everything. */
  filter: string;
  backend: LiveBackend;
  /** Bytes kept per packet; default: whole packets (cap: 65535 at most, a limit of the binding). */
  snaplen?: number;
  /** Kernel ring size in MiB (default 64). */
  bufferMiB?: number;
  /** The capture failed after it had started (the backend died); it is over, stats still valid. */
  onError?: (err: Error) => void;
  /** The backend ended by itself without an error (tcpdump got the terminal's Ctrl-C). */
  onEnd?: () => void;
}

export interface LiveStats {
  /** Packets delivered to onPacket. */
  received: number;
  /** Dropped by the kernel (ring full); null when the backend cannot tell (cap, or tcpdump before it exited). */
  dropped: number | null;
  /** Dropped by the interface/driver; null when unknown. */
  ifDropped: number | null;
  /** Packets cut short by the snapshot length. */
  truncated: number;
}

export interface LiveCapture {
  readonly backend: LiveBackend;
  readonly iface: string;
  readonly filter: string;
  /** LINKTYPE_* of the packets (1 Ethernet on lo, 113/276 Linux cooked on `any`). */
  readonly linkType: number;
  /** Snapshot length in effect (for the pcapng IDB). */
  readonly snaplen: number;
  /** Decimal digits of the timestamps (6 cap, 9 tcpdump with nanosecond support). */
  readonly tsDigits: number;
  /** Where timestamps come from, for humans and saved-file comments. */
  readonly timestampSource: string;
  /**
   * A time on the packets' clock that no packet still to be delivered should be earlier than
   * (best effort): what Pipeline.tick may be given in a quiet period.
   */
  safeTime(): { sec: number; nsec: number };
  stats(): LiveStats;
  /** Stops capturing, delivers what was already captured, closes every handle. Idempotent. */
  stop(): Promise<void>;
}

export interface InterfaceInfo {
  name: string;
  description?: string;
  addresses: string[];
  loopback?: boolean;
}

/** Opens a live capture; resolves once packets are being captured. Throws InputError. */
export async function startLiveCapture(
  opts: LiveOptions,
  onPacket: (p: Packet) => void,
): Promise<LiveCapture> {
  if (opts.backend === 'tcpdump') {
    const { startTcpdumpCapture } = await import('./liveTcpdump.js');
    return startTcpdumpCapture(opts, onPacket);
  }
  if (opts.backend === 'cap') {
    const { startCapCapture } = await loadCapBackend();
    return startCapCapture(opts, onPacket);
  }
  throw new InputError(`unknown capture backend "${String(opts.backend)}" (cap or tcpdump)`);
}

/** The interfaces libpcap can capture on (cap's deviceList; `tcpdump -D` if cap cannot load). */
export async function listInterfaces(): Promise<InterfaceInfo[]> {
  try {
    const { capDeviceList } = await loadCapBackend();
    return await capDeviceList();
  } catch (err) {
    const viaTcpdump = tcpdumpInterfaces();
    if (viaTcpdump) return viaTcpdump;
    throw err;
  }
}

/** The cap backend, loaded on demand: the native binding (and libpcap) may be missing. */
async function loadCapBackend(): Promise<typeof import('./liveCap.js')> {
  try {
    return await import('./liveCap.js');
  } catch (err) {
    const msg = ((err as Error).message ?? String(err)).split('\n')[0]!;
    const why = /libpcap/i.test(msg)
      ? 'libpcap is missing (apt-get install libpcap0.8 libpcap-dev, then npm rebuild cap)'
      : /Cannot find (module|package)|ERR_MODULE_NOT_FOUND|cap\.node/i.test(msg)
        ? 'the cap package is not installed or not built (apt-get install libpcap-dev, then npm rebuild cap)'
        : msg;
    throw new InputError(`the cap capture backend cannot load: ${why}; or use --backend tcpdump`);
  }
}

function tcpdumpInterfaces(): InterfaceInfo[] | null {
  const r = spawnSync('tcpdump', ['-D'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const out: InterfaceInfo[] = [];
  for (const line of r.stdout.split('\n')) {
    // "1.eth0 [Up, Running, Connected]" or "5.any (Pseudo-device ...) [Up, Running]"
    const m = /^\d+\.(\S+)(?:\s+\(([^)]*)\))?/.exec(line);
    if (m) out.push({ name: m[1]!, description: m[2], addresses: [], loopback: /Loopback/.test(line) || undefined });
  }
  return out;
}

// ---- errors shared by the backends ----

export function noSuchInterface(iface: string): InputError {
  return new InputError(`no such interface "${iface}" (vvmp live --list shows them)`);
}

export function noPermission(iface: string, backend: LiveBackend): InputError {
  const fix = backend === 'cap'
    ? 'setcap cap_net_raw+ep $(which node)'
    : 'setcap cap_net_raw,cap_net_admin+ep $(which tcpdump)';
  return new InputError(`capturing on ${iface} needs root or CAP_NET_RAW (run as root, or ${fix})`);
}

export function badFilter(filter: string, message: string): InputError {
  const reason = message.replace(/^can't parse filter expression:\s*/i, '').trim();
  return new InputError(`capture filter "${filter}": ${reason}`);
}

/** Kind of a libpcap/tcpdump open error, from its text. 'other' may still be the filter's fault. */
export function classifyPcapError(message: string): 'no-device' | 'permission' | 'down' | 'other' {
  if (/no such device|doesn't exist|does not exist|SIOCGIFHWADDR|SIOCGIFINDEX/i.test(message)) return 'no-device';
  if (/permission|not permitted|EPERM|EACCES/i.test(message)) return 'permission';
  if (/not up|network is down/i.test(message)) return 'down';
  return 'other';
}

/** The one-line InputError for an open error, given whether the filter alone is at fault (known). */
export function openError(
  iface: string,
  filter: string,
  backend: LiveBackend,
  message: string,
  filterAtFault: () => boolean,
): InputError {
  let first = message.split('\n')[0]!.replace(/^tcpdump:\s*/, '').trim();
  if (first.startsWith(`${iface}: `)) first = first.slice(iface.length + 2);
  switch (classifyPcapError(message)) {
    case 'no-device': return noSuchInterface(iface);
    case 'permission': return noPermission(iface, backend);
    case 'down': return new InputError(`interface "${iface}" is down (${first})`);
    default:
      if (filter.trim() !== '' && filterAtFault()) return badFilter(filter, first);
      return new InputError(`capturing on ${iface}: ${first}`);
  }
}

// ---- link types ----

/** cap's open() result → LINKTYPE_* number (-1 if unknown). */
export function capLinkType(name: string): number {
  switch (name) {
    case 'ETHERNET': return 1;
    case 'NULL': return 0;
    case 'RAW': return 101; // DLT_RAW (12 or 14 by OS) is written as LINKTYPE_RAW
    case 'LINKTYPE_LINUX_SLL':
    case 'LINUX_SLL': return 113;
    case 'IEEE802_11_RADIO': return 127;
    default: {
      // 'Unknown linktype N': N is a DLT_ value; above the OS-specific range DLT = LINKTYPE.
      const m = /(\d+)\s*$/.exec(name);
      if (!m) return -1;
      const dlt = Number(m[1]);
      if (dlt === 12 || dlt === 14) return 101;
      return dlt;
    }
  }
}

/** tcpdump's "link-type NAME (...)" → LINKTYPE_* number (-1 if unknown). */
export function dltNameLinkType(name: string): number {
  switch (name) {
    case 'EN10MB': return 1;
    case 'NULL': return 0;
    case 'RAW': return 101;
    case 'LOOP': return 108;
    case 'LINUX_SLL': return 113;
    case 'IEEE802_11_RADIO': return 127;
    case 'IPV4': return 228;
    case 'IPV6': return 229;
    case 'LINUX_SLL2': return 276;
    default: return -1;
  }
}
