// The exchange tracker alone, with no output hook: numbering, matching,
// latency, timeouts on capture time, sessions, and what it tells its
// listener (late findings, frames becoming final).

import { describe, expect, it } from 'vitest';
import { ExchangeTracker, LATE_REPLY_GRACE_NS, type ExchangeListener, type ExchangeOptions } from '../../src/analysis/exchanges.js';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { NO_FINDINGS } from '../../src/protocol/decode.js';
import { DEFAULT_TIMEOUT_MS, OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_QUERY, REPLY_BIT } from '../../src/protocol/fields.js';
import { DEFAULT_TIMEOUT_MS as FROM_ANALYZER } from '../../src/analysis/analyzer.js';
import { CLIENT, SERVER, packetAt } from '../helpers/feed.js';

const C = 0x11n;
const S = 0xaan;
const query = (txid: number): FrameSpec => ({ opcode: OP_QUERY, sub_opcode: 1, client_id: C, transaction_id: txid });
const reply = (op: number, txid: number, status = 0, payload: FrameSpec['payload'] = null): FrameSpec =>
  ({ opcode: op | REPLY_BIT, sub_opcode: status, client_id: C, server_id: S, transaction_id: txid, payload });
const ALLOC = { storage_type: 5, access_type: 2, capacity_kb: 1000, bandwidth_kb: 10, qos: 3 };

/** Drives a tracker directly: packets move time, frames are analysed and closed as the Analyzer does. */
function drive(opts: ExchangeOptions = {}) {
  const events: string[] = [];
  const listener: ExchangeListener = {
    lateFinding: (f, x) => events.push(`late ${f.number} ${x.code}`),
    final: (f, included, wasOpen) => events.push(`final ${f.number}${wasOpen ? ' open' : ''}${included ? '' : ' excluded'}`),
  };
  const t = new ExchangeTracker(listener, opts);
  let index = 0;
  const at = (ms: number, spec?: FrameSpec): AnalyzedFrame | null => {
    const p = packetAt(++index, ms);
    t.packet(p);
    if (!spec) return null;
    const data = encodeFrame(spec);
    const fromClient = (spec.opcode & REPLY_BIT) === 0;
    const f = t.frame({
      packet: p, transport: 'udp', src: fromClient ? CLIENT : SERVER, dst: fromClient ? SERVER : CLIENT, data,
      flowKey: `udp ${CLIENT.ip}:${CLIENT.port} ${SERVER.ip}:${SERVER.port}`, flow: 0,
    });
    if (!t.isOpen(f)) t.close(f);
    return f;
  };
  return { t, at, events };
}

