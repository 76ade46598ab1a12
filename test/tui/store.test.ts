// The frame store, the filtered frame list and the key table, without a terminal.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/analysis/filter/index.js';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { readCaptureFile } from '../../src/capture/file.js';
import { frameJsonLine } from '../../src/output/frameJson.js';
import { buildTree, treeLines } from '../../src/output/tree.js';
import { FrameRows } from '../../src/tui/frameRows.js';
import { flowFilter, sessionRecordFilter } from '../../src/tui/filters.js';
import { helpLines } from '../../src/tui/help.js';
import { KEY_TABLE, actionFor, hints, keyLabel, keyName } from '../../src/tui/keys.js';
import { SeqList } from '../../src/tui/seqlist.js';
import { lifecycle } from '../../src/tui/sessionsView.js';
import { FileSource, LiveSource } from '../../src/tui/source.js';
import type { LiveCapture } from '../../src/capture/live.js';
import { FrameStore } from '../../src/tui/store.js';
import { Theme } from '../../src/tui/text.js';
import { packetsOf, scenario, writeCapture, type Step } from './fixture.js';

const DEMO = path.resolve(import.meta.dirname, '../../captures/demo.pcapng');

function json(f: AnalyzedFrame): string {
  return frameJsonLine(f.decoded, {
    frame: f.number, packet: f.packet, tsSec: f.tsSec, tsNsec: f.tsNsec, tsDigits: f.tsDigits,
    transport: f.transport, src: f.srcText, dst: f.dstText, session: f.session, expert: f.expert,
  });
}

/** What the analysis itself produces, frame objects kept to the end. */
function reference(steps: Step[]): AnalyzedFrame[] {
  const out: AnalyzedFrame[] = [];
  const p = new Pipeline({ frame: (f) => void out.push(f) }, { keepBytes: true });
  for (const pk of packetsOf(steps)) p.packet(pk);
  p.end();
  return out;
}

function loaded(steps: Step[] = scenario(), opts: ConstructorParameters<typeof FrameStore>[0] = {}): FrameStore {
  const s = new FrameStore(opts);
  for (const pk of packetsOf(steps)) s.packet(pk);
  s.end();
  return s;
}

