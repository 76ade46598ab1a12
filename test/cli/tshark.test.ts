// `vvmp read` with tshark's flags against tshark with the generated Lua
// dissector, on every capture in captures/: the same packets, the same -T
// fields values (header, payload, frame/ip/tcp/udp) and -x dumps, and the same
// frame counts in -z conv / endpoints / io,stat (tshark limited to VVMP
// packets with `,vvmp`; bytes differ by design: vvmp counts VVMP bytes, as
// `stats` does, tshark whole packets).

import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir, vvmp } from '../helpers/cli.js';
import { writeLuaDissector } from '../dissector/compare.js';
import { filterFieldNames } from '../../src/analysis/filter/index.js';
import { generateCapture } from '../../bench/generate.js';

const HAVE_TSHARK = !spawnSync('tshark', ['--version']).error;
const files = readdirSync(join(ROOT, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f));
const demo = join(ROOT, 'captures/demo.pcapng');

const FIELDS = [
  'frame.number', 'frame.len', 'frame.cap_len', 'frame.time_relative', 'frame.time_delta', 'frame.time_epoch',
  'ip.src', 'ip.dst', 'ip.addr', 'tcp.srcport', 'tcp.dstport', 'tcp.port', 'udp.srcport', 'udp.dstport', 'udp.port',
  'vvmp.opcode', 'vvmp.src_san', 'vvmp.dst_san', 'vvmp.client_id', 'vvmp.server_id', 'vvmp.transaction_id',
  'vvmp.sub_opcode', 'vvmp.length', 'vvmp.checksum', 'vvmp.reply', 'vvmp.status', 'vvmp.name', 'vvmp.checksum_ok',
  'vvmp.session_id', 'vvmp.alloc.storage_type', 'vvmp.alloc.access_type', 'vvmp.alloc.capacity_kb', 'vvmp.alloc.bandwidth_kb',
  'vvmp.alloc.qos', 'vvmp.alloc.flags', 'vvmp.alloc.timeout_ms', 'vvmp.device.device_id', 'vvmp.device.device_flags',
  'vvmp.device.free_kb', 'vvmp.device.san_id', 'vvmp.init.stripe_size', 'vvmp.init.include_device_id',
  'vvmp.free.release_kb', 'vvmp.sessref.session_id', 'vvmp.stats.age_ms', 'vvmp.stats.bytes_read', 'vvmp.stats.io_errors',
];

let lua = '';