describe('ExchangeTracker', () => {
  it('numbers frames, matches a reply to its request, measures latency and links peers', () => {
    const { t, at, events } = drive();
    const q = at(0, query(7))!;
    const r = at(1.25, reply(OP_QUERY, 7, 0, { devices: [] }))!;
    expect([q.number, r.number]).toEqual([1, 2]);
    expect([q.peer, r.peer, r.latencyMs]).toEqual([2, 1, 1.25]);
    expect([t.tx.requests, t.tx.answered, t.tx.timedOut, t.openAtEnd]).toEqual([1, 1, 0, 0]);
    expect(t.latency.overall()).toMatchObject({ p50: 1.25 });
    // Without tracking final frames, every frame is final at once.
    expect(events).toEqual(['final 1', 'final 2']);
  });

  it('flags reply_unmatched and txid_duplicate on the frames themselves', () => {
    const { at } = drive();
    expect(at(0, reply(OP_QUERY, 3, 0, { devices: [] }))!.expert.map((x) => x.code)).toEqual(['reply_unmatched']);
    at(1, query(4));
    expect(at(2, query(4))!.expert.map((x) => x.code)).toEqual(['txid_duplicate']);
  });

  it('times a request out on capture time and tells the listener late; the reply still matches', () => {
    const { t, at, events } = drive();
    const q = at(0, query(1))!;
    at(DEFAULT_TIMEOUT_MS);
    expect(q.expert).toEqual([]);
    at(DEFAULT_TIMEOUT_MS + 0.001);
    expect(q.expert.map((x) => x.code)).toEqual(['timeout']);
    expect(events).toContain('late 1 timeout');
    const r = at(6000, reply(OP_QUERY, 1, 0, { devices: [] }))!;
    expect(r.peer).toBe(1);
    expect([t.tx.answered, t.tx.timedOut]).toEqual([1, 1]);
  });

  it('keeps requests open until final when asked, and reports them final in that order', () => {
    const { t, at, events } = drive({ tracksFinal: true });
    const a = at(0, query(1))!;
    const b = at(1, query(2))!;
    expect([t.isOpen(a), t.isOpen(b)]).toEqual([true, true]);
    at(2, reply(OP_QUERY, 2, 0, { devices: [] }));
    expect(t.isOpen(b)).toBe(false);
    expect(events).toEqual(['final 2 open', 'final 3']);
    t.expireAtEnd();
    t.closeOpen();
    expect(t.isOpen(a)).toBe(false);
    expect(events).toEqual(['final 2 open', 'final 3', 'final 1 open']);
    expect(t.openAtEnd).toBe(1);
  });

  it('with include, counts only the requests that match once final, and marks their sessions', () => {
    const { t, at, events } = drive({ include: (f) => f.decoded.header.opcode === OP_ALLOCATE || f.decoded.header.opcode === (OP_ALLOCATE | REPLY_BIT) });
    at(0, query(1));
    at(1, { opcode: OP_ALLOCATE, sub_opcode: 1, client_id: C, transaction_id: 2, payload: ALLOC });
    at(2, reply(OP_QUERY, 1, 0, { devices: [] }));
    at(3, reply(OP_ALLOCATE, 2, 0, { ...ALLOC, session_id: 9 }));
    expect(t.tx.requests).toBe(1);
    expect(t.tx.answered).toBe(1);
    expect(events).toEqual(['final 1 open excluded', 'final 3 excluded', 'final 2 open', 'final 4']);
    expect(t.sessions.selectedCount).toBe(1);
  });

  it('follows a session from Allocate to Free by (reply server_id, session_id)', () => {
    const { t, at } = drive();
    at(0, { opcode: OP_ALLOCATE, sub_opcode: 1, client_id: C, transaction_id: 1, payload: { ...ALLOC, timeout_ms: 100 } });
    const grant = at(1, reply(OP_ALLOCATE, 1, 0, { ...ALLOC, session_id: 9, capacity_kb: 800 }))!;
    expect(grant.session).toBe('0x00000000000000aa/9');
    const init = at(2, { opcode: OP_INITIALIZE, client_id: C, server_id: S, transaction_id: 2, payload: { session_id: 9 } })!;
    expect(init.session).toBe('0x00000000000000aa/9');
    at(3, reply(OP_INITIALIZE, 2, 0, { session_id: 9 }));
    expect(t.sessions.get(S, 9)!.state).toBe('ACTIVE');
    at(4, { opcode: OP_FREE, client_id: C, server_id: S, transaction_id: 3, payload: { session_id: 9, release_kb: 300 } });
    at(5, reply(OP_FREE, 3, 0, { session_id: 9, release_kb: 300 }));
    expect(t.sessions.get(S, 9)!.capacity_kb).toBe(500);
    at(6, { opcode: OP_FREE, client_id: C, server_id: S, transaction_id: 4, payload: { session_id: 9 } });
    at(7, reply(OP_FREE, 4, 0, { session_id: 9 }));
    const [row] = [...t.sessions.rows()];
    expect(row!.state).toBe('CLOSED');
  });

  it('an Allocate sets its own timeout from timeout_ms', () => {
    const { at } = drive();
    const a = at(0, { opcode: OP_ALLOCATE, sub_opcode: 1, client_id: C, transaction_id: 1, payload: { ...ALLOC, timeout_ms: 100 } })!;
    at(100.5);
    expect(a.expert.map((x) => x.code)).toEqual(['timeout']);
    expect(a.expert[0]!.message).toBe('no reply within 100 ms');
  });

  it('DEFAULT_TIMEOUT_MS is the protocol table\'s, still exported where it was', () => {
    expect(FROM_ANALYZER).toBe(DEFAULT_TIMEOUT_MS);
    expect(DEFAULT_TIMEOUT_MS).toBe(5000);
  });

  it('frames without findings share one empty list; an exchange finding gives the frame a list of its own', () => {
    const { at, t } = drive();
    const q1 = at(0, query(1))!;
    const q2 = at(1, query(2))!;
    expect(q1.expert).toBe(NO_FINDINGS);
    expect(q2.decoded.findings).toBe(NO_FINDINGS);
    // A duplicate txid and an unmatched reply get findings at once; q1 and the duplicate time out later, q2 is answered.
    const dup = at(2, query(1))!;
    const lost = at(3, reply(OP_QUERY, 99, 0, { devices: [] }))!;
    const r2 = at(4, reply(OP_QUERY, 2, 0, { devices: [] }))!;
    at(DEFAULT_TIMEOUT_MS + 10);
    t.expireAtEnd();
    expect(dup.expert.map((x) => x.code)).toEqual(['txid_duplicate', 'timeout']);
    expect(lost.expert.map((x) => x.code)).toEqual(['reply_unmatched']);
    expect(q1.expert.map((x) => x.code)).toEqual(['timeout']);
    // The frame's expert list and its decoder findings stay one list.
    for (const f of [dup, lost, q1]) expect(f.expert).toBe(f.decoded.findings);
    expect([q2.expert, r2.expert]).toEqual([NO_FINDINGS, NO_FINDINGS]);
    expect(NO_FINDINGS).toHaveLength(0);
  });

  it('entries of finished exchanges are reused without mixing exchanges up', () => {
    const { at, t } = drive();
    // 1 is answered (its entry is spare), 2 times out and is forgotten past the grace (spare too).
    const q1 = at(0, query(1))!;
    at(1, reply(OP_QUERY, 1, 0, { devices: [] }));
    const q2 = at(2, query(2))!;
    const late = DEFAULT_TIMEOUT_MS + LATE_REPLY_GRACE_NS / 1e6 + 100;
    at(late);
    // New requests take the spare entries; the old exchanges stay over.
    const q3 = at(late + 1, query(3))!;
    const q4 = at(late + 2, query(4))!;
    const r2 = at(late + 3, reply(OP_QUERY, 2, 0, { devices: [] }))!;
    const r1 = at(late + 4, reply(OP_QUERY, 1, 0, { devices: [] }))!;
    const r4 = at(late + 5, reply(OP_QUERY, 4, 0, { devices: [] }))!;
    const r3 = at(late + 7, reply(OP_QUERY, 3, 0, { devices: [] }))!;
    expect([r1, r2].map((r) => r.expert.map((x) => x.code))).toEqual([['reply_unmatched'], ['reply_unmatched']]);
    expect([q1.peer, q2.peer, q2.expert.map((x) => x.code)]).toEqual([2, null, ['timeout']]);
    expect([q3.peer, r3.peer, r3.latencyMs, q4.peer, r4.peer, r4.latencyMs]).toEqual([r3.number, q3.number, 6, r4.number, q4.number, 3]);
    expect([t.tx.requests, t.tx.answered, t.tx.timedOut, t.openAtEnd]).toEqual([4, 3, 1, 0]);
  });
});
