// A VVMP server (SAN manager) on TCP and UDP, same port number (VVMP.md
// section 1). Sockets, framing, logging, limits and persistence live here;
// every decision is the SanManager's.
//
// Robustness: every frame with a request opcode gets a whole-header reply
// (bad checksum included); a TCP frame over limits.max_payload closes the
// connection (the stream cannot be framed); a connection holding a partial
// frame for limits.frame_timeout_ms is closed (slow loris), one with no bytes
// for limits.idle_timeout_ms too (0 = never); TCP keep-alive finds half-open
// peers; connections over limits.max_connections are accepted and closed at
// once with a FIN (no RST); a connection whose replies pile up unread is paused
// until it drains. Closing a connection frees its framing buffer and drops its
// WAIT registrations; sessions belong to client ids and stay.
//
// Persistence (--state FILE). The file is rewritten atomically (temp file +
// rename) after every change of sessions or devices, before the reply goes
// out. A restart with a state file faces a contradiction: VVMP.md says a boot
// Announce tears down every session of the device/server, so "restore the
// sessions" and "announce a boot" cannot both be true. Two modes:
//   restore: 'teardown' (default) — the restart *is* a boot: the server sends
//     its boot Announce (sub-op 0x02) and the saved sessions are torn down,
//     exactly as the Announce tells every listener (analyzers report
//     boot_teardown). What survives is the session-id counter: new sessions
//     never reuse the id of a session a client may still hold from before
//     the restart, so such a client gets UNKNOWN_SESSION instead of silently
//     using another client's new session. Device usage is not kept: it
//     belonged to the torn-down sessions.
//   restore: 'keep' — the restart is not a boot: sessions (and so device
//     usage) and the counter are restored and the server sends a periodic
//     Announce (0x01) instead of a boot Announce, so nothing on the wire
//     claims a teardown that did not happen.
// Without a state file (or with one holding nothing) the start is a boot.

import dgram from 'node:dgram';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { hexId } from '../protocol/codec.js';
import { decodeFrame, type DecodedFrame } from '../protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../protocol/encode.js';
import { OP_ANNOUNCE, REPLY_BIT, opcodeDef, statusName } from '../protocol/fields.js';
import type { PeerConfig, ServerConfig } from './config.js';
import { ALL_SANS, MALFORMED, SanManager, type ManagerState } from './manager.js';
import { FrameReader, VvmpConnection, bindUdp, formatHostPort } from './transport.js';

export interface ServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP and UDP port; 0 picks a free one (the same number for both). */
  port: number;
  config: ServerConfig;
  /** Session state file (see the header comment). */
  statePath?: string;
  /** What a restart with a state file does with the saved sessions (default 'teardown'). */
  restore?: 'teardown' | 'keep';
  /** One structured line per exchange (and per connection event with verbose). */
  log?: (line: string) => void;
  verbose?: boolean;
  /** Clock for the manager (default Date.now). */
  now?: () => number;
}

/** Where a reply goes: a TCP connection or a UDP address. */
export type ReplyTarget = TcpConn | UdpTarget;

export interface TcpConn {
  kind: 'tcp';
  peer: string;
  socket: net.Socket;
  reader: FrameReader;
  /** ms (Date.now) when the buffered partial frame began; 0 when none. */
  partialSince: number;
  lastData: number;
  closed: boolean;
}

export interface UdpTarget {
  kind: 'udp';
  peer: string;
  address: string;
  port: number;
}

export interface VvmpServer {
  host: string;
  tcpPort: number;
  udpPort: number;
  manager: SanManager<ReplyTarget>;
  /** Open TCP connections being served. */
  readonly connections: number;
  /** Sends an Announce of the devices to the peers and announce targets. */
  announce(sub: number): Promise<void>;
  /**
   * Replaces the peer list (e.g. once every server of a test SAN set knows its
   * port). Forwards and Announces use the new list from then on.
   */
  setPeers(peers: PeerConfig[]): void;
  close(): Promise<void>;
}

