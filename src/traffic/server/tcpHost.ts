// TCP connections of the server: accept (within the connection limit),
// framing, back-pressure, slow-loris and idle timeouts, close.

import net from 'node:net';
import type { ServerLimits } from '../config.js';
import { FrameReader, formatHostPort } from '../transport.js';
import { opLabel, ts } from './logLines.js';
import { normalizeAddress } from './networks.js';

/** Where a reply goes: a TCP connection. */
export interface TcpConn {
  kind: 'tcp';
  peer: string;
  /** The client's network address (no port). */
  address: string;
  socket: net.Socket;
  reader: FrameReader;
  /** ms (Date.now) when the buffered partial frame began; 0 when none. */
  partialSince: number;
  lastData: number;
  closed: boolean;
  /** Inside the data handler: replies are corked until the chunk is processed. */
  corked: boolean;
}

const WRITE_HIGH_WATER = 1 << 20;

export interface TcpHostOptions {
  limits: ServerLimits;
  /** A whole frame arrived on a connection. */
  onFrame: (bytes: Buffer, conn: TcpConn) => void;
  /** Called before the replies to a chunk of frames leave (the journal is written first). */
  beforeSend?: () => void;
  /** A connection closed (its WAIT registrations are to be dropped); returns how many were. */
  onClose: (conn: TcpConn) => number;
  log?: (line: string) => void;
  vlog: (line: string) => void;
}

export class TcpHost {
  readonly conns = new Set<TcpConn>();
  /** Open connections per source address. */
  private readonly perSource = new Map<string, number>();
  closing = false;
  private readonly sweep: NodeJS.Timeout | null;

  constructor(private readonly server: net.Server, private readonly o: TcpHostOptions) {
    server.on('connection', (socket: net.Socket) => this.accept(socket));
    server.on('error', (err) => o.log?.(`ts=${ts()} event=tcp_server_error error=${err.message}`));
    const { frame_timeout_ms, idle_timeout_ms } = o.limits;
    const shortest = Math.min(frame_timeout_ms || Infinity, idle_timeout_ms || Infinity);
    this.sweep = Number.isFinite(shortest)
      ? setInterval(() => this.sweepOnce(), Math.max(20, Math.min(5000, Math.floor(shortest / 4))))
      : null;
    this.sweep?.unref();
  }

  private accept(socket: net.Socket): void {
    const { o } = this;
    const limits = o.limits;
    const peer = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    socket.on('error', (err) => o.vlog(`event=error peer=${peer} error=${(err as NodeJS.ErrnoException).code ?? err.message}`));
    const address = normalizeAddress(socket.remoteAddress ?? '?');
    const fromSource = this.perSource.get(address) ?? 0;
    const over = this.closing ? 'closing'
      : this.conns.size >= limits.max_connections ? `max_connections limit=${limits.max_connections}`
        : fromSource >= limits.max_connections_per_source ? `max_connections_per_source limit=${limits.max_connections_per_source}` : null;
    if (over !== null) {
      // Always logged for a source over its own limit (someone is hoarding); the global limit only with --verbose, as before.
      const line = `event=refused reason=${over} source=${address} peer=${peer}`;
      if (over.startsWith('max_connections_per_source')) o.log?.(`ts=${ts()} ${line}`);
      else o.vlog(line);
      socket.resume(); // discard whatever it sends
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    this.perSource.set(address, fromSource + 1);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const conn: TcpConn = {
      kind: 'tcp', peer, address, socket, partialSince: 0, lastData: Date.now(), closed: false, corked: false,
      reader: null as unknown as FrameReader,
    };
    conn.reader = new FrameReader({
      maxPayload: limits.max_payload,
      onFrame: (bytes) => o.onFrame(bytes, conn),
      onOversize: (h, size) => {
        o.log?.(`ts=${ts()} peer=${peer} proto=tcp event=oversize op=${opLabel(h.opcode)} txid=${h.transaction_id ?? '-'} `
          + `length=${h.length} bytes=${size} limit=${limits.max_payload} action=close`);
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      },
    });
    this.conns.add(conn);
    o.vlog(`event=connect peer=${peer} connections=${this.conns.size}`);
    socket.on('data', (chunk: Buffer) => {
      const now = Date.now();
      conn.lastData = now;
      socket.cork();
      conn.corked = true;
      try {
        conn.reader.push(chunk);
      } finally {
        conn.corked = false;
        o.beforeSend?.();
        socket.uncork();
      }
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
      this.conns.delete(conn);
      const n = (this.perSource.get(address) ?? 1) - 1;
      if (n <= 0) this.perSource.delete(address);
      else this.perSource.set(address, n);
      const buffered = conn.reader.buffered;
      conn.reader.stop();
      const dropped = o.onClose(conn);
      o.vlog(`event=close peer=${peer} frames=${conn.reader.frames}${buffered ? ` partial_bytes=${buffered}` : ''}`
        + `${dropped ? ` waiters_dropped=${dropped}` : ''}${hadError ? ' error=1' : ''} connections=${this.conns.size}`);
    });
  }

  private sweepOnce(): void {
    const { frame_timeout_ms, idle_timeout_ms } = this.o.limits;
    const now = Date.now();
    for (const c of this.conns) {
      if (frame_timeout_ms && c.partialSince && now - c.partialSince > frame_timeout_ms) {
        this.o.log?.(`ts=${ts()} peer=${c.peer} proto=tcp event=frame_timeout partial_bytes=${c.reader.buffered} action=close`);
        c.socket.destroy();
      } else if (idle_timeout_ms && now - c.lastData > idle_timeout_ms) {
        this.o.vlog(`event=idle_timeout peer=${c.peer} action=close`);
        c.socket.end();
        setTimeout(() => c.socket.destroy(), 2000).unref();
      }
    }
  }

  /** Stops accepting and destroys every connection; resolves when the listener has closed. */
  close(): Promise<void> {
    this.closing = true;
    if (this.sweep) clearInterval(this.sweep);
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.conns) c.socket.destroy();
    return closed;
  }
}
