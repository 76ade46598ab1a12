// `vvmp read FILE`: every VVMP frame of a capture, as text, -V trees or NDJSON;
// with tshark's flags (-r -c -x -T -e -E -q -z -d -t -G) as tshark prints them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { STDIN_NAME, describeFsError, readCaptureInput, type CaptureResult } from '../capture/file.js';
import { PcapngWriter, fileSink } from '../capture/writer.js';
import type { Packet } from '../capture/packet.js';
import { Pipeline } from '../analysis/pipeline.js';
import { BufferedOut, FrameWriter, type FrameFormat } from '../output/frameWriter.js';
import { HeldOutput } from '../output/heldBytes.js';
import { addDecodeOptions, addDecodePort, displayFilter, pipelineOptions, readOnSecondThread, reportNoVvmp, type DecodeFlags } from './common.js';
import { reportDamage, reportNotes } from './report.js';
import { linkTypeNotes } from '../capture/notes.js';
import { InputError, UsageError, parseIntStrict } from './errors.js';
import { tuneHeapGrowth } from './heap.js';
import { LossReport } from './lossReport.js';
import { fieldsLayout, parseDecodeAs, parseOutputType, parseStat, parseTimeFormat, type OutputType } from './tshark/options.js';
import { runTshark } from './tshark/run.js';
import { fieldListing } from './tshark/glossary.js';
import type { TimeFormat } from '../output/tshark/time.js';