const WRITE_HIGH_WATER = 1 << 20;

function opLabel(opcode: number | null): string {
  if (opcode === null) return '-';
  const def = opcodeDef(opcode & ~REPLY_BIT);
  return def ? def.name : '0x' + opcode.toString(16).padStart(4, '0');
}

function sessionOf(spec: FrameSpec | null, req: DecodedFrame): string {
  const p = spec?.payload as Record<string, unknown> | null | undefined;
  const v = p && !(p instanceof Uint8Array) ? p['session_id'] : undefined;
  if (typeof v === 'number') return String(v);
  const q = req.payload as Record<string, unknown> | null;
  const w = q ? q['session_id'] : undefined;
  return typeof w === 'number' ? String(w) : '-';
}

/** Reads a state file; throws a one-line error naming it. Missing file → null. */
export function readStateFile(path: string): ManagerState | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a readable state file (${(e as Error).message.split('\n')[0]})`);
  }
  const s = raw as ManagerState;
  if (typeof raw !== 'object' || raw === null || s.version !== 1 || !Array.isArray(s.sessions)) {
    throw new Error(`${path}: not a vvmp state file (version 1 expected)`);
  }
  return s;
}

/** Writes a state file atomically: a temp file beside it, then rename. */
export function writeStateFile(path: string, state: ManagerState): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 1) + '\n');
  renameSync(tmp, path);
}

/** Asks one peer manager over a kept TCP connection; null when it does not answer. */
class PeerLink {
  private conn: VvmpConnection | null = null;
  private connecting: Promise<VvmpConnection> | null = null;
  constructor(readonly peer: PeerConfig) {}

  private get(timeoutMs: number): Promise<VvmpConnection> {
    if (this.conn && !this.conn.isClosed) return Promise.resolve(this.conn);
    if (!this.connecting) {
      this.connecting = VvmpConnection.connect({ host: this.peer.host, port: this.peer.port, connectTimeoutMs: timeoutMs })
        .then((c) => {
          this.conn = c;
          return c;
        })
        .finally(() => {
          this.connecting = null;
        });
    }
    return this.connecting;
  }

  async ask(spec: FrameSpec, timeoutMs: number): Promise<DecodedFrame | null> {
    const deadline = performance.now() + timeoutMs;
    try {
      const c = await this.get(timeoutMs);
      const left = Math.floor(deadline - performance.now());
      if (left <= 0) return null;
      return await c.request(spec, { timeoutMs: left });
    } catch {
      return null;
    }
  }

  close(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    return c ? c.close() : Promise.resolve();
  }
}

async function listen(host: string, port: number): Promise<{ tcp: net.Server; udp: dgram.Socket }> {
  const tries = port === 0 ? 20 : 1;
  let lastErr: unknown;
  for (let i = 0; i < tries; i++) {
    const tcp = net.createServer({ noDelay: true, pauseOnConnect: false });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port, backlog: 1024 }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw new Error(`${formatHostPort(host, port)}: cannot listen on TCP (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const p = (tcp.address() as net.AddressInfo).port;
    try {
      const udp = await bindUdp(p, host);
      return { tcp, udp };
    } catch (e) {
      lastErr = e;
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  }
  const code = (lastErr as NodeJS.ErrnoException)?.code ?? String(lastErr);
  throw new Error(`${formatHostPort(host, port)}: cannot bind UDP (${code})`);
}

