// The session table in compact mode (stats): finished sessions move to typed
// columns and come back out of rows() exactly as they went in.

import { describe, expect, it } from 'vitest';
import { SessionTable, type SessionRow } from '../../src/analysis/sessions.js';

const at = (sec: number, nsec: number) => ({ sec, nsec, digits: 9 });

function plain(r: SessionRow) {
  return {
    server_id: r.server_id, session_id: r.session_id, client_id: r.client_id, state: r.state,
    storage_type: r.storage_type, capacity_kb: r.capacity_kb, opened: r.opened, closed: r.closed,
  };
}

describe('SessionTable (compact)', () => {
  it('archives tens of thousands of finished sessions and lists every one in order', () => {
    const compact = new SessionTable(true);
    const whole = new SessionTable(false);
    const n = 40_000; // more than two archive chunks
    for (const t of [compact, whole]) {
      for (let i = 0; i < n; i++) {
        const server = 0xa0n + BigInt(i % 4);
        const s = t.begin(0x10000000000n + BigInt(i), server, 5, 1000 + i, at(1_700_000_000 + i, i), 2 * i + 1);
        if (i % 10 === 3) {
          t.rejected(s, server, 'DENIED', 2 * i + 2);
          continue;
        }
        t.allocated(s, server, (i % 60_000) + 1, i % 8, 2 ** 40 + i, at(1_700_000_000 + i, i + 1), 2 * i + 2, 0.5);
        if (i % 10 === 5) continue; // stays ALLOCATED
        t.initialized(s, 2 * i + 3);
        if (i % 10 === 7) t.boot(server, at(1_700_000_100 + i, 7), 2 * i + 4); // tears down whatever is live
        else t.freed(s, 0, at(1_700_000_050 + i, 999_999_999), 2 * i + 4);
      }
    }
    const rows = [...compact.rows()].map(plain);
    expect(compact.count).toBe(n);
    expect(rows).toEqual([...whole.rows()].map(plain));
    expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['REJECTED', 'CLOSED', 'ALLOCATED', 'TORN_DOWN']));
    // Only the first sessions (the text report's) and the live ones stay records.
    expect(compact.all.length).toBeLessThan(n / 5);
  });
});
