// Display-filter parity with Wireshark on a real capture run through the real
// pipeline: every field of the field table (with flag and reserved bits),
// presence semantics, times, streams, slices, bytes, request/response links,
// the field accessor API and "did you mean" suggestions.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { compileFilter, fieldAccessor, filterFields, FilterError } from '../../src/analysis/filter/index.js';
import { closestField } from '../../src/analysis/filter/suggest.js';
import { parseAbsolute } from '../../src/analysis/filter/values.js';
import { readCaptureFile } from '../../src/capture/file.js';
import { FIELDS_BY_FILTER, HEADER, PAYLOAD_BLOCKS } from '../../src/protocol/fields.js';
import { CaptureBuilder, ep } from '../dissector/capture.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { ROOT, ndjson, tempDir, vvmp } from '../helpers/cli.js';

function analyse(file: string): AnalyzedFrame[] {
  const frames: AnalyzedFrame[] = [];
  const p = new Pipeline({ frame: (f) => frames.push(f) }, { keepBytes: true, keepPackets: true });
  readCaptureFile(file, p.packet);
  p.end();
  return frames;
}

let demo: AnalyzedFrame[] = [];
beforeAll(() => {
  demo = analyse(join(ROOT, 'captures/demo.pcapng'));
});

/** Frame numbers matched, the filter run over the frames in order (as read does). */
function match(expr: string, frames = demo): number[] {
  const flt = compileFilter(expr);
  return frames.filter((f) => flt.test(f)).map((f) => f.number);
}

function where(pred: (f: AnalyzedFrame) => boolean, frames = demo): number[] {
  return frames.filter(pred).map((f) => f.number);
}

describe('every field of the field table filters', () => {
  const names = [...FIELDS_BY_FILTER.values()].flatMap(({ field }) => [
    field.filter,
    ...(field.bits ?? []).map((b) => `${field.filter}.${b.name.toLowerCase()}`),
    ...(field.reservedMask ? [`${field.filter}.reserved`] : []),
  ]);
  it('derives names from the table (flags, reserved bits) and lists them', () => {
    expect(names).toContain('vvmp.alloc.flags.exclusive');
    expect(names).toContain('vvmp.device.device_flags.other_protocol');
    expect(names).toContain('vvmp.alloc.flags.reserved');
    const listed = new Set(filterFields().map((f) => f.name));
    for (const n of names) expect(listed.has(n), n).toBe(true);
    for (const b of PAYLOAD_BLOCKS) expect(listed.has(b.prefix)).toBe(true);
  });
  it.each(names)('%s is present in the demo capture', (name) => {
    expect(match(name).length).toBeGreaterThan(0);
  });
  it('flag bits compare as 1/0 and are present wherever their flags are', () => {
    const flags = (f: AnalyzedFrame) => (f.decoded.payloadBlock?.id === 'alloc' ? Number((f.decoded.payload as Record<string, unknown>).flags) : null);
    expect(match('vvmp.alloc.flags.exclusive == 1')).toEqual(where((f) => ((flags(f) ?? 0) & 1) === 1));
    expect(match('vvmp.alloc.flags.exclusive == 1').length).toBeGreaterThan(0);
    expect(match('vvmp.alloc.flags.exclusive == 0')).toEqual(where((f) => flags(f) !== null && (flags(f)! & 1) === 0));
    expect(match('vvmp.alloc.flags.exclusive')).toEqual(match('vvmp.alloc'));
    expect(match('vvmp.alloc.flags.reserved == 0')).toEqual(match('vvmp.alloc'));
    expect(match('vvmp.device.device_flags.downloads == 1')).toEqual(
      where((f) => f.decoded.payloadBlock?.id === 'device'
        && (f.decoded.payload as { devices: { device_flags: number }[] }).devices.some((d) => (d.device_flags & 2) !== 0)));
  });
});

describe('presence, as in Wireshark', () => {
  it('a present boolean matches even when false; == 1 selects true', () => {
    expect(match('vvmp.reply')).toEqual(where((f) => f.decoded.reply !== null));
    expect(match('vvmp.reply == 1')).toEqual(where((f) => f.decoded.reply === true));
    expect(match('vvmp.checksum_ok')).toEqual(where(() => true));
    expect(match('!vvmp.checksum_ok')).toEqual([]);
  });
  it('a bare boolean warns that it tests presence', () => {
    expect(compileFilter('vvmp.reply').warnings[0]).toMatch(/"vvmp.reply" alone tests that the field is present.*"vvmp.reply == 1"/);
    expect(compileFilter('vvmp.reply == 1').warnings).toEqual([]);
  });
  it('vvmp.payload and vvmp.trailing are bytes fields', () => {
    expect(match('vvmp.payload')).toEqual(where((f) => !f.decoded.payload && f.decoded.bytes.length > 32));
    expect(() => compileFilter('vvmp.trailing contains 00')).not.toThrow();
  });
});

