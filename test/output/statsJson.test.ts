// The stats JSON writes sessions and flows straight to text; these must be the
// bytes the generic JSON writer gives for the same objects (OUTPUT.md keys, in order).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { flowJson, sessionJson } from '../../src/output/statsJson.js';
import { formatTime } from '../../src/output/frameJson.js';
import { RawNumber, toJson } from '../../src/output/jsonText.js';
import { flowFirst, flowLast, type FlowRecord } from '../../src/analysis/flows.js';
import type { SessionRow, SessionState } from '../../src/analysis/sessions.js';
import type { Stamp } from '../../src/analysis/time.js';

const time = (s: Stamp | null) => (s === null ? null : new RawNumber(formatTime(s.sec, s.nsec, s.digits)));
const stampArb = fc.record({ sec: fc.integer({ min: 0, max: 4_000_000_000 }), nsec: fc.integer({ min: 0, max: 999_999_999 }), digits: fc.constantFrom(0, 3, 6, 9) });
const STATES: SessionState[] = ['REQUESTED', 'WAITING', 'ALLOCATED', 'ACTIVE', 'REJECTED', 'CLOSED', 'TORN_DOWN'];

describe('stats JSON rows', () => {
  it('a session row is what toJson writes', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 0, max: 65535 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(...STATES),
      fc.option(fc.integer({ min: 0, max: 255 })), fc.option(fc.double({ min: 0, max: 2 ** 64, noNaN: true })), stampArb, fc.option(stampArb),
      (server, sid, client, state, storage, capacity, opened, closed) => {
        const row: SessionRow = { server_id: server, session_id: sid, client_id: client, state, storage_type: storage, capacity_kb: capacity, opened, closed, events: [], dropped: 0 };
        const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');
        expect(sessionJson(row)).toBe(toJson({
          server_id: hex(server), session_id: sid, client_id: hex(client), state, storage_type: storage, capacity_kb: capacity,
          opened: time(opened), closed: time(closed),
        }));
      }), { numRuns: 1000 });
  });

  it('a flow row is what toJson writes', () => {
    const endpoint = fc.oneof(fc.ipV4().map((ip) => `${ip}:7369`), fc.ipV6().map((ip) => `[${ip}]:40000`));
    fc.assert(fc.property(
      fc.constantFrom('udp' as const, 'tcp' as const), endpoint, endpoint, fc.nat(), fc.double({ min: 0, max: 2 ** 60, noNaN: true }), fc.nat(), stampArb, stampArb,
      (transport, a, b, frames, bytes, errors, first, last) => {
        const f: FlowRecord = {
          transport, a, b, frames, bytes, errors, firstSec: first.sec, firstNsec: first.nsec, lastSec: last.sec, lastNsec: last.nsec, digits: first.digits,
        };
        expect(flowJson(f)).toBe(toJson({
          transport, a, b, frames, bytes, first: time(flowFirst(f)), last: time(flowLast(f)), errors,
        }));
      }), { numRuns: 1000 });
  });
});
