// Real traffic: UDP and TCP over loopback, captured by tcpdump, read back and framed.

import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetDecoder } from '../../src/net/decoder.js';
import { allocate, cat, query, queryReply, recorder, txOf } from './build.js';
import { captureReader } from './pcap.js';

const TCPDUMP = '/usr/bin/tcpdump';

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (tcpdump needs capture rights)';
  if (!fs.existsSync(TCPDUMP)) return `${TCPDUMP} missing`;
  return null;
}

const reason = skipReason();
if (reason) console.log(`tcpdump test skipped: ${reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP server and a UDP socket on the same free port of 127.0.0.1. */
async function servers(onTcp: (s: net.Socket) => void): Promise<{ port: number; tcp: net.Server; udp: dgram.Socket; udpGot: Buffer[] }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = net.createServer({ allowHalfOpen: true }, onTcp);
    await new Promise<void>((res, rej) => tcp.once('error', rej).listen(0, '127.0.0.1', () => res()));
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((res) => {
      udp.once('error', () => res(false));
      udp.bind(port, '127.0.0.1', () => res(true));
    });
    if (ok) {
      const udpGot: Buffer[] = [];
      udp.on('message', (m) => udpGot.push(m));
      return { port, tcp, udp, udpGot };
    }
    tcp.close();
    udp.close();
  }
  throw new Error('no free port for both TCP and UDP');
}

async function startTcpdump(file: string, port: number): Promise<ChildProcess> {
  const child = spawn(TCPDUMP, ['-i', 'lo', '-n', '-U', '--immediate-mode', '-w', file, `port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((res, rej) => {
    let err = '';
    const timer = setTimeout(() => rej(new Error(`tcpdump did not start: ${err}`)), 10000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`tcpdump exited (${code}): ${err}`));
    });
  });
  return child;
}

/** Waits until the capture file has stopped growing (tcpdump -U writes each packet as it comes). */
async function settled(file: string): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (size > 24 && size === last) return;
    last = size;
  }
}

async function stopTcpdump(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGINT');
  await exited;
}

describe('captured by tcpdump', () => {
  it.skipIf(reason !== null)('frames every UDP datagram and TCP frame exactly once, in order', async () => {
    const file = path.join(os.tmpdir(), `vvmp-net-${process.pid}.pcap`);
    const udpFrames = [query(1), allocate(2), queryReply(3, 5)];
    const big = queryReply(7, 300); // 6,032 bytes
    const clientFrames = [query(4), allocate(5), query(6), big, query(8), allocate(9)];
    const serverFrames = [queryReply(4, 2), queryReply(5, 0)];
    const clientBytes = cat(...clientFrames).length;

    let serverGot = 0;
    let resolveServerDone: () => void = () => {};
    const serverDone = new Promise<void>((res) => {
      resolveServerDone = res;
    });
    const env = await servers((sock) => {
      sock.setNoDelay(true);
      sock.on('data', (d) => {
        serverGot += d.length;
        if (serverGot === clientBytes) {
          sock.write(serverFrames[0]!);
          setTimeout(() => sock.end(serverFrames[1]!), 30);
        }
      });
      sock.on('close', () => resolveServerDone());
    });

    const dump = await startTcpdump(file, env.port);
    try {
      // UDP: one frame per datagram.
      const client = dgram.createSocket('udp4');
      for (const f of udpFrames) {
        await new Promise<void>((res, rej) => client.send(f, env.port, '127.0.0.1', (e) => (e ? rej(e) : res())));
        await sleep(5);
      }
      for (let i = 0; i < 200 && env.udpGot.length < udpFrames.length; i++) await sleep(10);
      client.close();
      expect(env.udpGot.length).toBe(udpFrames.length);

      // TCP: three frames in one write, one frame in pieces, then two more.
      const sock = net.connect(env.port, '127.0.0.1');
      sock.setNoDelay(true);
      await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
      const fromServer: Buffer[] = [];
      sock.on('data', (d) => fromServer.push(d));
      const write = (b: Buffer) => new Promise<void>((res, rej) => sock.write(b, (e) => (e ? rej(e) : res())));
      await write(cat(clientFrames[0]!, clientFrames[1]!, clientFrames[2]!));
      await sleep(20);
      for (const cut of [[0, 10], [10, 31], [31, 1000], [1000, big.length]]) {
        await write(big.subarray(cut[0], cut[1]));
        await sleep(20);
      }
      await write(cat(clientFrames[4]!, clientFrames[5]!));
      const closed = new Promise<void>((res) => sock.once('close', () => res()));
      sock.end();
      await serverDone;
      await closed;
      expect(Buffer.concat(fromServer)).toEqual(cat(...serverFrames));
      await settled(file);
    } finally {
      await stopTcpdump(dump);
      env.tcp.close();
      env.udp.close();
    }

    const { read, name } = await captureReader();
    console.log(`tcpdump test reads ${file} with ${name}`);
    const r = recorder();
    const dec = new NetDecoder({ ports: new Set([env.port]) }, r.sink);
    // The recorder keeps FrameEvent.packet past the call: each gets a packet of its own (the reader refills one slot).
    read(file, (p) => dec.packet({ ...p }));
    dec.end();
    if (!process.env.KEEP_PCAP) fs.rmSync(file, { force: true });
    console.log(`frames ${r.frames.length} segments ${r.segments.length} packets ${dec.counters.packets}`, [...dec.counters.undecoded]);

    const udp = r.frames.filter((f) => f.transport === 'udp');
    const toServer = r.frames.filter((f) => f.transport === 'tcp' && f.dst.port === env.port);
    const toClient = r.frames.filter((f) => f.transport === 'tcp' && f.src.port === env.port);
    expect(udp.map((f) => f.bytes)).toEqual(udpFrames);
    expect(toServer.map((f) => txOf(f.bytes))).toEqual(clientFrames.map((f) => txOf(f)));
    expect(toServer.map((f) => f.bytes)).toEqual(clientFrames);
    expect(toClient.map((f) => f.bytes)).toEqual(serverFrames);
    expect(r.frames.every((f) => f.src.ip === '127.0.0.1' && f.desync === undefined)).toBe(true);
    expect(new Set(toServer.map((f) => f.flowKey)).size).toBe(1);
    expect(toClient[0]!.flowKey).toBe(toServer[0]!.flowKey);
    // Frames come in capture order: packet numbers never go down.
    const idx = r.frames.map((f) => f.packet.index);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    // The frame written in pieces is complete only at the packet carrying its last piece.
    const bigEvent = toServer[3]!;
    expect(bigEvent.packet.index).toBeGreaterThan(toServer[2]!.packet.index + 3);
    expect(r.segments).toEqual([]);
    expect(dec.counters.undecoded.size).toBe(0);
    expect(dec.tcp.open).toBe(0);
  }, 60000);
});
