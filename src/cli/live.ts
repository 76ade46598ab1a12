// `vvmp live`: capture on an interface and show VVMP frames as they settle (like `vvmp read`).
//
//   vvmp live [-i IFACE] [--list] [-f BPF] [--port N …] [--heuristic] [-Y EXPR] [--json] [-V]
//             [-w FILE.pcapng] [-c N] [--duration S] [--backend cap|tcpdump]
//
// Backend: tcpdump by default where it is installed (kernel timestamps and drop counts), else cap
// (with a stderr note that drops cannot be counted).
//
// stderr protocol (tests and scripts rely on it):
//   - once the capture is open, one line: `vvmp: capturing on IFACE (WHAT), backend B`
//     (WHAT: `port 7369`, `port 7369 or port 5555`, `filter "BPF"` for -f, or
//     `all IP traffic` for --heuristic);
//   - at the end, one summary line: `vvmp: N packets captured, D dropped by kernel; F VVMP
//     frames shown` (cap: `drops: unknown with the cap backend (…)` instead of the drop count).
// Frames are printed once settled: a request waits for its reply or its timeout (the analyzer's
// `settled` hook); a timer ticks the analyzer in quiet periods so that timeouts still fire.
// Ctrl-C / SIGTERM / SIGHUP / -c / --duration all stop the same way: stop the capture (delivering
// what it already holds), flush the analyzer, close the -w file (complete), print the summary,
// exit 0. The -w file is flushed to the kernel every FLUSH_MS and at once on a signal, so even
// SIGKILL loses at most the last FLUSH_MS of packets.

import { Option, type Command } from 'commander';
import { Pipeline } from '../analysis/pipeline.js';
import {
  CAP_DEFAULT_BUFFER_MIB, DEFAULT_BUFFER_MIB, LIVE_BACKENDS, defaultLiveBackend, listInterfaces, startLiveCapture,
  type LiveBackend, type LiveCapture,
} from '../capture/live.js';
import { LiveCaptureError } from '../capture/errors.js';
import type { Packet } from '../capture/packet.js';
import { PcapngWriter, fileSink, type FileSink } from '../capture/writer.js';
import { onBrokenPipe } from './report.js';
import { LossReport } from './lossReport.js';
import { describeFsError } from '../capture/file.js';
import { BufferedOut, FrameWriter, type FrameFormat } from '../output/frameWriter.js';
import { addDecodeOptions, decodePorts, displayFilter, pipelineOptions, type DecodeFlags } from './common.js';
import { InputError, UsageError, parseIntStrict } from './errors.js';
import { tuneHeapGrowth } from './heap.js';
import { addLiveExportOptions, startLiveExport, type LiveExportFlags } from './liveExport.js';

export const DEFAULT_LIVE_PORT = 7369;
/** Quiet-period tick of the analyzer (timeouts fire without packets). */
const TICK_MS = 250;
/** The -w file is handed to the kernel at least this often (what SIGKILL can lose). */
export const FLUSH_MS = 100;
/** Signals that stop the capture cleanly. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface LiveFlags extends DecodeFlags, LiveExportFlags {
  interface: string;
  list?: boolean;
  captureFilter?: string;
  json?: boolean;
  verbose?: boolean;
  write?: string;
  count?: number;
  duration?: number;
  backend?: LiveBackend;
  bufferSize?: number;
  snaplen?: number;
}

function parseSeconds(v: string): number {
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n > 0) || n > 100 * 365 * 86400) throw new UsageError(`--duration: "${v}" is not a number of seconds above 0`);
  return n;
}

function parseBackend(v: string): LiveBackend {
  if (!(LIVE_BACKENDS as readonly string[]).includes(v)) {
    throw new UsageError(`--backend: "${v}" is not one of ${LIVE_BACKENDS.join(', ')}`);
  }
  return v as LiveBackend;
}

export function registerLive(program: Command): void {
  addLiveExportOptions(addDecodeOptions(program.command('live')
    .description('capture on an interface and show VVMP frames as they come (Ctrl-C stops)')
    .option('-i, --interface <name>', 'interface to capture on', 'lo')
    .option('--list', 'list the interfaces that can be captured on, and exit')
    .option('-f, --capture-filter <bpf>', 'BPF capture filter (replaces the default: the decode ports, 7369 and --port ones)')
    .option('--json', 'one JSON object per frame (NDJSON, see OUTPUT.md)')
    .option('-V, --verbose', 'the full field tree of each frame, with byte offsets')
    .option('-w, --write <out.pcapng>', 'save every captured packet (not only VVMP) to a pcapng file')
    .addOption(new Option('-c, --count <n>', 'stop after n VVMP frames shown')
      .argParser((v) => parseIntStrict(v, '--count', 1)))
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').argParser(parseSeconds))
    .addOption(new Option('--backend <name>',
      'tcpdump (kernel timestamps, drop counts; the default where installed) or cap (libpcap in-process, drops unknown)')
      .argParser(parseBackend))
    .addOption(new Option('-B, --buffer-size <MiB>',
      `kernel capture ring size (default: ${DEFAULT_BUFFER_MIB} with tcpdump, ${CAP_DEFAULT_BUFFER_MIB} with cap)`)
      .argParser((v) => parseIntStrict(v, '--buffer-size', 1, 2047)))
    .addOption(new Option('-s, --snaplen <bytes>', 'bytes kept per packet (default: whole packets)')
      .argParser((v) => parseIntStrict(v, '--snaplen', 64, 262144)))))
    .action((flags: LiveFlags) => liveCommand(flags));
}

/**
 * The capture filter and how the ready line names it. The default keeps IP fragments too:
 * a BPF `port` test cannot see the port of a non-first IPv4 fragment or of any IPv6 fragment,
 * and the analyzer reassembles fragmented datagrams.
 */
