import { describe, expect, it } from 'vitest';
import { OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS, REPLY_BIT } from '../../src/protocol/fields.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { codes, feed } from '../helpers/feed.js';

const C = 0x11n;
const S = 0xaan;
const query = (txid: number, extra: Partial<FrameSpec> = {}): FrameSpec => ({ opcode: OP_QUERY, sub_opcode: 1, client_id: C, transaction_id: txid, ...extra });
const reply = (op: number, txid: number, status = 0, payload: FrameSpec['payload'] = null, extra: Partial<FrameSpec> = {}): FrameSpec =>
  ({ opcode: op | REPLY_BIT, sub_opcode: status, client_id: C, server_id: S, transaction_id: txid, payload, ...extra });
const alloc = (txid: number, p: Record<string, number> = {}, sub = 1): FrameSpec => ({
  opcode: OP_ALLOCATE, sub_opcode: sub, client_id: C, transaction_id: txid,
  payload: { storage_type: 5, access_type: 2, capacity_kb: 1000, bandwidth_kb: 10, qos: 3, ...p },
});
const grant = (txid: number, session: number, p: Record<string, number> = {}, status = 0) =>
  reply(OP_ALLOCATE, txid, status, { storage_type: 5, access_type: 2, session_id: session, capacity_kb: 1000, bandwidth_kb: 10, qos: 3, ...p });

describe('request/reply matching', () => {
  it('matches a reply to its request with latency and peers', () => {
    const { frames, analyzer } = feed([{ at: 0, frame: query(7) }, { at: 0.39, frame: reply(OP_QUERY, 7, 0, { devices: [] }) }]);
    expect(frames.map(codes)).toEqual([[], []]);
    expect(frames[1]!.latencyMs).toBe(0.39);
    expect(frames[1]!.peer).toBe(1);
    expect(frames[0]!.peer).toBe(2);
    expect([analyzer.requests, analyzer.answered, analyzer.timedOut, analyzer.openAtEnd]).toEqual([1, 1, 0, 0]);
  });

  it('a reply with no request is reply_unmatched', () => {
    const { frames } = feed([{ at: 0, frame: reply(OP_QUERY, 9, 0, { devices: [] }) }]);
    expect(codes(frames[0]!)).toEqual(['reply_unmatched']);
  });

  it('needs the same client, transaction and opcode', () => {
    const { frames } = feed([
      { at: 0, frame: query(7) },
      { at: 1, frame: reply(OP_QUERY, 7, 0, { devices: [] }, { client_id: 0x12n }) },
      { at: 2, frame: reply(OP_STATISTICS, 7, 0x20) },
      { at: 3, frame: reply(OP_QUERY, 8, 0, { devices: [] }) },
    ]);
    expect(frames.slice(1).map(codes)).toEqual([['reply_unmatched'], ['status_error', 'reply_unmatched'], ['reply_unmatched']]);
  });

  it('a duplicate transaction id is flagged and both stay outstanding; replies answer the oldest first', () => {
    const { frames, analyzer } = feed([
      { at: 0, frame: query(7) },
      { at: 1, frame: query(7) },
      { at: 2, frame: reply(OP_QUERY, 7, 0, { devices: [] }) },
      { at: 3, frame: reply(OP_QUERY, 7, 0, { devices: [] }) },
    ]);
    expect(frames.map(codes)).toEqual([[], ['txid_duplicate'], [], []]);
    expect(frames[2]!.peer).toBe(1);
    expect(frames[3]!.peer).toBe(2);
    expect(analyzer.answered).toBe(2);
  });

  it('reusing a transaction id after its reply is fine', () => {
    const { frames } = feed([
      { at: 0, frame: query(7) }, { at: 1, frame: reply(OP_QUERY, 7, 0, { devices: [] }) }, { at: 2, frame: query(7) },
    ]);
    expect(codes(frames[2]!)).toEqual([]);
  });

  it('unknown opcodes and bad checksums take part; Announce does not', () => {
    const { frames, analyzer } = feed([
      { at: 0, frame: { opcode: 0x0009, client_id: C, transaction_id: 1 } },
      { at: 1, frame: { opcode: 0x8009, client_id: C, transaction_id: 1 } },
      { at: 2, frame: { ...query(2), corruptChecksum: true } },
      { at: 3, frame: reply(OP_QUERY, 2, 0x31) },
      { at: 4, frame: { opcode: OP_ANNOUNCE, sub_opcode: 1, client_id: C, transaction_id: 3, payload: { devices: [] } } },
      { at: 5, frame: { opcode: 0x8007, client_id: C, transaction_id: 3 } },
    ]);
    expect(frames.map(codes)).toEqual([
      ['opcode_unknown'], ['opcode_unknown'], ['checksum_bad'], ['status_error'], [], ['opcode_unknown', 'reply_unmatched'],
    ]);
    expect(analyzer.requests).toBe(2);
  });

  it('a frame shorter than the header takes no part', () => {
    const { frames, analyzer } = feed([{ at: 0, frame: encodeFrame(query(7)).subarray(0, 20) }]);
    expect(codes(frames[0]!)).toContain('frame_short');
    expect(analyzer.requests).toBe(0);
  });
});

