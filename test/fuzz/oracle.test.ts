// Expectations from the decoder, reply matching, oracle classification,
// the minimiser, the memory rule and the exchange capture.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { readCaptureFile } from '../../src/capture/file.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { HEADER_SIZE } from '../../src/protocol/fields.js';
import { caseExpectations, type FuzzCase } from '../../src/traffic/fuzz/cases.js';
import { Matcher, applyBindings, type Observation, type Pending, type TranscriptEvent } from '../../src/traffic/fuzz/exec.js';
import { frameExpectation, tcpExpectations, udpExpectation } from '../../src/traffic/fuzz/expect.js';
import { OFF, build, residue, setResidue, templateByName } from '../../src/traffic/fuzz/frames.js';
import { MB, MemoryCredit, MemoryWatch, DEFAULT_MEMORY_RULE } from '../../src/traffic/fuzz/memory.js';
import { sameLeak } from '../../src/traffic/fuzz/memoryOracle.js';
import { applyChanges, changedPositions, ddmin, minimizeCase } from '../../src/traffic/fuzz/minimize.js';
import { judge } from '../../src/traffic/fuzz/oracle.js';
import { writeExchangePcapng } from '../../src/traffic/fuzz/pcap.js';

const Q = () => build(templateByName('Query'), { transaction_id: 5 });
const A = () => build(templateByName('Allocate'), { transaction_id: 6 });

function reply(req: Buffer, status = 0, over: { txid?: number; client?: bigint; opcode?: number } = {}) {
  return decodeFrame(encodeFrame({
    opcode: over.opcode ?? (req.readUInt16BE(0) | 0x8000), client_id: over.client ?? req.readBigUInt64BE(8),
    transaction_id: over.txid ?? req.readUInt32BE(24), sub_opcode: status, payload: null,
  }));
}

