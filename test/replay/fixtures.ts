// Captures for the replay tests, recorded from real exchanges with a fresh
// default server (synthetic packets; the server port written as 7369).

import { join } from 'node:path';
import { encodeFrame, rewriteHeaderField } from '../../src/protocol/encode.js';
import { SyntheticCapture } from '../../src/traffic/replay/record.js';
import { fileSink } from '../../src/capture/writer.js';
import {
  CaptureBuilder, CaptureClock, GiB, allocate, announce, free, freshServer, initialize, modify, query, sessionOf, stats,
} from './helpers.js';

export interface Fixtures {
  dir: string;
  /** TCP: Allocate → Initialize → Modify → Statistics → Free (frames 1..10; requests 1,3,5,7,9). */
  lifecycleTcp: string;
  /** UDP: the same lifecycle plus an Announce (no reply). */
  lifecycleUdp: string;
  /** TCP + UDP: lifecycles on both, a few Queries, error statuses (NO_CAPACITY, UNKNOWN_SESSION, BAD_CHECKSUM). */
  mixed: string;
  /** Two TCP clients: A holds the device, B's WAIT Allocate is PENDING until A frees. */
  contention: string;
}

/** Lifecycle over one connection; returns after closing it. */
async function lifecycle(cb: CaptureBuilder, port: number, transport: 'tcp' | 'udp', txBase = 1): Promise<void> {
  const c = transport === 'tcp' ? await cb.tcp(port) : await cb.udp(port);
  const [a] = await c.request(allocate(txBase));
  if (a!.status !== 'OK') throw new Error(`fixture: Allocate ${a!.status}`);
  const sid = sessionOf(a);
  await c.request(initialize(txBase + 1, sid));
  await c.request(modify(txBase + 2, sid, 5 * GiB));
  await c.request(stats(txBase + 3, sid));
  await c.request(free(txBase + 4, sid));
  await c.close();
}

export async function buildFixtures(dir: string): Promise<Fixtures> {
  const f: Fixtures = {
    dir,
    lifecycleTcp: join(dir, 'lifecycle-tcp.pcapng'),
    lifecycleUdp: join(dir, 'lifecycle-udp.pcapng'),
    mixed: join(dir, 'mixed.pcapng'),
    contention: join(dir, 'contention.pcapng'),
  };

  {
    const srv = await freshServer();
    const cb = new CaptureBuilder(f.lifecycleTcp);
    await lifecycle(cb, srv.tcpPort, 'tcp');
    await cb.close();
    await srv.close();
  }
  {
    const srv = await freshServer();
    const cb = new CaptureBuilder(f.lifecycleUdp);
    const u = await cb.udp(srv.udpPort);
    u.send(announce(1)); // no reply
    await u.close();
    await lifecycle(cb, srv.udpPort, 'udp', 10);
    await cb.close();
    await srv.close();
  }
  {
    const srv = await freshServer();
    const cb = new CaptureBuilder(f.mixed);
    const q = await cb.udp(srv.udpPort);
    await q.request(query(1));
    await lifecycle(cb, srv.tcpPort, 'tcp', 100);
    await q.request(query(2));
    const t = await cb.tcp(srv.tcpPort);
    await t.request(query(3));
    await t.request(allocate(4, { capacity_kb: 1000 * GiB })); // NO_CAPACITY
    await t.request(stats(5, 4242)); // UNKNOWN_SESSION
    await t.request({ ...query(6), corruptChecksum: true }); // BAD_CHECKSUM
    // Pipelined: three Queries before any reply.
    t.send(query(7));
    t.send(query(8));
    t.send(query(9));
    await t.waitReplies(t.replies.length + 3);
    await lifecycle(cb, srv.udpPort, 'udp', 200);
    await q.request({ ...query(10), sub_opcode: 0x02 });
    await t.close();
    await q.close();
    await cb.close();
    await srv.close();
  }
  {
    const srv = await freshServer();
    const cb = new CaptureBuilder(f.contention);
    const a = await cb.tcp(srv.tcpPort);
    const b = await cb.tcp(srv.tcpPort);
    const [ga] = await a.request(allocate(1, { capacity_kb: 100 * GiB, flags: 0x01 })); // the whole RAID5/FC device, exclusive
    if (ga!.status !== 'OK') throw new Error(`fixture: A Allocate ${ga!.status}`);
    const [pb] = await b.request(allocate(1, { client: 0x12n, capacity_kb: 50 * GiB, flags: 0x08 })); // WAIT
    if (pb!.status !== 'PENDING') throw new Error(`fixture: B Allocate ${pb!.status}`);
    await a.request(free(2, sessionOf(ga)));
    await b.waitReplies(2);
    const sb = sessionOf(b.replies[1]);
    await b.request(stats(2, sb, 0x12n));
    await b.request(free(3, sb, 0x12n));
    await a.close();
    await b.close();
    await cb.close();
    await srv.close();
  }
  return f;
}

/**
 * A capture with `gaps` exchanges of Query over TCP, `gapMs` apart (virtual
 * clock), each request sent after the previous reply: lock-step.
 */
export async function buildPacedCapture(path: string, requests: number, gapMs: number): Promise<void> {
  const srv = await freshServer();
  const clock = new CaptureClock(true);
  const cb = new CaptureBuilder(path, { clock });
  const t = await cb.tcp(srv.tcpPort);
  for (let i = 1; i <= requests; i++) {
    if (i > 1) clock.advance(gapMs);
    await t.request(query(i));
  }
  await t.close();
  await cb.close();
  await srv.close();
}

/**
 * A large synthetic capture of Query exchanges on one TCP connection (or one
 * UDP socket) with a client that keeps `window` requests outstanding (window
 * ≥ n: all requests before any reply). Replies are the real reply of a
 * default server, with the transaction id patched.
 */
export async function buildBulkQueryCapture(path: string, n: number, window: number, transport: 'tcp' | 'udp' = 'tcp'): Promise<void> {
  const srv = await freshServer();
  const cbTmp = new CaptureBuilder(path + '.tmp');
  const t = await cbTmp.tcp(srv.tcpPort);
  const [rep] = await t.request(query(1));
  await t.close();
  await cbTmp.close();
  await srv.close();
  const replyTemplate = Buffer.from(rep!.bytes);

  const sink = fileSink(path);
  const cap = new SyntheticCapture(sink, `bulk: ${n} Query exchanges over ${transport}, window ${window}`);
  const client = { ip: '127.0.0.1', port: 40000 };
  const server = { ip: '127.0.0.1', port: 7369 };
  const conn = transport === 'tcp' ? cap.tcpOpen(client, server, { sec: 1_700_000_000, nsec: 0 }) : null;
  let ns = 1000;
  const at = () => {
    ns += 1000;
    return { sec: 1_700_000_000 + Math.floor(ns / 1e9), nsec: ns % 1e9 };
  };
  const put = (fromClient: boolean, b: Buffer) => {
    if (conn) cap.tcpData(conn, fromClient, b, at());
    else if (fromClient) cap.udp(client, server, b, at(), true);
    else cap.udp(server, client, b, at(), false);
  };
  const req = (i: number) => encodeFrame(query(i));
  const rep2 = (i: number) => {
    const b = Buffer.from(replyTemplate);
    rewriteHeaderField(b, 'transaction_id', i);
    return b;
  };
  let sent = 0;
  for (; sent < Math.min(window, n); sent++) put(true, req(sent + 1));
  for (let i = 1; i <= n; i++) {
    put(false, rep2(i));
    if (sent < n) put(true, req(++sent));
  }
  if (conn) cap.tcpClose(conn, at());
  sink.close();
}
