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
// missing) are one-line LiveCaptureErrors (exit 1 in the CLI).

import { spawnSync } from 'node:child_process';
import { LiveCaptureError } from './errors.js';
import type { Packet } from './packet.js';
import type { InterfaceInfo, LiveBackend, LiveCapture, LiveOptions } from './liveShared.js';

export * from './liveShared.js';

/** Opens a live capture; resolves once packets are being captured. Throws LiveCaptureError. */
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
  throw new LiveCaptureError(`unknown capture backend "${String(opts.backend)}" (cap or tcpdump)`);
}

/**
 * The backend used when none is named: tcpdump where it is installed (it counts the kernel's
 * drops), else cap, which cannot count them (`note` says so, for the user).
 */
export async function defaultLiveBackend(): Promise<{ backend: LiveBackend; note: string | null }> {
  try {
    const { tcpdumpInfo } = await import('./liveTcpdump.js');
    tcpdumpInfo();
    return { backend: 'tcpdump', note: null };
  } catch {
    return { backend: 'cap', note: 'tcpdump not found: using the cap backend, which cannot count dropped packets' };
  }
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
    throw new LiveCaptureError(`the cap capture backend cannot load: ${why}; or use --backend tcpdump`);
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