describe('expectations are the decoder\'s verdict on the bytes sent', () => {
  it('UDP: reply due for a whole header, OK allowed only when not malformed', () => {
    const e = udpExpectation(A());
    expect([e.kind, e.malformed, e.opcode, e.txid]).toEqual(['reply', [], 2, 6]);
    const bad = A();
    setResidue(bad, 1);
    expect(udpExpectation(bad).malformed).toEqual(['checksum_bad']);
    const sub = build(templateByName('Query'), { sub_opcode: 0x7f });
    expect(udpExpectation(sub).malformed).toEqual(['subop_invalid']);
    expect(udpExpectation(build(templateByName('Query'), { opcode: 0x0042 })).malformed).toEqual(['opcode_unknown']);
  });

  it('reserved bits, unknown enum values and trailing UDP bytes are not malformed', () => {
    const a = A();
    a[HEADER_SIZE + 16] = 0xf0; // reserved flag bits
    a[HEADER_SIZE] = 0x42; // no such storage type
    setResidue(a, 0);
    expect(udpExpectation(a).malformed).toEqual([]);
    const t = Buffer.concat([Q(), Buffer.from([1, 2, 3])]);
    expect(udpExpectation(t).malformed).toEqual([]);
  });

  it('no reply for Announces and reply opcodes; optional for frames under 32 bytes', () => {
    expect(udpExpectation(build(templateByName('Announce'))).kind).toBe('none');
    expect(udpExpectation(build(templateByName('Query'), { opcode: 0x8001 })).kind).toBe('none');
    const short = udpExpectation(Q().subarray(0, 20));
    expect([short.kind, short.malformed.includes('frame_short')]).toEqual(['optional', true]);
    expect(udpExpectation(Q().subarray(0, 1)).kind).toBe('optional');
  });

  it('UDP length lies are malformed (frame_truncated / payload_size); a reply is optional but must not be OK', () => {
    const long = build(templateByName('Allocate'), { lengthOverride: 6 });
    setResidue(long, 0);
    expect(udpExpectation(long)).toMatchObject({ kind: 'optional', malformed: ['frame_truncated', 'payload_size'] });
    const short = build(templateByName('Allocate'), { lengthOverride: 4 });
    expect(udpExpectation(short)).toMatchObject({ kind: 'optional' });
    expect(udpExpectation(short).malformed).toContain('payload_size');
    expect(udpExpectation(Buffer.concat([Q(), Buffer.from([1])]))).toMatchObject({ kind: 'optional', malformed: [] });
  });

  it('TCP: a lie that promises more bytes stalls; one over the limit may close; a short lie leaves a tail', () => {
    const long = build(templateByName('Allocate'), { lengthOverride: 6 });
    expect(tcpExpectations([long], 65536).perWrite[0]!.map((e) => [e.kind, e.closeOk])).toEqual([['stall', false]]);
    const huge = build(templateByName('Allocate'), { lengthOverride: 0xffff });
    expect(tcpExpectations([huge], 65536).perWrite[0]!.map((e) => [e.kind, e.closeOk])).toEqual([['stall', true]]);
    const short = build(templateByName('Allocate'), { lengthOverride: 0 });
    const s = tcpExpectations([short], 65536);
    expect(s.perWrite[0]!.map((e) => e.kind)).toEqual(['reply', 'stall']);
    expect(s.perWrite[0]![0]!.malformed).toContain('payload_size');
    expect(s.clean).toBe(false);
    // frames split over writes are expected on the write that completes them
    const two = Buffer.concat([Q(), A()]);
    const w = tcpExpectations([two.subarray(0, 40), two.subarray(40)], 65536);
    expect(w.perWrite.map((x) => x.length)).toEqual([1, 1]);
  });

  it('TCP expectations follow the stream framer however the writes cut the stream (reference walk)', () => {
    // The reference: concatenate the writes and walk the length fields, a frame
    // belonging to the write that carries its last byte.
    const reference = (writes: Buffer[], max: number) => {
      const stream = Buffer.concat(writes);
      const ends: number[] = [];
      let acc = 0;
      for (const w of writes) ends.push((acc += w.length));
      const writeOf = (end: number) => Math.max(0, ends.findIndex((e) => e >= end));
      const out: Array<[number, string, boolean, string]> = [];
      let at = 0;
      let clean = true;
      while (at < stream.length) {
        const rest = stream.length - at;
        if (rest < HEADER_SIZE) { out.push([writes.length - 1, 'stall', false, `${rest} bytes of a header`]); clean = false; break; }
        const size = HEADER_SIZE + 4 * stream.readUInt16BE(at + OFF.length);
        if (size - HEADER_SIZE > max) { out.push([writeOf(at + HEADER_SIZE), 'stall', true, 'over']); clean = false; break; }
        if (rest < size) { out.push([writes.length - 1, 'stall', false, `${rest} of ${size} bytes`]); clean = false; break; }
        if (!ends.includes(at + size)) clean = false;
        out.push([writeOf(at + size), frameExpectation(stream.subarray(at, at + size), false).kind, false, '']);
        at += size;
      }
      return { out, clean };
    };
    const frameArb = fc.oneof(
      fc.constant(Q()), fc.constant(A()),
      fc.integer({ min: 0, max: 12 }).map((n) => build(templateByName('Allocate'), { lengthOverride: n })),
      fc.constant(build(templateByName('Query'), { lengthOverride: 0x4001 })),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)),
    );
    fc.assert(fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 6 }),
      fc.constantFrom(64, 65536), (frames, cuts, max) => {
        const stream = Buffer.concat(frames);
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const writes: Buffer[] = [];
        let from = 0;
        for (const c of at) { writes.push(stream.subarray(from, c)); from = c; }
        writes.push(stream.subarray(from));
        const got = tcpExpectations(writes, max);
        const want = reference(writes, max);
        const flat = got.perWrite.flatMap((es, w) => es.map((e) => [w, e.kind, e.closeOk, e.kind === 'stall' ? e.desc : ''] as const));
        expect(flat.map(([w, k, c]) => [w, k, c])).toEqual(want.out.map(([w, k, c]) => [w, k, c]));
        flat.forEach(([, , , d], i) => {
          const r = want.out[i]![3];
          if (r && r !== 'over') expect(d.endsWith(`(${r})`)).toBe(true);
        });
        expect(got.clean).toBe(want.clean);
      }), { numRuns: 300 });
  });

  it('only single whole frames are pipelined', () => {
    const one: FuzzCase = { seq: 0, strategy: 't', desc: '', conns: ['tcp'], steps: [{ conn: 0, frame: A() }] };
    expect(caseExpectations(one, 65536).pipelinable).toBe(true);
    const lie: FuzzCase = { ...one, steps: [{ conn: 0, frame: build(templateByName('Allocate'), { lengthOverride: 9 }) }] };
    expect(caseExpectations(lie, 65536).pipelinable).toBe(false);
    expect(caseExpectations({ ...lie, conns: ['udp'] }, 65536).pipelinable).toBe(true);
  });
});

