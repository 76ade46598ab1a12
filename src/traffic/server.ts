// A VVMP server (SAN manager) on TCP and UDP, same port number (VVMP.md
// section 1). This file wires the pieces: TCP connections (server/tcpHost.ts),
// UDP, replies, logging (server/logLines.ts), Announces (server/announcer.ts),
// peers (server/peerLink.ts) and the --state journal (server/journal.ts);
// every decision is the SanManager's. The security model and the limits are
// described in spec/SERVER.md.
//
// Robustness: every frame with a request opcode gets a whole-header reply
// (bad checksum included); a TCP frame over limits.max_payload closes the
// connection (the stream cannot be framed); a connection holding a partial
// frame for limits.frame_timeout_ms is closed (slow loris), one with no bytes
// for limits.idle_timeout_ms too (default 2 min); TCP keep-alive finds
// half-open peers; connections over limits.max_connections, or over
// limits.max_connections_per_source from one address, are accepted and closed
// at once with a FIN (no RST); a connection whose replies pile up unread is
// paused until it drains. Closing a connection frees its framing buffer and
// drops its WAIT registrations; sessions belong to their client id and source
// address and stay. A UDP reply longer than limits.udp_reply_factor × its
// request goes out as TOO_LARGE with no payload (ask over TCP).
//
// Persistence (--state FILE): an append-only journal (server/journal.ts),
// written (asynchronously, off the event loop) before the reply that
// acknowledges a change leaves (server/replyGate.ts holds it until then),
// fsynced in batches, compacted when it grows. Replies that change nothing
// (Query) do not wait for the disk; they show changes the journal may not
// have written yet, whose own replies have not left. A restart with a state file faces a
// contradiction: VVMP.md says a boot Announce tears down every session of the
// device/server, so "restore the sessions" and "announce a boot" cannot both
// be true. Two modes:
//   restore: 'teardown' (default) — the restart *is* a boot: the server sends
//     its boot Announce (sub-op 0x02) and the saved sessions are torn down,
//     exactly as the Announce tells every listener (analyzers report
//     boot_teardown). What survives are the ids of those sessions: they are
//     retired (drawn last), so a client still holding one gets
//     UNKNOWN_SESSION instead of silently reaching a new session. Device
//     usage is not kept: it belonged to the torn-down sessions.
//   restore: 'keep' (--keep-sessions) — the restart is not a boot: sessions
//     (and so device usage) are restored and the server sends a periodic
//     Announce (0x01) instead of a boot Announce, so nothing on the wire
//     claims a teardown that did not happen.
// Without a state file (or with one holding nothing) the start is a boot.

import type dgram from 'node:dgram';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { hexId } from '../protocol/codec.js';
import { decodeFrame, type DecodedFrame } from '../protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../protocol/encode.js';
import { HEADER_SIZE, OP_ANNOUNCE, REPLY_BIT } from '../protocol/fields.js';
import type { PeerConfig, ServerConfig } from './config.js';
import { MALFORMED, SanManager, TOO_LARGE } from './manager.js';
import { Announcer } from './server/announcer.js';
import { listen } from './server/listen.js';
import { announceLine, exchangeLine, opLabel, pushedLine, refusalLine, ts } from './server/logLines.js';
import { PeerLinks } from './server/peerLink.js';
import type { StateJournal } from './server/journal.js';
import { ReplyGate } from './server/replyGate.js';
import { openState } from './server/restart.js';
import { TcpHost, type TcpConn } from './server/tcpHost.js';
import { formatHostPort } from './transport.js';

export { loadStateFile, removeStrayTemps } from './server/journal.js';
export type { TcpConn } from './server/tcpHost.js';

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
  /** Session ids drawn at random (default) or counted up from 1 (deterministic tests). */
  sessionIds?: 'random' | 'sequential';
}

/** Where a reply goes: a TCP connection or a UDP address. */
export type ReplyTarget = TcpConn | UdpTarget;

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
  /** The --state journal, when there is one. */
  readonly journal: StateJournal | null;
  /** Sends an Announce of the devices to the peers and announce targets. */
  announce(sub: number): Promise<void>;
  /**
   * Replaces the peer list (e.g. once every server of a test SAN set knows its
   * port). Forwards and Announces use the new list from then on.
   */
  setPeers(peers: PeerConfig[]): void;
  close(): Promise<void>;
}