describe('request/response links and response time', () => {
  it('response_in on requests, response_to on replies, time on first replies', () => {
    expect(match('vvmp.response_in')).toEqual(where((f) => f.decoded.reply === false && f.peer !== null));
    expect(match('vvmp.response_to')).toEqual(where((f) => f.decoded.reply === true && f.peer !== null));
    expect(match('vvmp.time')).toEqual(where((f) => f.decoded.reply === true && f.latencyMs !== null));
    const req = demo.find((f) => f.decoded.reply === false && f.peer !== null)!;
    expect(match(`vvmp.response_in == ${req.peer}`)).toEqual([req.number]);
    expect(match(`vvmp.response_to == ${req.number}`)).toContain(req.peer);
    const rep = demo.find((f) => f.latencyMs !== null)!;
    expect(match(`vvmp.time == ${rep.latencyMs! / 1000}`)).toContain(rep.number);
    expect(match('vvmp.time > 0.001')).toEqual(where((f) => f.latencyMs !== null && f.latencyMs > 1));
  });
});

describe('times', () => {
  it('frame.time_relative, frame.time_delta (previous packet), frame.time_epoch', () => {
    const first = demo[0]!;
    const rel = (f: AnalyzedFrame) => (f.tsSec - f.firstSec!) + (f.tsNsec - f.firstNsec!) / 1e9;
    expect(match('frame.time_relative < 0.01')).toEqual(where((f) => rel(f) < 0.01));
    expect(match('frame.time_relative > 5')).toEqual(where((f) => rel(f) > 5));
    expect(match('frame.time_relative > 5').length).toBeGreaterThan(0);
    const delta = (f: AnalyzedFrame) => (f.tsSec - f.prevSec!) * 1e9 + (f.tsNsec - f.prevNsec!);
    expect(match('frame.time_delta > 0.0009')).toEqual(where((f) => delta(f) > 900_000));
    expect(match(`frame.time_epoch == ${first.tsSec}.${String(first.tsNsec).padStart(9, '0')}`)).toContain(first.number);
  });
  it('frame.time takes Wireshark date strings (UTC), ISO and epoch seconds, exactly', () => {
    const f = demo[10]!;
    const iso = new Date(f.tsSec * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, '');
    const frac = String(f.tsNsec).padStart(9, '0');
    const d = new Date(f.tsSec * 1000);
    const mon = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
    const ws = `${mon} ${String(d.getUTCDate()).padStart(2, ' ')}, ${d.getUTCFullYear()} ${iso.slice(11)}`;
    for (const t of [`"${iso}.${frac}"`, `"${ws}.${frac}"`, `"${iso.replace(' ', 'T')}.${frac}Z"`, `"${ws}.${frac} UTC"`, `${f.tsSec}.${frac}`]) {
      expect(match(`frame.time == ${t}`), t).toEqual(where((g) => g.tsSec === f.tsSec && g.tsNsec === f.tsNsec));
    }
    expect(match(`frame.time >= "${iso}.${frac}"`)).toEqual(where((g) => g.tsSec > f.tsSec || (g.tsSec === f.tsSec && g.tsNsec >= f.tsNsec)));
    expect(parseAbsolute('Dec  2, 2026 13:00:00')).toEqual({ sec: Date.UTC(2026, 11, 2, 13) / 1000, nsec: 0, finer: false });
    expect(parseAbsolute('2026-12-02')).toEqual({ sec: Date.UTC(2026, 11, 2) / 1000, nsec: 0, finer: false });
    expect(parseAbsolute('2026-12-02 13:00:00.0000000001')).toEqual({ sec: Date.UTC(2026, 11, 2, 13) / 1000, nsec: 0, finer: true });
    expect(parseAbsolute('Feb 30, 2026 00:00:00')).toBeNull();
    expect(() => compileFilter('frame.time > "Nov 24, 2026"')).toThrow(/not a valid time for frame.time/);
  });
  it('frame.time_delta_displayed: since the previous frame the filter selected (0 until one is), in order', () => {
    const flt = compileFilter('frame.time_delta_displayed < 0.001');
    expect(flt.ordered).toBe(true);
    const got = demo.filter((f) => flt.test(f)).map((f) => f.number);
    const want: number[] = [];
    let last: AnalyzedFrame | null = null;
    for (const f of demo) {
      const d = last ? (f.tsSec - last.tsSec) * 1e9 + (f.tsNsec - last.tsNsec) : 0;
      if (d < 1e6) {
        want.push(f.number);
        last = f;
      }
    }
    expect(got).toEqual(want);
    expect(got.length).toBeGreaterThan(1);
    expect(got.length).toBeLessThan(demo.length);
    expect(compileFilter('frame.time_delta < 1').ordered).toBe(false);
    // vvmp read renders in frame order for such a filter (requests wait for their replies).
    const r = vvmp(['read', 'captures/demo.pcapng', '--json', '-Y', 'frame.time_delta_displayed < 0.001']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout).map((x) => x.frame)).toEqual(want);
  });
  it('vvmp read warns on stderr that a bare boolean tests presence', () => {
    const r = vvmp(['read', 'captures/demo.pcapng', '-Y', 'vvmp.reply']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^vvmp: warning: display filter: "vvmp.reply" alone tests that the field is present/);
    expect(r.stdout.trim().split('\n')).toHaveLength(demo.filter((f) => f.decoded.reply !== null).length);
  });
});