describe('FrameStore', () => {
  it('rebuilds every frame exactly as the analysis produced it', () => {
    const ref = reference(scenario());
    const store = loaded();
    expect(store.total).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) {
      const a = ref[i]!;
      const b = store.get(i)!;
      expect(json(b)).toBe(json(a));
      expect(b.latencyMs).toBe(a.latencyMs);
      expect(b.peer).toBe(a.peer);
      expect(b.flowKey).toBe(a.flowKey);
      expect(treeLines(buildTree(b))).toEqual(treeLines(buildTree(a)));
    }
  });

  it.skipIf(!fs.existsSync(DEMO))('rebuilds every frame of the demo capture (TCP, UDP, sessions) exactly', () => {
    const ref: AnalyzedFrame[] = [];
    const p = new Pipeline({ frame: (f) => void ref.push(f) }, { keepBytes: true });
    readCaptureFile(DEMO, p.packet);
    p.end();
    const store = new FrameStore();
    readCaptureFile(DEMO, store.packet);
    store.end();
    expect(store.total).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) {
      const a = ref[i]!;
      const b = store.get(i)!;
      expect(json(b)).toBe(json(a));
      expect([b.firstPacket, b.latencyMs, b.peer, b.flowKey]).toEqual([a.firstPacket, a.latencyMs, a.peer, a.flowKey]);
    }
    expect(store.sessions.length).toBe(p.analyzer.sessions.all.length);
  });

  it('keeps exchange findings, late timeouts and severities', () => {
    const store = loaded();
    const timedOut = store.get(14)!; // frame 15: the Query nobody answered
    expect(timedOut.expert.map((x) => x.code)).toEqual(['timeout']);
    expect(store.severity(14)).toBe(3);
    expect(store.severity(10)).toBe(3); // checksum_bad
    expect(store.severity(0)).toBe(0);
    expect(store.timeouts).toBe(1);
    expect(store.errors).toBe(4);
  });

  it('sets a request\'s peer and session when its reply arrives', () => {
    const store = loaded();
    const req = store.get(2)!; // Allocate request
    expect(req.peer).toBe(4);
    expect(req.session).toBe('0x00000000000000aa/17');
    expect(store.sessionOf(2)).toBe('0x00000000000000aa/17');
  });

  it('groups findings errors first, checksum_bad first', () => {
    const store = loaded();
    const groups = store.expertGroups();
    expect(groups.map((g) => g.code)).toEqual(['checksum_bad', 'status_error', 'timeout']);
    expect(groups[0]!.frames.at(0)).toBe(10);
    expect(groups[1]!.count).toBe(2);
  });

  it('keeps flows with both endpoints, counts and errors', () => {
    const store = loaded();
    expect(store.flows.map((f) => [f.transport, f.aText, f.bText, f.frames, f.errors])).toEqual([
      ['udp', '10.0.0.1:40001', '10.0.0.2:7369', 14, 2],
      ['udp', '10.0.0.3:40100', '10.0.0.2:7369', 2, 1],
      ['udp', '10.0.0.4:40200', '10.0.0.2:7369', 1, 1],
      ['udp', '10.0.0.5:7369', '10.0.0.255:7369', 1, 0],
    ]);
    const f = store.get(1)!;
    expect(f.srcText).toBe('10.0.0.2:7369');
    expect(f.dstText).toBe('10.0.0.1:40001');
  });

  it('keeps UDP trailing bytes (the frame as captured)', () => {
    const steps: Step[] = [{ t: 0, src: ['10.0.0.1', 1000], dst: ['10.0.0.2', 7369], frame: { opcode: 1, sub_opcode: 1, payload: null } }];
    const pk = packetsOf(steps)[0]!;
    const data = Buffer.concat([pk.data, Buffer.from([1, 2, 3])]);
    // Grow the IPv4 and UDP lengths by 3.
    data.writeUInt16BE(data.readUInt16BE(16) + 3, 16);
    data.writeUInt16BE(0, 24);
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += data.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    data.writeUInt16BE(~sum & 0xffff, 24);
    data.writeUInt16BE(data.readUInt16BE(38) + 3, 38);
    const store = new FrameStore();
    store.packet({ ...pk, data, origLen: data.length });
    store.end();
    expect(store.bytesOf(0).length).toBe(35);
    expect(store.get(0)!.expert.map((x) => x.code)).toContain('udp_trailing');
  });

  it('ring mode keeps the newest N frames, counts and flows for all', () => {
    const store = loaded(scenario(), { ring: 5, chunkSize: 64 });
    expect(store.total).toBe(18);
    expect(store.first).toBe(13);
    expect(store.size).toBe(5);
    expect(store.get(12)).toBeNull();
    expect(store.get(13)!.number).toBe(14);
    expect(json(store.get(17)!)).toBe(json(reference(scenario())[17]!));
    expect(store.flows.reduce((n, f) => n + f.frames, 0)).toBe(18);
    expect(store.errors).toBe(4);
    const checksum = store.group('checksum_bad')!;
    expect(checksum.count).toBe(1);
    expect(checksum.frames.length).toBe(0); // frame 11 is gone
    expect(store.group('timeout')!.frames.at(0)).toBe(14);
    // Only the chunks holding kept frames stay.
    expect(store.arenaBytes).toBeLessThanOrEqual(64 * 6);
  });

  it('a bounded arena drops the oldest frames', () => {
    const store = loaded(scenario(), { ring: 1000, chunkSize: 64, maxArenaBytes: 256 });
    expect(store.arenaBytes).toBeLessThanOrEqual(256 + 64);
    expect(store.size).toBeLessThan(18);
    expect(json(store.get(17)!)).toBe(json(reference(scenario())[17]!));
  });

  it('grows past its first column allocation', () => {
    const steps: Step[] = [];
    for (let i = 0; i < 3000; i++) {
      steps.push({ t: i * 0.001, src: ['10.0.0.1', 40000], dst: ['10.0.0.2', 7369], frame: { opcode: 1, client_id: 1n, transaction_id: i + 1, sub_opcode: 1 } });
    }
    const store = loaded(steps, { chunkSize: 1000 });
    expect(store.total).toBe(3000);
    expect(store.get(2999)!.decoded.header.transaction_id).toBe(3000);
    expect(store.get(0)!.decoded.header.transaction_id).toBe(1);
  });

  it('loads a file in slices through FileSource', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-store-'));
    try {
      const file = path.join(dir, 't.pcap');
      writeCapture(file);
      const store = new FrameStore();
      const src = new FileSource(file, store, 200);
      expect(src.done).toBe(false);
      expect(store.total).toBeGreaterThan(0);
      await new Promise<void>((resolve) => src.start(() => src.done && resolve()));
      expect(store.total).toBe(18);
      expect(src.progress()).toBe(1);
      expect(store.timeouts).toBe(1);
      expect(() => new FileSource(path.join(dir, 'missing.pcap'), new FrameStore())).toThrow(/no such file/);
      fs.writeFileSync(path.join(dir, 'junk'), 'hello world, not a capture');
      expect(() => new FileSource(path.join(dir, 'junk'), new FrameStore())).toThrow(/not a capture|unknown|magic/i);
      fs.writeFileSync(path.join(dir, 'tiny'), 'ab');
      expect(() => new FileSource(path.join(dir, 'tiny'), new FrameStore())).toThrow(/not a capture/);
      expect(() => new FileSource(dir, new FrameStore())).toThrow(/directory/);
      // Cut in the middle of a record: the frames before it, and the damage said.
      const whole = fs.readFileSync(file);
      fs.writeFileSync(path.join(dir, 'cut.pcap'), whole.subarray(0, whole.length - 10));
      const cutStore = new FrameStore();
      const cut = new FileSource(path.join(dir, 'cut.pcap'), cutStore, 64);
      await new Promise<void>((resolve) => cut.start(() => cut.done && resolve()));
      expect(cutStore.total).toBe(17);
      expect(cut.problem).toMatch(/read 17 packets before it/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LiveSource', () => {
  it('takes packets pushed by a live backend into a ring, ticks time on and stops', async () => {
    const store = new FrameStore({ ring: 10 });
    let push: ((p: ReturnType<typeof packetsOf>[number]) => void) | null = null;
    let stopped = false;
    const fake = async (_opts: unknown, onPacket: (p: never) => void): Promise<LiveCapture> => {
      push = onPacket as never;
      return {
        backend: 'cap', iface: 'lo', filter: '', linkType: 1, snaplen: 65535, tsDigits: 6, timestampSource: 'test',
        safeTime: () => ({ sec: 1_700_000_100, nsec: 0 }),
        stats: () => ({ received: 0, dropped: 3, ifDropped: null, truncated: 0 }),
        stop: async () => { stopped = true; },
      };
    };
    const src = await LiveSource.open(store, { iface: 'lo', filter: '', backend: 'cap' }, fake);
    expect(src.label).toBe('live: lo');
    // The first 15 packets: the last one is the Query that will time out.
    for (const p of packetsOf(scenario()).slice(0, 15)) push!(p);
    expect(store.total).toBe(15);
    expect(store.size).toBe(10);
    expect(store.timeouts).toBe(0);
    let updates = 0;
    src.start(() => updates++);
    await new Promise((r) => setTimeout(r, 600));
    expect(updates).toBeGreaterThan(0);
    expect(store.timeouts).toBe(1); // the quiet line's time passed the deadline
    expect(src.drops()).toBe(3);
    expect(src.rate()).toBe(0);
    await src.stop();
    expect(stopped).toBe(true);
    expect(src.done).toBe(true);
  });
});

describe('FrameRows', () => {
  it('filters in slices and maps rows to frames', () => {
    const store = loaded();
    const v = new FrameRows(store);
    expect(v.length).toBe(18);
    v.setFilter(compileFilter('vvmp.reply == 1'));
    expect(v.pending).toBe(true);
    while (v.step(5));
    expect(v.length).toBe(8);
    expect(v.seqAt(0)).toBe(1);
    expect(v.rowOf(3)).toBe(1);
    expect(v.rowOf(2)).toBe(-1);
    expect(v.nearestRow(2)).toBe(1);
    v.setFilter(null);
    expect(v.length).toBe(18);
  });

  it('tests new frames as they arrive and re-tests frames that change', () => {
    const store = new FrameStore();
    const v = new FrameRows(store);
    v.setFilter(compileFilter('expert.code == timeout || vvmp.session == "0xaa/17"'));
    for (const pk of packetsOf(scenario())) {
      store.packet(pk);
      v.step(50);
    }
    store.end();
    v.step(50);
    const frames = Array.from({ length: v.length }, (_, i) => v.seqAt(i) + 1);
    // The Allocate request (3) gets its session from its reply; the Query (15) times out later.
    expect(frames).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 15]);
  });

  it('agrees with the flow and session filters the UI writes', () => {
    const store = loaded();
    const v = new FrameRows(store);
    v.setFilter(compileFilter(flowFilter(store.flows[1]!)));
    while (v.step(5));
    expect(Array.from({ length: v.length }, (_, i) => v.seqAt(i) + 1)).toEqual([13, 14]);
    const rejected = store.sessions.find((s) => s.state === 'REJECTED')!;
    v.setFilter(compileFilter(sessionRecordFilter(rejected)));
    while (v.step(5));
    expect(Array.from({ length: v.length }, (_, i) => v.seqAt(i) + 1)).toEqual([13, 14]);
  });
});

