// Reading a capture on a second thread (net/threaded.ts) must hand the
// analysis exactly what a NetDecoder on this thread hands it: every packet,
// frame and segment event, in the same order, with the same values and bytes,
// the same capture result and network counters, and the same errors.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile, readCaptureInput } from '../../src/capture/file.js';
import { gzipSync } from 'node:zlib';
import { PcapWriter, fileSink } from '../../src/capture/writer.js';
import { NetDecoder, netOptions, type NetOptionsInput } from '../../src/net/decoder.js';
import { readCaptureThreaded, type ThreadedOptions } from '../../src/net/threaded.js';
import type { WireSink } from '../../src/net/wire.js';
import { generateCapture } from '../../bench/generate.js';
import { ROOT } from '../helpers/cli.js';
import { WILD_TCPDUMP, wildOrSkip } from '../helpers/shared.js';

/** Every event as a line of text (all fields, frame bytes in hex). */
function recorder(): { sink: WireSink; lines: string[] } {
  const lines: string[] = [];
  const sink: WireSink = {
    // a packet's bytes stay on the reading thread: its lengths and link type cross
    packet: (p) => void lines.push(`P ${p.index} ${p.tsSec} ${p.tsNsec} ${p.tsDigits} ${p.origLen} ${p.data.length} ${p.linkType}`),
    frame: (e) => void lines.push([
      'F', e.transport, e.src.ip, e.src.port, e.dst.ip, e.dst.port, e.flowKey, e.packet.index, e.packet.tsSec, e.packet.tsNsec,
      e.packet.tsDigits, e.firstPacket, e.desync === true, e.stream, e.flow, e.data.toString('hex'),
    ].join(' ')),
    segment: (e) => void lines.push(`S ${e.packet.index} ${e.packet.tsSec} ${e.packet.tsNsec} ${e.flowKey} ${e.src.ip}:${e.src.port} `
      + `${e.dst.ip}:${e.dst.port} ${e.code} ${e.message} ${JSON.stringify(e.loss ?? null)}`),
  };
  return { sink, lines };
}

/** As `inline`, reading with readCaptureInput (gzip, a packet limit). */
async function inlineInput(file: string, net: NetOptionsInput, maxPackets?: number): Promise<Read> {
  const { sink, lines } = recorder();
  const dec = new NetDecoder(netOptions(net), sink);
  const result = await readCaptureInput(file, (p) => {
    sink.packet(p);
    dec.packet(p);
  }, { maxPackets });
  dec.end();
  return { lines, result, undecoded: [...dec.counters.undecoded] };
}

function inline(file: string, net: NetOptionsInput): { lines: string[]; result: unknown; undecoded: [string, number][] } {
  const { sink, lines } = recorder();
  const dec = new NetDecoder(netOptions(net), sink);
  const result = readCaptureFile(file, (p) => {
    sink.packet(p);
    dec.packet(p);
  });
  dec.end();
  return { lines, result, undecoded: [...dec.counters.undecoded] };
}

async function threaded(file: string, net: NetOptionsInput, tuning: ThreadedOptions = {}): Promise<{ lines: string[]; result: unknown; undecoded: [string, number][] }> {
  const { sink, lines } = recorder();
  const r = await readCaptureThreaded(file, net, sink, tuning);
  return { lines, result: r.result, undecoded: [...r.undecoded] };
}

type Read = { lines: string[]; result: unknown; undecoded: [string, number][] };

