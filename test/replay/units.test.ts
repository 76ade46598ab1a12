// The pure parts of replay: rewriting (checksums good stay good, bad stay bad
// by the same delta), field comparison and its ignore list, dependencies of
// the plan, target parsing, the JSON shape.

import { describe, expect, it } from 'vitest';
import { byteSum } from '../../src/protocol/checksum.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { fileSink } from '../../src/capture/writer.js';
import { parseTarget } from '../../src/cli/replay.js';
import {
  NO_REWRITE, SyntheticCapture, compareReply, ignoreSet, loadReplayPlan, replayJson, rewriteRequest,
  type ReplayResult,
} from '../../src/traffic/replay/index.js';
import { UsageError } from '../../src/cli/errors.js';
import { GiB, allocate, initialize, query, stats, tempDir } from './helpers.js';

const maps = (o: Partial<typeof NO_REWRITE>) => ({ ...NO_REWRITE, ...o });

function input(frame: Buffer, extra: Partial<Parameters<typeof rewriteRequest>[1]> = {}) {
  const d = decodeFrame(frame);
  return {
    bytes: frame, frameLen: frame.length, capturedSum: d.sum, clientId: d.header.client_id!, serverId: d.header.server_id!,
    txid: d.header.transaction_id!, newTxid: null, session: null, ...extra,
  };
}

describe('rewriteRequest', () => {
  it('no rewrite: the very same buffer', () => {
    const f = encodeFrame(query(1));
    expect(rewriteRequest(NO_REWRITE, input(f))).toBe(f);
  });

  it('client id, server id, SANs, txid, session: rewritten and the checksum recomputed', () => {
    const f = encodeFrame(initialize(7, 3));
    const out = rewriteRequest(maps({
      clientIds: new Map([[0x11n, 0x99n]]), serverIds: new Map([[0xaan, 0xbbn]]), sans: new Map([[1, 9]]), renumber: true,
    }), input(f, { newTxid: 42, session: { offset: 32, value: 17 } }));
    const d = decodeFrame(out);
    expect(d.checksumOk).toBe(true);
    expect(d.header).toMatchObject({ client_id: 0x99n, server_id: 0xbbn, src_san: 9, dst_san: 9, transaction_id: 42 });
    expect(d.payload).toMatchObject({ session_id: 17 });
    expect(decodeFrame(f).header.client_id).toBe(0x11n); // the captured bytes are untouched
  });

  it('a captured bad checksum stays bad by the same delta', () => {
    for (const delta of [1, 7, 200, 255]) {
      const f = encodeFrame(query(1));
      f[31] = (f[31]! + delta) & 0xff;
      const before = byteSum(f);
      expect(before).not.toBe(0);
      const out = rewriteRequest(maps({ clientIds: new Map([[0x11n, 0x12345678n]]) }), input(f));
      expect(decodeFrame(out).header.client_id).toBe(0x12345678n);
      expect(byteSum(out)).toBe(before);
    }
  });

  it('UDP trailing bytes are kept and not part of the checksum', () => {
    const f = Buffer.concat([encodeFrame(query(1)), Buffer.from([1, 2, 3])]);
    const out = rewriteRequest(maps({ clientIds: new Map([[0x11n, 0x22n]]) }), input(f, { frameLen: 32, capturedSum: 0 }));
    expect(out.length).toBe(35);
    expect(out.subarray(32)).toEqual(Buffer.from([1, 2, 3]));
    expect(byteSum(out, 0, 32)).toBe(0);
  });
});