export function captureFilter(flags: Pick<LiveFlags, 'captureFilter' | 'heuristic' | 'port' | 'defaultPort'>): { bpf: string; label: string } {
  if (flags.captureFilter !== undefined) return { bpf: flags.captureFilter, label: `filter "${flags.captureFilter}"` };
  if (flags.heuristic) return { bpf: 'ip or ip6', label: 'all IP traffic' };
  const ports = decodePorts(flags).map((p) => `port ${p}`).join(' or ');
  return { bpf: `${ports} or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)`, label: ports };
}

async function listCommand(): Promise<void> {
  const ifaces = await listInterfaces();
  const width = Math.max(4, ...ifaces.map((i) => i.name.length));
  const lines = ifaces.map((i) => {
    const notes = [i.addresses.join(', '), i.description ?? '', i.loopback ? 'loopback' : ''].filter((s) => s !== '');
    return `${i.name.padEnd(width)}  ${notes.join('  ')}`.trimEnd();
  });
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
}

export async function liveCommand(flags: LiveFlags): Promise<void> {
  try {
    await runLive(flags);
  } catch (err) {
    // The capture layer's own error class; the command's exit status 1 is the CLI's decision.
    if (err instanceof LiveCaptureError) throw new InputError(err.message);
    throw err;
  }
}

