// `vvmp replay FILE --target HOST:PORT`: re-sends the client side of every VVMP
// conversation in a capture to a server and compares its replies with the
// captured ones (src/traffic/replay/). Exit 0 when every reply matched, 3 when
// any differed, was missing or was extra; 1 when the capture holds nothing to
// replay, cannot be read, or the target refuses before answering anything; 2
// for usage errors; 130 after Ctrl-C (the report of what was done is printed).
// Output: the text report (or --json, OUTPUT.md) on stdout; warnings and the
// progress line (a TTY only, not with --quiet) on stderr.

import net from 'node:net';
import { Option, type Command } from 'commander';
import { describeFsError } from '../capture/file.js';
import { LiveCaptureError } from '../capture/errors.js';
import { parseHostPort, type HostPort } from '../traffic/transport.js';
import {
  DEFAULT_LINGER_MS, DEFAULT_UDP_WINDOW, ProgressLine, ReplayAbort, ReplayEngine, checkTarget, isComparableField, loadReplayPlan,
  openRecorder, parseIdPair, parseSanPair, replayFailed, replayJson, replayOptions, replayText,
  type RecordMode, type ReplayPlan, type ReplayRecorder, type ReplayResult, type WaitRule,
} from '../traffic/replay/index.js';
import { addDecodeOptions, displayFilter, pipelineOptions, type DecodeFlags } from './common.js';
import { EXIT_FINDINGS, InputError, UsageError, parseIntStrict } from './errors.js';
import { reportDamage, reportNotes, warn } from './report.js';

/** Ctrl-C: the report of what was done is printed, the exit status is 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

interface ReplayFlags extends DecodeFlags {
  target: string;
  speed: number;
  topspeed?: boolean;
  loop: number;
  timeout?: number;
  linger: number;
  window?: number;
  clientId?: Array<[bigint, bigint]>;
  serverId?: Array<[bigint, bigint]>;
  san?: Array<[number, number]>;
  renumber?: boolean;
  strictServerId?: boolean;
  ignore?: string[];
  record?: string;
  recordMode: RecordMode;
  wait: WaitRule;
  json?: boolean;
  quiet?: boolean;
}

/** `HOST:PORT` or `[v6]:PORT`, port 1..65535 (the port is not optional here). */
export function parseTarget(text: string): HostPort {
  const bad = () => new UsageError(`--target: "${text}" is not HOST:PORT`);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(text);
  if (!m) throw bad();
  if (text.startsWith('[') && !net.isIPv6(m[1]!)) throw bad();
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw bad();
  try {
    return parseHostPort(text);
  } catch {
    throw bad();
  }
}