describe('compareReply', () => {
  const opts = { ignore: ignoreSet({ strictServerId: false, sanMapped: false, extra: [] }), clientIds: new Map(), serverIds: new Map() };
  const ctx = (txid: number, map: Record<string, number> = {}) => ({
    sentTxid: txid,
    sessionFor: (s: bigint, id: number) => map[`${s}/${id}`],
    learned: [] as Array<[bigint, number, number]>,
    learn(s: bigint, e: number, g: number) {
      this.learned.push([s, e, g]);
    },
  });
  const reply = (spec: Parameters<typeof encodeFrame>[0]) => encodeFrame({ ...spec, opcode: spec.opcode | 0x8000 });

  it('identical replies match; checksum, server_id and statistics counters are ignored', () => {
    const a = reply({ ...stats(5, 3), server_id: 0xaan, payload: { session_id: 3, age_ms: 10, bytes_read: 5n, bytes_written: 1n, io_ops: 2, io_errors: 0 } });
    const b = reply({ ...stats(5, 3), server_id: 0xccn, payload: { session_id: 3, age_ms: 99, bytes_read: 77n, bytes_written: 9n, io_ops: 8, io_errors: 1 } });
    expect(compareReply(decodeFrame(a), a, opts, ctx(5))).toEqual([]);
    expect(compareReply(decodeFrame(a), b, opts, ctx(5))).toEqual([]);
  });

  it('status differs: one difference, names not numbers; payload and length not compared', () => {
    const a = reply({ ...allocate(1), server_id: 0xaan, sub_opcode: 0 });
    const b = reply({ ...allocate(1), sub_opcode: 0x21, payload: null });
    expect(compareReply(decodeFrame(a), b, opts, ctx(1))).toEqual([{ field: 'vvmp.status', expected: 'OK', got: 'DENIED' }]);
  });

  it('payload fields by filter name with display values; Allocate teaches the session map', () => {
    const spec = allocate(1);
    const a = reply({ ...spec, sub_opcode: 0, server_id: 0xaan, payload: { ...(spec.payload as object), session_id: 4, storage_type: 5, flags: 0x09 } });
    const b = reply({ ...spec, sub_opcode: 0, server_id: 0xaan, payload: { ...(spec.payload as object), session_id: 9, storage_type: 1, capacity_kb: GiB, flags: 0x01 } });
    const c = ctx(1);
    expect(compareReply(decodeFrame(a), b, opts, c)).toEqual([
      { field: 'vvmp.alloc.storage_type', expected: 'RAID5', got: 'RAID0' },
      { field: 'vvmp.alloc.capacity_kb', expected: String(10 * GiB), got: String(GiB) },
      { field: 'vvmp.alloc.flags', expected: 'EXCLUSIVE|WAIT', got: 'EXCLUSIVE' },
    ]);
    expect(c.learned).toEqual([[0xaan, 4, 9]]);
  });

  it('session ids compare through the map; transaction id against the one sent', () => {
    const a = reply({ ...stats(5, 3), server_id: 0xaan, payload: { session_id: 3 } });
    const b = reply({ ...stats(8, 3), server_id: 0xaan, payload: { session_id: 12 } });
    expect(compareReply(decodeFrame(a), b, opts, ctx(8, { [`${0xaan}/3`]: 12 }))).toEqual([]);
    expect(compareReply(decodeFrame(a), b, opts, ctx(8))).toEqual([{ field: 'vvmp.stats.session_id', expected: '3', got: '12' }]);
    expect(compareReply(decodeFrame(a), b, opts, ctx(5, { [`${0xaan}/3`]: 12 }))).toEqual([{ field: 'vvmp.transaction_id', expected: '5', got: '8' }]);
  });

  it('--strict-server-id and --ignore', () => {
    const a = reply({ ...query(1), server_id: 0xaan });
    const b = reply({ ...query(1), server_id: 0xbbn });
    const strict = { ...opts, ignore: ignoreSet({ strictServerId: true, sanMapped: false, extra: [] }) };
    expect(compareReply(decodeFrame(a), b, strict, ctx(1))).toEqual([{ field: 'vvmp.server_id', expected: '0x00000000000000aa', got: '0x00000000000000bb' }]);
    const mapped = { ...strict, serverIds: new Map([[0xaan, 0xbbn]]) };
    expect(compareReply(decodeFrame(a), b, mapped, ctx(1))).toEqual([]);
    const st = { ...opts, ignore: ignoreSet({ strictServerId: false, sanMapped: false, extra: ['vvmp.status'] }) };
    expect(compareReply(decodeFrame(a), reply({ ...query(1), sub_opcode: 0x21 }), st, ctx(1))).toEqual([]);
  });
});