/** What reading gave, or the error it threw as text. */
async function outcome(fn: () => Read | Promise<Read>): Promise<Read | string> {
  try {
    return await fn();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

let dir = '';
let bench = '';
/** The bench capture with every 97th packet left out and every 89th sent twice: TCP gaps and retransmissions. */
let lossy = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-threaded-'));
  bench = path.join(dir, 'bench.pcap');
  // The bench capture's mix: UDP and TCP, frames split across segments, checksum errors, lifecycles.
  generateCapture({ frames: 60_000, out: bench, seed: 7 });
  lossy = path.join(dir, 'lossy.pcap');
  const sink = fileSink(lossy);
  const w = new PcapWriter(sink);
  readCaptureFile(bench, (p) => {
    if (p.index % 97 === 0) return;
    w.writePacket(p.tsSec, p.tsNsec, p.data, p.origLen);
    if (p.index % 89 === 0) w.writePacket(p.tsSec, p.tsNsec, p.data, p.origLen);
  });
  sink.close();
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('reading on a second thread', () => {
  it('gives the same events, result and counters as on this thread: the project captures and a bench capture', async () => {
    const files = [
      ...fs.readdirSync(path.join(ROOT, 'captures')).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => path.join(ROOT, 'captures', f)),
      bench, lossy,
    ];
    for (const file of files) {
      const a = inline(file, {});
      const b = await threaded(file, {});
      expect(b.lines.length, file).toBe(a.lines.length);
      expect(b.lines, file).toEqual(a.lines);
      expect(b.result, file).toEqual(a.result);
      expect(b.undecoded, file).toEqual(a.undecoded);
    }
    expect(inline(bench, {}).lines.filter((l) => l.startsWith('F')).length).toBeGreaterThan(50_000);
    // A two-slot ring (the reader waits on the writer and the writer on the reader, over and over)
    // and a four-slot endpoint table (entries replaced all the time): still the same.
    const small = await threaded(lossy, {}, { slots: 2, slotSize: 1, endpointSlots: 4 });
    expect(small.lines).toEqual(inline(lossy, {}).lines);
    // Segment findings (gaps, retransmissions) cross too.
    expect(inline(lossy, {}).lines.filter((l) => l.startsWith('S')).length).toBeGreaterThan(100);
  }, 120_000);

  it('gives the same events with other ports and the heuristic, on real captures of every kind (wild)', async () => {
    if (!wildOrSkip('test/net/threaded.test.ts')) return;
    // Every capture in which the network layers find frames (DNS over UDP and TCP, IPv6, odd link types),
    // and the ten largest (long TCP streams, fragments, damage): each read on both threads.
    const net: NetOptionsInput = { ports: [53, 80, 7369], heuristic: true };
    const all = fs.readdirSync(WILD_TCPDUMP).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).map((f) => path.join(WILD_TCPDUMP, f));
    const here = all.map((file) => ({ file, a: outcome(() => inline(file, net)) }));
    const largest = new Set([...all].sort((x, y) => fs.statSync(y).size - fs.statSync(x).size).slice(0, 10));
    let frames = 0;
    let compared = 0;
    for (const { file, a: pending } of here) {
      const a = await pending;
      const n = typeof a === 'string' ? 0 : a.lines.filter((l) => l.startsWith('F')).length;
      if (n === 0 && !largest.has(file)) continue;
      const b = await outcome(() => threaded(file, net));
      expect(b, file).toEqual(a);
      frames += n;
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
    expect(frames).toBeGreaterThan(50);
  }, 300_000);

  it('reads as readCaptureInput does when asked: gzip-compressed, and stopping after N packets', async () => {
    const gz = path.join(dir, 'lossy.pcap.gz');
    fs.writeFileSync(gz, gzipSync(fs.readFileSync(lossy)));
    expect(await threaded(gz, {}, { input: {} })).toEqual(await inlineInput(gz, {}));
    expect(await threaded(lossy, {}, { input: { maxPackets: 5000 } })).toEqual(await inlineInput(lossy, {}, 5000));
    expect((await inlineInput(lossy, {}, 5000)).lines.filter((l) => l.startsWith('P')).length).toBe(5000);
  }, 60_000);

  it('fails as reading on this thread fails: no such file, not a capture, empty, damaged', async () => {
    const garbage = path.join(dir, 'garbage.pcap');
    fs.writeFileSync(garbage, 'this is not a capture file at all, just text\n');
    const empty = path.join(dir, 'empty.pcap');
    fs.writeFileSync(empty, '');
    const cut = path.join(dir, 'cut.pcap');
    fs.writeFileSync(cut, fs.readFileSync(bench).subarray(0, 100_003));
    for (const file of [path.join(dir, 'missing.pcap'), garbage, empty]) {
      const want = await outcome(() => inline(file, {}));
      expect(want).toMatch(/^CaptureError: /);
      expect(await outcome(() => threaded(file, {}))).toBe(want);
    }
    // Damaged: read up to the damage, which the result names.
    const a = inline(cut, {});
    const b = await threaded(cut, {});
    expect((a.result as { damage: string | null }).damage).toBeTruthy();
    expect(b).toEqual(a);
  }, 60_000);
});