describe('matching replies', () => {
  const pend = (frame: Buffer, udp = false): Pending => ({ exp: frameExpectation(frame, udp), step: 0, conn: 0, sentAt: 0, reply: null, replyAt: 0, pendingOpen: false });

  it('oldest outstanding request with the same client, transaction id and opcode; PENDING keeps it open', () => {
    const m = new Matcher();
    const q1 = pend(Q());
    const q2 = pend(Q());
    const a = pend(A());
    m.add(q1);
    m.add(q2);
    m.add(a);
    expect(m.match(reply(Q()), 1)).toBe(q1);
    expect(m.match(reply(A(), 0x01), 2)).toBe(a); // PENDING
    expect(m.match(reply(Q()), 3)).toBe(q2);
    expect(m.match(reply(A(), 0x00), 4)).toBe(a); // the final reply after PENDING
    expect(m.match(reply(A(), 0x00), 5)).toBeNull();
    expect(m.match(reply(Q(), 0, { txid: 99 }), 6)).toBeNull();
    expect(m.match(decodeFrame(Q()), 7)).toBeNull(); // not a reply
  });

  it('a short request matches on the fields it has', () => {
    const m = new Matcher();
    const p = pend(Q().subarray(0, 10), true);
    m.add(p);
    expect(m.match(reply(Q(), 0x30, { txid: 0, client: 0n }), 1)).toBe(p);
  });
});

function obsFor(c: FuzzCase, replies: Array<ReturnType<typeof reply> | null>, extra: Partial<Observation> = {}): Observation {
  const ex = caseExpectations(c, 65536);
  const results: Pending[] = ex.perStep.flatMap((es, i) => es.map((exp) => ({
    exp, step: i, conn: c.steps[i]!.conn, sentAt: 0, reply: replies[i] ?? null, replyAt: 0, pendingOpen: false,
  })));
  return {
    results, unmatched: [], conns: c.conns.map((t) => ({ transport: t, refused: null, closed: null, ownClose: true })),
    transcript: [], sent: c.steps.length, started: 0, ended: 0, ...extra,
  };
}

describe('oracle classification', () => {
  const one = (frame: Buffer, t: 'tcp' | 'udp' = 'tcp'): FuzzCase => ({ seq: 1, strategy: 's', desc: '', conns: [t], steps: [{ conn: 0, frame }] });

  it('a good answer is no failure', () => {
    expect(judge(one(A()), obsFor(one(A()), [reply(A(), 0x10)]), 1000)).toBeNull();
  });

  it('hang: a due reply that never came', () => {
    expect(judge(one(A()), obsFor(one(A()), [null]), 1000)?.oracle).toBe('hang');
  });

  it('wrong_reply: something came, but it answers another transaction or client', () => {
    const o = obsFor(one(A()), [null], { unmatched: [{ conn: 0, frame: reply(A(), 0, { txid: 7 }), at: 0 }] });
    expect(judge(one(A()), o, 1000)?.oracle).toBe('wrong_reply');
    const ann = one(build(templateByName('Announce')));
    const o2 = obsFor(ann, [], { unmatched: [{ conn: 0, frame: reply(build(templateByName('Announce'))), at: 0 }] });
    expect(judge(ann, o2, 1000)?.oracle).toBe('wrong_reply');
  });

  it('malformed_ok: a bad checksum answered OK; the same answered BAD_CHECKSUM is fine', () => {
    const bad = A();
    setResidue(bad, 3);
    expect(judge(one(bad), obsFor(one(bad), [reply(bad, 0x00)]), 1000)?.oracle).toBe('malformed_ok');
    expect(judge(one(bad), obsFor(one(bad), [reply(bad, 0x31)]), 1000)).toBeNull();
  });

  it('reset: refused, or closed by the server while a reply is due; a stall closed by the server is fine', () => {
    const refused = obsFor(one(A()), [null], { conns: [{ transport: 'tcp', refused: '127.0.0.1:9: connection refused', closed: null, ownClose: false }] });
    expect(judge(one(A()), refused, 1000)?.oracle).toBe('reset');
    const closed = obsFor(one(A()), [null], { conns: [{ transport: 'tcp', refused: null, closed: { kind: 'reset', at: 0, detail: 'connection reset by peer' }, ownClose: false }] });
    expect(judge(one(A()), closed, 1000)).toMatchObject({ oracle: 'reset', detail: expect.stringContaining('reset by peer') });
    const huge = one(build(templateByName('Allocate'), { lengthOverride: 0xffff }));
    const hc = obsFor(huge, [], { conns: [{ transport: 'tcp', refused: null, closed: { kind: 'closed', at: 0, detail: 'connection closed by peer' }, ownClose: false }] });
    expect(judge(huge, hc, 1000)).toBeNull();
  });

  it('failures on cleanup steps do not count', () => {
    const c: FuzzCase = { seq: 1, strategy: 's', desc: '', conns: ['tcp'], steps: [{ conn: 0, frame: A() }, { conn: 0, frame: Q(), cleanup: true }] };
    expect(judge(c, obsFor(c, [reply(A()), null]), 1000)).toBeNull();
  });
});

