// Load measurement: a VVMP server in a child process, the `load` scenario here.
//
//   npx tsx test/traffic/load-runner.ts [clients=50] [seconds=5] [pipeline=1] [op=stats|query] [log]
//   npx tsx test/traffic/load-runner.ts --target 127.0.0.1:7369 [clients] [seconds] …   (existing server)
//
// `log` makes the child server format its per-exchange log line (written to
// /dev/null) so the cost of logging shows.

import { spawn } from 'node:child_process';
import { openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultServerConfig } from '../../src/traffic/config.js';
import { runLoad } from '../../src/traffic/scenarios.js';
import { startServer } from '../../src/traffic/server.js';

const self = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);

async function serve(withLog: boolean): Promise<void> {
  const fd = withLog ? openSync('/dev/null', 'w') : -1;
  const s = await startServer({
    port: 0, config: defaultServerConfig(), log: withLog ? (l) => writeSync(fd, l + '\n') : undefined,
  });
  process.stdout.write(`PORT ${s.tcpPort}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void s.close().then(() => process.exit(0)));
}

async function main(): Promise<void> {
  if (argv[0] === '--serve') return serve(argv[1] === 'log');
  let target: string | undefined;
  if (argv[0] === '--target') {
    target = argv[1];
    argv.splice(0, 2);
  }
  const clients = Number(argv[0] ?? 50);
  const seconds = Number(argv[1] ?? 5);
  const pipeline = Number(argv[2] ?? 1);
  const op = (argv[3] ?? 'stats') as 'stats' | 'query';
  const withLog = argv.includes('log');
  let child: ReturnType<typeof spawn> | null = null;
  if (!target) {
    child = spawn(process.execPath, ['--import', 'tsx', self, '--serve', withLog ? 'log' : ''], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /PORT (\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child!.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    target = `127.0.0.1:${port}`;
  }
  const r = await runLoad({ target, clients, durationS: seconds, pipeline, op });
  console.log(JSON.stringify(r));
  console.log(`${r.clients} clients × pipeline ${r.pipeline} (${r.op}${withLog ? ', server logging' : ''}) for ${r.durationS} s against ${target}: `
    + `${r.rps} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms, errors ${r.errors}`);
  child?.stdin?.end();
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