describe('tcp.stream and udp.stream', () => {
  it('number every conversation in order of first appearance, on any port', () => {
    const dir = tempDir();
    const file = join(dir, 'streams.pcap');
    const cap = new CaptureBuilder(file);
    const c = ep('10.0.0.1', 40000);
    const s = ep('10.0.0.2', 7369);
    const query = encodeFrame({ opcode: 0x0001, sub_opcode: 0x01, client_id: 1n, transaction_id: 1 });
    cap.tcp(ep('10.0.0.1', 39999), ep('10.0.0.2', 80)).send(0, Buffer.from('GET / HTTP/1.0\r\n\r\n')).segment(0).close();
    cap.udp(ep('10.0.0.1', 5353), ep('10.0.0.9', 53), Buffer.from('dns'), false);
    cap.tcp(c, s).send(0, query).segment(0).close();
    cap.udp(ep('10.0.0.1', 40001), s, query);
    cap.udp(ep('10.0.0.1', 40002), s, query);
    cap.close();
    const frames = analyse(file);
    expect(frames.map((f) => [f.transport, f.stream])).toEqual([['tcp', 1], ['udp', 1], ['udp', 2]]);
    expect(match('tcp.stream == 1', frames)).toEqual([1]);
    expect(match('udp.stream == 2', frames)).toEqual([3]);
    expect(match('tcp.stream', frames)).toEqual([1]);
  });
});

describe('slices, contains and matches on bytes', () => {
  it('Wireshark slice forms select the same bytes', () => {
    const replies = where((f) => f.decoded.reply === true);
    for (const s of ['vvmp[0] == 80', 'vvmp[0:1] == 80', 'vvmp[0-0] == 80', 'vvmp[:1] == 0x80', 'vvmp.opcode[0] == 80']) {
      expect(match(s), s).toEqual(replies);
    }
    const allocReplies = where((f) => f.decoded.header.opcode === 0x8002);
    for (const s of ['vvmp[0:2] == 80:02', 'vvmp[0-1] == 80-02', 'vvmp[0:2] == 8002', 'vvmp[0:2] == 80.02', 'vvmp[0:2] == "\\x80\\x02"', 'vvmp[0,1] == 80:02']) {
      expect(match(s), s).toEqual(allocReplies);
    }
    expect(match('vvmp[-1:1] == 00')).toEqual(match('vvmp[-1] == 00'));
    expect(match('vvmp[-1] == 00')).toEqual(where((f) => f.decoded.bytes[f.decoded.bytes.length - 1] === 0));
    expect(match('vvmp[30:]')).toEqual(where((f) => f.decoded.bytes.length > 30));
    expect(match('vvmp[32:]')).toEqual(where((f) => f.decoded.bytes.length > 32));
    expect(match('vvmp[1000:1]')).toEqual([]);
    expect(match('vvmp.client_id[7] == 11')).toEqual(where((f) => f.decoded.header.client_id === 0x11n));
    expect(match('vvmp.alloc[16] == 01')).toEqual(match('vvmp.alloc.flags == 1'));
    expect(match('vvmp[0:2] > 80:00')).toEqual(replies);
  });
  it('contains and matches search the VVMP bytes and the whole packet', () => {
    expect(match('vvmp contains 00:00:00:00:00:00:00:aa')).toEqual(
      where((f) => f.decoded.bytes.includes(Buffer.from('00000000000000aa', 'hex'))));
    expect(match('vvmp contains "\\x80\\x06"')).toEqual(where((f) => f.decoded.bytes.includes(Buffer.from([0x80, 6]))));
    expect(match('frame contains 7f:00:00')).toEqual(where(() => true)); // loopback addresses in every packet
    expect(match('frame contains 7f:00:00:03')).toEqual(where((f) => f.src.ip === '127.0.0.3' || f.dst.ip === '127.0.0.3'));
    expect(match('frame[-4:]')).toEqual(where(() => true));
    expect(match('frame[0:4] == frame[0:4]'.slice(0, 10))).toEqual(where(() => true));
    expect(match('vvmp matches "^\\x80\\x02"')).toEqual(match('vvmp[0:2] == 80:02'));
    expect(match('frame contains "no such text"')).toEqual([]);
    // read keeps the packets of requests held for their replies when the filter reads packet bytes.
    expect(compileFilter('frame contains 00').packets).toBe(true);
    expect(compileFilter('frame && vvmp contains 00').packets).toBe(false);
    const r = vvmp(['read', 'captures/demo.pcapng', '--json', '-Y', 'frame contains 7f:00:00:03']);
    expect(ndjson(r.stdout).map((x) => x.frame)).toEqual(match('frame contains 7f:00:00:03'));
    expect(ndjson(r.stdout).some((x) => x.reply === false)).toBe(true);
  });
  it('errors name the slice or the field', () => {
    expect(() => compileFilter('vvmp[a:b] == 00')).toThrow(FilterError);
    expect(() => compileFilter('vvmp[a:b] == 00')).toThrow(/column 5: "\[a:b\]" is not a slice/);
    expect(() => compileFilter('vvmp.latency[0] == 00')).toThrow(/vvmp.latency has no bytes to slice/);
    expect(() => compileFilter('vvmp[0 == 00')).toThrow(/missing "]"/);
    expect(() => compileFilter('vvmp[0:2] == zz')).toThrow(/"zz" is not bytes/);
  });
});