describe('timeouts on capture time', () => {
  it('times out once a later packet is strictly past the 5,000 ms default', () => {
    const exact = feed([{ at: 0, frame: query(7) }, { at: 5000 }]);
    expect(codes(exact.frames[0]!)).toEqual([]);
    expect(exact.analyzer.openAtEnd).toBe(1);
    const past = feed([{ at: 0, frame: query(7) }, { at: 5000.000001 }]);
    expect(codes(past.frames[0]!)).toEqual(['timeout']);
    expect([past.analyzer.timedOut, past.analyzer.openAtEnd]).toEqual([1, 0]);
  });

  it('uses the Allocate timeout_ms, and 5,000 ms for 0', () => {
    const r = feed([{ at: 0, frame: alloc(1, { timeout_ms: 2000 }) }, { at: 1, frame: alloc(2) }, { at: 2001 }, { at: 5002 }]);
    expect(r.frames.map(codes)).toEqual([['timeout'], ['timeout']]);
  });

  it('a late reply is still matched and the request still counts as timed out', () => {
    const { frames, analyzer } = feed([{ at: 0, frame: query(7) }, { at: 6000, frame: reply(OP_QUERY, 7, 0, { devices: [] }) }]);
    expect(frames.map(codes)).toEqual([['timeout'], []]);
    expect(frames[1]!.peer).toBe(1);
    expect([analyzer.answered, analyzer.timedOut]).toEqual([1, 1]);
  });

  it('PENDING extends the wait with no limit until the second reply', () => {
    const { frames, analyzer } = feed([
      { at: 0, frame: alloc(1, { flags: 8 }) },
      { at: 1, frame: grant(1, 0, {}, 1) },
      { at: 60000, frame: grant(1, 4) },
    ]);
    expect(frames.map(codes)).toEqual([[], ['status_pending'], []]);
    expect([analyzer.requests, analyzer.answered, analyzer.timedOut]).toEqual([1, 1, 0]);
    expect(analyzer.sessions.all[0]!.state).toBe('ALLOCATED');
  });

  it('at the end of the capture the last packet decides', () => {
    const r = feed([{ at: 0, frame: query(1) }, { at: 4999, frame: query(2) }, { at: 5001 }]);
    expect(r.frames.map(codes)).toEqual([['timeout'], []]);
    expect([r.analyzer.timedOut, r.analyzer.openAtEnd]).toEqual([1, 1]);
  });

  it('holds a request back from ordered output until it is settled, keeping frame order', () => {
    const order: number[] = [];
    const r = feed([{ at: 0, frame: query(1) }, { at: 1, frame: query(2) }, { at: 2, frame: reply(OP_QUERY, 2, 0, { devices: [] }) }, { at: 9000 }], {
      frame: (f) => order.push(f.number),
    });
    expect(order).toEqual([1, 2, 3]);
    expect(r.frames.map((f) => f.number)).toEqual([1, 2, 3]);
    expect(codes(r.frames[0]!)).toEqual(['timeout']);
  });
});

