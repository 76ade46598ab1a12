// The `vvmp` command: parses the command line, runs one command, maps errors to exit codes.

import { Command, CommanderError, Help } from 'commander';
import { CaptureError, LiveCaptureError } from '../capture/errors.js';
import { FilterError } from '../analysis/filter/index.js';
import { EXIT_INPUT, EXIT_USAGE, InputError, UsageError } from './errors.js';
import { registerRead } from './read.js';
import { registerStats } from './stats.js';
import { registerLive } from './live.js';
import { registerTui } from './tui.js';
import { registerReplay } from './replay.js';
import { registerDissector } from './dissector.js';
import { registerFuzz } from './fuzz.js';
import { handleBrokenPipe } from './report.js';
import { registerServe } from './serve.js';
import { registerClient } from './client.js';
import { registerExport } from './export.js';

export function buildProgram(): Command {
  const program = new Command('vvmp')
    .description('VVMP protocol analyzer and traffic tool (tshark habits: `vvmp -r FILE …` is `vvmp read -r FILE …`)')
    .version('0.1.0', '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Commander's own errors ("error: unknown option …") in the style of every other error: "vvmp: …".
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'vvmp: ')),
    })
    // Required options say so in --help (commander does not mark them).
    .configureHelp({
      optionDescription: (o) => {
        const base = new Help().optionDescription(o);
        return o.mandatory ? `(required) ${base}` : base;
      },
    });
  registerRead(program);
  registerStats(program);
  registerLive(program);
  registerTui(program);
  registerReplay(program);
  registerDissector(program);
  registerFuzz(program);
  registerServe(program);
  registerClient(program);
  registerExport(program);
  // Every command, and every subcommand's subcommands, reports usage errors to main().
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

function fail(message: string, code: number): void {
  process.stderr.write(`vvmp: ${message}\n`);
  // exitCode, not exit(): output already queued on a pipe must still drain.
  process.exitCode = code;
}

/** Options that make `vvmp -r f …` mean `vvmp read -r f …`, as tshark users type. */
const READ_FIRST = /^-(r|G|c|x|T|e|E|q|z|d|t|Y|V|w)/;

export function withImpliedRead(argv: readonly string[]): string[] {
  const first = argv[2];
  return first !== undefined && READ_FIRST.test(first) ? [...argv.slice(0, 2), 'read', ...argv.slice(2)] : [...argv];
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(withImpliedRead(argv));
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is usage.
      const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
      process.exitCode = ok ? 0 : EXIT_USAGE;
      return;
    }
    if (e instanceof FilterError) return fail(`display filter: ${e.message}`, EXIT_USAGE);
    if (e instanceof UsageError) return fail(e.message, EXIT_USAGE);
    if (e instanceof CaptureError || e instanceof LiveCaptureError || e instanceof InputError) return fail(e.message, EXIT_INPUT);
    const err = e as NodeJS.ErrnoException;
    if (err && err.code === 'EPIPE') return;
    // A bug, not bad input: one line, and the stack only on request.
    if (process.env.VVMP_DEBUG) process.stderr.write(`${err?.stack}\n`);
    fail(`internal error: ${err?.message ?? String(e)} (VVMP_DEBUG=1 shows the stack)`, 70);
  }
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') handleBrokenPipe();
});

await main(process.argv);