describe('the field accessor (for -T fields -e)', () => {
  it('gives typed values in tree order', () => {
    const q = demo.find((f) => f.decoded.payloadBlock?.id === 'device')!;
    expect(fieldAccessor('vvmp.device.device_id')!.values(q)).toEqual(
      (q.decoded.payload as { devices: { device_id: number }[] }).devices.map((d) => d.device_id));
    expect(fieldAccessor('vvmp.client_id')!.values(q)).toEqual([q.decoded.header.client_id]);
    expect(fieldAccessor('vvmp.client_id')!.info).toMatchObject({ type: 'uint', wide: true });
    expect(fieldAccessor('vvmp.reply')!.values(q)).toEqual([true]);
    expect(fieldAccessor('frame.time')!.values(q)).toEqual([{ sec: q.tsSec, nsec: q.tsNsec }]);
    expect(fieldAccessor('vvmp.alloc')!.present(q)).toBe(false);
    expect(fieldAccessor('vvmp.status')!.info.names?.get(0)).toBe('OK');
    expect(fieldAccessor('vvmp')!.values(q)).toEqual([q.decoded.bytes]);
    expect(fieldAccessor('no.such')).toBeUndefined();
  });
});

describe('did you mean: token- and abbreviation-aware', () => {
  const names = filterFields().map((f) => f.name);
  it.each([
    ['vvmp.txid', 'vvmp.transaction_id'],
    ['vvmp.tx_id', 'vvmp.transaction_id'],
    ['vvmp.trans_id', 'vvmp.transaction_id'],
    ['vvmp.transactionid', 'vvmp.transaction_id'],
    ['vvmp.opcdoe', 'vvmp.opcode'],
    ['vvmp.opcod', 'vvmp.opcode'],
    ['vvmp.subop', 'vvmp.sub_opcode'],
    ['vvmp.clientid', 'vvmp.client_id'],
    ['vvmp.client', 'vvmp.client_id'],
    ['vvmp.srv_id', 'vvmp.server_id'],
    ['vvmp.cksum', 'vvmp.checksum'],
    ['vvmp.len', 'vvmp.length'],
    ['vvmp.alloc.capacity', 'vvmp.alloc.capacity_kb'],
    ['vvmp.alloc.cap', 'vvmp.alloc.capacity_kb'],
    ['vvmp.alloc.flag.exclusive', 'vvmp.alloc.flags.exclusive'],
    ['vvmp.alloc.exclusive', 'vvmp.alloc.flags.exclusive'],
    ['vvmp.device.free', 'vvmp.device.free_kb'],
    ['vvmp.responsein', 'vvmp.response_in'],
    ['vvmp.resp_to', 'vvmp.response_to'],
    ['vvmp.sesion', 'vvmp.session'],
    ['frame.time_delta_display', 'frame.time_delta_displayed'],
    ['frame.time_rel', 'frame.time_relative'],
    ['tcp.strm', 'tcp.stream'],
    ['ip.source', 'ip.src'],
    ['capacity_kb', 'vvmp.alloc.capacity_kb'],
    ['session_id', 'vvmp.session_id'],
  ])('%s → %s', (typo, want) => {
    expect(closestField(typo, names)).toBe(want);
  });
  it('says nothing when nothing is close', () => {
    expect(closestField('vvmp.zzzzqqq', names)).toBeUndefined();
    expect(() => compileFilter('vvmp.txid == 1')).toThrow('column 1: unknown field "vvmp.txid"; did you mean vvmp.transaction_id?');
  });
});
