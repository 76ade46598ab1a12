// One replay socket: a TCP connection standing in for one captured TCP
// connection, or a UDP socket standing in for one captured source endpoint.
// Frames are queued by the engine and written in batches (one write per batch
// on TCP); replies come back whole (the stream framer on TCP, one datagram per frame
// on UDP).
//
// The colleague's VvmpConnection is not used here: it matches replies by
// transaction id alone (a capture may carry several clients with the same
// transaction id on one connection, and duplicates), hides socket errors when
// nothing of its own is outstanding (a UDP port unreachable would go unseen),
// and writes each frame separately (the replay needs batched writes and the
// write backlog for speed). The framing, the address formatting and the error
// mapping are the shared ones from transport.ts.

import dgram from 'node:dgram';
import net from 'node:net';
import { HEADER_SIZE } from '../../protocol/fields.js';
import {
  ConnectionResetError, DEFAULT_TIMEOUT_MS, TransportError, formatHostPort, transportError, type HostPort,
} from '../transport.js';
import { StreamFramer } from '../../net/streamFramer.js';
import { ReplyMatcher } from '../matcher.js';
import { Header } from '../../protocol/access.js';
import type { Addr, TrafficTap } from './record.js';

/** Largest reply payload accepted on TCP (a replay verifies; it does not police). */
const MAX_REPLY_PAYLOAD = 1 << 24;
/** Above this many unsent bytes in the socket the engine waits for 'drain'. */
const HIGH_WATER = 4 << 20;

export interface ChannelHandlers {
  frame(ch: ReplayChannel, bytes: Buffer): void;
  failed(ch: ReplayChannel, err: TransportError): void;
  drained(ch: ReplayChannel): void;
}

export class ReplayChannel {
  /** Plan indices of the requests waiting for replies on this socket (the traffic side's one matching rule). */
  readonly waiting = new ReplyMatcher<number>();
  /** Requests with replies still expected. */
  inflight = 0;
  /** Next transaction id for --renumber. */
  nextTxid = 1;
  /** Set once the socket failed; nothing more is sent on it. */
  dead: TransportError | null = null;
  /** A reply came in on this socket. */
  answered = false;
  local: Addr | null = null;
  readonly target: string;
  private queue: Buffer[] = [];
  private ready = false;
  private closing = false;
  private tcp: net.Socket | null = null;
  private udp: dgram.Socket | null = null;
  private waitingDrain = false;

  constructor(
    readonly index: number,
    readonly transport: 'tcp' | 'udp',
    private readonly to: HostPort,
    private readonly h: ChannelHandlers,
    private readonly tap: TrafficTap | null,
    private readonly connectTimeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.target = formatHostPort(to.host, to.port);
  }

  /** Starts connecting; frames sent meanwhile wait in the queue. */
  open(): void {
    if (this.transport === 'tcp') this.openTcp();
    else this.openUdp();
  }

  private fail(err: unknown): void {
    if (this.dead || this.closing) return;
    this.dead = transportError(this.target, err);
    this.queue = [];
    this.h.failed(this, this.dead);
  }

  private openTcp(): void {
    const sock = net.connect({ host: this.to.host, port: this.to.port, noDelay: true });
    this.tcp = sock;
    const timer = setTimeout(() => {
      this.fail(new TransportError(this.target, `connect timed out after ${this.connectTimeoutMs} ms`));
      sock.destroy();
    }, this.connectTimeoutMs);
    const reader = new StreamFramer({
      maxPayload: MAX_REPLY_PAYLOAD,
      onFrame: (b) => {
        this.answered = true;
        this.tap?.tcpData(this.index, false, b);
        this.h.frame(this, b);
      },
      onOversize: (_h, size) => {
        this.fail(new TransportError(this.target, `reply of ${size} bytes is over the ${MAX_REPLY_PAYLOAD}-byte limit`));
        sock.destroy();
      },
    });
    sock.on('connect', () => {
      clearTimeout(timer);
      this.local = { ip: sock.localAddress ?? '0.0.0.0', port: sock.localPort ?? 0 };
      this.tap?.tcpOpen(this.index, this.local, { ip: sock.remoteAddress ?? this.to.host, port: this.to.port });
      this.ready = true;
      this.flush();
    });
    sock.on('data', (c: Buffer) => reader.push(c));
    sock.on('drain', () => {
      if (this.waitingDrain) {
        this.waitingDrain = false;
        this.h.drained(this);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      this.fail(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (this.ready) this.tap?.tcpClose(this.index);
      this.ready = false;
      this.fail(new ConnectionResetError(this.target, 'connection closed by peer'));
    });
  }

  private openUdp(): void {
    const sock = dgram.createSocket({ type: net.isIPv6(this.to.host) ? 'udp6' : 'udp4' });
    this.udp = sock;
    sock.on('error', (err) => this.fail(err));
    sock.on('message', (msg: Buffer) => {
      this.answered = true;
      if (this.local) this.tap?.udp(this.local, { ip: this.to.host, port: this.to.port }, false, msg);
      if (msg.length >= HEADER_SIZE) {
        const size = HEADER_SIZE + 4 * Header.get.length(msg, 0);
        this.h.frame(this, size < msg.length ? msg.subarray(0, size) : msg);
      } else this.h.frame(this, msg);
    });
    sock.bind(0, () => {
      if (this.dead || this.closing) return;
      sock.connect(this.to.port, this.to.host, (err?: Error) => {
        if (err) return this.fail(err);
        const a = sock.address();
        this.local = { ip: a.address, port: a.port };
        this.ready = true;
        this.flush();
      });
    });
  }

  /** Queues one frame (written at the next flush). */
  send(b: Buffer): void {
    if (this.dead || this.closing) return;
    this.queue.push(b);
  }

  /** Writes what is queued (once connected). */
  flush(): void {
    if (!this.ready || this.queue.length === 0 || this.dead) return;
    const q = this.queue;
    this.queue = [];
    if (this.tcp) {
      if (this.tap) for (const b of q) this.tap.tcpData(this.index, true, b);
      this.tcp.write(q.length === 1 ? q[0]! : Buffer.concat(q));
      return;
    }
    const sock = this.udp!;
    const remote = { ip: this.to.host, port: this.to.port };
    for (const b of q) {
      if (this.tap && this.local) this.tap.udp(this.local, remote, true, b);
      try {
        sock.send(b, (err) => {
          if (err) this.fail(err);
        });
      } catch (err) {
        this.fail(err);
        return;
      }
    }
  }

  /** True when the TCP socket holds too much unsent data: the engine waits for `drained`. */
  get backlogged(): boolean {
    const s = this.tcp;
    if (!s || s.writableLength < HIGH_WATER) return false;
    this.waitingDrain = true;
    return true;
  }

  /** Frames queued and not yet handed to the socket (not connected yet). */
  get queued(): number {
    return this.queue.length;
  }

  close(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => {
      if (this.tcp) {
        const s = this.tcp;
        if (s.destroyed) return resolve();
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      } else if (this.udp) {
        try {
          this.udp.close(() => resolve());
        } catch {
          resolve();
        }
      } else resolve();
    });
  }
}
