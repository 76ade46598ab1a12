// `vvmp tui [FILE]` and `vvmp tui --live -i IFACE`: the interactive terminal UI.

import { Option, type Command } from 'commander';
import { LIVE_BACKENDS, startLiveCapture, type LiveBackend } from '../capture/live.js';
import { FileSource, LiveSource, type Source } from '../tui/source.js';
import { DEFAULT_RING, FrameStore } from '../tui/store.js';
import { noColorRequested } from '../tui/text.js';
import { addDecodeOptions, displayFilter, pipelineOptions, type DecodeFlags } from './common.js';
import { EXIT_USAGE, parseIntStrict, UsageError } from './errors.js';

interface TuiFlags extends DecodeFlags {
  live?: boolean;
  interface?: string;
  captureFilter?: string;
  backend?: LiveBackend;
  ring?: number;
}

export function registerTui(program: Command): void {
  addDecodeOptions(program.command('tui')
    .description('interactive terminal UI: frames, detail tree, hex, flows, sessions, expert findings')
    .argument('[file]', 'capture file (pcap or pcapng)')
    .option('--live', 'capture live (with -i IFACE) instead of reading a file')
    .option('-i, --interface <iface>', 'interface to capture on (implies --live)')
    .option('-f, --capture-filter <bpf>', 'BPF capture filter for live capture (pcap-filter syntax)')
    .addOption(new Option('--backend <name>', 'live capture backend').choices([...LIVE_BACKENDS]).default('cap'))
    .addOption(new Option('--ring <n>', `live: frames kept for display, the newest (default ${DEFAULT_RING}); counts, flows and sessions cover all`)
      .argParser((v) => parseIntStrict(v, '--ring', 1, 100_000_000))))
    .action((file: string | undefined, flags: TuiFlags) => tuiCommand(file, flags));
}

export const NOT_A_TERMINAL = 'vvmp tui: needs a terminal (stdout is not a TTY); use vvmp read or vvmp stats instead';

export async function tuiCommand(file: string | undefined, flags: TuiFlags): Promise<void> {
  const live = flags.live === true || flags.interface !== undefined;
  if (live && file !== undefined) throw new UsageError('tui: give a capture file or --live -i IFACE, not both');
  if (!live && file === undefined) throw new UsageError('tui: give a capture file, or --live -i IFACE');
  if (live && !flags.interface) throw new UsageError('tui: --live needs -i IFACE');
  const filter = displayFilter(flags); // FilterError: exit 2
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write(process.stdout.isTTY ? NOT_A_TERMINAL.replace('stdout', 'stdin') + '\n' : NOT_A_TERMINAL + '\n');
    process.exitCode = EXIT_USAGE;
    return;
  }
  const store = new FrameStore({
    ring: live ? (flags.ring ?? DEFAULT_RING) : flags.ring,
    live,
    pipeline: pipelineOptions(flags),
  });
  // Opening errors (CaptureError, InputError) are one line before the screen is taken over.
  const source: Source = live
    ? await LiveSource.open(store, {
      iface: flags.interface!,
      filter: flags.captureFilter ?? '',
      backend: flags.backend ?? 'cap',
    }, startLiveCapture)
    : new FileSource(file!, store);
  // The screen code (and blessed) loads only for this command: other commands start smaller and faster.
  const { runApp } = await import('../tui/app.js');
  await runApp(store, source, { filter: filter?.text ?? null, colour: !noColorRequested() });
}