describe('sessions', () => {
  const init = (txid: number, sid: number, server = S): FrameSpec => ({ opcode: OP_INITIALIZE, client_id: C, server_id: server, transaction_id: txid, payload: { session_id: sid } });
  const free = (txid: number, sid: number, release = 0): FrameSpec => ({ opcode: OP_FREE, client_id: C, server_id: S, transaction_id: txid, payload: { session_id: sid, release_kb: release } });
  const modify = (txid: number, sid: number, cap: number): FrameSpec => ({ opcode: OP_MODIFY, client_id: C, server_id: S, transaction_id: txid, payload: { storage_type: 5, access_type: 2, session_id: sid, capacity_kb: cap } });

  it('walks a whole lifecycle: allocate, initialize, modify, stats, partial and full free', () => {
    const { frames, analyzer } = feed([
      { at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 17) },
      { at: 2, frame: init(2, 17) }, { at: 3, frame: reply(OP_INITIALIZE, 2, 0, { session_id: 17 }) },
      { at: 4, frame: modify(3, 17, 3000) }, { at: 5, frame: reply(OP_MODIFY, 3, 0, { storage_type: 5, access_type: 2, session_id: 17, capacity_kb: 3000 }) },
      { at: 6, frame: { opcode: OP_STATISTICS, client_id: C, server_id: S, transaction_id: 4, payload: { session_id: 17 } } },
      { at: 7, frame: reply(OP_STATISTICS, 4, 0, { session_id: 17, age_ms: 6 }) },
      { at: 8, frame: free(5, 17, 1000) }, { at: 9, frame: reply(OP_FREE, 5, 0, { session_id: 17, release_kb: 1000 }) },
      { at: 10, frame: free(6, 17) }, { at: 11, frame: reply(OP_FREE, 6, 0, { session_id: 17 }) },
    ]);
    expect(frames.every((f) => f.session === '0x00000000000000aa/17')).toBe(true);
    expect(frames.flatMap(codes)).toEqual([]);
    const [s] = analyzer.sessions.all;
    expect(analyzer.sessions.all).toHaveLength(1);
    expect(s!.state).toBe('CLOSED');
    expect(s!.capacity_kb).toBe(2000);
    expect(s!.opened).toMatchObject({ sec: 1700000000, nsec: 1_000_000 });
    expect(s!.closed).toMatchObject({ sec: 1700000000, nsec: 11_000_000 });
    expect(s!.events.map((e) => e.kind)).toEqual(['alloc', 'alloc', 'init', 'modify', 'stats', 'free-part', 'free']);
  });

  it('state after each step', () => {
    const states = (steps: Parameters<typeof feed>[0]) => feed(steps).analyzer.sessions.all.map((s) => s.state);
    expect(states([{ at: 0, frame: alloc(1) }])).toEqual(['REQUESTED']);
    expect(states([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 0, {}, 0x10) }])).toEqual(['REJECTED']);
    expect(states([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 0, {}, 1) }])).toEqual(['WAITING']);
    expect(states([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 3) }])).toEqual(['ALLOCATED']);
    expect(states([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 3) }, { at: 2, frame: init(2, 3) },
      { at: 3, frame: reply(OP_INITIALIZE, 2, 0, { session_id: 3 }) }])).toEqual(['ACTIVE']);
    // An Initialize that fails leaves the session ALLOCATED.
    expect(states([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 3) }, { at: 2, frame: init(2, 3) },
      { at: 3, frame: reply(OP_INITIALIZE, 2, 0x30) }])).toEqual(['ALLOCATED']);
  });

  it('a rejected exchange has session_id 0 and no session on its frames', () => {
    const { frames, analyzer } = feed([{ at: 0, frame: alloc(1) }, { at: 1, frame: reply(OP_ALLOCATE, 1, 0x21) }]);
    expect(frames.map((f) => f.session)).toEqual([null, null]);
    expect(analyzer.sessions.all[0]).toMatchObject({ session_id: 0, state: 'REJECTED', storage_type: 5, capacity_kb: 1000 });
  });

  it('keys REJECTED and WAITING entries by the reply (convention 7), not the request\'s server_id 0', () => {
    const keys = (steps: Parameters<typeof feed>[0]) => feed(steps).analyzer.sessions.all.map((s) => [s.state, s.server_id, s.session_id]);
    // The Allocate request carries server_id 0; the reply names the server.
    expect(keys([{ at: 0, frame: alloc(1) }])).toEqual([['REQUESTED', 0n, 0]]);
    expect(keys([{ at: 0, frame: alloc(1) }, { at: 1, frame: reply(OP_ALLOCATE, 1, 0x21) }])).toEqual([['REJECTED', S, 0]]);
    // PENDING carries the Allocate block with the session id it reserves.
    expect(keys([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 9, {}, 1) }])).toEqual([['WAITING', S, 9]]);
    expect(keys([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 9, {}, 1) }, { at: 2, frame: grant(1, 9) }])).toEqual([['ALLOCATED', S, 9]]);
    // Rejected after waiting: session_id back to 0, still the reply's server.
    expect(keys([{ at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 9, {}, 1) }, { at: 2, frame: reply(OP_ALLOCATE, 1, 0x21, null, { server_id: 0xbbn }) }]))
      .toEqual([['REJECTED', 0xbbn, 0]]);
  });

  it('a boot Announce tears down live sessions of its server, once', () => {
    const boot: FrameSpec = { opcode: OP_ANNOUNCE, sub_opcode: 2, server_id: S, payload: { devices: [] } };
    const { frames, analyzer } = feed([
      { at: 0, frame: alloc(1) }, { at: 1, frame: grant(1, 1) },
      { at: 2, frame: alloc(2) }, { at: 3, frame: grant(2, 2) },
      { at: 4, frame: free(3, 2) }, { at: 5, frame: reply(OP_FREE, 3, 0, { session_id: 2 }) },
      { at: 6, frame: boot, from: 'server' },
      { at: 7, frame: boot, from: 'server' },
    ]);
    expect(analyzer.sessions.all.map((s) => s.state)).toEqual(['TORN_DOWN', 'CLOSED']);
    expect(codes(frames[6]!)).toEqual(['boot_teardown']);
    expect(codes(frames[7]!)).toEqual([]);
  });

  it('session_unknown only once the server is known to have booted', () => {
    const boot: FrameSpec = { opcode: OP_ANNOUNCE, sub_opcode: 2, server_id: S, payload: { devices: [] } };
    const before = feed([{ at: 0, frame: init(1, 9) }]);
    expect(codes(before.frames[0]!)).toEqual([]);
    const after = feed([{ at: 0, frame: boot, from: 'server' }, { at: 1, frame: init(1, 9) }, { at: 2, frame: alloc(2) }, { at: 3, frame: grant(2, 5) }, { at: 4, frame: init(3, 5) }]);
    expect(after.frames.map(codes)).toEqual([[], ['session_unknown'], [], [], []]);
  });

  it('counts findings, flows and opcodes in the summary', () => {
    const { summary } = feed([{ at: 0, frame: query(1) }, { at: 1, frame: reply(OP_QUERY, 1, 0, { devices: [] }) }, { at: 2, frame: { ...query(2), corruptChecksum: true } }, { at: 9000 }]);
    expect(Object.fromEntries(summary.byOpcode)).toEqual({ 1: 2, 0x8001: 1 });
    expect(Object.fromEntries(summary.expertCounts)).toEqual({ checksum_bad: 1, timeout: 1 });
    const [flow] = summary.flows.records();
    expect(flow).toMatchObject({ frames: 3, bytes: 96, errors: 1, a: '10.0.0.1:40001', b: '10.0.0.2:7369' });
  });
});

