// TCP reassembly is protocol-agnostic: in-order bytes go to a consumer made by
// a factory passed in from outside (VVMP framing is only the default one).

import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Packet } from '../../src/capture/packet.js';
import { NetDecoder } from '../../src/net/decoder.js';
import type { ConsumerFactory, ConsumerHost, StreamConsumer } from '../../src/net/reassembly.js';
import { recorder, resetIndex, TCP_ACK } from './build.js';
import { Conv } from './tcpconv.js';

/** A consumer of a line protocol: records what the reassembler tells it, hands on one frame per '\n'. */
class LineConsumer implements StreamConsumer {
  readonly log: string[] = [];
  private line = '';
  private claimed = false;
  constructor(private readonly host: ConsumerHost) {}
  get pending(): number {
    return this.line.length;
  }
  get undecided(): boolean {
    return !this.claimed;
  }
  readonly refused = false;
  beginAtStart(): void {
    this.claimed = true;
    this.log.push('start');
  }
  beginMidStream(): void {
    this.claimed = true;
    this.log.push('mid');
  }
  data(buf: Buffer, s: number, e: number, pkt: Packet): void {
    this.log.push(`data ${buf.toString('latin1', s, e)}@${pkt.index}`);
    for (let i = s; i < e; i++) {
      const c = String.fromCharCode(buf[i]!);
      if (c !== '\n') {
        this.line += c;
        continue;
      }
      this.host.frame(Buffer.from(this.line, 'latin1'), pkt, false, pkt.index);
      this.line = '';
    }
  }
  missing(n: number, gap: boolean, pkt: Packet): void {
    this.log.push(`missing ${n} ${gap ? 'gap' : 'cut'}@${pkt.index}`);
    this.line = '';
  }
  end(pkt: Packet): void {
    this.log.push(`end@${pkt.index}`);
  }
  accept(): void {
    this.claimed = true;
  }
  restart(): void {
    this.line = '';
  }
}

function setup() {
  const r = recorder();
  const consumers: LineConsumer[] = [];
  const factory: ConsumerFactory = (host) => {
    const c = new LineConsumer(host);
    consumers.push(c);
    return c;
  };
  const dec = new NetDecoder({ ports: new Set([7369]) }, r.sink, factory);
  const feed = (...ps: (Packet | Packet[])[]): void => {
    for (const p of ps.flat()) dec.packet(p);
  };
  return { r, dec, feed, consumers };
}

const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('TCP reassembly with a consumer from outside', () => {
  beforeEach(() => resetIndex());

  it('hands each direction its bytes in sequence order, once, whatever order the segments came in', () => {
    const { r, feed, consumers } = setup();
    const c = new Conv();
    feed(c.handshake()); // packets 1-3
    const a = c.c(text('hel')); // 4
    const b = c.c(text('lo\nwor')); // 5
    const d = c.c(text('ld\n')); // 6
    feed(d, b, b, a); // out of order, and one segment twice; the last one fills the hole
    feed(c.s(text('ok\n'))); // 7
    feed(c.close()); // 8-10
    expect(consumers.length).toBe(2);
    const [client, server] = consumers;
    // Queued bytes go on when the hole fills, with the packet that filled it.
    expect(client!.log.filter((x) => !x.startsWith('end'))).toEqual(['start', 'data hel@4', 'data lo\nwor@4', 'data ld\n@4']);
    expect(client!.log.at(-1)).toBe('end@9');
    expect(server!.log.filter((x) => !x.startsWith('end'))).toEqual(['start', 'data ok\n@7']);
    expect(server!.log.at(-1)).toBe('end@9');
    expect(r.frames.map((f) => `${f.bytes.toString('latin1')} ${f.src.port}->${f.dst.port}`))
      .toEqual(['hello 40000->7369', 'world 40000->7369', 'ok 7369->40000']);
    expect(r.segments.map((s) => `${s.code}@${s.packet.index}`)).toEqual(['tcp_retransmission@5']);
  });

  it('tells the consumer where bytes were lost, and where the capture began mid-connection', () => {
    const { feed, consumers } = setup();
    const c = new Conv();
    feed(c.c(text('ab\n'))); // 1: no handshake seen
    c.c(text('lost')); // never captured
    feed(c.c(text('cd\n'))); // 3: past a hole
    feed(c.s(undefined, { flags: TCP_ACK })); // 4: the peer ACKs past the hole: it is lost
    expect(consumers[0]!.log).toEqual(['mid', 'data ab\n@1', 'missing 4 gap@4', 'data cd\n@4']);
  });

  it('stream.ts and tcp.ts import nothing of VVMP (framing comes from the factory)', () => {
    for (const f of ['stream.ts', 'tcp.ts', 'reassembly.ts']) {
      const src = readFileSync(new URL(`../../src/net/${f}`, import.meta.url), 'utf8');
      const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(imports.filter((i) => i!.includes('framer') || i!.includes('protocol/')), f).toEqual([]);
    }
  });
});
