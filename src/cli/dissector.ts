// `vvmp dissector --lua`: prints (or writes) the Wireshark Lua dissector generated from the field table.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { generateLuaDissector } from '../dissector/lua.js';
import { InputError, UsageError, parseIntStrict } from './errors.js';

interface DissectorFlags {
  lua?: boolean;
  output?: string;
  port?: number;
}

export function registerDissector(program: Command): void {
  program.command('dissector')
    .description('print a Wireshark dissector for VVMP generated from the field table')
    .option('--lua', 'a Lua dissector (tshark -X lua_script:FILE, or a Wireshark plugin)')
    .option('-o, --output <file.lua>', 'write to this file instead of stdout')
    .option('--port <n>', 'default UDP/TCP port (a Wireshark preference; default 7369)',
      (v) => parseIntStrict(v, '--port', 1, 65535))
    .action((flags: DissectorFlags) => dissectorCommand(flags));
}

export function dissectorCommand(flags: DissectorFlags): void {
  if (!flags.lua) throw new UsageError('dissector: choose a kind: --lua');
  const text = generateLuaDissector({ port: flags.port });
  if (flags.output === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    fs.writeFileSync(flags.output, text);
  } catch (e) {
    throw new InputError(`${flags.output}: ${(e as Error).message}`);
  }
}
