// VVMP over real sockets (VVMP.md section 1): UDP helpers and a client
// connection that matches replies to requests (traffic/matcher.ts), TCP
// framed by the shared stream framer. Frames are written with the shared encoder and read with the
// shared decoder only.

import dgram from 'node:dgram';
import net from 'node:net';
import { StreamFramer } from '../net/streamFramer.js';
import { ReplyMatcher, type Waiting } from './matcher.js';
import { Header, type AllocRecord } from '../protocol/access.js';
import { decodeFrame, type DecodedFrame } from '../protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../protocol/encode.js';
import {
  DEFAULT_MAX_PAYLOAD, DEFAULT_PORT, DEFAULT_TIMEOUT_MS, HEADER_SIZE, OP_ALLOCATE, OP_MODIFY, STATUS_PENDING, opcodeDef,
} from '../protocol/fields.js';

/** The spec's defaults (declared in the field table), for the CLI's traffic commands. */
export { DEFAULT_MAX_PAYLOAD, DEFAULT_PORT, DEFAULT_TIMEOUT_MS };

export type TransportKind = 'tcp' | 'udp';

// ---- errors -------------------------------------------------------------------

/** A transport problem; `message` is one line naming the target (`127.0.0.1:7369: connection refused`). */
export class TransportError extends Error {
  constructor(readonly target: string, reason: string) {
    super(`${target}: ${reason}`);
    this.name = 'TransportError';
  }
}