describe('SeqList', () => {
  it('appends, inserts in order, removes and drops the front', () => {
    const l = new SeqList(2);
    for (const x of [1, 3, 5, 7]) l.add(x);
    l.add(4);
    l.add(4);
    expect(Array.from({ length: l.length }, (_, i) => l.at(i))).toEqual([1, 3, 4, 5, 7]);
    expect(l.remove(3)).toBe(true);
    expect(l.remove(3)).toBe(false);
    l.dropBelow(5);
    expect(Array.from({ length: l.length }, (_, i) => l.at(i))).toEqual([5, 7]);
    expect(l.lowerBound(6)).toBe(1);
    expect(l.has(7)).toBe(true);
  });
});

describe('keys and help', () => {
  it('binds every key once, and help shows every binding', () => {
    const lines = helpLines(200, new Theme(false)).join('\n');
    for (const b of KEY_TABLE) {
      for (const k of b.keys) expect(actionFor(k)).toBe(b.action);
      expect(lines).toContain(b.keys.map(keyLabel).join(' '));
    }
    for (const k of ['?', '/', 'j', 'k', 'g', 'G', 'C-d', 'C-u', 'tab', 'S-tab', 'enter', 'f', 's', 'e', 'p', 'q', 'C-c', 'F', 'L', 'S', 'E', '1', '4']) {
      expect(actionFor(k), k).toBeDefined();
    }
    expect(hints().join('  ')).toMatch(/^\? help {2}\/ filter {2}Tab pane/);
  });

  it('names blessed key events', () => {
    expect(keyName('G', { name: 'g', full: 'S-g', shift: true } as never)).toBe('G');
    expect(keyName('\r', { name: 'enter', full: 'enter' })).toBe('enter');
    expect(keyName('\r', { name: 'return', full: 'return' })).toBeNull();
    expect(keyName('\u0004', { name: 'd', full: 'C-d', ctrl: true })).toBe('C-d');
    expect(keyName(undefined, { name: 'tab', full: 'S-tab' })).toBe('S-tab');
    expect(keyName(' ', { name: 'space', full: 'space' })).toBe('space');
  });

  it('draws session lifecycles', () => {
    const store = loaded();
    expect(store.sessions.map(lifecycle)).toEqual(['●alloc 0.39ms ─ ●init ─ ●stats ─ ●free', '●alloc ✗ NO_CAPACITY']);
  });
});
