// The store's in-place frame (probe) that the UI's filter pass tests: the
// same answers as the frame rebuilt by a full decode, for every frame of
// every capture and filters over every kind of field; and the whole decode
// runs only for filters that need it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/analysis/filter/index.js';
import { readCaptureFile } from '../../src/capture/file.js';
import { FrameRows } from '../../src/tui/frameRows.js';
import { FrameStore } from '../../src/tui/store.js';

const CAPTURES = path.resolve(import.meta.dirname, '../../captures');
const FILES = fs.readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

const FILTERS = [
  'vvmp.opcode == Allocate', 'vvmp.reply && vvmp.name == Query', '!vvmp.reply', 'vvmp.client_id == 0x11',
  'vvmp.transaction_id > 3', 'vvmp.length >= 5', 'vvmp.checksum_ok == 0', 'vvmp.status == PENDING', 'vvmp.status != OK',
  'vvmp.alloc.capacity_kb > 1000', 'vvmp.alloc.flags contains WAIT', 'vvmp.device.storage_type == RAID5', 'vvmp.device',
  'vvmp.stats.bytes_read > 0', 'vvmp.session_id == 17', 'vvmp.session', 'vvmp.latency > 0.5', 'vvmp.peer',
  'expert.code == timeout', 'expert.severity == error', 'expert', 'vvmp.payload', 'vvmp.trailing', 'frame.len > 40',
  'ip.addr == 10.0.0.0/8', 'tcp.port == 7369', 'udp', 'frame.time_relative > 1', 'vvmp contains 00:02', 'vvmp.opcode[0] == 80',
  'vvmp.name == Unknown', 'vvmp.alloc.flags.reserved != 0',
];

function load(file: string): FrameStore {
  const store = new FrameStore();
  readCaptureFile(file, store.packet);
  store.end();
  return store;
}

describe('the store tests filters on frames in place', () => {
  it('gives every filter the answer of the fully decoded frame, on every frame of every capture', () => {
    const filters = FILTERS.map((t) => compileFilter(t));
    let compared = 0;
    for (const name of FILES) {
      const store = load(path.join(CAPTURES, name));
      for (let seq = store.first; seq < store.total; seq++) {
        const built = store.build(seq);
        for (const flt of filters) {
          const inPlace = flt.test(store.probe(seq));
          if (inPlace !== flt.test(built)) expect(inPlace, `${name} frame ${seq + 1}: ${flt.text}`).toBe(flt.test(built));
          compared++;
        }
        // Findings and the decoded parts read through the probe are the decoder's.
        const p = store.probe(seq);
        expect(p.expert.map((x) => x.code), `${name} frame ${seq + 1}`).toEqual(built.expert.map((x) => x.code));
        expect([p.decoded.name, p.decoded.reply, p.decoded.checksumOk, p.decoded.trailing, p.decoded.bytes.length, p.decoded.payloadBlock])
          .toEqual([built.decoded.name, built.decoded.reply, built.decoded.checksumOk, built.decoded.trailing, built.decoded.bytes.length, built.decoded.payloadBlock]);
      }
    }
    expect(compared).toBeGreaterThan(1000);
  }, 120_000);

  it('a filter on header and payload fields never decodes a frame whole', () => {
    const store = load(path.join(CAPTURES, 'demo.pcapng'));
    const rows = new FrameRows(store);
    let decoded = 0;
    // Count the probe's whole decodes (LazyDecoded.decoded, memoised per frame) while the filter runs.
    const probeDecoded = (text: string): number => {
      decoded = 0;
      rows.setFilter(compileFilter(text));
      const proto = Object.getPrototypeOf(store.probe(0).decoded) as { decoded(): unknown };
      const orig = proto.decoded;
      proto.decoded = function (this: unknown) {
        decoded++;
        return orig.call(this);
      };
      try {
        while (rows.step(1000));
      } finally {
        proto.decoded = orig;
      }
      return decoded;
    };
    expect(probeDecoded('vvmp.opcode == Allocate && vvmp.alloc.capacity_kb > 0 || vvmp.reply && vvmp.name == Query')).toBe(0);
    expect(probeDecoded('vvmp.session_id == 17 || vvmp.status == PENDING || ip.addr == 10.0.0.1 || vvmp.checksum_ok == 0')).toBe(0);
    expect(rows.length).toBeGreaterThan(0);
    // A filter on findings needs the decoder's findings: decoded once per frame that has any
    // (the store's severity column says which), never for the others.
    let withFindings = 0;
    for (let seq = store.first; seq < store.total; seq++) if (store.severity(seq) > 0) withFindings++;
    expect(withFindings).toBeGreaterThan(0);
    expect(withFindings).toBeLessThan(store.size);
    expect(probeDecoded('expert.code == checksum_bad')).toBe(withFindings);
    expect(rows.length).toBe(store.group('checksum_bad')!.frames.length);
  });
});