/** No reply within the request's timeout. */
export class TimeoutError extends TransportError {
  constructor(target: string, readonly op: string, readonly transactionId: number, readonly timeoutMs: number) {
    super(target, `no reply to ${op} txid=${transactionId} within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Nobody listens at the target (TCP RST on connect, or ICMP port unreachable for UDP). */
export class ConnectionRefusedError extends TransportError {
  constructor(target: string) {
    super(target, 'connection refused');
    this.name = 'ConnectionRefusedError';
  }
}

/** The connection broke (reset or closed by the peer) while requests were outstanding. */
export class ConnectionResetError extends TransportError {
  constructor(target: string, reason = 'connection reset by peer') {
    super(target, reason);
    this.name = 'ConnectionResetError';
  }
}

/** Maps a Node socket error to a typed transport error. */
export function transportError(target: string, err: unknown): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return new ConnectionRefusedError(target);
    case 'ECONNRESET':
    case 'EPIPE':
      return new ConnectionResetError(target);
    case 'ETIMEDOUT':
      return new TransportError(target, 'connect timed out');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TransportError(target, 'host not found');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new TransportError(target, 'host unreachable');
    default:
      return new TransportError(target, (e?.message ?? String(err)).split('\n')[0]!);
  }
}

// ---- addresses ----------------------------------------------------------------

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port`, `host` or `:port` / `port` (host defaults to
 * 127.0.0.1, port to `defaultPort`). Throws a one-line error on nonsense.
 */
export function parseHostPort(text: string, defaultPort = DEFAULT_PORT, defaultHost = '127.0.0.1'): HostPort {
  const s = text.trim();
  let host = defaultHost;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if (/^\d+$/.test(s)) {
    portText = s;
  } else if (net.isIPv6(s)) {
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i >= 0) {
      host = s.slice(0, i) || defaultHost;
      portText = s.slice(i + 1);
    } else if (s) {
      host = s;
    }
  }
  let port = defaultPort;
  if (portText !== undefined && portText !== '') {
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new Error(`bad address "${text}": port must be 0..65535`);
    port = Number(portText);
  }
  if (!host) throw new Error(`bad address "${text}": no host`);
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

// ---- TCP framing --------------------------------------------------------------

// The one stream framer (net/streamFramer.ts), under the name the server and
// the tests know it by.
export { StreamFramer as FrameReader, type StreamFramerOptions as FrameReaderOptions } from '../net/streamFramer.js';

// ---- UDP helpers ----------------------------------------------------------------

/** Binds a UDP socket (udp4, or udp6 for an IPv6 host). Rejects with the bind error (e.g. EADDRINUSE). */
export function bindUdp(port: number, host = '127.0.0.1'): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

/** Sends one frame as one datagram; errors go to the optional callback (never thrown). */
export function sendUdpFrame(sock: dgram.Socket, frame: Buffer, port: number, host: string, cb?: (err: Error | null) => void): void {
  try {
    sock.send(frame, port, host, (err) => cb?.(err ?? null));
  } catch (err) {
    cb?.(err as Error);
  }
}

// ---- client connection ------------------------------------------------------------

export interface ConnectionOptions {
  host?: string;
  port?: number;
  transport?: TransportKind;
  /** Connect timeout for TCP (default 5,000 ms). */
  connectTimeoutMs?: number;
  /** Largest reply payload accepted on TCP (default 65,536). */
  maxPayload?: number;
  /** Replies that answer no outstanding request (e.g. a PENDING's second reply after request()). */
  onUnsolicited?: (frame: DecodedFrame) => void;
  /** Local address to bind (UDP: port too), for tests. */
  localPort?: number;
}

export interface RequestOptions {
  /**
   * Reply timeout. Default: Allocate/Modify use the block's timeout_ms (0 =
   * 5,000 ms), other opcodes 5,000 ms (VVMP.md section 7).
   */
  timeoutMs?: number;
  /** Limit for the second reply after PENDING (default: none, as the spec says). */
  pendingTimeoutMs?: number;
}

/** An exchange that may have been answered PENDING first. */
export interface PendingExchange {
  /** The first reply (PENDING or final). */
  first: DecodedFrame;
  /** True when the first reply was PENDING. */
  pending: boolean;
  /** The final reply: `first` itself when it was not PENDING. */
  final: Promise<DecodedFrame>;
}

interface Outstanding {
  txid: number;
  op: string;
  timer: NodeJS.Timeout | null;
  wantPending: boolean;
  gotFirst: boolean;
  resolveFirst: (f: DecodedFrame) => void;
  rejectFirst: (e: Error) => void;
  resolveFinal: ((f: DecodedFrame) => void) | null;
  rejectFinal: ((e: Error) => void) | null;
  pendingTimeoutMs: number | undefined;
  /** Its place in the matcher while it waits. */
  waiting: Waiting<Outstanding> | null;
}

function opName(opcode: number): string {
  return opcodeDef(opcode)?.name ?? `opcode 0x${opcode.toString(16).padStart(4, '0')}`;
}

/** The reply timeout VVMP.md section 7 gives a request. */
export function defaultTimeoutFor(spec: FrameSpec): number {
  if (spec.opcode === OP_ALLOCATE || spec.opcode === OP_MODIFY) {
    const p = spec.payload;
    // Allocate and Modify carry the Allocate block (the spec's payload is that record, or raw bytes).
    const t = p && !(p instanceof Uint8Array) && !('devices' in p) ? Number((p as Partial<AllocRecord>).timeout_ms ?? 0) : 0;
    if (t > 0) return t;
  }
  return DEFAULT_TIMEOUT_MS;
}

/**
 * A client transport to one VVMP server over TCP or UDP. Replies are matched
 * to requests by the traffic side's one rule (matcher.ts: transaction id,
 * client id, opcode on this connection); several may be outstanding.
 */
export class VvmpConnection {
  readonly target: string;
  readonly transport: TransportKind;
  private readonly outstanding = new ReplyMatcher<Outstanding>();
  private nextTxid = 1;
  private closedBy: 'us' | 'peer' | null = null;
  private closeError: TransportError | null = null;
  private tcp: net.Socket | null = null;
  private udp: dgram.Socket | null = null;
  private readonly onUnsolicited: ((frame: DecodedFrame) => void) | undefined;
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(target: string, transport: TransportKind, opts: ConnectionOptions) {
    this.target = target;
    this.transport = transport;
    this.onUnsolicited = opts.onUnsolicited;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /** Opens a connection (TCP: connects; UDP: a connected socket, so ICMP errors surface as ConnectionRefusedError). */
  static connect(opts: ConnectionOptions): Promise<VvmpConnection> {
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? DEFAULT_PORT;
    const transport = opts.transport ?? 'tcp';
    const target = formatHostPort(host, port);
    const c = new VvmpConnection(target, transport, opts);
    return transport === 'udp' ? c.openUdp(host, port, opts) : c.openTcp(host, port, opts);
  }

  private openTcp(host: string, port: number, opts: ConnectionOptions): Promise<VvmpConnection> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true });
      this.tcp = sock;
      let connected = false;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new TransportError(this.target, `connect timed out after ${opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS} ms`));
      }, opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS);
      const reader = new StreamFramer({
        maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD,
        onFrame: (bytes) => this.onReply(decodeFrame(bytes)),
        onOversize: (_h, size) => {
          this.fail(new TransportError(this.target, `reply of ${size} bytes is over the ${opts.maxPayload ?? DEFAULT_MAX_PAYLOAD}-byte payload limit`));
          sock.destroy();
        },
      });
      sock.on('data', (chunk: Buffer) => reader.push(chunk));
      sock.on('connect', () => {
        connected = true;
        clearTimeout(timer);
        resolve(this);
      });
      sock.on('error', (err) => {
        const e = transportError(this.target, err);
        if (!connected) {
          clearTimeout(timer);
          reject(e);
        }
        this.fail(e);
      });
      sock.on('close', () => {
        clearTimeout(timer);
        if (this.closedBy === null) {
          this.closedBy = 'peer';
          this.fail(new ConnectionResetError(this.target, 'connection closed by peer'));
        }
        this.resolveClosed();
      });
    });
  }

  private openUdp(host: string, port: number, opts: ConnectionOptions): Promise<VvmpConnection> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      this.udp = sock;
      let ready = false;
      sock.on('message', (msg) => this.onReply(decodeFrame(msg, { udp: true })));
      sock.on('error', (err) => {
        const e = transportError(this.target, err);
        if (!ready) {
          sock.close();
          reject(e);
          return;
        }
        // ICMP errors do not close a UDP socket: fail what is outstanding, stay usable.
        this.failOutstanding(e);
      });
      sock.on('close', () => {
        if (this.closedBy === null) this.closedBy = 'peer';
        this.resolveClosed();
      });
      const doConnect = () =>
        sock.connect(port, host, () => {
          ready = true;
          resolve(this);
        });
      if (opts.localPort !== undefined) sock.bind(opts.localPort, doConnect);
      else doConnect();
    });
  }

  /** Local address of the socket (`ip:port`). */
  get localAddress(): string {
    const a = this.tcp ? { address: this.tcp.localAddress ?? '', port: this.tcp.localPort ?? 0 } : this.udp!.address();
    return formatHostPort(a.address, a.port);
  }

  get isClosed(): boolean {
    return this.closedBy !== null;
  }

  /** Requests (and PENDING exchanges) still waiting for a reply. */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /** A transaction id not in use on this connection. */
  nextTransactionId(): number {
    for (;;) {
      const t = this.nextTxid;
      this.nextTxid = this.nextTxid >= 0xffffffff ? 1 : this.nextTxid + 1;
      if (!this.outstanding.hasTransaction(t)) return t;
    }
  }

  /** Writes bytes without expecting a reply (Announces, garbage in tests). */
  sendRaw(bytes: Buffer): void {
    if (this.closedBy !== null) throw this.closeError ?? new ConnectionResetError(this.target, 'connection closed');
    if (this.tcp) this.tcp.write(bytes);
    else this.udp!.send(bytes);
  }

  /** Sends a request and resolves with the first reply (which may be PENDING). */
  request(spec: FrameSpec, opts: RequestOptions = {}): Promise<DecodedFrame> {
    const txid = spec.transaction_id ?? this.nextTransactionId();
    const bytes = encodeFrame(spec.transaction_id === undefined ? { ...spec, transaction_id: txid } : spec);
    return this.exchange(bytes, spec.opcode, txid, opts.timeoutMs ?? defaultTimeoutFor(spec), false, undefined).first;
  }

  /**
   * Sends a request; resolves with the first reply and, when it is PENDING,
   * a promise of the second reply with the same transaction id.
   */
  async requestWithPending(spec: FrameSpec, opts: RequestOptions = {}): Promise<PendingExchange> {
    const txid = spec.transaction_id ?? this.nextTransactionId();
    const bytes = encodeFrame(spec.transaction_id === undefined ? { ...spec, transaction_id: txid } : spec);
    const x = this.exchange(bytes, spec.opcode, txid, opts.timeoutMs ?? defaultTimeoutFor(spec), true, opts.pendingTimeoutMs);
    const first = await x.first;
    const pending = first.header.sub_opcode === STATUS_PENDING;
    if (!pending) x.final.catch(() => undefined);
    return { first, pending, final: pending ? x.final : Promise.resolve(first) };
  }

  /**
   * Sends raw bytes (possibly broken on purpose) that carry a whole header and
   * resolves with the reply matching their transaction id and opcode.
   */
  requestBytes(bytes: Buffer, opts: RequestOptions = {}): Promise<DecodedFrame> {
    if (bytes.length < HEADER_SIZE) throw new Error('requestBytes needs at least a 32-byte header');
    const opcode = Header.get.opcode(bytes, 0);
    const txid = Header.get.transaction_id(bytes, 0);
    return this.exchange(bytes, opcode, txid, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, false, undefined).first;
  }

  private exchange(
    bytes: Buffer, opcode: number, txid: number, timeoutMs: number, wantPending: boolean, pendingTimeoutMs: number | undefined,
  ): { first: Promise<DecodedFrame>; final: Promise<DecodedFrame> } {
    let resolveFirst!: (f: DecodedFrame) => void;
    let rejectFirst!: (e: Error) => void;
    const first = new Promise<DecodedFrame>((res, rej) => {
      resolveFirst = res;
      rejectFirst = rej;
    });
    const fin: { resolve: ((f: DecodedFrame) => void) | null; reject: ((e: Error) => void) | null } = { resolve: null, reject: null };
    const final = wantPending
      ? new Promise<DecodedFrame>((res, rej) => {
        fin.resolve = res;
        fin.reject = rej;
      })
      : first;
    const resolveFinal = fin.resolve;
    const rejectFinal = fin.reject;
    if (this.closedBy !== null) {
      const e = this.closeError ?? new ConnectionResetError(this.target, 'connection closed');
      rejectFirst(e);
      rejectFinal?.(e);
      return { first, final };
    }
    if (this.outstanding.hasTransaction(txid)) {
      const e = new TransportError(this.target, `transaction id ${txid} is already outstanding`);
      rejectFirst(e);
      rejectFinal?.(e);
      return { first, final };
    }
    const o: Outstanding = {
      txid, op: opName(opcode), timer: null, wantPending, gotFirst: false,
      resolveFirst, rejectFirst, resolveFinal, rejectFinal, pendingTimeoutMs, waiting: null,
    };
    o.timer = setTimeout(() => this.timeout(o, timeoutMs), timeoutMs);
    o.waiting = this.outstanding.add(txid, Header.get.client_id(bytes, 0), opcode, o);
    if (this.tcp) this.tcp.write(bytes);
    else this.udp!.send(bytes);
    return { first, final };
  }

  private timeout(o: Outstanding, ms: number): void {
    if (!o.waiting || !this.outstanding.remove(o.waiting)) return;
    const e = new TimeoutError(this.target, o.op, o.txid, ms);
    if (!o.gotFirst) o.rejectFirst(e);
    o.rejectFinal?.(e);
  }

  private onReply(f: DecodedFrame): void {
    const o = this.outstanding.findFor(f.bytes)?.item;
    if (!o) {
      this.onUnsolicited?.(f);
      return;
    }
    const pending = f.header.sub_opcode === STATUS_PENDING;
    if (!o.gotFirst) {
      o.gotFirst = true;
      o.resolveFirst(f);
      if (pending && o.wantPending) {
        // A PENDING reply extends the wait with no limit (VVMP.md section 7).
        if (o.timer) clearTimeout(o.timer);
        o.timer = o.pendingTimeoutMs !== undefined ? setTimeout(() => this.timeout(o, o.pendingTimeoutMs!), o.pendingTimeoutMs) : null;
        return;
      }
    } else if (pending) {
      return; // a repeated PENDING: keep waiting
    }
    if (o.timer) clearTimeout(o.timer);
    this.outstanding.remove(o.waiting!);
    o.resolveFinal?.(f);
  }

  private failOutstanding(e: TransportError): void {
    for (const o of this.outstanding.clear()) {
      if (o.timer) clearTimeout(o.timer);
      if (!o.gotFirst) o.rejectFirst(e);
      o.rejectFinal?.(e);
    }
  }

  private fail(e: TransportError): void {
    if (!this.closeError) this.closeError = e;
    this.failOutstanding(e);
  }

  /** Closes the connection; outstanding requests fail with ConnectionResetError ("connection closed"). */
  close(): Promise<void> {
    if (this.closedBy === null) {
      this.closedBy = 'us';
      this.fail(new ConnectionResetError(this.target, 'connection closed'));
      if (this.tcp) {
        this.tcp.end();
        // A peer that never closes its side must not keep us waiting.
        setTimeout(() => this.tcp?.destroy(), 1000).unref();
      } else {
        this.udp!.close();
      }
    }
    return this.closedPromise;
  }

  /** Resolves when the socket is closed (by either side). */
  get closed(): Promise<void> {
    return this.closedPromise;
  }
}
