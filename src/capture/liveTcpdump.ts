// The tcpdump backend: `tcpdump --immediate-mode -U -B KiB -s 0 --time-stamp-precision=nano
// -i IFACE -w - -- FILTER`, its stdout fed to the capture parser as a pcap stream.
//
//   - timestamps are the kernel's (nanosecond pcap when tcpdump supports it, else µs);
//   - original lengths are real (from the pcap record);
//   - drop counts come from tcpdump's report on stderr when it exits ("N packets dropped by
//     kernel", "N packets dropped by interface"): stats().dropped is null until then;
//   - latency: -U writes each packet to the pipe as it comes (≈1 ms end to end measured);
//   - tcpdump shares our process group, so a terminal Ctrl-C reaches it too: it exits cleanly
//     (status 0, stats printed), which we report through onEnd.
//   - tcpdump never outlives us: with traffic, its next write to the closed pipe kills it
//     (EPIPE); on an idle line a watchdog (a tiny sh, the equivalent of PR_SET_PDEATHSIG, which
//     tcpdump would lose when it drops privileges) waits for EOF on a pipe only we hold open:
//     when we die, however we die (even SIGKILL), the kernel closes it and the watchdog stops
//     tcpdump with SIGTERM. A clean stop kills the watchdog first (it then does nothing).
// Which flags this tcpdump supports is asked once from `tcpdump --help`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { LiveCaptureError } from './errors.js';
import { CaptureParser } from './parser.js';
import type { Packet } from './packet.js';
import {
  DEFAULT_BUFFER_MIB, dltNameLinkType, openError,
  type LiveCapture, type LiveOptions, type LiveStats,
} from './liveShared.js';

/** How long a packet may take from the kernel to our parser (pipe, tcpdump's flushing). */
const DELIVERY_MARGIN_NS = 250e6;
/** How long stop() waits for tcpdump to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5000;

interface TcpdumpInfo {
  path: string;
  immediate: boolean;
  nano: boolean;
}

let cachedInfo: TcpdumpInfo | null = null;

/** Finds tcpdump and the flags it supports; LiveCaptureError if it is not installed. */
export function tcpdumpInfo(): TcpdumpInfo {
  if (cachedInfo) return cachedInfo;
  const candidates = [process.env.VVMP_TCPDUMP, 'tcpdump', '/usr/sbin/tcpdump', '/usr/bin/tcpdump', '/usr/local/sbin/tcpdump']
    .filter((c): c is string => !!c);
  for (const path of candidates) {
    const r = spawnSync(path, ['--help'], { encoding: 'utf8' });
    if (r.error) continue; // ENOENT: try the next place
    const help = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    cachedInfo = {
      path,
      immediate: help.includes('--immediate-mode'),
      nano: help.includes('--time-stamp-precision'),
    };
    return cachedInfo;
  }
  throw new LiveCaptureError('tcpdump not found (apt-get install tcpdump), or use --backend cap');
}

export function tcpdumpArgs(info: TcpdumpInfo, opts: LiveOptions): string[] {
  const kib = Math.max(1, Math.floor((opts.bufferMiB ?? DEFAULT_BUFFER_MIB) * 1024));
  const args: string[] = [];
  if (info.immediate) args.push('--immediate-mode');
  args.push('-U', '-B', String(kib), '-s', String(opts.snaplen && opts.snaplen > 0 ? opts.snaplen : 0));
  if (info.nano) args.push('--time-stamp-precision=nano');
  args.push('-i', opts.iface, '-w', '-');
  if (opts.filter.trim() !== '') args.push('--', opts.filter);
  return args;
}

/**
 * Starts the watchdog of tcpdump's process `pid` (see the header). It ignores the terminal's
 * signals (we stop tcpdump ourselves on those) and keeps nothing of ours alive (unref'd).
 */