/** Starts a server; resolves once TCP and UDP listen and the start Announce is sent. */
export async function startServer(opts: ServerOptions): Promise<VvmpServer> {
  const host = opts.host ?? '127.0.0.1';
  // A private copy: setPeers() changes it, the caller's object stays as given.
  const cfg: ServerConfig = { ...opts.config, peers: [...opts.config.peers], limits: { ...opts.config.limits } };
  const log = opts.log;
  const verbose = !!opts.verbose && !!log;
  const mode = opts.restore ?? 'teardown';
  const vlog = (line: string) => {
    if (verbose) log!(`ts=${ts()} ${line}`);
  };
  const links = new PeerLinks();
  let udp!: dgram.Socket;
  let tcpHost!: TcpHost;

  /** Largest UDP reply to a request of `size` bytes: a whole header always, else udp_reply_factor × the request. */
  const udpBound = (size: number) => Math.min(65_507, Math.max(HEADER_SIZE, cfg.limits.udp_reply_factor * size));

  /** Puts reply bytes on the wire (the gate calls it once the journal holds what they acknowledge). */
  const transmit = (target: ReplyTarget, bytes: Buffer): void => {
    if (target.kind === 'tcp') {
      if (!target.closed && !target.socket.destroyed) target.socket.write(bytes);
      return;
    }
    if (tcpHost.closing) return;
    udp.send(bytes, target.port, target.address, (err) => {
      if (err) vlog(`event=udp_send_error peer=${target.peer} error=${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
  };
  /** Held replies released together leave corked: one write per connection. */
  const corked = (targets: ReadonlySet<ReplyTarget>, send: () => void): void => {
    const sockets: net.Socket[] = [];
    for (const t of targets) {
      if (t.kind === 'tcp' && !t.corked && !t.socket.destroyed) {
        t.socket.cork();
        sockets.push(t.socket);
      }
    }
    send();
    for (const s of sockets) s.uncork();
  };

  /**
   * Sends a reply. `requestSize` (UDP) bounds it: a longer answer goes out
   * as TOO_LARGE with no payload (the client asks over TCP), never cut.
   * `acknowledgesChange`: the reply leaves only once the journal has written
   * the change (server/replyGate.ts); false for replies that changed nothing.
   */
  const writeReply = (target: ReplyTarget, spec: FrameSpec, requestSize?: number, acknowledgesChange = true): boolean => {
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
    } else {
      if (tcpHost.closing) return false;
      if (requestSize !== undefined && bytes.length > udpBound(requestSize)) {
        manager.refused({ reason: 'udp_reply_bound', source: target.address, client_id: spec.client_id ?? 0n,
          detail: `op=${opLabel(spec.opcode)} txid=${spec.transaction_id} request_bytes=${requestSize} reply_bytes=${bytes.length}` });
        bytes = encodeFrame({ ...spec, sub_opcode: TOO_LARGE, payload: null });
      }
    }
    gate.send(target, bytes, acknowledgesChange);
    // Outside a TCP chunk (UDP, a later reply) the journal write starts now;
    // inside one it starts once the whole chunk is handled (beforeSend).
    if (target.kind === 'udp' || !target.corked) journal?.flush();
    return true;
  };

  let journal: StateJournal | null = null;

  const manager: SanManager<ReplyTarget> = new SanManager<ReplyTarget>({
    config: cfg,
    now: opts.now,
    sessionIds: opts.sessionIds,
    askPeer: (peer, spec, timeoutMs) => links.for(peer).ask(spec, timeoutMs),
    deliver: (target, spec) => {
      const sent = writeReply(target, spec);
      log?.(pushedLine(target, spec, sent));
    },
    onRefused: (r) => log?.(refusalLine(r)),
  });

  // Restore before listening so that no request sees a half-restored manager.
  let boot = true;
  if (opts.statePath) ({ journal, boot } = openState(manager, cfg, opts.statePath, mode, log));
  const gate = new ReplyGate<ReplyTarget>(journal, transmit, corked);
  if (journal) journal.onWritten = () => gate.release();

  const { tcp, udp: u } = await listen(host, opts.port);
  udp = u;
  const port = (tcp.address() as net.AddressInfo).port;

  /** One received frame: the manager's answer goes back to where it came from, and into the log. */
  const exchange = (f: DecodedFrame, target: ReplyTarget, t0: number) => {
    let r: FrameSpec | null | Promise<FrameSpec | null>;
    const before = journal?.appended ?? 0;
    try {
      r = manager.handle(f, target, target.address);
    } catch (e) {
      log?.(`ts=${ts()} event=internal_error peer=${target.peer} error=${(e as Error).message.split('\n')[0]}`);
      r = f.header.opcode !== null && (f.header.opcode & REPLY_BIT) === 0 && f.header.opcode !== OP_ANNOUNCE
        ? manager.reply(f.header, MALFORMED) : null;
    }
    // An answer given at once acknowledges a change only if the journal grew;
    // one given later (peers asked) is taken to acknowledge whatever happened meanwhile.
    const changed = !journal || r instanceof Promise || journal.appended !== before;
    const done = (spec: FrameSpec | null) => {
      const sent = spec ? writeReply(target, spec, target.kind === 'udp' ? f.bytes.length : undefined, changed) : false;
      if (!log) return;
      if (spec) log(exchangeLine(target, f, spec, performance.now() - t0, sent));
      else if (f.header.opcode === OP_ANNOUNCE) log(announceLine(target, f));
      else vlog(`event=ignored peer=${target.peer} proto=${target.kind} op=${opLabel(f.header.opcode)} reason=${f.header.opcode === null ? 'short' : 'reply'}`);
    };
    if (r instanceof Promise) {
      r.then(done, (e) => {
        log?.(`ts=${ts()} event=internal_error peer=${target.peer} error=${(e as Error).message.split('\n')[0]}`);
        done(manager.reply(f.header, MALFORMED));
      });
    } else done(r);
  };

  tcpHost = new TcpHost(tcp, {
    limits: cfg.limits,
    onFrame: (bytes, conn) => exchange(decodeFrame(bytes), conn, log ? performance.now() : 0),
    onClose: (conn) => manager.dropTarget(conn),
    beforeSend: () => journal?.flush(),
    log,
    vlog,
  });

  udp.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const t0 = log ? performance.now() : 0;
    const target: UdpTarget = { kind: 'udp', peer: formatHostPort(rinfo.address, rinfo.port), address: rinfo.address, port: rinfo.port };
    exchange(decodeFrame(msg, { udp: true }), target, t0);
  });
  udp.on('error', (err) => log?.(`ts=${ts()} event=udp_error error=${(err as NodeJS.ErrnoException).code ?? err.message}`));

  const announcer = new Announcer(cfg, udp, (sub, txid, dst) => manager.announceSpec(sub, txid, dst), vlog);
  announcer.startPeriodic();

  log?.(`ts=${ts()} event=listening tcp=${formatHostPort(host, port)} udp=${formatHostPort(host, port)} san=${cfg.san_id} `
    + `server=${hexId(cfg.server_id)} devices=${cfg.devices.length} peers=${cfg.peers.length} `
    + `domain=${cfg.allowed_clients === 'open' ? 'open' : cfg.allowed_clients.length} client_networks=${cfg.client_networks.join(',') || 'none'} `
    + `device_networks=${cfg.device_networks.join(',') || 'none'}`);
  await announcer.announce(boot ? 0x02 : 0x01);

  let closed = false;
  return {
    host,
    tcpPort: port,
    udpPort: port,
    manager,
    get connections() {
      return tcpHost.conns.size;
    },
    announce: (sub) => announcer.announce(sub),
    get journal() {
      return journal;
    },
    setPeers(peers: PeerConfig[]) {
      cfg.peers = [...peers].sort((a, b) => a.san_id - b.san_id);
    },
    async close() {
      if (closed) return;
      closed = true;
      announcer.stopPeriodic();
      await announcer.announce(0x03).catch(() => undefined);
      const tcpClosed = tcpHost.close();
      await links.closeAll();
      await tcpClosed;
      await new Promise<void>((r) => udp.close(() => r()));
      await journal?.close();
      vlog('event=closed');
    },
  };
}