describe('bindings', () => {
  it('write the granted session id and keep the checksum residue', () => {
    const free = build(templateByName('Free'));
    setResidue(free, 9);
    const granted = decodeFrame(encodeFrame({ opcode: 0x8002, sub_opcode: 0, payload: { session_id: 0x1234, capacity_kb: 1 } }));
    const out = applyBindings({ conn: 0, frame: free, bind: [{ from: 0, replyOffset: HEADER_SIZE + 2, offset: HEADER_SIZE }] }, [granted]);
    expect(out.readUInt16BE(HEADER_SIZE)).toBe(0x1234);
    expect(residue(out)).toBe(9);
    // a refused Allocate binds nothing
    const refused = decodeFrame(encodeFrame({ opcode: 0x8002, sub_opcode: 0x10 }));
    expect(applyBindings({ conn: 0, frame: free, bind: [{ from: 0, replyOffset: 34, offset: 32 }] }, [refused]).equals(free)).toBe(true);
  });
});

describe('minimiser', () => {
  it('ddmin finds a 1-minimal failing subset', async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    let runs = 0;
    const got = await ddmin(items, async (s) => {
      runs++;
      return s.includes(7) && s.includes(31);
    }, { tests: 500, deadline: Date.now() + 10_000 });
    expect(got).toEqual([7, 31]);
    expect(runs).toBeLessThan(100);
  });

  it('fewest frames, then the fewest changed bytes (checksum derived)', async () => {
    const base = A();
    const mutated = Buffer.from(base);
    mutated[HEADER_SIZE + 4] = 0xff; // capacity: the byte that matters
    mutated[HEADER_SIZE + 9] = 0x42; // bandwidth: noise
    mutated[5] = 0x77; // dst_san: noise
    setResidue(mutated, 0);
    const c: FuzzCase = {
      seq: 1, strategy: 's', desc: '', conns: ['tcp'],
      steps: [{ conn: 0, frame: Q() }, { conn: 0, frame: mutated, base }, { conn: 0, frame: Q() }],
    };
    expect(changedPositions(mutated, base)).toEqual([5, HEADER_SIZE + 4, HEADER_SIZE + 9]);
    const fails = async (x: FuzzCase) => x.steps.some((s) => s.frame.length > HEADER_SIZE && s.frame[HEADER_SIZE + 4] === 0xff);
    const r = await minimizeCase(c, fails, { tests: 200, deadline: Date.now() + 10_000 });
    expect(r.framesAfter).toBe(1);
    expect(r.bytesAfter).toBe(1);
    const f = r.c.steps[0]!.frame;
    expect(changedPositions(f, base)).toEqual([HEADER_SIZE + 4]);
    expect(residue(f)).toBe(0);
    // a bad checksum stays bad by as much
    const bad = Buffer.from(mutated);
    setResidue(bad, 5);
    expect(residue(applyChanges(bad, base, [HEADER_SIZE + 4]))).toBe(5);
  });
});

