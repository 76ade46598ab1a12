// Binding TCP and UDP on the same port number (port 0: a free one for both).

import type dgram from 'node:dgram';
import net from 'node:net';
import { bindUdp, formatHostPort } from '../transport.js';

export async function listen(host: string, port: number): Promise<{ tcp: net.Server; udp: dgram.Socket }> {
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
