// Issue 17's pieces without a terminal: commands, completion, search,
// columns, clipboard, latency / I/O numbers against the analysis and `stats`.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/analysis/filter/index.js';
import { LatencyHistogram } from '../../src/analysis/latency.js';
import { copyText, osc52 } from '../../src/tui/clipboard.js';
import { cellText, makeColumn } from '../../src/tui/columns.js';
import { CommandError, completeCommand, parseCommand } from '../../src/tui/commands.js';
import { completeFilter, fieldNames } from '../../src/tui/completion.js';
import { sessionRecordFilter, sessionRecordOf } from '../../src/tui/filters.js';
import { FrameRows } from '../../src/tui/frameRows.js';
import { ioBins, timeText } from '../../src/tui/ioView.js';
import { BUCKET_EDGES_US, bucketFilter, bucketOf, latencyGroups } from '../../src/tui/latencyData.js';
import { LineEditor } from '../../src/tui/lineEdit.js';
import { packetBytes } from '../../src/tui/packetBytes.js';
import { frameMatcher, hexBytes } from '../../src/tui/search.js';
import { FileSource } from '../../src/tui/source.js';
import { FrameStore } from '../../src/tui/store.js';
import { UiState } from '../../src/tui/uiState.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'captures/demo.pcapng');
let dir = '';

function loadDemo(): { store: FrameStore; source: FileSource } {
  const store = new FrameStore();
  const source = new FileSource(DEMO, store);
  // Read to the end synchronously (the app does it in slices).
  while (!source.done) (source as unknown as { slice(): void }).slice();
  return { store, source };
}

function shownRows(store: FrameStore, filter: string): FrameRows {
  const v = new FrameRows(store);
  v.setFilter(compileFilter(filter));
  while (v.step(1000));
  return v;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-tui-features-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('command line', () => {
  it('parses every command, :N as goto', () => {
    expect(parseCommand('42')).toEqual({ kind: 'goto', frame: 42 });
    expect(parseCommand('goto 7')).toEqual({ kind: 'goto', frame: 7 });
    expect(parseCommand('mark')).toEqual({ kind: 'mark', frames: null });
    expect(parseCommand('mark 3 5')).toEqual({ kind: 'mark', frames: [3, 5] });
    expect(parseCommand('unmark all')).toEqual({ kind: 'unmark', frames: 'all' });
    expect(parseCommand('ref off')).toEqual({ kind: 'ref', frame: 'off' });
    expect(parseCommand('ref 4')).toEqual({ kind: 'ref', frame: 4 });
    expect(parseCommand('search Allocate Reply')).toEqual({ kind: 'search', text: 'Allocate Reply' });
    expect(parseCommand('col add vvmp.client_id')).toEqual({ kind: 'colAdd', field: 'vvmp.client_id' });
    expect(parseCommand('copy hex /tmp/x')).toEqual({ kind: 'copy', what: 'hex', file: '/tmp/x' });
    expect(parseCommand('save out.pcapng marked')).toEqual({ kind: 'save', file: 'out.pcapng', which: 'marked' });
    expect(parseCommand('view latency')).toEqual({ kind: 'view', view: 'latency' });
    expect(parseCommand('q')).toEqual({ kind: 'quit' });
  });

  it('says what is wrong in one line', () => {
    expect(() => parseCommand('goto x')).toThrow(CommandError);
    expect(() => parseCommand('goto 0')).toThrow(/not a frame number/);
    expect(() => parseCommand('frobnicate')).toThrow(/unknown command "frobnicate"/);
    expect(() => parseCommand('save')).toThrow(/:save FILE/);
    expect(() => parseCommand('copy bytes')).toThrow(/not summary, field or hex/);
    expect(() => parseCommand('view nope')).toThrow(/one of frames, flows/);
  });

  it('completes command words, sub-words and field names', () => {
    expect(completeCommand('go', '', () => [])).toEqual(['goto']);
    expect(completeCommand('', 'col ', () => [])).toEqual(['add', 'del', 'clear']);
    expect(completeCommand('vvmp.cl', 'col add ', (w) => fieldNames().filter((f) => f.startsWith(w)))).toEqual(['vvmp.client_id']);
    expect(completeCommand('m', 'save out.pcapng ', () => [])).toEqual(['marked']);
  });
});

describe('Tab completion in the filter bar', () => {
  it('offers the next dotted part of field names, then the whole name with a space', () => {
    expect(completeFilter('vvmp.al', '')).toEqual(['vvmp.alloc', 'vvmp.alloc.']);
    const e = new LineEditor();
    e.set('vvmp.alloc.stor');
    e.key('tab', undefined, false, completeFilter);
    expect(e.text).toBe('vvmp.alloc.storage_type ');
    e.key('tab', undefined, false, completeFilter);
    expect(e.text).toBe('vvmp.alloc.storage_type ');
  });

  it('after a comparison, completes the field\'s value names', () => {
    const e = new LineEditor();
    e.set('vvmp.status == PEN');
    e.key('tab', undefined, false, completeFilter);
    expect(e.text).toBe('vvmp.status == PENDING ');
    expect(compileFilter(e.text.trim()).fields).toEqual(['vvmp.status']);
  });

  it('several candidates: extends to their common prefix and offers them', () => {
    const e = new LineEditor();
    e.set('vvmp.ses');
    e.key('tab', undefined, false, completeFilter);
    expect(e.text).toBe('vvmp.sess');
    expect(e.offered).toEqual(['vvmp.session', 'vvmp.session_id', 'vvmp.sessref', 'vvmp.sessref.']);
  });

  it('every completed field name compiles', () => {
    for (const name of fieldNames()) expect(() => compileFilter(name)).not.toThrow();
  });
});

describe('marks', () => {
  it('jump to the next and previous mark, wrapping around', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 200 }), (marks, at) => {
      const ui = new UiState();
      for (const m of marks) ui.toggleMark(m);
      const sorted = [...marks].sort((a, b) => a - b);
      expect(ui.nextMark(at, 1)).toBe(sorted.find((m) => m > at) ?? sorted[0]);
      expect(ui.nextMark(at, -1)).toBe([...sorted].reverse().find((m) => m < at) ?? sorted[sorted.length - 1]);
    }));
  });
});

