// `vvmp client`: single requests and named scenarios against a VVMP server.

import { Option, type Command } from 'commander';
import {
  allocate, free, initialize, modify, OptionError, query, stats, type ClientOptions, type ClientResult,
} from '../traffic/client.js';
import { runScenario } from '../traffic/scenarios.js';
import { TransportError } from '../traffic/transport.js';
import { headerJson } from '../output/frameJson.js';
import { toJson, type JsonValue } from '../output/jsonText.js';
import { EXIT_FINDINGS, InputError, UsageError, parseIntStrict } from './errors.js';

interface CommonFlags {
  target: string;
  udp?: boolean;
  clientId?: string;
  serverId?: string;
  srcSan?: number;
  dstSan?: number;
  timeout?: number;
  json?: boolean;
}

const int = (name: string, max = 0xffffffff) => (v: string) => parseIntStrict(v, name, 0, max);

function common(cmd: Command): Command {
  return cmd
    .option('--target <host:port>', 'the server', '127.0.0.1:7369')
    .option('--udp', 'send over UDP (default TCP)')
    .option('--client-id <id>', 'client id (default 0x11)')
    .option('--server-id <id>', 'server id in the header (default 0: any server)')
    .addOption(new Option('--src-san <n>', 'source SAN (default 1)').argParser(int('--src-san', 0xffffff)))
    .addOption(new Option('--dst-san <n>', 'destination SAN (default 1)').argParser(int('--dst-san', 0xffffff)))
    .addOption(new Option('--timeout <ms>', 'reply timeout').argParser(int('--timeout')))
    .option('--json', 'print the reply as JSON');
}

function clientOptions(f: CommonFlags): ClientOptions {
  return {
    target: f.target, transport: f.udp ? 'udp' : 'tcp', clientId: f.clientId,
    serverId: f.serverId === undefined ? undefined : BigInt(f.serverId), srcSan: f.srcSan, dstSan: f.dstSan, timeoutMs: f.timeout,
  };
}

/** Runs one request; prints it; exit 3 when the server answered with an error status. */
async function run(f: CommonFlags, fn: () => Promise<ClientResult>): Promise<void> {
  let r: ClientResult;
  try {
    r = await fn();
  } catch (e) {
    if (e instanceof OptionError) throw new UsageError(e.message);
    if (e instanceof TransportError) throw new InputError(e.message);
    throw e;
  }
  if (f.json) {
    const rec: Record<string, JsonValue> = { op: r.op, target: r.target, status: r.status, ok: r.ok, ms: Math.round(r.ms * 1000) / 1000,
      reply: { ...headerJson(r.reply), payload: r.reply.payload as JsonValue },
      pending: r.pending ? { ...headerJson(r.pending), payload: r.pending.payload as JsonValue } : null };
    process.stdout.write(toJson(rec) + '\n');
  } else {
    process.stdout.write(r.lines.join('\n') + '\n');
  }
  if (!r.ok) process.exitCode = EXIT_FINDINGS;
}

