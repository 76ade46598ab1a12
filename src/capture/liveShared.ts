// What the live capture backends share: options, stats, the capture interface, the one-line
// errors a user can cause and the link-type names of libpcap/tcpdump. The backends
// (liveCap.ts, liveTcpdump.ts) and the front (live.ts) import this; it imports none of them.

import { LiveCaptureError } from './errors.js';

export type LiveBackend = 'cap' | 'tcpdump';

export const LIVE_BACKENDS: readonly LiveBackend[] = ['cap', 'tcpdump'];

/**
 * libpcap ring default (MiB). In immediate mode libpcap's TPACKET_V3 ring is a few hundred
 * blocks of 256-512 KiB, each retired after at most 1 ms: the block count is how long the
 * reader may stall. Measured on lo at 20,000 packets/s on a loaded machine (load 12 on 2 cores):
 * tcpdump with 64 MiB dropped 6 %, with 256 MiB none.
 */
export const DEFAULT_BUFFER_MIB = 256;

/**
 * The cap backend's default ring (MiB): the ring is mapped into this process, so it shows in
 * vvmp's own memory (256 MiB took peak RSS from ~300 to 574 MB); cap cannot count drops anyway.
 */
export const CAP_DEFAULT_BUFFER_MIB = 64;

export interface LiveOptions {
  iface: string;
  /** BPF capture filter (pcap-filter syntax); '' = everything. */
  filter: string;
  backend: LiveBackend;
  /** Bytes kept per packet; default: whole packets (cap: 65535 at most, a limit of the binding). */
  snaplen?: number;
  /** Kernel ring size in MiB (default DEFAULT_BUFFER_MIB for tcpdump, CAP_DEFAULT_BUFFER_MIB for cap). */
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
  /** Packets the backend captured but never delivered to us (tcpdump: its count minus ours). */
  lostInPipe?: number;
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

// ---- errors shared by the backends ----

export function noSuchInterface(iface: string): LiveCaptureError {
  return new LiveCaptureError(`no such interface "${iface}" (vvmp live --list shows them)`);
}

export function noPermission(iface: string, backend: LiveBackend): LiveCaptureError {
  const fix = backend === 'cap'
    ? 'setcap cap_net_raw+ep $(which node)'
    : 'setcap cap_net_raw,cap_net_admin+ep $(which tcpdump)';
  return new LiveCaptureError(`capturing on ${iface} needs root or CAP_NET_RAW (run as root, or ${fix})`);
}

export function badFilter(filter: string, message: string): LiveCaptureError {
  const reason = message.replace(/^can't parse filter expression:\s*/i, '').trim();
  return new LiveCaptureError(`capture filter "${filter}": ${reason}`);
}

/** Kind of a libpcap/tcpdump open error, from its text. 'other' may still be the filter's fault. */
export function classifyPcapError(message: string): 'no-device' | 'permission' | 'down' | 'other' {
  if (/no such device|doesn't exist|does not exist|SIOCGIFHWADDR|SIOCGIFINDEX/i.test(message)) return 'no-device';
  if (/permission|not permitted|EPERM|EACCES/i.test(message)) return 'permission';
  if (/not up|network is down/i.test(message)) return 'down';
  return 'other';
}

/** The one-line LiveCaptureError for an open error, given whether the filter alone is at fault (known). */
export function openError(
  iface: string,
  filter: string,
  backend: LiveBackend,
  message: string,
  filterAtFault: () => boolean,
): LiveCaptureError {
  let first = message.split('\n')[0]!.replace(/^tcpdump:\s*/, '').trim();
  if (first.startsWith(`${iface}: `)) first = first.slice(iface.length + 2);
  switch (classifyPcapError(message)) {
    case 'no-device': return noSuchInterface(iface);
    case 'permission': return noPermission(iface, backend);
    case 'down': return new LiveCaptureError(`interface "${iface}" is down (${first})`);
    default:
      if (filter.trim() !== '' && filterAtFault()) return badFilter(filter, first);
      return new LiveCaptureError(`capturing on ${iface}: ${first}`);
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