function startWatchdog(pid: number): ChildProcess | null {
  let w: ChildProcess;
  try {
    w = spawn('/bin/sh', ['-c', 'trap "" INT HUP QUIT TERM; read _ignored; kill -TERM "$1" 2>/dev/null', 'vvmp-watchdog', String(pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    return null;
  }
  w.on('error', () => {}); // no /bin/sh: the closed pipe still stops a tcpdump that has traffic
  w.stdin!.on('error', () => {});
  w.unref();
  (w.stdin as unknown as { unref?: () => void }).unref?.();
  return w;
}

/** tcpdump's exit report. */
export function parseTcpdumpStats(stderr: string): { captured: number | null; dropped: number | null; ifDropped: number | null } {
  const num = (re: RegExp): number | null => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : null;
  };
  return {
    captured: num(/^(\d+) packets? captured/m),
    dropped: num(/^(\d+) packets? dropped by kernel/m),
    ifDropped: num(/^(\d+) packets? dropped by interface/m),
  };
}

/** The error lines of tcpdump's stderr (not its progress lines). */
function errorText(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) =>
    l !== '' &&
    !/^tcpdump: (listening on|data link type|verbose output suppressed)/.test(l) &&
    !/^\d+ packets? (captured|received by filter|dropped by)/.test(l) &&
    !/^Warning: /.test(l));
  return lines.join('\n');
}

class TcpdumpCapture implements LiveCapture {
  readonly backend = 'tcpdump' as const;
  linkType = -1;
  readonly snaplen: number;
  tsDigits: number;
  readonly timestampSource: string;

  private received = 0;
  private truncated = 0;
  private stderr = '';
  private stopping = false;
  private exited = false;
  private readonly closed: Promise<void>;
  private readonly parser: CaptureParser;
  private head = Buffer.alloc(0);
  private failed = false;
  private readonly watchdog: ChildProcess | null;

