// `vvmp read` with tshark's output flags: packets (not VVMP frames) are the
// unit, as in tshark: a packet is shown when one of the VVMP frames it
// completes matches -Y, with all of them; -T fields/json/ek, -x, -t and -z
// describe packets the way tshark does with the generated Lua dissector.

import { readCaptureInput } from '../../capture/file.js';
import { linkTypeNotes } from '../../capture/notes.js';
import type { Packet } from '../../capture/packet.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { Pipeline } from '../../analysis/pipeline.js';
import { BufferedOut, FrameWriter } from '../../output/frameWriter.js';
import { fieldsHeader, writeFieldsLine } from '../../output/tshark/fields.js';
import { hexDump } from '../../output/tshark/hexdump.js';
import { JsonArrayWriter, ekPacket } from '../../output/tshark/json.js';
import { stampOf, type PacketRecord } from '../../output/tshark/packet.js';
import { formatTime, type Stamp } from '../../output/tshark/time.js';
import { FlowStat, IoStat, ShownLatencies, convText, endpointsText, srtText } from '../../output/tshark/zstats.js';
import type { StatSpec } from './options.js';
import { fieldsAsRecords, runFieldsAsRecords } from './fieldsRun.js';
import { PacketBook } from './packets.js';
import type { TsharkResult, TsharkRun } from './types.js';

export type { TsharkResult, TsharkRun } from './types.js';

type StatRunner = { frame(f: AnalyzedFrame, start: Stamp): void; text(ctx: { start: Stamp | null; end: Stamp | null }): string };

function statRunner(s: StatSpec, pipeline: () => Pipeline): StatRunner {
  switch (s.kind) {
    case 'conv':
    case 'endpoints': {
      const st = new FlowStat(s.filter);
      return {
        frame: (f) => st.frame(f),
        text: ({ start }) => (s.kind === 'conv' ? convText(st, s.transport, start) : endpointsText(st)),
      };
    }
    case 'io': {
      const st = new IoStat(s.intervalUs, s.columns);
      return {
        frame: (f, start) => st.frame(f, start),
        text: ({ start, end }) => st.text(start && end ? (end.sec - start.sec) * 1e9 + (end.nsec - start.nsec) : 0),
      };
    }
    case 'srt': {
      const shown = new ShownLatencies(s.filter);
      return {
        frame: (f) => shown.frame(f),
        // Without any filter, the very histograms `stats` reports.
        text: () => srtText(s.filter ? shown.data() : pipeline().analyzer.latency.data(), s.filter?.text ?? null),
      };
    }
  }
}