export function registerClient(program: Command): void {
  const client = program.command('client').description('send VVMP requests to a server, or run a named scenario');

  common(client.command('query').description('list devices (Query)'))
    .option('--scope <scope>', 'san (this SAN), all, local, everywhere (all SANs)', 'san')
    .action((f: CommonFlags & { scope: string }) => run(f, () => query({ ...clientOptions(f), scope: f.scope })));

  const allocLike = (cmd: Command) => cmd
    .option('--type <type>', 'jbod, raid0, raid2, raid3, raid4, raid5, any', 'any')
    .option('--access <access>', 'scsi, fc, hippi, atm, any', 'any')
    .option('--bandwidth <rate>', 'e.g. 20MiB/s', '0')
    .option('--qos <class>', 'best-effort, bronze, silver, gold, platinum', 'best-effort')
    .option('--exclusive', 'exclusive access')
    .option('--mirror', 'mirrored')
    .option('--backup', 'with backup');

  allocLike(common(client.command('allocate').description('allocate storage (Allocate)')))
    .requiredOption('--capacity <size>', 'e.g. 100GiB')
    .option('--mode <mode>', 'local, expand, anywhere', 'local')
    .option('--wait', 'register for allocation on availability (PENDING, then the grant)')
    .action((f: CommonFlags & Record<string, string | boolean | undefined>) => run(f, () => allocate({
      ...clientOptions(f), type: f.type as string, access: f.access as string, capacity: f.capacity as string, bandwidth: f.bandwidth as string,
      qos: f.qos as string, exclusive: !!f.exclusive, mirror: !!f.mirror, backup: !!f.backup, wait: !!f.wait, mode: f.mode as string,
    })));

  const session = (cmd: Command) => cmd.requiredOption('--session <id>', 'session id', int('--session', 0xffff));

  session(common(client.command('initialize').description('set RAID parameters and data-path hardware (Initialize)')))
    .option('--stripe <size>', 'stripe size, e.g. 64KiB')
    .option('--cache-line <size>', 'cache line size')
    .option('--block-size <size>', 'block size')
    .addOption(new Option('--include <device>', 'special hardware to bind into the data path').argParser(int('--include')))
    .addOption(new Option('--exclude <device>', 'hardware to keep out of the data path').argParser(int('--exclude')))
    .action((f: CommonFlags & { session: number; stripe?: string; cacheLine?: string; blockSize?: string; include?: number; exclude?: number }) =>
      run(f, () => initialize({ ...clientOptions(f), session: f.session, stripe: f.stripe, cacheLine: f.cacheLine, blockSize: f.blockSize, include: f.include, exclude: f.exclude })));

  allocLike(session(common(client.command('modify').description('grow or shrink a session (Modify)'))))
    .requiredOption('--capacity <size>', 'new capacity, e.g. 200GiB')
    .action((f: CommonFlags & Record<string, string | number | boolean | undefined>) => run(f, () => modify({
      ...clientOptions(f), session: f.session as number, capacity: f.capacity as string, bandwidth: f.bandwidth as string, qos: f.qos as string,
      type: f.type as string, access: f.access as string, exclusive: !!f.exclusive, mirror: !!f.mirror, backup: !!f.backup,
    })));

  session(common(client.command('stats').description('per-session statistics (Statistics)')))
    .action((f: CommonFlags & { session: number }) => run(f, () => stats({ ...clientOptions(f), session: f.session })));

  session(common(client.command('free').description('give capacity back, or end the session (Free)')))
    .option('--release <size>', 'capacity to give back (default: all, ending the session)', '0')
    .action((f: CommonFlags & { session: number; release: string }) => run(f, () => free({ ...clientOptions(f), session: f.session, release: f.release })));

  client.command('scenario')
    .description('run a named scenario: lifecycle, contention, multi-san, errors, load')
    .argument('<name>', 'lifecycle | contention | multi-san | errors | load')
    .option('--target <host:port>', 'the server under test', '127.0.0.1:7369')
    .option('--udp', 'over UDP (default TCP)')
    .option('--ports <list>', 'ports for the servers the scenario starts itself (multi-san: three; errors: two), comma-separated')
    .addOption(new Option('--clients <n>', 'load: concurrent clients').argParser(int('--clients', 100000)).default(50))
    .addOption(new Option('--duration <s>', 'load: seconds').argParser(int('--duration', 86400)).default(5))
    .addOption(new Option('--pipeline <n>', 'load: requests in flight per client').argParser(int('--pipeline', 1024)).default(1))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, f: { target: string; udp?: boolean; ports?: string; clients: number; duration: number; pipeline: number; json?: boolean }) => {
      const names = ['lifecycle', 'contention', 'multi-san', 'errors', 'load'];
      if (!names.includes(name)) throw new UsageError(`unknown scenario "${name}" (${names.join(', ')})`);
      const ports = f.ports ? f.ports.split(',').map((p) => parseIntStrict(p.trim(), '--ports', 0, 65535)) : undefined;
      let r;
      try {
        r = await runScenario(name, {
          target: f.target, transport: f.udp ? 'udp' : 'tcp', ports, clients: f.clients, durationS: f.duration, pipeline: f.pipeline,
          onLine: f.json ? undefined : (l) => process.stdout.write(l + '\n'),
        });
      } catch (e) {
        if (e instanceof TransportError) throw new InputError(e.message);
        if (e instanceof OptionError) throw new UsageError(e.message);
        throw e;
      }
      if (f.json) process.stdout.write(JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v)) + '\n');
      if (!r.ok) process.exitCode = EXIT_FINDINGS;
    });
}