function parseSpeed(v: string): number {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(v) ? Number(v) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--speed: "${v}" is not a number above 0`);
  return n;
}

function collect<T>(parse: (v: string) => T) {
  return (v: string, prev: T[] | undefined): T[] => [...(prev ?? []), parse(v)];
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function parseRecordMode(v: string): RecordMode {
  if (v !== 'auto' && v !== 'live' && v !== 'synthetic') throw new UsageError(`--record-mode: "${v}" is not auto, live or synthetic`);
  return v;
}

function parseWait(v: string): WaitRule {
  if (v !== 'capture' && v !== 'flow') throw new UsageError(`--wait: "${v}" is not capture or flow`);
  return v;
}

function parseIgnore(v: string): string {
  if (!isComparableField(v)) throw new UsageError(`--ignore: "${v}" is not a VVMP field name (e.g. vvmp.alloc.capacity_kb, vvmp.status)`);
  return v;
}

export function registerReplay(program: Command): void {
  addDecodeOptions(program.command('replay')
    .description('re-send the client side of a capture to a VVMP server and check its replies against the captured ones')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .requiredOption('--target <host:port>', 'the server to replay to')
    .addOption(new Option('--speed <x>', 'pacing: x times the captured speed').default(1).argParser(parseSpeed))
    .option('--topspeed', 'no pacing: as fast as the replies the capture waited for allow')
    .addOption(new Option('--wait <rule>', 'capture: a request waits for every reply the capture shows before it (any socket); '
      + 'flow: only for those on its own socket').default('capture').argParser(parseWait))
    .addOption(new Option('--loop <n>', 'replay the capture n times').default(1)
      .argParser((v) => parseIntStrict(v, '--loop', 1, 1_000_000)))
    .addOption(new Option('--timeout <ms>', 'reply timeout (default: each request\'s own, VVMP.md section 7: 5000 ms or the Allocate/Modify timeout_ms)')
      .argParser((v) => parseIntStrict(v, '--timeout', 1, 3_600_000)))
    .addOption(new Option('--linger <ms>', 'listen this long for extra replies at the end').default(DEFAULT_LINGER_MS)
      .argParser((v) => parseIntStrict(v, '--linger', 0, 600_000)))
    .addOption(new Option('--window <n>', `max requests awaiting replies per socket (0 = unlimited; default unlimited on TCP, ${DEFAULT_UDP_WINDOW} on UDP)`)
      .argParser((v) => parseIntStrict(v, '--window', 0, 1 << 24)))
    .addOption(new Option('--client-id <old=new>', 'rewrite this client id (repeatable)')
      .argParser(collect((v) => usage(() => parseIdPair(v, '--client-id')))))
    .addOption(new Option('--server-id <old=new>', 'rewrite this server id in requests (repeatable)')
      .argParser(collect((v) => usage(() => parseIdPair(v, '--server-id')))))
    .addOption(new Option('--san <old=new>', 'rewrite this SAN id in src_san and dst_san (repeatable)')
      .argParser(collect((v) => usage(() => parseSanPair(v, '--san')))))
    .option('--renumber', 'fresh transaction ids (1, 2, … per socket) instead of the captured ones')
    .option('--strict-server-id', 'compare the replies\' server_id too (ignored by default: another server has another id)')
    .addOption(new Option('--ignore <field>', 'do not compare this field (repeatable), e.g. vvmp.device.free_kb')
      .argParser(collect(parseIgnore)))
    .option('--record <out.pcapng>', 'capture the replay\'s own traffic (live capture when possible, else synthetic packets)')
    .addOption(new Option('--record-mode <mode>', 'auto, live or synthetic').default('auto').argParser(parseRecordMode))
    .option('--json', 'one JSON object at the end (OUTPUT.md)')
    .option('-q, --quiet', 'no progress line'))
    .action((file: string, flags: ReplayFlags) => replayCommand(file, flags));
}

function nothingToReplay(file: string, plan: ReplayPlan, filterText: string | undefined): InputError {
  const n = plan.vvmpFrames;
  let why: string;
  if (n === 0) why = '0 VVMP frames; try --port or --heuristic';
  else if (plan.requestFrames === 0) why = `${n} VVMP frames, none of them a request`;
  else if (plan.skipped.filtered === plan.requestFrames) why = `${n} VVMP frames, none selected by -Y "${filterText}"`;
  else {
    const parts = [
      plan.skipped.serverSide ? `${plan.skipped.serverSide} sent by the server side of their flow` : '',
      plan.skipped.incomplete ? `${plan.skipped.incomplete} cut short on TCP` : '',
      plan.skipped.filtered ? `${plan.skipped.filtered} not selected by -Y` : '',
    ].filter(Boolean);
    why = `${n} VVMP frames; requests skipped: ${parts.join(', ')}`;
  }
  return new InputError(`${file}: no VVMP requests to replay (${why})`);
}

export async function replayCommand(file: string, flags: ReplayFlags): Promise<void> {
  const target = parseTarget(flags.target);
  const filter = displayFilter(flags);
  const plan = loadReplayPlan(file, { ...pipelineOptions(flags), filter, wait: flags.wait });
  reportDamage(file, plan.capture);
  reportNotes(file, plan.capture.notes ?? []);
  if (plan.requests.length === 0) throw nothingToReplay(file, plan, flags.displayFilter);

  const targetText = flags.target;
  const opts = replayOptions({
    target, speed: flags.speed, topspeed: flags.topspeed, loops: flags.loop, timeoutMs: flags.timeout,
    lingerMs: flags.linger, tcpWindow: flags.window, udpWindow: flags.window,
    clientIds: flags.clientId, serverIds: flags.serverId, sans: flags.san, renumber: flags.renumber,
    strictServerId: flags.strictServerId, ignore: flags.ignore,
  });
  // The baseline exchange (is the target a VVMP server that answers?) before --record starts,
  // so the recording holds only the replay.
  try {
    await checkTarget(plan, opts);
  } catch (e) {
    if (e instanceof ReplayAbort) throw new InputError(e.message);
    throw e;
  }
  opts.baselineChecked = true;
  let recorder: ReplayRecorder | null = null;
  if (flags.record) {
    try {
      recorder = await openRecorder({
        path: flags.record, mode: flags.recordMode, host: target.host, port: target.port,
        what: `${file} to ${targetText}`,
        onFallback: (reason) => {
          if (!flags.quiet) warn(`--record: live capture not possible (${reason}); writing synthetic packets`);
        },
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err instanceof InputError || err instanceof LiveCaptureError) throw new InputError(`--record: ${err.message}`);
      throw new InputError(`${flags.record}: ${err.code ? describeFsError(err) : err.message}`);
    }
  }

  opts.tap = recorder?.tap ?? null;
  const engine = new ReplayEngine(plan, opts);
  const progress = !flags.quiet && process.stderr.isTTY ? new ProgressLine(engine, process.stderr) : null;
  const onSigint = () => engine.interrupt();
  process.once('SIGINT', onSigint);
  progress?.start();
  let result: ReplayResult;
  try {
    result = await engine.run();
  } catch (e) {
    if (e instanceof ReplayAbort) throw new InputError(e.message);
    throw e;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
    await recorder?.close();
  }

  for (const w of result.warnings) warn(w);
  if (flags.json) process.stdout.write(replayJson(result) + '\n');
  else {
    const mode = flags.topspeed ? 'topspeed' : flags.speed === 1 ? 'original pacing' : `${flags.speed}× speed`;
    let text = replayText(plan, result, targetText, { mode });
    if (recorder) text += `recorded ${recorder.packets()} packets to ${flags.record}: ${recorder.how}\n`;
    process.stdout.write(text);
  }
  if (flags.json && recorder && !flags.quiet) warn(`recorded ${recorder.packets()} packets to ${flags.record}: ${recorder.how}`);
  if (result.interrupted) {
    // Not a verdict on the capture: say so, and exit as an interrupted program does.
    warn(`replay interrupted: ${result.sent} of ${plan.requests.length * flags.loop} requests sent`);
    process.exitCode = EXIT_INTERRUPTED;
  } else if (replayFailed(result)) process.exitCode = EXIT_FINDINGS;
}
