// Helpers for the replay tests: record real exchanges with a server into a
// synthetic pcapng capture, start fresh servers, and replay captures against
// them (`replayAgainstFreshServer`, also meant for every file in captures/).

import dgram from 'node:dgram';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSink, type FileSink } from '../../src/capture/writer.js';
import { decodeFrame, type DecodedFrame } from '../../src/protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { defaultServerConfig, type ServerConfig } from '../../src/traffic/config.js';
import { startServer, type VvmpServer } from '../../src/traffic/server.js';
import { FrameReader, VvmpConnection } from '../../src/traffic/transport.js';
import { replayFile, type ReplaySettings } from '../../src/traffic/replay/index.js';
import type { ReplayPlan, ReplayResult } from '../../src/traffic/replay/index.js';
import { SyntheticCapture, wallStamp, type Addr, type Stamp, type SynthTcp } from '../../src/traffic/replay/record.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const ENTRY = join(ROOT, 'bin/vvmp.js');
export const CLIENT = 0x11n;
export const SERVER_ID = 0xaan;
export const GiB = 1024 * 1024; // KB

export function tempDir(prefix = 'vvmp-replay-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- frames -------------------------------------------------------------------------

export const OP = { query: 0x0001, allocate: 0x0002, initialize: 0x0003, free: 0x0004, modify: 0x0005, stats: 0x0006, announce: 0x0007 };

export function query(txid: number, client = CLIENT): FrameSpec {
  return { opcode: OP.query, sub_opcode: 0x01, src_san: 1, dst_san: 1, client_id: client, transaction_id: txid };
}

export function allocate(
  txid: number,
  o: { capacity_kb?: number; flags?: number; client?: bigint; sub?: number; storage?: number; access?: number; bandwidth_kb?: number } = {},
): FrameSpec {
  return {
    opcode: OP.allocate, sub_opcode: o.sub ?? 0x01, src_san: 1, dst_san: 1, client_id: o.client ?? CLIENT, transaction_id: txid,
    payload: {
      storage_type: o.storage ?? 0x05, access_type: o.access ?? 0x02, session_id: 0, capacity_kb: o.capacity_kb ?? 10 * GiB,
      bandwidth_kb: o.bandwidth_kb ?? 20480, qos: 3, flags: o.flags ?? 0, timeout_ms: 2000,
    },
  };
}

export function initialize(txid: number, sid: number, client = CLIENT): FrameSpec {
  return { opcode: OP.initialize, sub_opcode: 0, src_san: 1, dst_san: 1, client_id: client, server_id: SERVER_ID, transaction_id: txid, payload: { session_id: sid } };
}

export function modify(txid: number, sid: number, capacity_kb: number, client = CLIENT): FrameSpec {
  return {
    opcode: OP.modify, sub_opcode: 0, src_san: 1, dst_san: 1, client_id: client, server_id: SERVER_ID, transaction_id: txid,
    payload: { storage_type: 0xff, access_type: 0xff, session_id: sid, capacity_kb, bandwidth_kb: 20480, qos: 3, flags: 0, timeout_ms: 0 },
  };
}

export function stats(txid: number, sid: number, client = CLIENT): FrameSpec {
  return { opcode: OP.stats, sub_opcode: 0, src_san: 1, dst_san: 1, client_id: client, server_id: SERVER_ID, transaction_id: txid, payload: { session_id: sid } };
}

export function free(txid: number, sid: number, client = CLIENT): FrameSpec {
  return { opcode: OP.free, sub_opcode: 0, src_san: 1, dst_san: 1, client_id: client, server_id: SERVER_ID, transaction_id: txid, payload: { session_id: sid, release_kb: 0 } };
}

export function announce(txid: number): FrameSpec {
  return {
    opcode: OP.announce, sub_opcode: 0x01, src_san: 7, dst_san: 0xffffff, client_id: 0n, server_id: 0x7777n, transaction_id: txid,
    payload: { devices: [{ device_id: 900, storage_type: 0, access_type: 0x02, device_class: 0, device_flags: 0, free_kb: GiB, bandwidth_kb: 1024, san_id: 7 }] },
  };
}

export function sessionOf(f: DecodedFrame | undefined): number {
  return Number((f?.payload as Record<string, unknown> | null)?.['session_id'] ?? -1);
}

// ---- recording real exchanges --------------------------------------------------------

/** A clock for captures: wall time, or virtual time moved on by `advance`. */
export class CaptureClock {
  private ns: bigint | null;
  constructor(virtual = false) {
    this.ns = virtual ? 1_700_000_000_000_000_000n : null;
  }

  now(): Stamp {
    if (this.ns === null) return wallStamp();
    this.ns += 1000n; // 1 µs between events: strictly increasing
    return { sec: Number(this.ns / 1_000_000_000n), nsec: Number(this.ns % 1_000_000_000n) };
  }

  advance(ms: number): void {
    if (this.ns === null) throw new Error('advance() needs a virtual clock');
    this.ns += BigInt(Math.round(ms * 1e6));
  }
}

export interface RecConn {
  readonly replies: DecodedFrame[];
  /** Sends a frame (spec or raw bytes) and records it. */
  send(frame: FrameSpec | Buffer): void;
  /** Sends and waits for `n` more replies (default 1); returns them. */
  request(frame: FrameSpec | Buffer, n?: number): Promise<DecodedFrame[]>;
  /** Waits until `total` replies arrived in all. */
  waitReplies(total: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Records exchanges with a real server as a synthetic capture. The server's
 * port is written as `portAlias` (default 7369) so that the capture reads as
 * VVMP without --port; null keeps the real port.
 */
export class CaptureBuilder {
  private readonly sink: FileSink;
  private readonly cap: SyntheticCapture;
  readonly clock: CaptureClock;
  private readonly alias: number | null;
  private readonly conns: RecConn[] = [];

  constructor(readonly path: string, o: { portAlias?: number | null; clock?: CaptureClock } = {}) {
    this.sink = fileSink(path);
    this.cap = new SyntheticCapture(this.sink, 'vvmp replay test capture (synthetic packets of real exchanges)');
    this.clock = o.clock ?? new CaptureClock();
    this.alias = o.portAlias === undefined ? 7369 : o.portAlias;
  }

  private serverAddr(port: number): Addr {
    return { ip: '127.0.0.1', port: this.alias ?? port };
  }

  async tcp(port: number): Promise<RecConn> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(s));
      s.once('error', reject);
    });
    const st: SynthTcp = this.cap.tcpOpen({ ip: '127.0.0.1', port: sock.localPort! }, this.serverAddr(port), this.clock.now());
    const c = new Collector();
    const reader = new FrameReader({
      maxPayload: 1 << 20,
      onFrame: (b) => {
        this.cap.tcpData(st, false, b, this.clock.now());
        c.push(decodeFrame(Buffer.from(b)));
      },
    });
    sock.on('data', (d: Buffer) => reader.push(d));
    sock.on('error', () => undefined);
    const conn: RecConn = {
      replies: c.frames,
      send: (f) => {
        const b = Buffer.isBuffer(f) ? f : encodeFrame(f);
        this.cap.tcpData(st, true, b, this.clock.now());
        sock.write(b);
      },
      request: async (f, n = 1) => {
        const before = c.frames.length;
        conn.send(f);
        await c.wait(before + n);
        return c.frames.slice(before, before + n);
      },
      waitReplies: (total, ms) => c.wait(total, ms),
      close: async () => {
        this.cap.tcpClose(st, this.clock.now());
        await new Promise<void>((r) => {
          sock.once('close', () => r());
          sock.end();
        });
      },
    };
    this.conns.push(conn);
    return conn;
  }

  async udp(port: number): Promise<RecConn> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const local: Addr = { ip: '127.0.0.1', port: sock.address().port };
    const remote = this.serverAddr(port);
    const c = new Collector();
    sock.on('message', (m) => {
      this.cap.udp(remote, local, m, this.clock.now(), false);
      c.push(decodeFrame(m, { udp: true }));
    });
    const conn: RecConn = {
      replies: c.frames,
      send: (f) => {
        const b = Buffer.isBuffer(f) ? f : encodeFrame(f);
        this.cap.udp(local, remote, b, this.clock.now(), true);
        sock.send(b, port, '127.0.0.1');
      },
      request: async (f, n = 1) => {
        const before = c.frames.length;
        conn.send(f);
        await c.wait(before + n);
        return c.frames.slice(before, before + n);
      },
      waitReplies: (total, ms) => c.wait(total, ms),
      close: () => new Promise<void>((r) => sock.close(() => r())),
    };
    this.conns.push(conn);
    return conn;
  }

  /** A frame on the wire that no socket carried (e.g. a request whose reply the capture lost). */
  udpOnly(src: Addr, dst: Addr, frame: FrameSpec | Buffer): void {
    this.cap.udp(src, dst, Buffer.isBuffer(frame) ? frame : encodeFrame(frame), this.clock.now(), true);
  }

  /** Closes every connection still open and the file. */
  async close(): Promise<void> {
    this.sink.close();
  }
}

