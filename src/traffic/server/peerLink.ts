// Links to peer managers: one kept TCP connection per peer, made on first use.

import { performance } from 'node:perf_hooks';
import type { DecodedFrame } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { PeerConfig } from '../config.js';
import { VvmpConnection, formatHostPort } from '../transport.js';

/** Asks one peer manager over a kept TCP connection; null when it does not answer. */
export class PeerLink {
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

/** The links of one server, by peer address. */
export class PeerLinks {
  private readonly links = new Map<string, PeerLink>();

  for(peer: PeerConfig): PeerLink {
    const key = formatHostPort(peer.host, peer.port);
    let l = this.links.get(key);
    if (!l) this.links.set(key, (l = new PeerLink(peer)));
    return l;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}