async function runLive(flags: LiveFlags): Promise<void> {
  tuneHeapGrowth();
  if (flags.list) return listCommand();

  const filter = displayFilter(flags); // FilterError → exit 2, before anything is opened
  if (flags.verbose && flags.json) throw new UsageError('-V cannot be combined with --json: it already carries every field (use one of them)');
  const format: FrameFormat = flags.json ? 'json' : flags.verbose ? 'verbose' : 'text';
  const { bpf, label } = captureFilter(flags);
  const iface = flags.interface;

  // --clickhouse: tables checked and made before the capture opens.
  const exporter = await startLiveExport(flags, iface);

  // The output file first: a bad path fails before the capture opens.
  let sink: FileSink | null = null;
  if (flags.write) {
    try {
      sink = fileSink(flags.write);
    } catch (err) {
      throw new InputError(`${flags.write}: cannot write (${describeFsError(err)})`);
    }
  }

  // Output: buffered, flushed once per burst of packets (setImmediate), and at the end.
  const out = new BufferedOut((s) => process.stdout.write(s));
  let flushQueued = false;
  const flushSoon = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      out.flush();
    });
  };
  let pipeline: Pipeline | null = null;
  const writer = new FrameWriter(out, format, () => pipeline?.analyzer.first ?? null);
  let shown = 0;
  let stopRequested: ((reason: string) => void) | null = null;
  const loss = new LossReport(iface);
  pipeline = new Pipeline({
    segment: loss.segment,
    settled: (f) => {
      if (flags.count !== undefined && shown >= flags.count) return;
      if (filter && !filter.test(f)) return;
      writer.write(f);
      flushSoon();
      shown++;
      if (flags.count !== undefined && shown >= flags.count) stopRequested?.('count');
    },
    ...exporter?.hooks,
  }, { ...pipelineOptions(flags), keepPackets: filter?.packets });

  // pcapng: interfaces are added per link type as packets show them (one, normally).
  let pcapng: PcapngWriter | null = null;
  const ifaceIds = new Map<number, number>();
  let capture: LiveCapture | null = null;
  const ifaceFor = (linkType: number): number => {
    let id = ifaceIds.get(linkType);
    if (id === undefined) {
      id = pcapng!.addInterface(linkType, { name: iface, tsDigits: capture!.tsDigits, snaplen: capture!.snaplen });
      ifaceIds.set(linkType, id);
    }
    return id;
  };

  let lastPacketAt = 0;
  const onPacket = (p: Packet): void => {
    lastPacketAt = Date.now();
    if (pcapng) {
      try {
        pcapng.writePacket(ifaceFor(p.linkType), p.tsSec, p.tsNsec, p.data, p.origLen);
      } catch (err) {
        pcapng = null; // stop writing; the capture stops through onError
        throw new InputError(`${flags.write}: cannot write (${describeFsError(err)})`);
      }
    }
    pipeline!.packet(p);
  };

  let endError: Error | null = null;
  let ended = false;
  let onBackendEnd: (() => void) | null = null;
  let backend = flags.backend;
  if (backend === undefined) {
    const chosen = await defaultLiveBackend();
    backend = chosen.backend;
    if (chosen.note) process.stderr.write(`vvmp: ${chosen.note}\n`);
  }
  try {
    capture = await startLiveCapture({
      iface,
      filter: bpf,
      backend,
      snaplen: flags.snaplen,
      bufferMiB: flags.bufferSize,
      onError: (err) => {
        endError = err;
        ended = true;
        onBackendEnd?.();
      },
      onEnd: () => {
        ended = true;
        onBackendEnd?.();
      },
    }, onPacket);
  } catch (err) {
    sink?.close();
    throw err;
  }
  const cap = capture;

  if (sink) {
    pcapng = new PcapngWriter(sink, {
      userAppl: 'vvmp',
      comment: `vvmp live capture on ${iface}, backend ${cap.backend}, capture filter "${bpf}"; ` +
        `timestamps: ${cap.timestampSource}`,
    });
    if (cap.linkType >= 0) ifaceFor(cap.linkType);
    sink!.flush(); // a valid (empty) capture from the moment the ready line is printed
  }
  process.stderr.write(`vvmp: capturing on ${iface} (${label}), backend ${cap.backend}\n`);

  const flushFile = (): void => {
    try {
      sink?.flush();
    } catch {
      // A failing write shows again at close, where it becomes the command's error.
    }
  };

  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    const timers: NodeJS.Timeout[] = [];
    const onSignal = (): void => {
      // First what we have to the kernel: a second signal may be SIGKILL.
      flushFile();
      if (stopping) {
        // A second Ctrl-C: the user wants out now.
        process.stderr.write('vvmp: interrupted again, exiting without finishing\n');
        process.exit(130);
      }
      stop('signal');
    };

    const stop = (_reason: string): void => {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearTimeout(t);
      void (async () => {
        let error: unknown = null;
        try {
          await cap.stop();
          pipeline!.end();
          out.flush();
          loss.end();
          await exporter?.finish(pipeline!.analyzer);
        } catch (err) {
          error = err;
        }
        try {
          sink?.close();
        } catch (err) {
          error ??= new InputError(`${flags.write}: cannot write (${describeFsError(err)})`);
        }
        for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
        onBrokenPipe(null);
        process.stderr.write(summaryLine(cap, shown) + '\n');
        error ??= endError;
        if (error) reject(error);
        else resolve();
      })();
    };

    stopRequested = stop;
    onBackendEnd = () => stop('backend');
    // `vvmp live … | head`: finish the -w file before leaving.
    onBrokenPipe(() => stop('pipe'));
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
    if (sink) timers.push(setInterval(flushFile, FLUSH_MS));

    const tick = setInterval(() => {
      if (stopping || Date.now() - lastPacketAt < TICK_MS) return;
      const t = cap.safeTime();
      pipeline!.tick(t.sec, t.nsec);
      exporter?.tick(t.sec * 1e9 + t.nsec);
    }, TICK_MS);
    timers.push(tick);
    if (flags.duration !== undefined) timers.push(setTimeout(() => stop('duration'), flags.duration * 1000));
    if (ended) stop('backend'); // ended before we were listening
  });
}

export function summaryLine(cap: LiveCapture, frames: number): string {
  const s = cap.stats();
  let drops: string;
  if (s.dropped !== null) {
    drops = `${s.dropped} dropped by kernel`;
    if (s.ifDropped) drops += `, ${s.ifDropped} dropped by interface`;
  } else if (cap.backend === 'cap') {
    drops = 'drops: unknown with the cap backend (use --backend tcpdump for kernel drop counts)';
  } else {
    drops = 'drops: unknown (tcpdump gave no count)';
  }
  if (s.lostInPipe) drops += `, ${s.lostInPipe} captured by tcpdump but never delivered`;
  const cut = s.truncated ? `, ${s.truncated} cut by the snapshot length` : '';
  return `vvmp: ${s.received} packets captured, ${drops}${cut}; ${frames} VVMP frame${frames === 1 ? '' : 's'} shown`;
}
