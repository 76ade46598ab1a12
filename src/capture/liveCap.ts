// The `cap` backend: libpcap in this process through the `cap` binding (0.2.1).
//
// What the binding gives and does not (read node_modules/cap/src/binding.cc):
//   - per packet only (nbytes, truncated); the bytes sit in ONE Buffer handed to open(), and the
//     next packet overwrites them. We copy them inside the handler.
//   - no timestamp: we stamp each packet when its callback runs (process.hrtime.bigint(),
//     monotonic, mapped once to wall time at open). That is after libpcap's ring, libuv's poll
//     and the JS dispatch: typically tens of µs late, more under load, and a burst read in one
//     poll gets stamps microseconds apart. We keep 6 digits (µs): nanosecond digits would claim a
//     precision these stamps do not have. Use the tcpdump backend for kernel timestamps.
//   - no original length: origLen = the captured length. libpcap's snaplen is fixed at 65535 by
//     the binding, so a larger packet (possible on lo, MTU 65536) is cut without our knowing;
//     when our buffer is smaller than the packet (a --snaplen below 65535) the `truncated` flag
//     is set and the real length is unknown: origLen is still nbytes, counted in stats.truncated.
//   - no drop counts (no pcap_stats): stats().dropped is null.
//   - the binding keeps a raw pointer to the Buffer: it must stay referenced while open (we
//     keep it on the object and in OPEN_BUFFERS), or the process dies of heap corruption.
//   - a Cap whose open() threw must never be garbage-collected: its destructor calls
//     uv_poll_stop on an uninitialised handle and aborts the process (measured). Such objects
//     go to FAILED and live until exit (one leaked pcap handle per failed open).
//   - never open() a Cap again after close(): every capture makes a new one.

import capPkg from 'cap';
import type { Cap as CapType, CapDevice } from 'cap';
import { LiveCaptureError } from './errors.js';
import type { Packet } from './packet.js';
import {
  CAP_DEFAULT_BUFFER_MIB, capLinkType, noSuchInterface, openError,
  type InterfaceInfo, type LiveCapture, type LiveOptions, type LiveStats,
} from './liveShared.js';

const { Cap } = capPkg;

/** The binding's fixed libpcap snapshot length. */
const CAP_SNAPLEN = 65535;

/** stop(): the ring counts as drained after this long without a packet … */
const DRAIN_QUIET_MS = 25;
/** … or after this long in all (a line that never goes quiet). */
const DRAIN_MAX_MS = 500;

/** Buffers of open captures: referenced until close, whatever happens to the capture object. */
const OPEN_BUFFERS = new Set<Buffer>();
/** Caps whose open() threw: kept alive forever (see the header comment). */
const FAILED: Array<{ cap: CapType; buffer: Buffer }> = [];

export async function capDeviceList(): Promise<InterfaceInfo[]> {
  return deviceList().map((d) => ({
    name: d.name,
    description: d.description,
    addresses: d.addresses.map((a) => a.addr).filter((a): a is string => typeof a === 'string'),
    loopback: d.flags === 'PCAP_IF_LOOPBACK' || undefined,
  }));
}

function deviceList(): CapDevice[] {
  try {
    return Cap.deviceList();
  } catch (err) {
    throw new LiveCaptureError(`cannot list interfaces: ${(err as Error).message}`);
  }
}

/** Wall-clock time of a monotonic instant, computed from one anchor taken at open. */
class CallbackClock {
  private readonly hr0 = process.hrtime.bigint();
  private readonly sec0: number;
  private readonly nsec0: number;
  sec = 0;
  nsec = 0;

  constructor() {
    // timeOrigin + now(): wall time with sub-ms digits, taken next to hr0.
    const wallMs = performance.timeOrigin + performance.now();
    this.sec0 = Math.floor(wallMs / 1000);
    this.nsec0 = Math.min(999_999_999, Math.round((wallMs - this.sec0 * 1000) * 1e6));
  }

  /** Sets sec/nsec to now, truncated to microseconds. */
  stamp(): void {
    const el = Number(process.hrtime.bigint() - this.hr0); // exact below 2^53 ns (104 days)
    const total = this.nsec0 + el;
    const carry = Math.floor(total / 1e9);
    this.sec = this.sec0 + carry;
    const ns = total - carry * 1e9;
    this.nsec = ns - (ns % 1000);
  }
}

class CapCapture implements LiveCapture {
  readonly backend = 'cap' as const;
  readonly tsDigits = 6;
  readonly timestampSource = 'taken in node at the packet callback (the cap binding gives none); µs, not kernel timestamps';
  readonly linkType: number;
  readonly snaplen: number;