/** Starts a server; resolves once TCP and UDP listen and the start Announce is sent. */
export async function startServer(opts: ServerOptions): Promise<VvmpServer> {
  const host = opts.host ?? '127.0.0.1';
  // A private copy: setPeers() changes it, the caller's object stays as given.
  const cfg: ServerConfig = { ...opts.config, peers: [...opts.config.peers], limits: { ...opts.config.limits } };
  const log = opts.log;
  const verbose = !!opts.verbose && !!log;
  const mode = opts.restore ?? 'teardown';
  const ts = () => new Date().toISOString();
  const vlog = (line: string) => {
    if (verbose) log!(`ts=${ts()} ${line}`);
  };

  // Links to peer managers, by address, made on first use.
  const links = new Map<string, PeerLink>();
  const linkFor = (peer: PeerConfig): PeerLink => {
    const key = formatHostPort(peer.host, peer.port);
    let l = links.get(key);
    if (!l) links.set(key, (l = new PeerLink(peer)));
    return l;
  };
  let udp!: dgram.Socket;
  const conns = new Set<TcpConn>();
  let closing = false;

  const writeReply = (target: ReplyTarget, spec: FrameSpec): boolean => {
    let bytes: Buffer;
    try {
      bytes = encodeFrame(spec);
    } catch (e) {
      // A payload that cannot be encoded (e.g. a peer's odd reply) must not
      // take the server down: answer with the bare header and an error status.
      log?.(`ts=${ts()} event=internal_error peer=${target.peer} error=${(e as Error).message.split('\n')[0]}`);
      bytes = encodeFrame({ ...spec, sub_opcode: MALFORMED, payload: null });
    }
    if (target.kind === 'tcp') {
      if (target.closed || target.socket.destroyed) return false;
      target.socket.write(bytes);
      return true;
    }
    if (closing) return false;
    udp.send(bytes, target.port, target.address, (err) => {
      if (err) vlog(`event=udp_send_error peer=${target.peer} error=${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
    return true;
  };

  const persist = opts.statePath
    ? () => {
      try {
        writeStateFile(opts.statePath!, manager.snapshot());
      } catch (e) {
        log?.(`ts=${ts()} event=state_write_error file=${opts.statePath} error=${(e as Error).message.split('\n')[0]}`);
      }
    }
    : undefined;

  const manager: SanManager<ReplyTarget> = new SanManager<ReplyTarget>({
    config: cfg,
    now: opts.now,
    askPeer: (peer, spec, timeoutMs) => linkFor(peer).ask(spec, timeoutMs),
    deliver: (target, spec) => {
      const sent = writeReply(target, spec);
      if (log) {
        log(`ts=${ts()} peer=${target.peer} proto=${target.kind} op=${opLabel(spec.opcode)} txid=${spec.transaction_id} `
          + `client=${hexId(spec.client_id ?? 0n)} status=${statusName(spec.sub_opcode ?? 0)} `
          + `session=${(spec.payload as Record<string, unknown>)['session_id'] ?? '-'} pushed=1${sent ? '' : ' dropped=1'}`);
      }
    },
    onChange: persist,
  });

  // Restore before listening so that no request sees a half-restored manager.
  let boot = true;
  if (opts.statePath) {
    const state = readStateFile(opts.statePath);
    if (state) {
      if (state.san_id !== cfg.san_id || BigInt(state.server_id) !== cfg.server_id) {
        throw new Error(`${opts.statePath}: state of SAN ${state.san_id} server ${state.server_id}, not of this server (SAN ${cfg.san_id} server ${hexId(cfg.server_id)})`);
      }
      const r = manager.restore(state, mode);
      boot = mode === 'teardown' || r.restored === 0;
      log?.(`ts=${ts()} event=state_restored file=${opts.statePath} mode=${mode} sessions=${r.restored} torn_down=${r.dropped} next_session=${state.next_session_id}`);
    }
    // The first write fails loudly (a bad path should stop the start); later ones are logged.
    try {
      writeStateFile(opts.statePath, manager.snapshot());
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`${opts.statePath}: cannot write the state file (${err.code ?? err.message.split('\n')[0]})`);
    }
  }

  const { tcp, udp: u } = await listen(host, opts.port);
  udp = u;
  const port = (tcp.address() as net.AddressInfo).port;

  const exchange = (f: DecodedFrame, target: ReplyTarget, t0: number) => {
    let r: FrameSpec | null | Promise<FrameSpec | null>;
    try {
      r = manager.handle(f, target);
    } catch (e) {
      log?.(`ts=${ts()} event=internal_error peer=${target.peer} error=${(e as Error).message.split('\n')[0]}`);
      r = f.header.opcode !== null && (f.header.opcode & REPLY_BIT) === 0 && f.header.opcode !== OP_ANNOUNCE
        ? manager.reply(f.header, MALFORMED) : null;
    }
    const done = (spec: FrameSpec | null) => {
      const sent = spec ? writeReply(target, spec) : false;
      if (!log) return;
      const h = f.header;
      if (!spec) {
        if (h.opcode === OP_ANNOUNCE) {
          log(`ts=${ts()} peer=${target.peer} proto=${target.kind} op=Announce sub=0x${(h.sub_opcode ?? 0).toString(16).padStart(2, '0')} `
            + `server=${hexId(h.server_id ?? 0n)} san=${h.src_san ?? '-'} status=- checksum=${f.checksumOk ? 'ok' : 'bad'}`);
        } else vlog(`event=ignored peer=${target.peer} proto=${target.kind} op=${opLabel(h.opcode)} reason=${h.opcode === null ? 'short' : 'reply'}`);
        return;
      }
      log(`ts=${ts()} peer=${target.peer} proto=${target.kind} op=${opLabel(h.opcode)} txid=${h.transaction_id ?? '-'} `
        + `client=${hexId(h.client_id ?? 0n)} status=${statusName(spec.sub_opcode ?? 0)} session=${sessionOf(spec, f)} `
        + `ms=${(performance.now() - t0).toFixed(2)}${sent ? '' : ' dropped=1'}`);
    };
    if (r instanceof Promise) {
      r.then(done, (e) => {
        log?.(`ts=${ts()} event=internal_error peer=${target.peer} error=${(e as Error).message.split('\n')[0]}`);
        done(manager.reply(f.header, MALFORMED));
      });
    } else done(r);
  };

  // ---- TCP ---------------------------------------------------------------------
  tcp.on('connection', (socket: net.Socket) => {
    const peer = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    socket.on('error', (err) => vlog(`event=error peer=${peer} error=${(err as NodeJS.ErrnoException).code ?? err.message}`));
    if (closing || conns.size >= cfg.limits.max_connections) {
      vlog(`event=refused peer=${peer} reason=max_connections limit=${cfg.limits.max_connections}`);
      socket.resume(); // discard whatever it sends
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const conn: TcpConn = {
      kind: 'tcp', peer, socket, partialSince: 0, lastData: Date.now(), closed: false,
      reader: null as unknown as FrameReader,
    };
    conn.reader = new FrameReader({
      maxPayload: cfg.limits.max_payload,
      onFrame: (bytes) => exchange(decodeFrame(bytes), conn, log ? performance.now() : 0),
      onOversize: (h, size) => {
        log?.(`ts=${ts()} peer=${peer} proto=tcp event=oversize op=${opLabel(h.opcode)} txid=${h.transaction_id ?? '-'} `
          + `length=${h.length} bytes=${size} limit=${cfg.limits.max_payload} action=close`);
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      },
    });
    conns.add(conn);
    vlog(`event=connect peer=${peer} connections=${conns.size}`);
    socket.on('data', (chunk: Buffer) => {
      const now = Date.now();
      conn.lastData = now;
      socket.cork();
      conn.reader.push(chunk);
      socket.uncork();
      if (conn.reader.buffered > 0) {
        if (conn.partialSince === 0) conn.partialSince = now;
      } else conn.partialSince = 0;
      if (socket.writableLength > WRITE_HIGH_WATER && !socket.isPaused()) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
    socket.on('close', (hadError) => {
      conn.closed = true;
      conns.delete(conn);
      const buffered = conn.reader.buffered;
      conn.reader.stop();
      const dropped = manager.dropTarget(conn);
      vlog(`event=close peer=${peer} frames=${conn.reader.frames}${buffered ? ` partial_bytes=${buffered}` : ''}`
        + `${dropped ? ` waiters_dropped=${dropped}` : ''}${hadError ? ' error=1' : ''} connections=${conns.size}`);
    });
  });
  tcp.on('error', (err) => log?.(`ts=${ts()} event=tcp_server_error error=${err.message}`));

  // ---- UDP ---------------------------------------------------------------------
  udp.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const t0 = log ? performance.now() : 0;
    const target: UdpTarget = { kind: 'udp', peer: formatHostPort(rinfo.address, rinfo.port), address: rinfo.address, port: rinfo.port };
    exchange(decodeFrame(msg, { udp: true }), target, t0);
  });
  udp.on('error', (err) => log?.(`ts=${ts()} event=udp_error error=${(err as NodeJS.ErrnoException).code ?? err.message}`));

  // ---- timers ------------------------------------------------------------------
  const { frame_timeout_ms, idle_timeout_ms } = cfg.limits;
  const shortest = Math.min(frame_timeout_ms || Infinity, idle_timeout_ms || Infinity);
  const sweep = Number.isFinite(shortest)
    ? setInterval(() => {
      const now = Date.now();
      for (const c of conns) {
        if (frame_timeout_ms && c.partialSince && now - c.partialSince > frame_timeout_ms) {
          log?.(`ts=${ts()} peer=${c.peer} proto=tcp event=frame_timeout partial_bytes=${c.reader.buffered} action=close`);
          c.socket.destroy();
        } else if (idle_timeout_ms && now - c.lastData > idle_timeout_ms) {
          vlog(`event=idle_timeout peer=${c.peer} action=close`);
          c.socket.end();
          setTimeout(() => c.socket.destroy(), 2000).unref();
        }
      }
    }, Math.max(20, Math.min(5000, Math.floor(shortest / 4))))
    : null;
  sweep?.unref();

  let announceTxid = 1;
  const announce = async (sub: number): Promise<void> => {
    const sends: Promise<void>[] = [];
    const send = (h: string, p: number, dst: number) => {
      const bytes = encodeFrame(manager.announceSpec(sub, announceTxid++, dst));
      sends.push(new Promise((resolve) => udp.send(bytes, p, h, (err) => {
        if (err) vlog(`event=announce_error target=${formatHostPort(h, p)} error=${(err as NodeJS.ErrnoException).code ?? err.message}`);
        resolve();
      })));
    };
    for (const p of cfg.peers) send(p.host, p.port, p.san_id);
    for (const t of cfg.announce_targets) send(t.host, t.port, ALL_SANS);
    if (sends.length) vlog(`event=announce sub=0x${sub.toString(16).padStart(2, '0')} targets=${sends.length}`);
    await Promise.all(sends);
  };
  const periodic = cfg.announce_interval_ms > 0
    ? setInterval(() => void announce(0x01), cfg.announce_interval_ms)
    : null;
  periodic?.unref();

  log?.(`ts=${ts()} event=listening tcp=${formatHostPort(host, port)} udp=${formatHostPort(host, port)} san=${cfg.san_id} `
    + `server=${hexId(cfg.server_id)} devices=${cfg.devices.length} peers=${cfg.peers.length} `
    + `domain=${cfg.allowed_clients === 'open' ? 'open' : cfg.allowed_clients.length}`);
  await announce(boot ? 0x02 : 0x01);

  const server: VvmpServer = {
    host,
    tcpPort: port,
    udpPort: port,
    manager,
    get connections() {
      return conns.size;
    },
    announce,
    setPeers(peers: PeerConfig[]) {
      cfg.peers = [...peers].sort((a, b) => a.san_id - b.san_id);
    },
    async close() {
      if (closing) return;
      if (sweep) clearInterval(sweep);
      if (periodic) clearInterval(periodic);
      await announce(0x03).catch(() => undefined);
      closing = true;
      const tcpClosed = new Promise<void>((r) => tcp.close(() => r()));
      for (const c of conns) c.socket.destroy();
      await Promise.all([...links.values()].map((l) => l.close()));
      await tcpClosed;
      await new Promise<void>((r) => udp.close(() => r()));
      vlog('event=closed');
    },
  };
  return server;
}
