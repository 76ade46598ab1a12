// `vvmp serve`: the reference SAN manager on TCP and UDP.

import { Option, type Command } from 'commander';
import { ConfigError, defaultServerConfig, loadServerConfig } from '../traffic/config.js';
import { startServer } from '../traffic/server.js';
import { InputError, parseIntStrict } from './errors.js';

interface ServeFlags {
  port?: number;
  host: string;
  config?: string;
  state?: string;
  keepSessions?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export function registerServe(program: Command): void {
  program.command('serve')
    .description('run the reference VVMP server (a SAN manager) on TCP and UDP')
    .addOption(new Option('--port <n>', 'TCP and UDP port (default: the config\'s, 7369)').argParser((v) => parseIntStrict(v, '--port', 0, 65535)))
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--config <file.json>', 'server config: SAN, server id, devices, security domain, peers, limits')
    .option('--state <file>', 'journal the sessions in this file; at a restart they are torn down and a boot Announce says so (their ids are not reused), unless --keep-sessions')
    .option('--keep-sessions', 'with --state: restore the sessions at a restart (no boot Announce) instead of tearing them down')
    .option('--verbose', 'also log connection events')
    .option('--quiet', 'no log lines')
    .action((flags: ServeFlags) => serve(flags));
}

async function serve(flags: ServeFlags): Promise<void> {
  let config;
  try {
    config = flags.config ? loadServerConfig(flags.config) : defaultServerConfig();
  } catch (e) {
    if (e instanceof ConfigError) throw new InputError(e.message);
    throw e;
  }
  const log = flags.quiet ? undefined : (line: string) => process.stderr.write(line + '\n');
  let srv;
  try {
    srv = await startServer({
      host: flags.host, port: flags.port ?? config.port, config, statePath: flags.state,
      restore: flags.keepSessions ? 'keep' : 'teardown', verbose: flags.verbose, log,
    });
  } catch (e) {
    throw new InputError(`cannot serve on ${flags.host}:${flags.port ?? config.port}: ${(e as Error).message}`);
  }
  const stop = () => {
    void srv.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
