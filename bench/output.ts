// The output formatters alone, without reading or analysis: frames of a
// capture are analysed once and kept, then rendered several times as text,
// NDJSON and -T fields lines, timed per frame. Isolates the cost of output/
// from the whole-process figures of bench/run.ts. CPU time, not wall time:
// the figures hold on a loaded machine.
//
//   npx tsx bench/output.ts [capture] [--frames N] [--rounds R]

import { readCaptureFile } from '../src/capture/file.js';
import type { AnalyzedFrame } from '../src/analysis/frame.js';
import { Pipeline } from '../src/analysis/pipeline.js';
import { BufferedOut, FrameWriter, type FrameFormat } from '../src/output/frameWriter.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 'bench/out/bench-1m.pcap';
const maxFrames = opt('--frames', 200_000);
const rounds = opt('--rounds', 5);

// Frames are copied out of the hook (the analysis may reuse its objects), with
// their bytes (keepBytes: the writers read ids and payload values in place).
const frames: AnalyzedFrame[] = [];
let first: { sec: number; nsec: number } | null = null;
const pipeline = new Pipeline({ settled: (f) => { if (frames.length < maxFrames) frames.push({ ...f, expert: [...f.expert] }); } }, { compactSessions: true, keepBytes: true });
readCaptureFile(file, (p) => {
  if (!first) first = { sec: p.tsSec, nsec: p.tsNsec };
  if (frames.length < maxFrames) pipeline.packet(p);
});
pipeline.end();

let bytes = 0;
const out = new BufferedOut((chunk) => { bytes += chunk.length; });
for (const format of (process.env.FMT ?? 'text,json,verbose').split(',') as FrameFormat[]) {
  const w = new FrameWriter(out, format, () => first);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    bytes = 0;
    const t0 = process.cpuUsage();
    for (const f of frames) w.render(f, out);
    out.flush();
    const cpu = process.cpuUsage(t0);
    times.push((cpu.user + cpu.system) / 1000);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  console.log(`${format.padEnd(8)} ${frames.length} frames  ${(ms * 1000 / frames.length).toFixed(3)} µs/frame  ${(frames.length / ms / 1000).toFixed(2)} M frames/s  ${(bytes / frames.length).toFixed(0)} B/frame (CPU time, median of ${rounds})`);
}
