// Shared helpers for the traffic tests: servers on 127.0.0.1 port 0, raw
// TCP/UDP pokers that collect decoded frames.

import dgram from 'node:dgram';
import net from 'node:net';
import { decodeFrame, type DecodedFrame } from '../../src/protocol/decode.js';
import type { BlockRecord } from '../../src/protocol/codec.js';
import { defaultServerConfig, type ServerConfig } from '../../src/traffic/config.js';
import { startServer, type ServerOptions, type VvmpServer } from '../../src/traffic/server.js';
import { FrameReader } from '../../src/traffic/transport.js';

export const CLIENT = 0x11n;

export async function server(mutate?: (c: ServerConfig) => void, extra: Partial<ServerOptions> = {}): Promise<VvmpServer & { target: string; lines: string[] }> {
  const config = defaultServerConfig();
  mutate?.(config);
  const lines: string[] = [];
  const s = await startServer({ port: 0, config, log: (l) => lines.push(l), ...extra });
  return Object.assign(s, { target: `127.0.0.1:${s.tcpPort}`, lines });
}

/** A raw TCP connection that collects every frame it receives, decoded. */
export class RawTcp {
  readonly frames: DecodedFrame[] = [];
  ended = false;
  closed = false;
  private waiters: Array<() => void> = [];
  private constructor(readonly sock: net.Socket) {
    const reader = new FrameReader({ maxPayload: 1 << 20, onFrame: (b) => this.push(decodeFrame(Buffer.from(b))) });
    sock.on('data', (c: Buffer) => reader.push(c));
    sock.on('end', () => {
      this.ended = true;
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  /** Connects to 127.0.0.1:port, from local address `from` (another loopback address plays another host). */
  static connect(port: number, from?: string): Promise<RawTcp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, noDelay: true, localAddress: from }, () => resolve(new RawTcp(s)));
      s.once('error', reject);
    });
  }

  private push(f: DecodedFrame): void {
    this.frames.push(f);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(b: Buffer | Uint8Array): void {
    this.sock.write(b);
  }

  /** Waits until `n` frames arrived in total (or the socket closed / time ran out). */
  async waitFrames(n: number, ms = 3000): Promise<DecodedFrame[]> {
    const deadline = Date.now() + ms;
    while (this.frames.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.frames;
  }

  async waitClosed(ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && !this.ended && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed || this.ended;
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Sends one datagram and collects the replies that arrive within `ms`. */
export async function udpExchange(port: number, datagram: Buffer, ms = 300, expect = 1, from = '127.0.0.1'): Promise<DecodedFrame[]> {
  const sock = dgram.createSocket('udp4');
  const got: DecodedFrame[] = [];
  await new Promise<void>((r) => sock.bind(0, from, () => r()));
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    sock.on('message', (m) => {
      got.push(decodeFrame(m, { udp: true }));
      if (got.length >= expect) {
        clearTimeout(t);
        // linger a little so extra (wrong) replies would be seen too
        setTimeout(resolve, 20);
      }
    });
    sock.send(datagram, port, '127.0.0.1');
  });
  sock.close();
  return got;
}

export function payload(f: DecodedFrame | undefined): BlockRecord {
  return (f?.payload ?? {}) as BlockRecord;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