describe('memory rule', () => {
  it('one leak is known by the request that keeps memory and how much, not by growth per case', () => {
    expect(sameLeak({ at: 'Statistics', mb: 16 }, { at: 'Statistics', mb: 16.1 })).toBe(true);
    expect(sameLeak({ at: 'Statistics', mb: 16 }, { at: 'Statistics', mb: 13 })).toBe(true);
    // the double Free's 8 MB is not the Statistics leak's 16 MB, nor 16 MB kept at Free
    expect(sameLeak({ at: 'Free', mb: 8 }, { at: 'Statistics', mb: 8 })).toBe(false);
    expect(sameLeak({ at: 'Free', mb: 8 }, { at: 'Free', mb: 16 })).toBe(false);
  });

  const rule = { ...DEFAULT_MEMORY_RULE, thresholdMb: 32 };
  const feed = (f: (t: number) => number, ms: number) => {
    const w = new MemoryWatch(rule);
    w.reset(0);
    for (let t = 0; t <= ms; t += rule.sampleMs) w.add(t, f(t));
    return w.check();
  };

  it('ignores warm-up and a garbage-collector sawtooth', () => {
    expect(feed((t) => (t < 1000 ? 20 * MB + t * 100_000 : 80 * MB + ((t / 50) % 8) * 8 * MB), 8000)).toBeNull();
  });

  it('flags sustained growth with rising low-water marks', () => {
    const flag = feed((t) => 80 * MB + t * 20_000 + ((t / 50) % 4) * 4 * MB, 6000);
    expect(flag).not.toBeNull();
    expect(flag!.growthMb).toBeGreaterThan(32);
  });

  it('does not flag growth that went away again', () => {
    expect(feed((t) => 80 * MB + (t > 2000 && t < 4000 ? 60 * MB : 0), 6000)).toBeNull();
  });

  it('credit points at a strategy that grows memory case after case', () => {
    const c = new MemoryCredit();
    for (let i = 0; i < 20; i++) {
      c.add(['stateful:double-free'], 8 * MB);
      c.add(['flip', 'random:fields'], i % 7 === 0 ? 6 * MB : -MB);
    }
    expect(c.suspects(64)).toEqual(['stateful:double-free']);
  });
});

describe('exchange.pcapng', () => {
  it('decodes with the project\'s own reader: frames, transports, directions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vvmp-fuzz-pcap-'));
    try {
      const a = A();
      const r = encodeFrame({ opcode: 0x8002, client_id: a.readBigUInt64BE(OFF.client), transaction_id: 6, sub_opcode: 0, payload: { session_id: 3, capacity_kb: 1 } });
      const t = 1_700_000_000_000;
      const events: TranscriptEvent[] = [
        { t, conn: 0, transport: 'tcp', type: 'open' },
        { t: t + 1, conn: 0, transport: 'tcp', type: 'out', bytes: a.subarray(0, 10) },
        { t: t + 2, conn: 0, transport: 'tcp', type: 'out', bytes: a.subarray(10) },
        { t: t + 3, conn: 0, transport: 'tcp', type: 'in', bytes: r },
        { t: t + 4, conn: 0, transport: 'tcp', type: 'fin-out' },
        { t: t + 5, conn: 1, transport: 'udp', type: 'open' },
        { t: t + 6, conn: 1, transport: 'udp', type: 'out', bytes: Q() },
      ];
      const path = join(dir, 'exchange.pcapng');
      writeExchangePcapng(path, events, '127.0.0.1:17000');
      const frames: Array<[string, string, string]> = [];
      const p = new Pipeline({ frame: (f) => frames.push([f.transport, f.srcText, f.decoded.name ?? '']) }, { keepBytes: true });
      readCaptureFile(path, p.packet);
      p.end();
      expect(frames).toEqual([
        ['tcp', '127.0.0.1:40001', 'Allocate'],
        ['tcp', '127.0.0.1:7369', 'Allocate'],
        ['udp', '127.0.0.1:40002', 'Query'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
