// One clear line and the right exit code for each way a replay cannot run.

import dgram from 'node:dgram';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileSink } from '../../src/capture/writer.js';
import { SyntheticCapture } from '../../src/traffic/replay/record.js';
import { buildFixtures, type Fixtures } from './fixtures.js';
import { cli, freshServer, tempDir } from './helpers.js';

let fx: Fixtures;
let dir: string;

beforeAll(async () => {
  dir = tempDir();
  fx = await buildFixtures(dir);
});

/** A TCP and UDP port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const u = dgram.createSocket('udp4');
  await new Promise<void>((r) => u.bind(port, '127.0.0.1', () => r()));
  await new Promise<void>((r) => u.close(() => r()));
  return port;
}

describe('errors', () => {
  for (const bad of ['foo', '127.0.0.1', '127.0.0.1:', ':7369', '127.0.0.1:0', '127.0.0.1:70000', '[::1]', '[nonsense]:7369', 'a:b:c']) {
    it(`--target "${bad}": usage error, exit 2`, async () => {
      const r = await cli(['replay', fx.lifecycleTcp, '--target', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`vvmp: --target: "${bad}" is not HOST:PORT\n`);
      expect(r.stdout).toBe('');
    });
  }

  it('missing --target: usage error, exit 2', async () => {
    const r = await cli(['replay', fx.lifecycleTcp]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--target <host:port>' not specified");
  });

  it('unreachable port over TCP: "127.0.0.1:P: connection refused", exit 1', async () => {
    const port = await closedPort();
    const r = await cli(['replay', fx.lifecycleTcp, '--target', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vvmp: 127.0.0.1:${port}: connection refused\n`);
    expect(r.stdout).toBe('');
  });

  it('unreachable port over UDP (ICMP port unreachable): same line, exit 1', async () => {
    const port = await closedPort();
    const r = await cli(['replay', fx.lifecycleUdp, '--target', `127.0.0.1:${port}`, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vvmp: 127.0.0.1:${port}: connection refused\n`);
    expect(r.stdout).toBe('');
  });

  it('port 9 (discard, nobody listens): the brief\'s example line', async () => {
    const probe = net.connect(9, '127.0.0.1');
    const open = await new Promise<boolean>((r) => {
      probe.once('connect', () => r(true));
      probe.once('error', () => r(false));
    });
    probe.destroy();
    if (open) return; // something listens on 9 here: covered by the test above
    const r = await cli(['replay', fx.lifecycleTcp, '--target', '127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('vvmp: 127.0.0.1:9: connection refused\n');
  });

  it('a capture with no VVMP: one line naming the file, exit 1', async () => {
    const file = `${dir}/capture.pcap.pcapng`;
    const sink = fileSink(file);
    const cap = new SyntheticCapture(sink, 'no VVMP here');
    for (let i = 0; i < 3; i++) cap.udp({ ip: '10.0.0.1', port: 5000 }, { ip: '10.0.0.2', port: 53 }, Buffer.from('not vvmp at all'));
    sink.close();
    const srv = await freshServer();
    try {
      const r = await cli(['replay', file, '--target', srv.target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`vvmp: ${file}: no VVMP requests to replay (0 VVMP frames; try --port or --heuristic)\n`);
    } finally {
      await srv.close();
    }
  });

  it('-Y selecting nothing: says so, exit 1', async () => {
    const r = await cli(['replay', fx.lifecycleTcp, '--target', '127.0.0.1:7369', '-Y', 'vvmp.name == Announce']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vvmp: ${fx.lifecycleTcp}: no VVMP requests to replay (10 VVMP frames, none selected by -Y "vvmp.name == Announce")\n`);
  });

  it('a bad -Y filter: exit 2', async () => {
    const r = await cli(['replay', fx.lifecycleTcp, '--target', '127.0.0.1:7369', '-Y', 'vvmp.nosuch == 1']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^vvmp: display filter: /);
  });

  it('capture errors: missing file, not a capture → exit 1, one line', async () => {
    const a = await cli(['replay', `${dir}/nope.pcap`, '--target', '127.0.0.1:7369']);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(`vvmp: ${dir}/nope.pcap: no such file\n`);
    writeFileSync(`${dir}/text.pcap`, 'hello, this is not a capture file at all\n');
    const b = await cli(['replay', `${dir}/text.pcap`, '--target', '127.0.0.1:7369']);
    expect(b.code).toBe(1);
    expect(b.stderr.split('\n')).toHaveLength(2);
    expect(b.stderr).toMatch(new RegExp(`^vvmp: ${dir}/text.pcap: `));
  });

  for (const [args, msg] of [
    [['--speed', '0'], '--speed: "0" is not a number above 0'],
    [['--speed', 'fast'], '--speed: "fast" is not a number above 0'],
    [['--loop', '0'], '--loop: "0" is not a number from 1 to 1000000'],
    [['--client-id', '0x11'], '--client-id: "0x11" is not OLD=NEW (e.g. 0x11=0x99)'],
    [['--san', '1=0x1000000'], '--san: "1=0x1000000": SAN ids are 24-bit (0..16777215)'],
    [['--ignore', 'vvmp.bogus'], '--ignore: "vvmp.bogus" is not a VVMP field name (e.g. vvmp.alloc.capacity_kb, vvmp.status)'],
    [['--wait', 'never'], '--wait: "never" is not capture or flow'],
    [['--record-mode', 'x', '--record', '/tmp/x.pcapng'], '--record-mode: "x" is not auto, live or synthetic'],
  ] as Array<[string[], string]>) {
    it(`${args.join(' ')}: exit 2`, async () => {
      const r = await cli(['replay', fx.lifecycleTcp, '--target', '127.0.0.1:7369', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`vvmp: ${msg}\n`);
    });
  }

  it('--record into a directory that does not exist: exit 1', async () => {
    const srv = await freshServer();
    try {
      const r = await cli(['replay', fx.lifecycleTcp, '--target', srv.target, '--record', `${dir}/no/such/dir/out.pcapng`, '--record-mode', 'synthetic']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`vvmp: ${dir}/no/such/dir/out.pcapng: no such file\n`);
    } finally {
      await srv.close();
    }
  });
});
