// `-T fields` as records: each VVMP frame's values are written once the frame
// is final and wait as bytes behind an open request, as `read` text does
// (output/tshark/fieldRecords.ts); lines come out per packet, identical to
// the frame-holding path in run.ts. That path stays for what needs a
// packet's frames whole when it is shown: -z, -w, -x, and display filters
// that read packet bytes or what was displayed before.

import { readCaptureInput } from '../../capture/file.js';
import { linkTypeNotes } from '../../capture/notes.js';
import { Pipeline } from '../../analysis/pipeline.js';
import { BufferedOut } from '../../output/frameWriter.js';
import { HeldOutput } from '../../output/heldBytes.js';
import { fieldsHeader } from '../../output/tshark/fields.js';
import { FieldRecordWriter, FieldsAssembler } from '../../output/tshark/fieldRecords.js';
import { PacketBook } from './packets.js';
import type { TsharkResult, TsharkRun } from './types.js';

/** Whether the run can write -T fields as records. */
export function fieldsAsRecords(o: TsharkRun): boolean {
  return o.type === 'fields' && !o.quiet && !o.hex && o.stats.length === 0 && o.onShown === undefined
    && !(o.filter?.ordered ?? false) && !(o.filter?.packets ?? false);
}

export async function runFieldsAsRecords(o: TsharkRun): Promise<TsharkResult> {
  const layout = o.fields!;
  const out = new BufferedOut((s) => process.stdout.write(s));
  if (layout.header) out.write(fieldsHeader(layout));
  const book = new PacketBook(false);
  const lines = new FieldsAssembler(layout, out, {
    packet: (n, sec, nsec, digits) => book.take(n, sec, nsec, digits),
    first: () => book.first!,
    packetOf: book.packetOf,
  });
  const held = new HeldOutput(lines);
  const records = new FieldRecordWriter(layout, book.packetOf);
  const filter = o.filter;
  const pipeline = new Pipeline({
    segment: o.segment,
    // before the frame's exchange is judged: a request its reply makes final names the reply's packet
    numbered: (f) => book.frame(f),
    render: (f, isHeld) => records.render(f, filter === null || filter.test(f), isHeld ? held : lines),
    held,
  }, { ...o.pipeline, keepBytes: false, transientFrames: true, payloadInPlace: true, packetBytes: false });
  const input = { maxPackets: o.maxPackets };
  const { result, undecoded } = o.threads
    ? await pipeline.readFileThreaded(o.input, input, (p) => book.packet(p))
    : {
      result: await readCaptureInput(o.input, (p) => {
        book.packet(p);
        pipeline.packet(p);
      }, input),
      undecoded: pipeline.net.counters.undecoded,
    };
  pipeline.end();
  lines.flush();
  out.flush();
  const notes = [...(result.notes ?? []), ...linkTypeNotes(undecoded)];
  const capture = notes.length ? { ...result, notes } : result;
  return { capture, packets: pipeline.analyzer.packets, vvmpFrames: pipeline.analyzer.vvmpFrames };
}
