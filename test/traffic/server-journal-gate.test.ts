// `--state` without blocking: a reply that acknowledges a change leaves only
// once the journal has written it, and the journal's disk I/O never holds up
// another client. The disk is made to stall for real: every thread of libuv's
// pool (where the journal's writes run) is parked in open() of a FIFO with no
// writer until the test opens the other end.

import { execFileSync } from 'node:child_process';
import { open, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplyGate } from '../../src/traffic/server/replyGate.js';
import { VvmpConnection } from '../../src/traffic/transport.js';
import { tempDir } from '../helpers/cli.js';
import { CLIENT, payload, server, sleep } from './helpers.js';

const dir = tempDir('vvmp-gate-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Parks every libuv pool thread in open(FIFO); the returned function lets them go. */
function stallThreadPool(): () => Promise<void> {
  const size = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const fifos: string[] = [];
  const opened: Array<Promise<number>> = [];
  for (let i = 0; i < size; i++) {
    const f = join(dir, `fifo-${Date.now()}-${i}`);
    execFileSync('mkfifo', [f]);
    fifos.push(f);
    opened.push(new Promise((resolve, reject) => open(f, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))));
  }
  return async () => {
    // O_RDWR on a FIFO does not wait for a reader; it completes the parked open(…, 'r').
    const writers = fifos.map((f) => openSync(f, 'r+'));
    for (const fd of await Promise.all(opened)) closeSync(fd);
    for (const fd of writers) closeSync(fd);
  };
}

const alloc = (txid: number) => ({
  opcode: 2, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: CLIENT, transaction_id: txid,
  payload: { storage_type: 0xff, access_type: 0xff, capacity_kb: 1 },
});

describe('vvmp serve --state: the journal never blocks the event loop', () => {
  it('an Allocate is answered only once its session is in the file; another client\'s Query is answered meanwhile', async () => {
    const state = join(dir, 'state.json');
    const s = await server(undefined, { statePath: state });
    const a = await VvmpConnection.connect({ port: s.tcpPort });
    const q = await VvmpConnection.connect({ port: s.tcpPort });
    try {
      const release = stallThreadPool();
      await sleep(50);
      let answered = false;
      const pending = a.request(alloc(1), { timeoutMs: 10_000 }).then((r) => {
        answered = true;
        // The reply left after the record: the file holds the session now.
        const sid = payload(r)['session_id'] as number;
        const text = readFileSync(state, 'utf8');
        return { r, sid, inFile: text.includes(`{"put":{"session_id":${sid},`) };
      });
      // The disk is stuck: the Allocate waits, the other client's Queries do not.
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const r = await q.request({ opcode: 1, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: 0x77n, transaction_id: 100 + i });
        expect(r.status).toBe('OK');
        expect(performance.now() - t0).toBeLessThan(1000);
      }
      await sleep(200);
      expect(answered).toBe(false);
      expect(s.journal!.written).toBeLessThan(s.journal!.appended);
      // A Query on the Allocate's own connection keeps its place behind it.
      let queryAfter = false;
      const behind = a.request({ opcode: 1, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: CLIENT, transaction_id: 2 }).then(() => {
        queryAfter = answered;
      });
      await sleep(100);
      await release();
      const { r, inFile } = await pending;
      await behind;
      expect(r.status).toBe('OK');
      expect(inFile).toBe(true);
      expect(queryAfter).toBe(true);
    } finally {
      await a.close();
      await q.close();
      await s.close();
    }
  }, 30_000);
});

describe('ReplyGate', () => {
  const progress = { appended: 0, written: 0 };
  const sent: string[] = [];
  const gate = new ReplyGate<string>(progress, (t, b) => sent.push(`${t}:${b.toString()}`));
  const send = (t: string, what: string, change: boolean) => gate.send(t, Buffer.from(what), change);

  it('holds a reply until the journal has written its change, keeps each target\'s order, lets the others through', () => {
    progress.appended = 3; // an Allocate on A made three records
    send('A', 'alloc', true);
    send('B', 'query', false); // changes nothing, nothing of B held: leaves at once
    send('A', 'query', false); // behind A's held reply
    progress.appended = 5;
    send('C', 'free', true);
    expect(sent).toEqual(['B:query']);
    expect(gate.held).toBe(3);
    progress.written = 3;
    gate.release();
    expect(sent).toEqual(['B:query', 'A:alloc', 'A:query']);
    progress.written = 5;
    gate.release();
    expect(sent).toEqual(['B:query', 'A:alloc', 'A:query', 'C:free']);
    expect(gate.held).toBe(0);
    send('A', 'stats', true); // everything written: nothing to wait for
    expect(sent.at(-1)).toBe('A:stats');
  });

  it('without a journal every reply leaves at once', () => {
    const out: string[] = [];
    const g = new ReplyGate<string>(null, (t) => out.push(t));
    g.send('A', Buffer.from('x'), true);
    expect(out).toEqual(['A']);
  });
});