describe('the final hook (filtered stats): each frame once final, nothing held back', () => {
  /** Feeds the steps with both hooks; returns frame numbers as `final` and `settled` saw them, and when. */
  function both(steps: Parameters<typeof feed>[0]) {
    const finals: { n: number; at: number; session: string | null; codes: string[] }[] = [];
    let step = 0;
    const { frames } = feed(steps.map((s) => ({ ...s })), {
      frame: () => void step++,
      final: (f) => finals.push({ n: f.number, at: step, session: f.session, codes: codes(f) }),
    });
    return { finals, settled: frames.map((f) => ({ n: f.number, session: f.session, codes: codes(f) })) };
  }

  it('hands a reply over at once while an older request is still open, the request once answered', () => {
    const { finals } = both([
      { at: 0, frame: query(1) }, // stays open until 4
      { at: 1, frame: query(2) },
      { at: 2, frame: reply(OP_QUERY, 2, 0, { devices: [] }) },
      { at: 3, frame: query(3) },
      { at: 4, frame: reply(OP_QUERY, 1, 0, { devices: [] }) },
    ]);
    // [frame, frames seen when it was handed over]: reply 3 goes at once though request 1 is open;
    // a request goes when its reply is seen (before the reply itself); 4 is never answered: at the end.
    expect(finals.map((f) => [f.n, f.at])).toEqual([[2, 2], [3, 3], [1, 4], [5, 5], [4, 5]]);
  });

  it('gives every frame exactly once, as settled order gives it (timeouts, sessions), also across PENDING', () => {
    const { finals, settled } = both([
      { at: 0, frame: query(9) }, // never answered: times out
      { at: 1, frame: alloc(1) },
      { at: 2, frame: grant(1, 0, {}, 0x01) }, // PENDING: the request is final here, without a session, in every mode
      { at: 3, frame: alloc(2) },
      { at: 4, frame: grant(2, 4) },
      { at: 3000, frame: grant(1, 5) },
      { at: 9000 },
    ]);
    const byNumber = (xs: typeof settled) => [...xs].sort((a, b) => a.n - b.n);
    expect(byNumber(finals.map(({ n, session, codes: c }) => ({ n, session, codes: c })))).toEqual(byNumber(settled));
    expect(finals.find((f) => f.n === 1)!.codes).toEqual(['timeout']);
    expect(finals.find((f) => f.n === 2)!.session).toBeNull();
    expect(finals.find((f) => f.n === 4)!.session).toBe('0x00000000000000aa/4');
  });
});