function tshark(args: string[]): string {
  // TZ=UTC: tshark writes frame.time in the local zone, vvmp in UTC.
  const r = spawnSync('tshark', ['-X', `lua_script:${lua}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } });
  return r.stdout;
}

function ok(args: string[], input?: Buffer, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/vvmp.js'), ...args], { cwd: ROOT, input, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  expect(r.stderr.toString(), args.join(' ')).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.toString();
}

/** Frame counts of a conv table: "a <-> b" → [<-, ->, total]. */
function convFrames(text: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const l of text.split('\n')) {
    const x = /^(\S+)\s+<->\s+(\S+)\s+(\d+) \d+ \w+\s+(\d+) \d+ \w+\s+(\d+) /.exec(l);
    if (x) m.set(`${x[1]} ${x[2]}`, [Number(x[3]), Number(x[4]), Number(x[5])]);
  }
  return m;
}

/** Packets, Tx and Rx packets per endpoint row. */
function endpointFrames(text: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const l of text.split('\n')) {
    const x = /^(\d+\.\d+\.\d+\.\d+)\s+(\d+)\s+\d+\s+(\d+)\s+\d+\s+(\d+)\s+\d+\s*$/.exec(l);
    if (x) m.set(x[1]!, [Number(x[2]), Number(x[3]), Number(x[4])]);
  }
  return m;
}

/** io,stat rows: interval label → frame counts per column. */
function ioFrames(text: string): string[] {
  return text.split('\n').filter((l) => /^\| .* <> /.test(l)).map((l) => {
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    return [cells[0], ...cells.slice(1).filter((_, i) => i % 2 === 0)].join(' ');
  });
}

describe('tshark flags against tshark with the generated dissector', () => {
  if (!HAVE_TSHARK) {
    it.skip('tshark is not installed (scripts/setup.sh installs it)', () => undefined);
    return;
  }
  beforeAll(() => {
    lua = writeLuaDissector();
  });
  const eArgs = FIELDS.flatMap((f) => ['-e', f]);
  for (const f of files) {
    const file = join(ROOT, 'captures', f);
    it(`${f}: -T fields, the same packets and values`, () => {
      const theirs = tshark(['-r', file, '-Y', 'vvmp', '-T', 'fields', ...eArgs, '-E', 'header=y']);
      const ours = ok(['read', '-r', file, '-T', 'fields', ...eArgs, '-E', 'header=y']);
      expect(ours.split('\n').length).toBeGreaterThan(10);
      expect(ours).toBe(theirs);
    }, 60_000);
    it(`${f}: -Y and -T fields -E separator/quote/occurrence`, () => {
      const args = ['-Y', 'vvmp.opcode >= 0x8000 && tcp', '-T', 'fields', '-e', 'frame.number', '-e', 'vvmp.device.device_id', '-e', 'vvmp.opcode',
        '-E', 'separator=,', '-E', 'quote=d', '-E', 'occurrence=l'];
      expect(ok(['-r', file, ...args])).toBe(tshark(['-r', file, ...args]));
    }, 60_000);
    it(`${f}: -T ek, the same index lines and every flattened value both carry`, () => {
      const lines = (t: string): Record<string, any>[] => t.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      const ours = lines(ok(['read', file, '-T', 'ek']));
      const theirs = lines(tshark(['-r', file, '-Y', 'vvmp', '-T', 'ek']));
      expect(ours.length).toBe(theirs.length);
      const diffs: string[] = [];
      let compared = 0;
      ours.forEach((o, i) => {
        const t = theirs[i]!;
        if (o.index) {
          expect(o).toEqual(t);
          return;
        }
        expect(o.timestamp).toBe(t.timestamp);
        for (const [layer, fields] of Object.entries(o.layers as Record<string, Record<string, unknown>>)) {
          for (const [k, v] of Object.entries(fields)) {
            if (!t.layers[layer] || !(k in t.layers[layer])) continue;
            if (JSON.stringify(v) !== JSON.stringify(t.layers[layer][k])) diffs.push(`${i}: ${k}`);
            else compared++;
          }
        }
      });
      expect(diffs).toEqual([]);
      expect(compared).toBeGreaterThan(ours.length * 5);
    }, 60_000);
    it(`${f}: -x, the same bytes in the same layout`, () => {
      expect(ok(['read', file, '-x'])).toBe(tshark(['-r', file, '-Y', 'vvmp', '-x']));
    }, 60_000);
    it(`${f}: -z conv, endpoints, io,stat frame counts`, () => {
      const ours = ok(['read', file, '-q', '-z', 'conv,tcp', '-z', 'conv,udp', '-z', 'endpoints,ip', '-z', 'io,stat,0.01,vvmp,vvmp.opcode>=0x8000']);
      const theirs = tshark(['-r', file, '-q', '-z', 'conv,tcp,vvmp', '-z', 'conv,udp,vvmp', '-z', 'endpoints,ip,vvmp', '-z', 'io,stat,0.01,vvmp,vvmp.opcode>=0x8000']);
      const [oTcp, oUdp] = ours.split('UDP Conversations');
      const [tUdp, tTcp] = theirs.split('TCP Conversations'); // tshark prints its taps in reverse order
      expect(convFrames(oTcp!)).toEqual(convFrames(tTcp!));
      expect(convFrames(oUdp!.split('Endpoints')[0]!)).toEqual(convFrames(tUdp!.split('UDP Conversations')[1] ?? ''));
      expect(convFrames(ours).size).toBeGreaterThan(0);
      expect(endpointFrames(ours)).toEqual(endpointFrames(theirs));
      expect(endpointFrames(ours).size).toBeGreaterThan(0);
      expect(ioFrames(ours)).toEqual(ioFrames(theirs));
      expect(ioFrames(ours).length).toBeGreaterThan(0);
    }, 60_000);
  }
  it('-z io,stat layout equals tshark\'s (interval 1, 0.5 and the whole capture)', () => {
    for (const z of ['io,stat,1,vvmp', 'io,stat,0.5,vvmp,vvmp&&tcp', 'io,stat,0,vvmp']) {
      // Bytes cells masked: vvmp counts VVMP bytes, tshark packet bytes.
      const strip = (s: string): string => s.split('\n').map((l) => (/^\| .* <> /.test(l)
        ? l.split('|').map((c, i) => (i > 1 && i % 2 === 1 ? c.replace(/\d/g, '#').replace(/ #+/, (m) => ' '.repeat(m.length)) : c)).join('|')
        : l)).join('\n');
      expect(strip(ok(['read', demo, '-q', '-z', z]))).toBe(strip(tshark(['-r', demo, '-q', '-z', z])));
    }
  }, 60_000);
  it('-t r|a|ad|d|dd|e|u|ud: the time column equals tshark\'s (_ws.col.Time)', () => {
    for (const f of ['demo.pcapng', 'errors.pcap']) {
      const file = join(ROOT, 'captures', f);
      for (const t of ['r', 'a', 'ad', 'd', 'dd', 'e', 'u', 'ud']) {
        const theirs = tshark(['-r', file, '-Y', 'vvmp', '-t', t, '-T', 'fields', '-e', '_ws.col.Time']);
        // Our text line: number, time (one or two words for dated formats), endpoints …
        const ours = ok(['read', file, '-t', t], undefined, { TZ: 'UTC' }).split('\n').filter((l) => l !== '')
          .map((l) => { const w = l.trim().split(/\s+/); return /^\d{4}-\d\d-\d\d$/.test(w[1]!) ? `${w[1]} ${w[2]}` : w[1]; });
        expect(ours.join('\n') + '\n', `${f} -t ${t}`).toBe(theirs);
      }
    }
  }, 240_000);
  it('-Y limits the display, not -z (as tshark\'s taps)', () => {
    const z = ['-q', '-z', 'io,stat,0,vvmp', '-z', 'conv,udp'];
    const all = ok(['read', demo, ...z]);
    expect(ok(['read', demo, '-Y', 'vvmp.opcode == 1', ...z])).toBe(all);
    expect(convFrames(ok(['read', demo, '-q', '-z', 'conv,udp,vvmp.opcode == 2'])).size).toBe(1);
    const theirs = tshark(['-r', demo, '-Y', 'vvmp.opcode == 1', '-q', '-z', 'io,stat,0,vvmp']);
    expect(ioFrames(all)).toEqual(ioFrames(theirs));
  }, 60_000);
  for (const f of files) {
    it(`${f}: -T json, every value both carry is equal (frame, ip, tcp, udp, vvmp and its blocks)`, () => {
      type Obj = { [k: string]: unknown };
      const file = join(ROOT, 'captures', f);
      const ours = JSON.parse(ok(['read', file, '-T', 'json'])) as { _source: { layers: Obj } }[];
      const theirs = JSON.parse(tshark(['-r', file, '-Y', 'vvmp', '-T', 'json'])) as typeof ours;
      expect(ours.length).toBe(theirs.length);
      let compared = 0;
      const diffs: string[] = [];
      const cmp = (o: Obj, t: Obj, at: string): void => {
        for (const [k, v] of Object.entries(o)) {
          if (!(k in t)) continue;
          const w = t[k];
          if (v && typeof v === 'object' && w && typeof w === 'object') cmp(v as Obj, w as Obj, `${at}/${k}`);
          else if (v !== w) diffs.push(`${at}/${k}: ${String(v)} vs ${String(w)}`);
          else compared++;
        }
      };
      ours.forEach((p, i) => {
        const o = p._source.layers;
        const t = theirs[i]!._source.layers;
        for (const l of ['frame', 'ip', 'tcp', 'udp', 'vvmp']) if (o[l] && t[l]) cmp(o[l] as Obj, t[l] as Obj, `${i}/${l}`);
      });
      expect(diffs).toEqual([]);
      expect(compared).toBeGreaterThan(ours.length * 15);
    }, 60_000);
  }
});

describe('tshark flags of vvmp read', () => {
  it('vvmp.response_in names the reply\'s packet, also when the request waited behind a frame of another packet', () => {
    // contention.pcap: the Free in packet 19 is answered in packet 21; packet 20 is final before it.
    const lines = ok(['read', join(ROOT, 'captures/contention.pcap'), '-T', 'fields', '-e', 'frame.number', '-e', 'vvmp.response_in', '-e', 'vvmp.response_to']).split('\n');
    expect(lines).toContain('19\t21\t');
    expect(lines).toContain('21\t\t19');
    // the same in -T ek, which shows packets whole
    const ek = ok(['read', join(ROOT, 'captures/contention.pcap'), '-T', 'ek']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const p19 = ek.find((d) => d.layers?.frame?.frame_frame_number === '19');
    expect(p19!.layers.vvmp.vvmp_vvmp_response_in).toBe('21');
  });

  it('-T fields written frame by frame (as records) equals the packet-holding path (-w takes that one), every field and layout', () => {
    const all = [...new Set([...filterFieldNames(), 'frame.time', 'frame.time_epoch', 'frame.time_delta_displayed', 'frame.cap_len', 'ipv6.src', 'ipv6.dst'])].flatMap((n) => ['-e', n]);
    const gen = join(tempDir(), 'gen.pcap');
    generateCapture({ frames: 3000, out: gen, seed: 3, clients: 40 });
    const layouts = [[], ['-E', 'occurrence=f', '-E', 'quote=d', '-E', 'header=y', '-Y', 'vvmp.opcode == 2'],
      ['-E', 'occurrence=l', '-E', 'aggregator=;', '-E', 'separator=,', '-Y', 'vvmp.reply == 1 || expert']];
    for (const file of [gen, join(ROOT, 'captures/contention.pcap')]) {
      for (const l of layouts) {
        const args = ['read', file, '-T', 'fields', ...all, ...l];
        const held = ok([...args, '-w', join(tempDir(), 'shown.pcap')]);
        expect(ok(args), `${file} ${l.join(' ')}`).toBe(held);
      }
    }
  }, 90_000);

  it('-T ek: index action and document lines, flattened names', () => {
    const lines = ok(['read', demo, '-T', 'ek', '-c', '10']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.length).toBe(4);
    expect(lines[0]).toEqual({ index: { _index: 'packets-2026-11-24', _type: 'doc' } });
    expect(lines[1]!.layers.vvmp.vvmp_vvmp_opcode).toBe('0x0001');
    expect(lines[1]!.layers.frame.frame_frame_number).toBe('4');
    expect(lines[3]!.layers.vvmp.vvmp_vvmp_reply).toBe(true);
    expect(lines[3]!.layers.vvmp.vvmp_vvmp_device_device_id).toEqual(['1', '2', '3', '4', '5', '6']);
  });
  it('stdin (-) and gzip (by magic, any name) read like the file', () => {
    const want = ok(['read', demo, '--json']);
    const raw = readFileSync(demo);
    expect(ok(['read', '-', '--json'], raw)).toBe(want);
    expect(ok(['-r', '-', '--json'], gzipSync(raw))).toBe(want);
    const gz = join(tempDir(), 'capture.pcapng');
    writeFileSync(gz, gzipSync(raw));
    expect(ok(['read', gz, '--json'])).toBe(want);
  });
  it('a cut-off gzip capture: the frames before the cut, the damage on stderr, exit 0', () => {
    const gz = gzipSync(readFileSync(demo));
    const cut = join(tempDir(), 'cut.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = vvmp(['read', cut, '--json']);
    expect(r.code).toBe(0);
    const n = r.stdout.trim().split('\n').length;
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(106);
    expect(r.stderr).toMatch(/^vvmp: .*cut\.gz: .*; read \d+ packets before it\n$/);
    const notGzip = join(tempDir(), 'bad.pcap');
    writeFileSync(notGzip, Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const bad = vvmp(['read', notGzip]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n').length).toBe(2);
  });
  it('-c stops reading a gzip stream after N packets', () => {
    expect(ok(['-r', '-', '-c', '6', '-T', 'fields', '-e', 'frame.number'], gzipSync(readFileSync(demo)))).toBe('4\n6\n');
  });
  it('-c stops after N packets; -r works without `read`', () => {
    expect(ok(['-r', demo, '-c', '6', '-T', 'fields', '-e', 'frame.number'])).toBe('4\n6\n');
    expect(ok(['-r', demo, '-c', '3'])).toBe('');
  });
  it('-d tcp.port==N,vvmp adds a port', () => {
    const n = ok(['read', demo, '-d', 'tcp.port==9,vvmp', '-T', 'fields', '-e', 'frame.number']).split('\n').length;
    expect(n).toBe(ok(['read', demo, '-T', 'fields', '-e', 'frame.number']).split('\n').length);
  });
  it('-t formats the time column', () => {
    expect(ok(['read', demo, '-c', '4', '-t', 'ud'])).toMatch(/^ {5}1 2026-11-24 21:13:17\.219123  127/);
    expect(ok(['read', demo, '-c', '6', '-t', 'dd']).split('\n')[1]).toMatch(/^ {5}2 {5}0\.000882  /);
  });
  it('-G fields lists every display-filter field, tab-separated', () => {
    const names = ok(['-G', 'fields']).trim().split('\n').map((l) => l.split('\t')[l.startsWith('P') ? 2 : 2]);
    for (const n of filterFieldNames()) expect(names).toContain(n);
  });
  it('usage errors: one line, exit 2, before any output', () => {
    for (const args of [['-V', '--json'], ['-V', '-T', 'json'], ['-T', 'fields'], ['-e', 'vvmp.opcode'], ['-T', 'fields', '-e', 'vvmp.nope'],
      ['-T', 'xml'], ['-z', 'smb,srt'], ['-d', 'tcp.port==x,vvmp'], ['-t', 'q'], ['-E', 'quote=x', '-T', 'fields', '-e', 'frame.number']]) {
      const r = vvmp(['read', demo, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^vvmp: /);
    }
  });
  it('-w to a missing directory: exit 1, one line, nothing printed', () => {
    const r = vvmp(['read', demo, '-w', '/nonexistent-dir/x.pcapng']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^vvmp: \/nonexistent-dir\/x\.pcapng: cannot write/);
    expect(r.stderr.trim().split('\n').length).toBe(1);
  });
  it('-z vvmp,srt: calls per opcode equal the replies with a response time', () => {
    const out = ok(['read', demo, '-q', '-z', 'vvmp,srt']);
    expect(out).toContain('VVMP SRT Statistics:');
    const rows = out.split('\n').filter((l) => /^\s+\d+  \S/.test(l));
    const calls = rows.reduce((s, l) => s + Number(l.trim().split(/\s+/)[2]), 0);
    const latencies = ok(['read', demo, '-T', 'fields', '-e', 'vvmp.latency']).split('\n').filter((l) => l !== '');
    expect(calls).toBeGreaterThan(10);
    expect(calls).toBe(latencies.length);
  });
});

describe('IPv6 in tshark field output', () => {
  it('ip.* are IPv4 only and ipv6.src/dst carry IPv6 addresses, as tshark prints them', async () => {
    const { encodeFrame } = await import('../../src/protocol/encode.js');
    const { eth, ipv6, udp } = await import('../net/build.js');
    const { PcapngWriter, fileSink } = await import('../../src/capture/writer.js');
    const file = join(tempDir(), 'v6.pcapng');
    const sink = fileSink(file);
    const w = new PcapngWriter(sink, {});
    const id = w.addInterface(1, { tsDigits: 6 });
    const req = encodeFrame({ opcode: 0x0001, sub_opcode: 0x01, transaction_id: 5 });
    const rep = encodeFrame({ opcode: 0x8001, sub_opcode: 0, transaction_id: 5, payload: { devices: [{}, {}] } });
    w.writePacket(id, 1700000000, 0, eth(ipv6(udp(40000, 7369, req), { src: 'fd00::1', dst: 'fd00::2' }), 0x86dd));
    w.writePacket(id, 1700000000, 500_000, eth(ipv6(udp(7369, 40000, rep), { src: 'fd00::2', dst: 'fd00::1' }), 0x86dd));
    sink.close();
    const args = ['-T', 'fields', '-e', 'frame.number', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'udp.srcport',
      '-e', 'vvmp.opcode', '-e', 'vvmp.device.device_id'];
    const ours = ok(['-r', file, ...args]);
    expect(ours).toBe('1\t\tfd00::1\tfd00::2\t40000\t0x0001\t\n2\t\tfd00::2\tfd00::1\t7369\t0x8001\t0,0\n');
    if (HAVE_TSHARK) {
      lua = lua || writeLuaDissector();
      expect(ours).toBe(tshark(['-r', file, '-Y', 'vvmp', ...args]));
    }
  });
});