class Collector {
  readonly frames: DecodedFrame[] = [];
  private waiters: Array<() => void> = [];

  push(f: DecodedFrame): void {
    this.frames.push(f);
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  async wait(total: number, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.frames.length < total) {
      if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${total} replies, got ${this.frames.length}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

// ---- servers -------------------------------------------------------------------------

export async function freshServer(mutate?: (c: ServerConfig) => void): Promise<VvmpServer & { target: string; lines: string[] }> {
  const config = defaultServerConfig();
  mutate?.(config);
  const lines: string[] = [];
  const s = await startServer({ port: 0, config, log: (l) => lines.push(l), sessionIds: 'sequential' });
  return Object.assign(s, { target: `127.0.0.1:${s.tcpPort}`, lines });
}

/**
 * Moves the server's session-id counter on by `n` (allocate + free as another
 * client), so that a replay cannot match unless session ids are mapped.
 */
export async function shiftSessionIds(port: number, n = 1): Promise<void> {
  if (n <= 0) return;
  const c = await VvmpConnection.connect({ port });
  try {
    for (let i = 0; i < n; i++) {
      const a = await c.request(allocate(900 + i, { client: 0x5eedn, capacity_kb: 1, storage: 0xff, access: 0xff, bandwidth_kb: 1 }));
      if (a.status !== 'OK') throw new Error(`shiftSessionIds: Allocate answered ${a.status}`);
      const f = await c.request(free(950 + i, sessionOf(a), 0x5eedn));
      if (f.status !== 'OK') throw new Error(`shiftSessionIds: Free answered ${f.status}`);
    }
  } finally {
    await c.close();
  }
}

export interface FreshReplayOptions extends Omit<Partial<ReplaySettings>, 'target'> {
  /** Changes to the fresh server's default configuration. */
  config?: (c: ServerConfig) => void;
  /** Sessions allocated and freed on the fresh server before the replay (default 1). */
  shiftSessions?: number;
}

export interface FreshReplay {
  plan: ReplayPlan;
  result: ReplayResult;
  /** The fresh server's log lines. */
  serverLog: string[];
}

/**
 * Replays a capture against a fresh in-process server (default configuration,
 * port 0) whose session ids are shifted first. Defaults: topspeed, 2 s reply
 * timeout, the capture rule of waiting.
 */
export async function replayAgainstFreshServer(captureFile: string, o: FreshReplayOptions = {}): Promise<FreshReplay> {
  const srv = await freshServer(o.config);
  try {
    await shiftSessionIds(srv.tcpPort, o.shiftSessions ?? 1);
    const { config: _c, shiftSessions: _s, ...settings } = o;
    const { plan, result } = await replayFile(captureFile, { topspeed: true, timeoutMs: 2000, ...settings, target: srv.target });
    return { plan, result, serverLog: srv.lines };
  } finally {
    await srv.close();
  }
}

// ---- the CLI --------------------------------------------------------------------------

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `vvmp replay …` (bin/vvmp.js; asynchronously: the server may be in this process). */
export function cli(args: string[], timeoutMs = 60000): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [ENTRY, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A server in a child process (for throughput: no shared event loop). */
export async function childServer(): Promise<{ port: number; target: string; stop: () => Promise<void>; proc: ChildProcess }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/replay/server-child.ts')], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d) => {
      buf += d;
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    p.once('exit', (c) => reject(new Error(`server child exited (${c})`)));
  });
  return {
    port, target: `127.0.0.1:${port}`, proc: p,
    stop: () => new Promise<void>((r) => {
      p.once('exit', () => r());
      p.stdin!.end();
      setTimeout(() => p.kill('SIGKILL'), 3000).unref();
    }),
  };
}