  constructor(
    readonly iface: string,
    readonly filter: string,
    private readonly child: ChildProcess,
    info: TcpdumpInfo,
    private readonly opts: LiveOptions,
    private readonly onPacket: (p: Packet) => void,
    ready: { resolve: () => void; reject: (e: Error) => void },
  ) {
    this.snaplen = opts.snaplen && opts.snaplen > 0 ? opts.snaplen : 262144;
    this.tsDigits = info.nano ? 9 : 6;
    this.timestampSource = `kernel (tcpdump), ${info.nano ? 'ns' : 'µs'}`;
    this.parser = new CaptureParser(this.deliver, `tcpdump on ${iface}`);
    this.watchdog = child.pid !== undefined ? startWatchdog(child.pid) : null;
    let isReady = false;

    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.failed) return;
      if (this.head.length < 24) this.peekHeader(chunk);
      try {
        this.parser.push(chunk);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      this.stderr += s;
      if (!isReady) {
        const m = /listening on \S+, link-type (\S+)/.exec(this.stderr);
        if (m) {
          isReady = true;
          if (this.linkType < 0) this.linkType = dltNameLinkType(m[1]!);
          ready.resolve();
        }
      }
    });
    this.closed = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        this.exited = true;
        this.watchdog?.kill('SIGKILL');
        try {
          this.parser.end();
        } catch {
          // nothing came: reported below through the exit status / stderr
        }
        if (!isReady) {
          ready.reject(this.startError(code, signal, opts));
        } else if (!this.stopping && !this.failed) {
          const err = this.exitError(code, signal);
          if (err) (opts.onError ?? (() => {}))(err);
          else opts.onEnd?.();
        }
        resolve();
      });
    });
  }

  private peekHeader(chunk: Buffer): void {
    this.head = Buffer.concat([this.head, chunk.subarray(0, 24 - this.head.length)]);
    if (this.head.length < 24) return;
    const magic = this.head.readUInt32LE(0);
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    const be = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
    if (!le && !be) return;
    const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    this.tsDigits = nano ? 9 : 6;
    this.linkType = (le ? this.head.readUInt32LE(20) : this.head.readUInt32BE(20)) & 0xffff;
  }

  private readonly deliver = (p: Packet): void => {
    this.received++;
    if (p.origLen > p.data.length) this.truncated++;
    // An exception from onPacket stops the parser's loop and reaches the data handler: fail().
    this.onPacket(p);
  };

  /** A consumer's exception or a broken stream: stop tcpdump, report once. */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    if (!this.exited) this.child.kill('SIGTERM');
    if (this.opts.onError) this.opts.onError(err);
    else process.nextTick(() => { throw err; });
  }

  private startError(code: number | null, signal: NodeJS.Signals | null, opts: LiveOptions): Error {
    const text = errorText(this.stderr);
    if (text === '') {
      return new LiveCaptureError(`tcpdump on ${this.iface} ended before capturing (${signal ? `signal ${signal}` : `status ${code}`})`);
    }
    return openError(this.iface, this.filter, 'tcpdump', text, () => filterRejected(opts));
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): Error | null {
    if (signal === 'SIGINT' || signal === 'SIGTERM' || code === 0) return null;
    const text = errorText(this.stderr).split('\n')[0];
    return new LiveCaptureError(`tcpdump on ${this.iface} stopped: ${text || (signal ? `signal ${signal}` : `status ${code}`)}`);
  }

  safeTime(): { sec: number; nsec: number } {
    // Date.now(): CLOCK_REALTIME like the kernel's stamps (performance.* would ignore clock steps).
    const ns = BigInt(Date.now()) * 1_000_000n - BigInt(DELIVERY_MARGIN_NS);
    return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
  }

  stats(): LiveStats {
    const s = this.exited ? parseTcpdumpStats(this.stderr) : { captured: null, dropped: null, ifDropped: null };
    // tcpdump counts what it wrote; fewer parsed here means the pipe lost some (tcpdump killed).
    const lost = s.captured !== null && s.captured > this.received ? s.captured - this.received : 0;
    let dropped = packetDrops(this.iface, s.dropped);
    const seen = this.exited ? receivedByFilter(this.stderr) : null;
    if (dropped !== null && seen !== null && s.captured !== null && loopbackHalves(this.iface)) {
      dropped = Math.max(dropped, loopbackLoss(seen, s.captured));
    }
    return { received: this.received, dropped, ifDropped: s.ifDropped, truncated: this.truncated, lostInPipe: lost };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.watchdog?.kill('SIGKILL');
    if (!this.exited) {
      this.child.kill('SIGTERM'); // tcpdump flushes, prints its counts and exits 0
      const timer = setTimeout(() => {
        if (!this.exited) this.child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await this.closed;
      clearTimeout(timer);
    } else {
      await this.closed;
    }
  }
}

/**
 * The kernel's drop count in packets. On Linux loopback every packet passes the capture socket
 * twice (sent, then received; libpcap throws the sent copy away) and the kernel counts both
 * copies, in "received by filter" and in "dropped" alike (measured: 160,000 received for 80,000
 * packets, 5,126 dropped for 2,568 missing): half of it, rounded up, is what was lost.
 */
export function packetDrops(iface: string, kernelDropped: number | null): number | null {
  if (kernelDropped === null) return null;
  return process.platform === 'linux' && iface === 'lo' ? Math.ceil(kernelDropped / 2) : kernelDropped;
}

function loopbackHalves(iface: string): boolean {
  return process.platform === 'linux' && iface === 'lo';
}

/** tcpdump's "N packets received by filter" (the kernel's count, drops included), or null. */
export function receivedByFilter(stderr: string): number | null {
  const m = /^(\d+) packets? received by filter/m.exec(stderr);
  return m ? Number(m[1]) : null;
}

/**
 * Packets lost on Linux loopback, exactly: both copies of every packet pass the filter (the
 * kernel's "received by filter" counts them, drops included), and a packet is saved when its
 * received copy was: the packets seen are half of `receivedByFilter`, the lost ones those of
 * them tcpdump did not capture. (Halving the kernel's drop count assumes both copies of a lost
 * packet were dropped; when only the received copy was, it reports one too few.)
 */
export function loopbackLoss(receivedByFilter: number, captured: number): number {
  return Math.max(0, Math.ceil(receivedByFilter / 2) - captured);
}

/** Whether tcpdump rejects the filter on this interface (compile only: `tcpdump -d`). */
function filterRejected(opts: LiveOptions): boolean {
  const info = tcpdumpInfo();
  const r = spawnSync(info.path, ['-d', '-i', opts.iface, '--', opts.filter], { encoding: 'utf8' });
  return !r.error && r.status !== 0;
}

export async function startTcpdumpCapture(opts: LiveOptions, onPacket: (p: Packet) => void): Promise<LiveCapture> {
  const info = tcpdumpInfo();
  const child = spawn(info.path, tcpdumpArgs(info, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const spawnFailed = new Promise<never>((_, rej) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      rej(err.code === 'ENOENT'
        ? new LiveCaptureError('tcpdump not found (apt-get install tcpdump), or use --backend cap')
        : new LiveCaptureError(`cannot run tcpdump: ${err.message}`));
    });
  });
  const capture = new TcpdumpCapture(opts.iface, opts.filter, child, info, opts, onPacket, {
    resolve: resolveReady,
    reject: rejectReady,
  });
  await Promise.race([ready, spawnFailed]);
  return capture;
}
