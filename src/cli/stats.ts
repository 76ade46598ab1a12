// `vvmp stats FILE`: what happened in a capture, as text or OUTPUT.md's JSON.

import type { Command } from 'commander';
import { readCaptureFile } from '../capture/file.js';
import { Pipeline } from '../analysis/pipeline.js';
import type { AnalyzerHooks } from '../analysis/analyzer.js';
import { Summary } from '../analysis/summary.js';
import { writeStatsJson } from '../output/statsJson.js';
import { BufferedOut } from '../output/frameWriter.js';
import { statsText } from '../output/statsText.js';
import { addDecodeOptions, displayFilter, pipelineOptions, type DecodeFlags } from './common.js';
import { reportDamage } from './report.js';

interface StatsFlags extends DecodeFlags {
  json?: boolean;
}

export function registerStats(program: Command): void {
  addDecodeOptions(program.command('stats')
    .description('summarise a capture: frames by opcode, findings, flows, sessions, latency')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .option('--json', 'one JSON object (see OUTPUT.md)'))
    .action((file: string, flags: StatsFlags) => statsCommand(file, flags));
}

export function statsCommand(file: string, flags: StatsFlags): void {
  const filter = displayFilter(flags);
  const summary = new Summary();
  // Without a filter, count frames at once and late findings as they come (no
  // frames held back); a filter must see each frame final, so it reads settled frames.
  const hooks: AnalyzerHooks = filter
    ? { settled: (f) => { if (filter.test(f)) summary.frame(f); } }
    : { frame: (f) => summary.frame(f), lateFinding: (f, x) => summary.lateFinding(f, x), segment: (e) => summary.segment(e) };
  const pipeline = new Pipeline(hooks, { ...pipelineOptions(flags), compactSessions: true });
  const result = readCaptureFile(file, pipeline.packet);
  pipeline.end();
  if (flags.json) {
    const out = new BufferedOut((s) => process.stdout.write(s));
    writeStatsJson(pipeline.analyzer, summary, (s) => out.write(s));
    out.flush();
  } else {
    process.stdout.write(statsText(file, pipeline.analyzer, summary, filter?.text ?? null));
  }
  reportDamage(file, result);
}