describe('on captures/demo.pcapng', () => {
  const { store, source } = loadDemo();

  it('shows the numbers `vvmp stats --json` prints (findings, flows, latency)', () => {
    const out = execFileSync('node', [path.join(ROOT, 'bin/vvmp.js'), 'stats', DEMO, '--json'], { encoding: 'utf8' });
    const stats = JSON.parse(out) as {
      expert: Record<string, number>;
      flows: Array<{ a: string; b: string; frames: number; bytes: number; errors: number }>;
      transactions: { latency_ms: { p50: number; p90: number; p99: number; max: number } };
    };
    expect(Object.fromEntries(store.summary.expertCounts)).toEqual(stats.expert);
    expect(store.errors).toBe(stats.expert.checksum_bad! + stats.expert.status_error! + stats.expert.timeout!);
    expect(store.flows.map((f) => ({ a: f.aText, b: f.bText, frames: f.frames, bytes: f.bytes, errors: f.errors })))
      .toEqual(stats.flows.map((f) => ({ a: f.a, b: f.b, frames: f.frames, bytes: f.bytes, errors: f.errors })));
    // The Latency view's groups together give the transaction percentiles stats prints.
    const all = new LatencyHistogram();
    const whole = new FrameRows(store);
    for (const g of latencyGroups(store, whole, 'opcode')) {
      for (let i = 0; i < g.buckets.length; i++) expect(g.buckets[i]).toBeGreaterThanOrEqual(0);
    }
    for (const [, d] of store.pipeline.analyzer.latency.data()) all.merge(d);
    expect(all.percentiles()).toEqual(stats.transactions.latency_ms);
  });

  it('per-frame latency groups hold the analysis\' samples exactly (by opcode, client, server)', () => {
    const everything = shownRows(store, 'frame');
    const fromFrames = latencyGroups(store, everything, 'opcode');
    const fromAnalysis = latencyGroups(store, new FrameRows(store), 'opcode');
    expect(fromFrames).toEqual(fromAnalysis);
    const n = fromAnalysis.reduce((x, g) => x + g.n, 0);
    expect(latencyGroups(store, everything, 'client').reduce((x, g) => x + g.n, 0)).toBe(n);
    expect(latencyGroups(store, everything, 'server').reduce((x, g) => x + g.n, 0)).toBe(n);
  });

  it('a bucket\'s filter selects exactly the replies counted in it', () => {
    for (const g of latencyGroups(store, new FrameRows(store), 'opcode')) {
      g.buckets.forEach((count, i) => {
        if (count === 0) return;
        const v = shownRows(store, `${g.filter} && ${bucketFilter(i)}`);
        expect(v.length).toBe(count);
      });
    }
    for (const g of latencyGroups(store, shownRows(store, 'frame'), 'client')) {
      const v = shownRows(store, `${g.filter} && vvmp.latency`);
      expect(v.length).toBe(g.n);
    }
  });

  it('buckets: 1-2-5 edges, each latency in the bucket whose bounds hold it', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 99_999_999 }), (us) => {
      const i = bucketOf(us);
      expect(us).toBeGreaterThanOrEqual(BUCKET_EDGES_US[i]!);
      expect(us).toBeLessThan(BUCKET_EDGES_US[i + 1]!);
    }));
  });

  it('I/O bins count every shown frame once; a bin\'s time filter selects its frames', () => {
    const b = ioBins(store, new FrameRows(store), 60)!;
    expect(b.frames.reduce((x, y) => x + y, 0)).toBe(store.total);
    expect(b.errors.reduce((x, y) => x + y, 0)).toBe(Array.from({ length: store.total }, (_, s) => store.severity(s) === 3).filter(Boolean).length);
    b.frames.forEach((count, i) => {
      if (i === b.frames.length - 1) return; // the last bin also holds the frames at its far edge
      const v = shownRows(store, `frame.time >= ${timeText(b.baseSec, b.baseNsec, i * b.bin)} && frame.time < ${timeText(b.baseSec, b.baseNsec, (i + 1) * b.bin)}`);
      expect(v.length).toBe(count);
    });
    const errorsOnly = ioBins(store, shownRows(store, 'expert.severity == error'), 60)!;
    expect(errorsOnly.frames).toEqual(errorsOnly.errors);
  });

  it('timeText is exact to the nanosecond', () => {
    expect(timeText(1795554797, 218111000, 0)).toBe('1795554797.218111');
    expect(timeText(1795554797, 999999999, 1e-9)).toBe('1795554798');
  });

  it('s after a PENDING reply: the session\'s filter keeps the request and the PENDING reply too', () => {
    // Session 0xaa/6: Allocate request 47, PENDING 48, grant 50, Free 56/57.
    const rec = sessionRecordOf(store.sessions, 50, store.sessionOf(49))!;
    expect(rec.key).toBe('0x00000000000000aa/6');
    const text = sessionRecordFilter(rec, (n) => store.sessionOf(n - 1));
    expect(shownRows(store, text).length).toBe(5);
    expect([...Array(5).keys()].map((r) => shownRows(store, text).seqAt(r) + 1)).toEqual([47, 48, 50, 56, 57]);
    // The request itself names no session, yet belongs to this one.
    expect(store.sessionOf(46)).toBeNull();
    expect(sessionRecordOf(store.sessions, 47, null)).toBe(rec);
  });

  it('search matches summaries, tree lines and bytes (hex or text)', () => {
    const f = store.get(47)!; // frame 48, the PENDING reply
    const bytes = store.bytesOf(47);
    expect(frameMatcher('pending')(f, bytes)).toBe(true);
    expect(frameMatcher('transaction id: 2')(f, bytes)).toBe(true);
    expect(frameMatcher(Buffer.from(bytes.subarray(4, 8)).toString('hex'))(f, bytes)).toBe(true);
    expect(frameMatcher('no such text anywhere')(f, bytes)).toBe(false);
    expect(hexBytes('de ad:be ef')).toEqual(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
    expect(hexBytes('0xdeadbeef')).toEqual(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
    expect(hexBytes('dead beer')).toBeNull();
  });

  it('columns show filter fields as the filter compares them', () => {
    const f = store.get(47)!;
    expect(cellText(f, 'vvmp.status')).toBe('PENDING');
    expect(cellText(f, 'vvmp.client_id')).toBe('0x12');
    expect(cellText(f, 'vvmp.alloc.storage_type')).toBe('RAID3');
    expect(cellText(store.get(0)!, 'vvmp.alloc.storage_type')).toBe('');
    expect(() => makeColumn('vvmp.nope')).toThrow(/no display-filter field "vvmp.nope"/);
    expect(() => makeColumn('vvmp.alloc')).toThrow(/is a protocol/);
  });

  it('the hex pane\'s packet is the file\'s packet, with the VVMP bytes where the frame is', () => {
    for (let seq = 0; seq < store.total; seq++) {
      const p = packetBytes(store, source, seq)!;
      expect(p.packet).toBe(store.packetOf(seq));
      const frame = store.bytesOf(seq);
      const inPkt = p.data.subarray(p.vvmp[0], p.vvmp[0] + p.vvmp[1]);
      expect(Buffer.from(inPkt).equals(Buffer.from(frame.subarray(p.frameStart, p.frameStart + p.vvmp[1])))).toBe(true);
      expect(p.frameStart + p.vvmp[1]).toBe(frame.length);
    }
  });
});

describe('clipboard', () => {
  it('a named file gets the text; without a tool, OSC 52 and a file in TMPDIR', () => {
    const file = path.join(dir, 'copy.txt');
    expect(copyText('hello', file, () => undefined, {})).toBe(file);
    expect(fs.readFileSync(file, 'utf8')).toBe('hello\n');
    let sent = '';
    const where = copyText('abc', null, (s) => { sent = s; }, { TMPDIR: dir });
    expect(where).toBe(`the terminal clipboard (OSC 52) and ${path.join(dir, 'vvmp-clipboard.txt')}`);
    expect(sent).toBe(`\x1b]52;c;${Buffer.from('abc').toString('base64')}\x07`);
    expect(fs.readFileSync(path.join(dir, 'vvmp-clipboard.txt'), 'utf8')).toBe('abc\n');
    expect(osc52('x', { TMUX: '/tmp/t,1,0' })).toBe(`\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\`);
    expect(() => copyText('x', path.join(dir, 'missing', 'f'), () => undefined, {})).toThrow(/cannot write \(ENOENT\)/);
  });
});
