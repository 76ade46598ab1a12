// `vvmp read FILE`: every VVMP frame of a capture, as text, -V trees or NDJSON.

import type { Command } from 'commander';
import { describeFsError, readCaptureFile } from '../capture/file.js';
import { PcapngWriter, fileSink } from '../capture/writer.js';
import type { Packet } from '../capture/packet.js';
import { Pipeline } from '../analysis/pipeline.js';
import { BufferedOut, FrameWriter, type FrameFormat } from '../output/frameWriter.js';
import { addDecodeOptions, displayFilter, pipelineOptions, type DecodeFlags } from './common.js';
import { reportDamage } from './report.js';
import { InputError } from './errors.js';
import { tuneHeapGrowth } from './heap.js';

interface ReadFlags extends DecodeFlags {
  json?: boolean;
  verbose?: boolean;
  write?: string;
  count?: number;
}

export function registerRead(program: Command): void {
  addDecodeOptions(program.command('read')
    .description('decode every VVMP frame of a pcap/pcapng capture')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .option('--json', 'one JSON object per frame (NDJSON, see OUTPUT.md)')
    .option('-V, --verbose', 'the full field tree of each frame, with byte offsets')
    .option('-w, --write <out.pcapng>', 'write the packets carrying the shown frames to a pcapng file'))
    .action((file: string, flags: ReadFlags) => readCommand(file, flags));
}

export function readCommand(file: string, flags: ReadFlags): void {
  tuneHeapGrowth();
  const filter = displayFilter(flags);
  const format: FrameFormat = flags.json ? 'json' : flags.verbose ? 'verbose' : 'text';
  const out = new BufferedOut((s) => process.stdout.write(s));
  const keep = new Set<number>();
  let pipeline: Pipeline | null = null;
  const writer = new FrameWriter(out, format, () => pipeline?.analyzer.first ?? null);
  pipeline = new Pipeline({
    render: (f) => {
      if (filter && !filter.test(f)) return '';
      if (flags.write) for (let i = f.firstPacket; i <= f.packet; i++) keep.add(i);
      return writer.render(f);
    },
    emit: (text) => {
      if (text) out.write(text);
    },
  }, { ...pipelineOptions(flags), compactSessions: true, renderInOrder: filter?.ordered, keepPackets: filter?.packets });
  const result = readCaptureFile(file, pipeline.packet);
  pipeline.end();
  out.flush();
  reportDamage(file, result);
  if (flags.write) writeSelected(file, flags.write, keep);
}

/**
 * Second pass: copies the packets that carry the shown frames into a pcapng
 * file. A frame spanning TCP segments brings every packet from its first
 * byte's to its last byte's (packets of other flows in between come along).
 */
function writeSelected(input: string, output: string, keep: ReadonlySet<number>): void {
  let sink: ReturnType<typeof fileSink>;
  try {
    sink = fileSink(output);
  } catch (e) {
    throw new InputError(`${output}: cannot write (${describeFsError(e)})`);
  }
  const w = new PcapngWriter(sink, { userAppl: 'vvmp', comment: `VVMP frames selected from ${input}` });
  const ifaces = new Map<string, number>();
  readCaptureFile(input, (p: Packet) => {
    if (!keep.has(p.index)) return;
    const key = `${p.linkType}/${p.tsDigits}`;
    let id = ifaces.get(key);
    if (id === undefined) ifaces.set(key, (id = w.addInterface(p.linkType, { tsDigits: p.tsDigits >= 9 ? 9 : 6 })));
    w.writePacket(id, p.tsSec, p.tsNsec, p.data, p.origLen);
  });
  sink.close();
}