  private readonly clock = new CallbackClock();
  private received = 0;
  private truncated = 0;
  private stopped = false;

  constructor(
    readonly iface: string,
    readonly filter: string,
    private readonly cap: CapType,
    /** The binding writes every packet here: referenced for the object's whole life. */
    private readonly buffer: Buffer,
    linkTypeName: string,
    private readonly onPacket: (p: Packet) => void,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.linkType = capLinkType(linkTypeName);
    this.snaplen = buffer.length;
    cap.on('packet', this.handle);
  }

  private readonly handle = (nbytes: number, truncated: boolean): void => {
    if (this.stopped) return;
    this.clock.stamp();
    // Copy now: the next packet overwrites the shared buffer.
    const data = Buffer.allocUnsafe(nbytes);
    this.buffer.copy(data, 0, 0, nbytes);
    if (truncated) this.truncated++;
    const p: Packet = {
      index: ++this.received,
      tsSec: this.clock.sec,
      tsNsec: this.clock.nsec,
      tsDigits: 6,
      linkType: this.linkType,
      data,
      origLen: nbytes, // the binding gives no original length (see the header comment)
      interfaceId: 0,
      fileOffset: 0,
    };
    try {
      this.onPacket(p);
    } catch (err) {
      // An exception must not escape into the native callback (it would kill the process).
      this.close();
      if (this.onError) this.onError(err as Error);
      else throw err;
    }
  };

  safeTime(): { sec: number; nsec: number } {
    // Later packets are stamped later on the same clock: now is safe.
    this.clock.stamp();
    return { sec: this.clock.sec, nsec: this.clock.nsec };
  }

  stats(): LiveStats {
    return { received: this.received, dropped: null, ifDropped: null, truncated: this.truncated };
  }

  private close(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Safe inside the packet handler too: the binding defers pcap_close to the end of its loop.
    this.cap.close();
    // The binding has forgotten the pointer once close() returns from outside a callback, and
    // after its dispatch loop otherwise: release it on the next turn, when both are true.
    setImmediate(() => OPEN_BUFFERS.delete(this.buffer));
  }

  /**
   * Delivers what libpcap's ring still holds before closing (close() would discard it): the
   * ring is read whenever the event loop polls, so wait until a poll brings nothing new.
   */
  async stop(): Promise<void> {
    const until = Date.now() + DRAIN_MAX_MS;
    let seen = -1;
    while (!this.stopped && seen !== this.received && Date.now() < until) {
      seen = this.received;
      await new Promise((r) => setTimeout(r, DRAIN_QUIET_MS));
    }
    this.close();
  }
}

export async function startCapCapture(opts: LiveOptions, onPacket: (p: Packet) => void): Promise<LiveCapture> {
  const { iface, filter } = opts;
  // Checking first avoids libpcap's own "Warning: SIOCGIFADDR ..." line on stderr (printed by
  // the binding) and a leaked handle.
  if (!deviceList().some((d) => d.name === iface)) throw noSuchInterface(iface);

  const mib = opts.bufferMiB ?? CAP_DEFAULT_BUFFER_MIB;
  const ringBytes = Math.min(2047, Math.max(1, Math.floor(mib))) * 1024 * 1024;
  const snaplen = opts.snaplen && opts.snaplen > 0 ? Math.min(opts.snaplen, CAP_SNAPLEN) : CAP_SNAPLEN;
  const buffer = Buffer.alloc(snaplen);
  const cap = new Cap();
  let linkTypeName: string;
  try {
    OPEN_BUFFERS.add(buffer);
    linkTypeName = cap.open(iface, filter, ringBytes, buffer);
  } catch (err) {
    FAILED.push({ cap, buffer }); // never collect it (see the header comment)
    OPEN_BUFFERS.delete(buffer);
    const message = (err as Error).message ?? String(err);
    throw openError(iface, filter, 'cap', message, () => opensWithoutFilter(iface));
  }
  return new CapCapture(iface, filter, cap, buffer, linkTypeName, onPacket, opts.onError);
}

/** Whether the interface opens with no filter (so the filter alone made open() fail). */
function opensWithoutFilter(iface: string): boolean {
  const cap = new Cap();
  const buffer = Buffer.alloc(64);
  try {
    cap.open(iface, '', 1024 * 1024, buffer);
  } catch {
    FAILED.push({ cap, buffer });
    return false;
  }
  cap.close();
  FAILED.push({ cap, buffer }); // closed cleanly; kept only so the buffer outlives any doubt
  return true;
}