describe('compact session table (read, stats)', () => {
  it('a frame naming a finished, archived session still names it, as with the whole table', () => {
    const free = (txid: number, sid: number): FrameSpec => ({ opcode: OP_FREE, client_id: C, server_id: S, transaction_id: txid, payload: { session_id: sid, release_kb: 0 } });
    const steps: { at: number; frame: FrameSpec }[] = [];
    let t = 0;
    // More sessions than compact mode keeps whole (50), each allocated and freed.
    for (let i = 1; i <= 60; i++) {
      steps.push({ at: t++, frame: alloc(2 * i - 1) }, { at: t++, frame: grant(2 * i - 1, i) });
      steps.push({ at: t++, frame: free(2 * i, i) }, { at: t++, frame: reply(OP_FREE, 2 * i, 0, { session_id: i }) });
    }
    // Statistics of session 55 after its Free: it was allocated in this capture.
    steps.push({ at: t++, frame: { opcode: OP_STATISTICS, client_id: C, server_id: S, transaction_id: 500, payload: { session_id: 55 } } });
    steps.push({ at: t++, frame: reply(OP_STATISTICS, 500, 0, { session_id: 55, age_ms: 6 }) });
    const whole = feed(steps).frames.map((f) => f.session);
    const compact = feed(steps, {}, { compactSessions: true }).frames.map((f) => f.session);
    expect(whole.at(-1)).toBe('0x00000000000000aa/55');
    expect(whole.at(-2)).toBe('0x00000000000000aa/55');
    expect(compact).toEqual(whole);
  });
});
