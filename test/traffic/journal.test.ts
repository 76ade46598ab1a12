// The --state journal on its own: appends, compaction while appending, torn
// tails, version-1 files, stray temp files.

import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Session } from '../../src/traffic/manager.js';
import { StateJournal, loadStateFile, removeStrayTemps } from '../../src/traffic/server/journal.js';
import { tempDir } from '../helpers/cli.js';
import { sleep } from './helpers.js';

const dir = tempDir('vvmp-journal-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ID = { san_id: 1, server_id: 0xaan };

function session(id: number, capacity_kb = 1): Session {
  return {
    session_id: id, client_id: 0x11n, device_id: 1, storage_type: 5, access_type: 2, capacity_kb, bandwidth_kb: 0, qos: 0, flags: 0,
    exclusive: false, expandable: false, state: 'ALLOCATED', created_ms: 1, activated_ms: null, init: null, remote: null, source: '127.0.0.1',
  };
}

describe('StateJournal', () => {
  it('compacts when it grows, keeping every change made while the compaction runs', async () => {
    const path = join(dir, 'big.json');
    const j = new StateJournal(path, ID);
    j.start([], [7], 1);
    // 30,000 records: 100 live sessions changed over and over.
    for (let round = 0; round < 300; round++) {
      for (let id = 1; id <= 100; id++) j.put(session(id, round + 1));
      j.flush();
      if (round % 50 === 0) await sleep(5); // let a compaction run between appends
    }
    j.del(100);
    j.put(session(101, 5));
    j.flush();
    await j.close();
    expect(j.stats.compactions).toBeGreaterThanOrEqual(1);
    const loaded = loadStateFile(path)!;
    expect(loaded.tornTail).toBe(false);
    const byId = new Map(loaded.state.sessions.map((s) => [s.session_id, s]));
    expect(byId.size).toBe(100);
    expect(byId.get(1)!.capacity_kb).toBe(300);
    expect(byId.has(100)).toBe(false);
    expect(byId.get(101)!.capacity_kb).toBe(5);
    expect(loaded.state.retired).toEqual([7]);
    expect(loaded.records).toBeLessThan(30_000);
    expect(statSync(path).size).toBeLessThan(3_000_000);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads a version-1 state file; refuses a broken line in the middle with its number', () => {
    const v1 = join(dir, 'v1.json');
    writeFileSync(v1, JSON.stringify({ version: 1, san_id: 1, server_id: '0x00000000000000aa', next_session_id: 3, saved_at: 'x', sessions: [] }, null, 1));
    expect(loadStateFile(v1)!.state.next_session_id).toBe(3);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"vvmp_state":2,"san_id":1,"server_id":"0xaa","saved_at":"x","next_session_id":1,"retired":[]}\n{"del":1}\nxx\n{"del":2}\n');
    expect(() => loadStateFile(broken)).toThrow(/broken\.json: line 3 is not a journal record/);
    expect(loadStateFile(join(dir, 'none.json'))).toBeNull();
  });

  it('removes temp files of dead processes only', () => {
    const path = join(dir, 's.json');
    writeFileSync(`${path}.tmp-999999`, 'x');
    writeFileSync(`${path}.tmp-${process.ppid}`, 'x'); // a live process: left alone
    expect(removeStrayTemps(path)).toEqual(['s.json.tmp-999999']);
    expect(existsSync(`${path}.tmp-${process.ppid}`)).toBe(true);
  });
});
