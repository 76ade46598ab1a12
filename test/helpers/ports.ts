// A port free for both TCP and UDP on 127.0.0.1 (VVMP servers listen on both).

import * as dgram from 'node:dgram';
import * as net from 'node:net';

export async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as net.AddressInfo).port)));
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => srv.close(() => r()));
    await new Promise<void>((r) => {
      try {
        u.close(() => r());
      } catch {
        r();
      }
    });
    if (ok) return port;
  }
}
