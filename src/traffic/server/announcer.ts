// This server's own Announces: to every peer and announce target over UDP,
// at start (boot or periodic), periodically, and when leaving.

import type dgram from 'node:dgram';
import type { FrameSpec } from '../../protocol/encode.js';
import { encodeFrame } from '../../protocol/encode.js';
import type { ServerConfig } from '../config.js';
import { formatHostPort } from '../transport.js';
import { ALL_SANS } from './model.js';

export class Announcer {
  private txid = 1;
  private periodic: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: ServerConfig,
    private readonly udp: dgram.Socket,
    private readonly spec: (sub: number, txid: number, dst: number) => FrameSpec,
    private readonly vlog: (line: string) => void,
  ) {}

  /** Sends an Announce of the devices to the peers and announce targets. */
  async announce(sub: number): Promise<void> {
    const sends: Promise<void>[] = [];
    const send = (h: string, p: number, dst: number) => {
      const bytes = encodeFrame(this.spec(sub, this.txid++, dst));
      sends.push(new Promise((resolve) => this.udp.send(bytes, p, h, (err) => {
        if (err) this.vlog(`event=announce_error target=${formatHostPort(h, p)} error=${(err as NodeJS.ErrnoException).code ?? err.message}`);
        resolve();
      })));
    };
    for (const p of this.cfg.peers) send(p.host, p.port, p.san_id);
    for (const t of this.cfg.announce_targets) send(t.host, t.port, ALL_SANS);
    if (sends.length) this.vlog(`event=announce sub=0x${sub.toString(16).padStart(2, '0')} targets=${sends.length}`);
    await Promise.all(sends);
  }

  startPeriodic(): void {
    if (this.cfg.announce_interval_ms <= 0) return;
    this.periodic = setInterval(() => void this.announce(0x01), this.cfg.announce_interval_ms);
    this.periodic.unref();
  }

  stopPeriodic(): void {
    if (this.periodic) clearInterval(this.periodic);
    this.periodic = null;
  }
}
