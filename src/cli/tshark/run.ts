// `vvmp read` with tshark's output flags: packets (not VVMP frames) are the
// unit, as in tshark: a packet is shown when one of the VVMP frames it
// completes matches -Y, with all of them; -T fields/json/ek, -x, -t and -z
// describe packets the way tshark does with the generated Lua dissector.

import { readCaptureInput, type CaptureResult } from '../../capture/file.js';
import { linkTypeNotes } from '../../capture/notes.js';
import type { SegmentEvent } from '../../net/types.js';
import type { Packet } from '../../capture/packet.js';
import type { CompiledFilter } from '../../analysis/filter/index.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { Pipeline, type PipelineOptions } from '../../analysis/pipeline.js';
import { BufferedOut, FrameWriter } from '../../output/frameWriter.js';
import { fieldsHeader, writeFieldsLine, type FieldsLayout } from '../../output/tshark/fields.js';
import { hexDump } from '../../output/tshark/hexdump.js';
import { JsonArrayWriter, ekPacket } from '../../output/tshark/json.js';
import { stampOf, type PacketInfo, type PacketRecord } from '../../output/tshark/packet.js';
import { formatTime, type Stamp, type TimeFormat } from '../../output/tshark/time.js';
import { FlowStat, IoStat, ShownLatencies, convText, endpointsText, srtText } from '../../output/tshark/zstats.js';
import type { OutputType, StatSpec } from './options.js';

export interface TsharkRun {
  input: string;
  maxPackets?: number;
  pipeline: PipelineOptions;
  filter: CompiledFilter | null;
  type: OutputType;
  verbose: boolean;
  hex: boolean;
  quiet: boolean;
  time: TimeFormat;
  fields: FieldsLayout | null;
  stats: StatSpec[];
  /** Called with every shown packet (for -w). */
  onShown?: (r: PacketRecord) => void;
  /** TCP gaps and skipped bytes, as they happen (read reports them on stderr). */
  segment?: (e: SegmentEvent) => void;
}

export interface TsharkResult {
  capture: CaptureResult;
  /** Packets read and VVMP frames decoded (for the "no VVMP on these ports" hint). */
  packets: number;
  vvmpFrames: number;
}

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
  const out = new BufferedOut((s) => process.stdout.write(s));
  const packets = new PacketQueue();
  let first: Stamp | null = null;
  let prevDisplayed: Stamp | null = null;
  // The packet being read and the one before it, as numbers (no object per packet).
  let current: Packet | null = null;
  let beforeSec = 0;
  let beforeNsec = 0;
  let lastSec = 0;
  let lastNsec = 0;
  let pipeline: Pipeline | null = null;
  const stats = o.stats.map((s) => statRunner(s, () => pipeline!));
  const text = new FrameWriter(out, o.verbose ? 'verbose' : 'text', () => first && { sec: first.sec, nsec: first.nsec });
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
    const info = packets.take(frames[0]!);
    // -z sees every frame read, as tshark's taps do: -Y limits the display only.
    for (const st of stats) for (const f of frames) st.frame(f, first!);
    if (o.filter && !frames.some((f) => o.filter!.test(f))) return;
    const stamp = stampOf(info);
    show({ packet: info, frames, first: first!, prevDisplayed: prevDisplayed ?? stamp, packetOf });
    prevDisplayed = stamp;
  };

  // Each VVMP frame's packet number (4 bytes a frame): tshark names the other
  // frame of an exchange by its packet (vvmp.response_in / response_to).
  let packetOfFrame = new Int32Array(1 << 16);
  const packetOf = (n: number): number | undefined => (n > 0 && n < packetOfFrame.length && packetOfFrame[n] !== 0 ? packetOfFrame[n] : undefined);
  const notePacket = (f: AnalyzedFrame): void => {
    if (f.number >= packetOfFrame.length) {
      const grown = new Int32Array(Math.max(packetOfFrame.length * 2, f.number + 1));
      grown.set(packetOfFrame);
      packetOfFrame = grown;
    }
    packetOfFrame[f.number] = f.packet;
  };

  // The packet being read, kept in `packets` only when it completes a VVMP frame.
  const remember = (f: AnalyzedFrame): void => {
    notePacket(f);
    if (packets.lastNumber === f.packet) return;
    const p = current;
    if (p && p.index === f.packet) {
      packets.push({
        number: p.index, tsSec: p.tsSec, tsNsec: p.tsNsec, tsDigits: p.tsDigits, origLen: p.origLen,
        capLen: p.data.length, linkType: p.linkType, data: o.hex ? Uint8Array.from(p.data) : null, prev: { sec: beforeSec, nsec: beforeNsec },
      });
    }
    // Otherwise the frame was completed at the end of input (a cut-off TCP stream) by a packet
    // read earlier: PacketQueue.take describes it from the frame.
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
    frame: (f) => {
      creating = f;
      remember(f);
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
    if (!first) {
      first = stampOf(p);
      lastSec = p.tsSec;
      lastNsec = p.tsNsec;
    }
    current = p;
    beforeSec = lastSec;
    beforeNsec = lastNsec;
    lastSec = p.tsSec;
    lastNsec = p.tsNsec;
    // Frames settled by time alone (timeouts) were held, hence copied by the analyzer.
    creating = null;
    pipeline!.packet(p);
  };
  const result = await readCaptureInput(o.input, onPacket, { maxPackets: o.maxPackets });
  creating = null;
  pipeline.end();
  flush();
  json?.end();
  const last: Stamp | null = first && { sec: lastSec, nsec: lastNsec };
  for (const st of stats) out.write(st.text({ start: first, end: last }));
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

/**
 * The packets that completed VVMP frames not shown yet, in packet order (the
 * order frames complete and settle in): pushed at the back, taken from the front.
 */
class PacketQueue {
  private items: PacketInfo[] = [];
  private head = 0;

  get lastNumber(): number {
    return this.items.length > this.head ? this.items[this.items.length - 1]!.number : -1;
  }

  push(p: PacketInfo): void {
    this.items.push(p);
  }

  /** The packet of `f`, dropping the older ones; made from the frame if it was never noted. */
  take(f: AnalyzedFrame): PacketInfo {
    while (this.head < this.items.length && this.items[this.head]!.number < f.packet) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    const p = this.items[this.head];
    if (p && p.number === f.packet) return p;
    return { number: f.packet, tsSec: f.tsSec, tsNsec: f.tsNsec, tsDigits: f.tsDigits, origLen: 0, capLen: 0, linkType: 0, data: null, prev: stampOf(f) };
  }
}

/** Puts `t` in place of the summary line's time column (right-aligned, 12 wide). */
function replaceTime(line: string, t: string): string {
  const m = /^(\s*\d+ )(\s*\S+)(  .*)$/s.exec(line);
  return m ? `${m[1]}${t.padStart(12)}${m[3]}` : line;
}