describe('plan dependencies', () => {
  const C = { ip: '10.0.0.1', port: 40000 };
  const C2 = { ip: '10.0.0.3', port: 40000 };
  const S = { ip: '10.0.0.2', port: 7369 };
  const rep = (spec: Parameters<typeof encodeFrame>[0], payload?: object) =>
    encodeFrame({ ...spec, opcode: spec.opcode | 0x8000, sub_opcode: 0, server_id: 0xaan, ...(payload ? { payload } : {}) });

  /** Writes frames as UDP datagrams (from C or C2 to S, replies back) 1 ms apart. */
  function capture(frames: Array<[typeof C, Buffer, boolean]>): string {
    const file = `${tempDir()}/deps.pcapng`;
    const sink = fileSink(file);
    const cap = new SyntheticCapture(sink, 'deps');
    frames.forEach(([client, b, fromClient], i) => {
      const t = { sec: 1_700_000_000, nsec: i * 1_000_000 };
      if (fromClient) cap.udp(client, S, b, t, true);
      else cap.udp(S, client, b, t, false);
    });
    sink.close();
    return file;
  }

  it('lock-step waits, pipelined requests do not; the session a request names is waited for across sockets', () => {
    const file = capture([
      [C, encodeFrame(query(1)), true], // 0
      [C, encodeFrame(query(2)), true], // 1: pipelined
      [C, rep(query(1)), false],
      [C, rep(query(2)), false],
      [C, encodeFrame(allocate(3)), true], // 2: waits for both replies
      [C2, encodeFrame(query(9, 0x12n)), true], // 3 (another socket): capture rule: waits for nothing new
      [C, rep(allocate(3), { ...(allocate(3).payload as object), session_id: 5 }), false],
      [C2, rep(query(9, 0x12n)), false],
      [C2, encodeFrame(stats(4, 5)), true], // 4: waits for its own Query reply and (capture rule) the Allocate reply
    ]);
    const cap = loadReplayPlan(file);
    expect(cap.requests.map((r) => r.deps)).toEqual([
      [], [], [{ req: 0, reply: 0 }, { req: 1, reply: 0 }], [], [{ req: 2, reply: 0 }, { req: 3, reply: 0 }],
    ]);
    expect(cap.requests[4]!.session).toEqual({ server: 0xaan, sid: 5, offset: 32 });
    const flow = loadReplayPlan(file, { wait: 'flow' });
    expect(flow.requests.map((r) => r.deps)).toEqual([
      [], [], [{ req: 0, reply: 0 }, { req: 1, reply: 0 }], [], [{ req: 3, reply: 0 }, { req: 2, reply: 0 }],
    ]);
    expect(flow.channels.map((c) => c.client)).toEqual(['10.0.0.1:40000', '10.0.0.3:40000']);
  });
});

describe('plan: what is replayed', () => {
  it('frames sent by the server side of a flow (TCP or UDP) are skipped; so are cut-off TCP frames', () => {
    const file = `${tempDir()}/sides.pcapng`;
    const sink = fileSink(file);
    const cap = new SyntheticCapture(sink, 'sides');
    const C = { ip: '10.0.0.1', port: 40000 };
    const S = { ip: '10.0.0.2', port: 7369 };
    const t = (ms: number) => ({ sec: 1_700_000_000, nsec: ms * 1_000_000 });
    const reply = (spec: Parameters<typeof encodeFrame>[0]) => encodeFrame({ ...spec, opcode: spec.opcode | 0x8000 });
    const conn = cap.tcpOpen(C, S, t(0));
    cap.tcpData(conn, true, encodeFrame(query(1)), t(1));
    cap.tcpData(conn, false, reply(query(1)), t(2));
    cap.tcpData(conn, false, encodeFrame(query(50, 0x99n)), t(3)); // the server side sends a request
    cap.tcpData(conn, true, encodeFrame(allocate(2)).subarray(0, 40), t(4)); // cut off by the end of the stream
    cap.tcpClose(conn, t(5));
    cap.udp(C, S, encodeFrame(query(3)), t(6), true);
    cap.udp(S, C, reply(query(3)), t(7), false);
    cap.udp(S, C, encodeFrame({ ...query(4), opcode: 0x0007, sub_opcode: 1, payload: { devices: [] } }), t(8), false); // server's Announce
    sink.close();
    const plan = loadReplayPlan(file);
    expect(plan.requests.map((r) => r.txid)).toEqual([1, 3]);
    expect(plan.skipped).toEqual({ filtered: 0, serverSide: 2, incomplete: 1 });
    expect(plan.requestFrames).toBe(5);
  });
});

describe('CLI pieces', () => {
  it('parseTarget', () => {
    expect(parseTarget('127.0.0.1:7369')).toEqual({ host: '127.0.0.1', port: 7369 });
    expect(parseTarget('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseTarget('[::1]:7369')).toEqual({ host: '::1', port: 7369 });
    for (const bad of ['foo', '7369', ':7369', 'h:0', 'h:65536', '::1:7369', '[x]:1', 'h:p']) {
      expect(() => parseTarget(bad)).toThrow(UsageError);
      expect(() => parseTarget(bad)).toThrow(`--target: "${bad}" is not HOST:PORT`);
    }
  });

  it('replayJson: exactly the OUTPUT.md keys, in order', () => {
    const r = {
      sent: 3, replies: 2, matched: 1, differed: 1, missing: 1, extra: 0, notSent: 0,
      differences: [{ frame: 5, field: 'vvmp.status', expected: 'OK', got: 'DENIED' }],
    } as unknown as ReplayResult;
    expect(replayJson(r)).toBe('{"sent":3,"replies":2,"matched":1,"missing":1,"extra":0,"differences":[{"frame":5,"field":"vvmp.status","expected":"OK","got":"DENIED"}]}');
  });
});