export async function runTshark(o: TsharkRun): Promise<TsharkResult> {
  if (fieldsAsRecords(o)) return runFieldsAsRecords(o);
  const out = new BufferedOut((s) => process.stdout.write(s));
  const book = new PacketBook(o.hex);
  const packetOf = book.packetOf;
  let prevDisplayed: Stamp | null = null;
  let pipeline: Pipeline | null = null;
  const stats = o.stats.map((s) => statRunner(s, () => pipeline!));
  const text = new FrameWriter(out, o.verbose ? 'verbose' : 'text', () => book.first && { sec: book.first.sec, nsec: book.first.nsec });
  const json = o.type === 'json' && !o.quiet ? new JsonArrayWriter((s) => out.write(s)) : null;
  if (o.type === 'fields' && o.fields!.header && !o.quiet) out.write(fieldsHeader(o.fields!));

  const show = (r: PacketRecord): void => {
    o.onShown?.(r);
    if (o.quiet) return;
    switch (o.type) {
      case 'fields': writeFieldsLine(out, o.fields!, r); break;
      case 'json': json!.packet(r); break;
      case 'ek': out.write(ekPacket(r)); break;
      case 'text': {
        if (!o.hex || o.verbose) {
          const ctx = { first: r.first, prevCaptured: r.packet.prev, prevDisplayed: r.prevDisplayed };
          for (const f of r.frames) {
            // The writer's time column is -t r's; other formats replace it in the line.
            if (o.time === 'r') {
              text.render(f, out);
              continue;
            }
            const t = formatTime(o.time, stampOf(f), Math.min(9, Math.max(6, f.tsDigits)), ctx);
            out.write(replaceTime(text.text(f), t));
          }
        }
        if (o.hex) out.write(hexDump(r));
        break;
      }
    }
  };

  let group: AnalyzedFrame[] = [];
  // Each group frame's bytes and packet bytes as kept (see `settled` below).
  let groupBytes: Buffer[] = [];
  let groupPackets: (Buffer | undefined)[] = [];
  const flush = (): void => {
    if (group.length === 0) return;
    const frames = group;
    for (let i = 0; i < frames.length; i++) {
      frames[i]!.decoded.bytes = groupBytes[i]!;
      frames[i]!.packetData = groupPackets[i];
    }
    group = [];
    groupBytes = [];
    groupPackets = [];
    // Packets before this one can no longer be shown: frames settle in packet order.
    const f0 = frames[0]!;
    const info = book.take(f0.packet, f0.tsSec, f0.tsNsec, f0.tsDigits);
    const first = book.first!;
    // -z sees every frame read, as tshark's taps do: -Y limits the display only.
    for (const st of stats) for (const f of frames) st.frame(f, first);
    if (o.filter && !frames.some((f) => o.filter!.test(f))) return;
    const stamp = stampOf(info);
    show({ packet: info, frames, first, prevDisplayed: prevDisplayed ?? stamp, packetOf });
    prevDisplayed = stamp;
  };

  // Frames wait in `group` until their packet is complete, so they keep their
  // bytes. The analyzer copies those of the frames it holds (open requests and
  // what waits behind them); a frame final at once is settled inside its own
  // `frame` call, its bytes still a view into the reader's chunk: copied here
  // into a shared slab (not a buffer per frame, as keepBytes would). The
  // analyzer drops a request's bytes once that call returns (it keeps no
  // request it does not hold): the group keeps its own reference.
  const slab = new ByteSlab();
  const keepPackets = o.pipeline.keepPackets === true;
  let creating: AnalyzedFrame | null = null;
  pipeline = new Pipeline({
    segment: o.segment,
    // before the frame's exchange is judged: a request its reply makes final names the reply's packet
    numbered: (f) => book.frame(f),
    frame: (f) => {
      creating = f;
    },
    settled: (f) => {
      if (group.length && group[0]!.packet !== f.packet) flush();
      group.push(f);
      if (f === creating) {
        const d = f.decoded;
        d.bytes = slab.copy(d.bytes, d.trailing);
        // As keepBytes keeps them: packet bytes only when a filter reads them.
        f.packetData = keepPackets && f.packetData ? slab.copy(f.packetData, 0) : undefined;
      }
      groupBytes.push(f.decoded.bytes);
      groupPackets.push(f.packetData);
    },
  }, { ...o.pipeline, keepBytes: false });

  const onPacket = (p: Packet): void => {
    book.packet(p);
    // Frames settled by time alone (timeouts) were held, hence copied by the analyzer.
    creating = null;
    pipeline!.packet(p);
  };
  const result = await readCaptureInput(o.input, onPacket, { maxPackets: o.maxPackets });
  creating = null;
  pipeline.end();
  flush();
  json?.end();
  for (const st of stats) out.write(st.text({ start: book.first, end: book.last }));
  out.flush();
  const notes = [...(result.notes ?? []), ...linkTypeNotes(pipeline.net.counters.undecoded)];
  const capture = notes.length ? { ...result, notes } : result;
  return { capture, packets: pipeline.analyzer.packets, vvmpFrames: pipeline.analyzer.vvmpFrames };
}

/** Room for copies of frame bytes (with a UDP frame's trailing bytes after its view, which `vvmp` covers). */
const SLAB = 256 << 10;

/**
 * Copies of frame bytes that outlive the reader's chunk, side by side in
 * shared slabs: no ArrayBuffer (and its finalizer) per frame. A slab is
 * collected once no frame refers to it; frames live here only until their
 * packet is shown.
 */
class ByteSlab {
  private slab = Buffer.allocUnsafeSlow(SLAB);
  private used = 0;

  copy(b: Buffer, trailing: number): Buffer {
    const n = b.length + trailing;
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB, n));
      this.used = 0;
    }
    this.slab.set(trailing ? new Uint8Array(b.buffer, b.byteOffset, n) : b, this.used);
    const c = this.slab.subarray(this.used, this.used + b.length);
    this.used += n;
    return c;
  }
}

/** Puts `t` in place of the summary line's time column (right-aligned, 12 wide). */
function replaceTime(line: string, t: string): string {
  const m = /^(\s*\d+ )(\s*\S+)(  .*)$/s.exec(line);
  return m ? `${m[1]}${t.padStart(12)}${m[3]}` : line;
}