interface ReadFlags extends DecodeFlags {
  json?: boolean;
  verbose?: boolean;
  write?: string;
  readFile?: string;
  count?: number;
  hex?: boolean;
  outputType?: OutputType;
  field?: string[];
  fieldOption?: string[];
  quiet?: boolean;
  stat?: string[];
  decodeAs?: number[];
  timeFormat?: TimeFormat;
  glossary?: string;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function registerRead(program: Command): void {
  addDecodeOptions(program.command('read')
    .description('decode every VVMP frame of a pcap/pcapng capture (tshark\'s flags work too)')
    .argument('[file]', 'capture file (pcap or pcapng, gzip-compressed or not); - for standard input')
    .option('-r, --read-file <file>', 'the capture to read (tshark -r; instead of FILE)')
    .option('--json', 'one JSON object per frame (NDJSON, see OUTPUT.md); tshark\'s JSON: -T json, -T ek')
    .option('-V, --verbose', 'the full field tree of each frame, with byte offsets (as tshark -V)')
    .option('-w, --write <out.pcapng>', 'write the packets carrying the shown frames to a pcapng file (as tshark -w)')
    .addOption(new Option('-c, --count <n>', 'stop after reading N packets (tshark -c)')
      .argParser((v) => parseIntStrict(v, '-c', 1)))
    .option('-x, --hex', 'hex and ASCII dump of each shown packet, all layers (tshark -x)')
    .addOption(new Option('-T, --output-type <type>', 'tshark output: fields (with -e), json, ek (Elasticsearch bulk), text')
      .argParser(parseOutputType))
    .option('-e, --field <name>', 'a field to print with -T fields (repeatable; any display-filter field)', collect)
    .option('-E, --field-option <name=value>', '-T fields layout: header=y|n, separator=/t|/s|C, quote=d|s|n, occurrence=f|l|a, aggregator=C', collect)
    .option('-q, --quiet', 'no per-packet output (with -z: the statistics only)')
    .option('-z, --stat <stat>', 'statistics after the packets: vvmp,srt | conv,tcp | conv,udp | endpoints,ip | io,stat,INTERVAL[,FILTER…] (repeatable)', collect)
    .addOption(new Option('-d, --decode-as <rule>', 'tcp.port==N,vvmp or udp.port==N,vvmp: also decode port N, added to --port\'s or the default 7369 (repeatable)')
      .argParser((v: string, prev: number[] | undefined) => [...(prev ?? []), parseDecodeAs(v)]))
    .addOption(new Option('-t, --time-format <fmt>', 'time column of the text lines: r (relative, default), a, ad, d, dd, e, u, ud')
      .argParser(parseTimeFormat))
    .option('-G, --glossary <report>', 'print a glossary and exit: fields (every field and filter name, tab-separated)'))
    .action((file: string | undefined, flags: ReadFlags) => readCommand(file, flags));
}

/** tshark-only output flags: with any of them, read works per packet as tshark does. */
function tsharkMode(f: ReadFlags): boolean {
  return f.outputType !== undefined || f.field !== undefined || f.fieldOption !== undefined || f.hex === true
    || f.quiet === true || f.stat !== undefined || f.timeFormat !== undefined;
}

function checkCombinations(f: ReadFlags, type: OutputType): void {
  if (f.verbose && (f.json || type !== 'text')) {
    throw new UsageError(`-V cannot be combined with ${f.json ? '--json' : `-T ${type}`}: it already carries every field (use one of them)`);
  }
  if (f.json && f.outputType !== undefined) throw new UsageError('--json and -T cannot be combined (--json is vvmp\'s NDJSON; -T json is tshark\'s)');
  if (f.json && tsharkMode(f)) throw new UsageError('--json cannot be combined with tshark output flags (-T, -e, -E, -x, -q, -z, -t); use -T json or -T ek');
  if (type === 'fields' && !f.field?.length) throw new UsageError('-T fields needs at least one -e FIELD');
  if (f.field?.length && type !== 'fields') throw new UsageError('-e needs -T fields');
  if (f.fieldOption?.length && type !== 'fields') throw new UsageError('-E needs -T fields');
  if (f.hex && type !== 'text') throw new UsageError(`-x cannot be combined with -T ${type}`);
}

/** The output file of -w must be writable before anything is read or printed. */
function checkOutputPath(out: string): void {
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(out);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) throw new InputError(`${out}: cannot write (is a directory)`);
  const dir = path.dirname(path.resolve(out));
  try {
    if (!fs.statSync(dir).isDirectory()) throw new InputError(`${out}: cannot write (${dir} is not a directory)`);
    fs.accessSync(st ? out : dir, fs.constants.W_OK);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${out}: cannot write (${describeFsError(e)})`);
  }
}

/** -c N cut the reading short: what was not read may hold VVMP. */
function stoppedAtCount(flags: ReadFlags, result: CaptureResult): boolean {
  return flags.count !== undefined && result.packets >= flags.count;
}

function inputOf(file: string | undefined, flags: ReadFlags): string {
  if (file !== undefined && flags.readFile !== undefined) throw new UsageError(`two captures named (${file} and -r ${flags.readFile}); read one at a time`);
  const input = file ?? flags.readFile;
  if (input === undefined) throw new UsageError('read: name a capture (FILE, -r FILE, or - for standard input)');
  return input;
}

export async function readCommand(file: string | undefined, flags: ReadFlags): Promise<void> {
  if (flags.glossary !== undefined) {
    if (flags.glossary !== 'fields') throw new UsageError(`-G: "${flags.glossary}" is not a glossary vvmp has (fields)`);
    process.stdout.write(fieldListing());
    return;
  }
  tuneHeapGrowth();
  const type = flags.outputType ?? 'text';
  checkCombinations(flags, type);
  const input = inputOf(file, flags);
  const filter = displayFilter(flags);
  const fields = type === 'fields' ? fieldsLayout(flags.field ?? [], flags.fieldOption ?? []) : null;
  const stats = (flags.stat ?? []).map(parseStat);
  if (flags.write) {
    if (input === STDIN_NAME) throw new UsageError('-w needs a capture file it can read twice; standard input cannot be (save it to a file first)');
    checkOutputPath(flags.write);
  }
  // tshark's -d adds a port, as --port does.
  for (const p of flags.decodeAs ?? []) addDecodePort(flags, p);
  const pipeOpts = pipelineOptions(flags);
  const loss = new LossReport(input);
  const keep = new Set<number>();
  if (tsharkMode(flags)) {
    const result = await runTshark({
      input, maxPackets: flags.count, pipeline: { ...pipeOpts, compactSessions: true, keepPackets: filter?.packets }, filter, type,
      verbose: flags.verbose === true, hex: flags.hex === true, quiet: flags.quiet === true,
      time: flags.timeFormat ?? 'r', fields, stats,
      onShown: flags.write ? (r) => { for (const f of r.frames) for (let i = f.firstPacket; i <= f.packet; i++) keep.add(i); } : undefined,
      segment: loss.segment,
      threads: input !== STDIN_NAME && readOnSecondThread(),
    });
    loss.end();
    reportDamage(input, result.capture);
    reportNotes(input, result.capture.notes ?? []);
    reportNoVvmp(input, result.packets, result.vvmpFrames, flags, (result.capture.notes?.length ?? 0) > 0 || stoppedAtCount(flags, result.capture));
  } else {
    const format: FrameFormat = flags.json ? 'json' : flags.verbose ? 'verbose' : 'text';
    const out = new BufferedOut((s) => process.stdout.write(s));
    // Output of frames waiting behind an open request: bytes, released into `out` in order.
    const held = new HeldOutput(out);
    let pipeline: Pipeline | null = null;
    const writer = new FrameWriter(out, format, () => pipeline?.analyzer.first ?? null);
    pipeline = new Pipeline({
      segment: loss.segment,
      render: (f, isHeld) => {
        if (filter && !filter.test(f)) return;
        if (flags.write) for (let i = f.firstPacket; i <= f.packet; i++) keep.add(i);
        writer.render(f, isHeld ? held : out);
      },
      held,
    }, { ...pipeOpts, compactSessions: true, renderInOrder: filter?.ordered, keepPackets: filter?.packets, packetBytes: filter?.packets === true, transientFrames: true });
    // A file (not standard input) is read and decoded on a second thread when there are two cores (same output);
    // filters on packet bytes need the packets here.
    const { result, undecoded } = input !== STDIN_NAME && readOnSecondThread() && !filter?.packets
      ? await pipeline.readFileThreaded(input, { maxPackets: flags.count })
      : { result: await readCaptureInput(input, pipeline.packet, { maxPackets: flags.count }), undecoded: pipeline.net.counters.undecoded };
    pipeline.end();
    out.flush();
    loss.end();
    reportDamage(input, result);
    reportNotes(input, [...(result.notes ?? []), ...linkTypeNotes(undecoded)]);
    reportNoVvmp(input, pipeline.analyzer.packets, pipeline.analyzer.vvmpFrames, flags,
      (result.notes?.length ?? 0) > 0 || undecoded.size > 0 || stoppedAtCount(flags, result));
  }
  if (flags.write) await writeSelected(input, flags.write, keep, flags.count);
}

/**
 * Second pass: copies the packets that carry the shown frames into a pcapng
 * file. A frame spanning TCP segments brings every packet from its first
 * byte's to its last byte's (packets of other flows in between come along).
 */
async function writeSelected(input: string, output: string, keep: ReadonlySet<number>, maxPackets?: number): Promise<void> {
  let sink: ReturnType<typeof fileSink>;
  try {
    sink = fileSink(output);
  } catch (e) {
    throw new InputError(`${output}: cannot write (${describeFsError(e)})`);
  }
  const w = new PcapngWriter(sink, { userAppl: 'vvmp', comment: `VVMP frames selected from ${input}` });
  const ifaces = new Map<string, number>();
  await readCaptureInput(input, (p: Packet) => {
    if (!keep.has(p.index)) return;
    const key = `${p.linkType}/${p.tsDigits}`;
    let id = ifaces.get(key);
    if (id === undefined) ifaces.set(key, (id = w.addInterface(p.linkType, { tsDigits: p.tsDigits >= 9 ? 9 : 6 })));
    w.writePacket(id, p.tsSec, p.tsNsec, p.data, p.origLen);
  }, { maxPackets });
  sink.close();
}
