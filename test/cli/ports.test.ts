// --port adds a decode port to 7369 (repeatable, TCP and UDP), as tshark's
// `-d tcp.port==N,vvmp` does; --no-default-port drops 7369. A capture with no
// VVMP on the decoded ports says so on stderr, with what to try; the exit
// code does not change.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/encode.js';
import { decodePorts, pipelineOptions } from '../../src/cli/common.js';
import { CaptureBuilder, ep } from '../dissector/capture.js';
import { ndjson, tempDir, vvmp } from '../helpers/cli.js';

const q = (tx: number) => encodeFrame({ opcode: 0x0001, sub_opcode: 1, transaction_id: tx, client_id: 0x11n });
let dir: string;
let file: string;
let none: string;

beforeAll(() => {
  dir = tempDir('vvmp-ports-');
  file = join(dir, 'ports.pcap');
  const b = new CaptureBuilder(file);
  const c = ep('10.0.0.1', 40000);
  b.udp(c, ep('10.0.0.2', 7369), q(1));
  b.tcp(ep('10.0.0.1', 40001), ep('10.0.0.2', 5555)).send(0, q(2)).segment(0).close();
  b.udp(c, ep('10.0.0.2', 6000), q(3));
  b.close();
  none = join(dir, 'none.pcap');
  const n = new CaptureBuilder(none);
  n.udp(c, ep('10.0.0.2', 53), Buffer.from('not vvmp at all'), false);
  n.udp(c, ep('10.0.0.2', 53), Buffer.from('nor this'), false);
  n.close();
});

const txids = (args: string[]) => {
  const r = vvmp(['read', file, '--json', ...args]);
  expect(r.code).toBe(0);
  return ndjson(r.stdout).map((x) => [x.transport, x.transaction_id]);
};

describe('--port', () => {
  it('the list: 7369 first, then each --port once; --no-default-port drops 7369; none at all is a usage error', () => {
    expect(decodePorts({})).toEqual([7369]);
    expect(decodePorts({ port: [5555, 6000, 5555, 7369] })).toEqual([7369, 5555, 6000]);
    expect(decodePorts({ port: [5555], defaultPort: false })).toEqual([5555]);
    expect(decodePorts({ defaultPort: false, heuristic: true })).toEqual([]);
    expect(() => decodePorts({ defaultPort: false })).toThrow(/--no-default-port/);
    expect(pipelineOptions({ port: [5555] }).ports).toEqual([7369, 5555]);
  });

  it('adds to 7369, TCP and UDP, repeatable', () => {
    expect(txids([])).toEqual([['udp', 1]]);
    expect(txids(['--port', '5555'])).toEqual([['udp', 1], ['tcp', 2]]);
    expect(txids(['--port', '5555', '--port', '6000'])).toEqual([['udp', 1], ['tcp', 2], ['udp', 3]]);
  });

  it('--no-default-port decodes only the ports named', () => {
    expect(txids(['--no-default-port', '--port', '6000'])).toEqual([['udp', 3]]);
    const r = vvmp(['read', file, '--no-default-port']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--no-default-port: name the ports to decode with --port N, or use --heuristic/);
  });

  it('works the same in stats (single file and several)', () => {
    const one = JSON.parse(vvmp(['stats', file, '--json', '--port', '5555']).stdout);
    expect(one.vvmp_frames).toBe(2);
    const sub = join(dir, 'many');
    mkdirSync(sub);
    copyFileSync(file, join(sub, 'a.pcap'));
    copyFileSync(file, join(sub, 'b.pcap'));
    const many = JSON.parse(vvmp(['stats', sub, '--json', '--port', '6000', '-j', '2']).stdout);
    expect(many.vvmp_frames).toBe(4);
  });
});

describe('no VVMP on the decoded ports', () => {
  it('read and stats say so on stderr, with what to try; exit 0; stdout as before', () => {
    const hint = `vvmp: ${none}: no VVMP frames on TCP/UDP port 7369 in 2 packets; try --port N (adds a port to 7369) or --heuristic\n`;
    const r = vvmp(['read', none]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', hint]);
    const s = vvmp(['stats', none, '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).vvmp_frames).toBe(0);
    expect(s.stderr).toBe(hint);
    const p = vvmp(['read', none, '--port', '5555', '--heuristic']);
    expect(p.stderr).toBe(`vvmp: ${none}: no VVMP frames on TCP/UDP ports 7369, 5555 or by the heuristic in 2 packets; try --port N for the ports it uses\n`);
  });

  it('says nothing when there is VVMP, even if -Y selects none of it', () => {
    const r = vvmp(['read', file, '-Y', 'vvmp.transaction_id == 99']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
  });
});
