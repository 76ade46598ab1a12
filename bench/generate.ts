// Benchmark capture generator: a deterministic classic pcap of N VVMP frames.
//
//   npx tsx bench/generate.ts --frames 1000000 --out /tmp/bench-1m.pcap [--seed 1]
//
// Many clients (client ids), a few servers; sessions through their whole life
// (Allocate → OK → Initialize → Modify → Statistics → Free partial → Free),
// Queries answered with device records, periodic Announces, PENDING grants,
// rejections, ~1 % bad checksums (answered BAD_CHECKSUM and retried), some
// requests that time out. UDP and TCP mixed; on TCP pipelined requests share
// segments and frames are split across segments. Frames are written as they
// are made (fileSink + PcapWriter): memory stays flat for 10,000,000 frames.

import { pathToFileURL } from 'node:url';
import { PcapWriter, fileSink } from '../src/capture/writer.js';
import { encodeFrame, type FrameSpec } from '../src/protocol/encode.js';
import type { BlockRecord } from '../src/protocol/codec.js';
import {
  OP_ALLOCATE, OP_ANNOUNCE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS, REPLY_BIT,
} from '../src/protocol/fields.js';
import { TcpConnection, udpPacket, type Ep } from './packets.js';

export interface GenerateOptions {
  frames: number;
  out: string;
  seed?: number;
  /** Distinct client ids (default 20,000). */
  clients?: number;
  /** Servers (default 4). */
  servers?: number;
  /** Clients active at once (default 200). */
  concurrency?: number;
  /** Share of client lives run over TCP (default 0.5). */
  tcpShare?: number;
  /** Share of frames written with a bad checksum (default 0.01). */
  checksumErrors?: number;
  /** Called every 1,000,000 frames. */
  progress?: (frames: number) => void;
}

export interface GenerateStats {
  frames: number;
  packets: number;
  bytes: number;
  udpFrames: number;
  tcpFrames: number;
  checksumErrors: number;
  timeouts: number;
  sessionsOpened: number;
  sessionsClosed: number;
  tcpConnections: number;
  /** TCP segments carrying more than one frame boundary. */
  multiFrameSegments: number;
  /** Frames whose bytes span two or more segments. */
  splitFrames: number;
  captureSeconds: number;
}

const PORT = 7369;
const BASE_SEC = 1700000000;
const STATUS_OK = 0x00;
const STATUS_PENDING = 0x01;
const STATUS_NO_CAPACITY = 0x10;
const STATUS_BAD_CHECKSUM = 0x31;

/** sfc32: small, fast, 128-bit state; deterministic for a seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  u64(bits = 40): bigint {
    return (BigInt(this.u32() & ((1 << Math.max(0, bits - 32)) - 1)) << 32n) | BigInt(this.u32());
  }
}

interface Server {
  index: number;
  id: bigint;
  san: number;
  ep: Ep;
  nextSession: number;
  devices: Array<Partial<BlockRecord>>;
}

type Step =
  | { kind: 'query' }
  | { kind: 'allocate' }
  | { kind: 'initialize' }
  | { kind: 'modify+stats' }
  | { kind: 'stats' }
  | { kind: 'free'; release: number }
  | { kind: 'done' };

interface Pending {
  /** The reply frames to send on the actor's next turn. */
  replies: FrameSpec[];
  /** Requests to send again (their checksum was bad). */
  retry: FrameSpec[];
}

interface Actor {
  index: number;
  client: bigint;
  ep: Ep;
  server: Server;
  tcp: TcpConnection | null;
  steps: Step[];
  step: number;
  tx: number;
  session: number;
  sessionStart: number;
  alloc: Partial<BlockRecord>;
  pending: Pending | null;
  /** A PENDING grant waits for its final reply. */
  waiting: FrameSpec | null;
  statsRead: bigint;
  statsWritten: bigint;
}

class Generator {
  private readonly rng: Rng;
  private readonly sink;
  private readonly w: PcapWriter;
  private readonly servers: Server[] = [];
  private readonly actors: Actor[] = [];
  private readonly clients: number;
  private readonly tcpShare: number;
  private readonly errRate: number;
  /** Capture clock, ns since BASE_SEC. */
  private clock = 0;
  private nextClient = 0;
  /** Open TCP connections by client index, and connections made per client. */
  private readonly conns = new Map<number, TcpConnection>();
  private readonly connCount: Uint32Array;
  private ipId = 0;
  readonly stats: GenerateStats = {
    frames: 0, packets: 0, bytes: 0, udpFrames: 0, tcpFrames: 0, checksumErrors: 0, timeouts: 0,
    sessionsOpened: 0, sessionsClosed: 0, tcpConnections: 0, multiFrameSegments: 0, splitFrames: 0, captureSeconds: 0,
  };

  constructor(private readonly opts: GenerateOptions) {
    this.rng = new Rng(opts.seed ?? 1);
    this.sink = fileSink(opts.out, 4 << 20);
    this.w = new PcapWriter(this.sink, { snaplen: 65535 });
    const conc = opts.concurrency ?? 200;
    // A client runs one life at a time: at least as many clients as lives at once.
    this.clients = Math.max(opts.clients ?? 20000, conc);
    this.connCount = new Uint32Array(this.clients);
    this.tcpShare = opts.tcpShare ?? 0.5;
    this.errRate = opts.checksumErrors ?? 0.01;
    const nServers = opts.servers ?? 4;
    for (let s = 0; s < nServers; s++) {
      const san = s + 1;
      const devices: Array<Partial<BlockRecord>> = [];
      for (let d = 0; d < 8; d++) {
        devices.push({
          device_id: san * 1000 + d, storage_type: this.rng.pick([0, 1, 3, 5]), access_type: this.rng.pick([1, 2, 3, 4]),
          device_class: this.rng.int(0, 4), device_flags: this.rng.int(0, 15), free_kb: this.rng.int(1, 2 ** 31),
          bandwidth_kb: this.rng.int(1024, 1 << 20), san_id: san, reserved: 0,
        });
      }
      this.servers.push({
        index: s, id: 0xa0n + BigInt(s), san, ep: { ip: (10 << 24) | (255 << 16) | (s + 1), port: PORT }, nextSession: 1, devices,
      });
    }
    for (let i = 0; i < conc; i++) this.actors.push(this.newActor());
  }

  // ---- output ------------------------------------------------------------------

  private get remaining(): number {
    return this.opts.frames - this.stats.frames;
  }

  private packet(data: Buffer): void {
    this.clock += 2000 + Math.floor(this.rng.next() * 38000); // 2–40 µs between packets
    const sec = Math.floor(this.clock / 1e9);
    this.w.writePacket(BASE_SEC + sec, this.clock - sec * 1e9, data);
    this.stats.packets++;
    this.stats.bytes += data.length;
  }

  private encode(spec: FrameSpec): Buffer {
    const bad = this.rng.chance(this.errRate);
    if (bad) this.stats.checksumErrors++;
    this.stats.frames++;
    if (this.stats.frames % 1_000_000 === 0) this.opts.progress?.(this.stats.frames);
    return encodeFrame(bad ? { ...spec, corruptChecksum: true } : spec);
  }

  /** Sends frames from one side: UDP one datagram each; TCP one write, cut into segments. */
  private send(a: Actor, fromClient: boolean, specs: FrameSpec[]): boolean[] {
    const frames = specs.map((s) => this.encode(s));
    const bad = frames.map((f) => !checksumGood(f));
    if (!a.tcp) {
      this.stats.udpFrames += frames.length;
      for (const f of frames) {
        this.ipId = (this.ipId + 1) & 0xffff;
        this.packet(fromClient ? udpPacket(a.ep, a.server.ep, f, this.ipId) : udpPacket(a.server.ep, a.ep, f, this.ipId));
      }
      return bad;
    }
    this.stats.tcpFrames += frames.length;
    const blob = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    const cuts = this.cuts(blob.length);
    const ends: number[] = [];
    let e = 0;
    for (const f of frames) ends.push((e += f.length));
    let start = 0;
    for (const cut of [...cuts, blob.length]) {
      const n = ends.filter((x) => x > start && x <= cut).length;
      if (n > 1) this.stats.multiFrameSegments++;
      this.packet(a.tcp.data(fromClient ? 0 : 1, blob.subarray(start, cut)));
      start = cut;
    }
    // a frame is split when a cut falls strictly inside it
    let fs = 0;
    for (const end of ends) {
      if (cuts.some((c) => c > fs && c < end)) this.stats.splitFrames++;
      fs = end;
    }
    return bad;
  }

  /** Segment boundaries inside a write of `len` bytes (sorted, each in (0, len)). */
  private cuts(len: number): number[] {
    const r = this.rng.next();
    if (len < 8 || r >= 0.35) return [];
    const a = this.rng.int(1, len - 1);
    if (r < 0.25 || len < 16) return [a];
    let b = this.rng.int(1, len - 1);
    if (b === a) b = a === 1 ? 2 : a - 1;
    return a < b ? [a, b] : [b, a];
  }

  // ---- clients -------------------------------------------------------------------

  /**
   * A client's next life. Each client has its own address, one UDP port and a
   * TCP connection it keeps across lives (closed after some, then reopened from
   * one of four ports): flows stay bounded by the number of clients.
   */
  private newActor(): Actor {
    const i = this.nextClient++ % this.clients;
    const client = 0x0000010000000000n + BigInt(i);
    const ip = ((10 << 24) | ((1 + (i >> 16)) << 16) | (i & 0xffff)) >>> 0;
    const server = this.servers[i % this.servers.length]!;
    let ep: Ep = { ip, port: 40000 };
    let tcp: TcpConnection | null = null;
    if (this.rng.chance(this.tcpShare)) {
      tcp = this.conns.get(i) ?? null;
      if (!tcp) {
        const k = this.connCount[i]!++;
        tcp = new TcpConnection({ ip, port: 50000 + (k % 4) }, server.ep, this.rng.u32(), this.rng.u32());
        this.conns.set(i, tcp);
        this.stats.tcpConnections++;
        for (const p of tcp.open()) this.packet(p);
      }
      ep = tcp.client;
    }
    const steps: Step[] = [];
    if (this.rng.chance(0.5)) steps.push({ kind: 'query' });
    steps.push({ kind: 'allocate' }, { kind: 'initialize' }, { kind: 'modify+stats' });
    for (let k = this.rng.int(0, 3); k > 0; k--) steps.push(this.rng.chance(0.2) ? { kind: 'query' } : { kind: 'stats' });
    steps.push({ kind: 'free', release: this.rng.int(1, 1 << 20) }, { kind: 'free', release: 0 }, { kind: 'done' });
    return {
      index: i, client, ep, server, tcp, steps, step: 0, tx: this.rng.int(1, 1 << 30), session: 0, sessionStart: 0, alloc: {},
      pending: null, waiting: null, statsRead: 0n, statsWritten: 0n,
    };
  }

  private header(a: Actor, opcode: number, sub: number, extra: Partial<FrameSpec> = {}): FrameSpec {
    return {
      opcode, sub_opcode: sub, src_san: a.server.san, dst_san: a.server.san, client_id: a.client,
      server_id: a.server.id, transaction_id: (a.tx = (a.tx + 1) >>> 0), ...extra,
    };
  }

  private reply(req: FrameSpec, status: number, payload: FrameSpec['payload'], a: Actor): FrameSpec {
    return {
      opcode: req.opcode | REPLY_BIT, sub_opcode: status, src_san: a.server.san, dst_san: req.src_san ?? 0,
      client_id: req.client_id, server_id: a.server.id, transaction_id: req.transaction_id, payload,
    };
  }

  /** The requests of a step (empty: the life is over). */
  private requests(a: Actor, step: Step): FrameSpec[] {
    const r = this.rng;
    switch (step.kind) {
      case 'query': {
        const sub = r.pick([0x01, 0x02, 0x03, 0xff]);
        return [this.header(a, OP_QUERY, sub, { server_id: 0n, dst_san: sub === 0xff ? 0xffffff : a.server.san })];
      }
      case 'allocate': {
        a.alloc = {
          storage_type: r.pick([0x00, 0x01, 0x05, 0xff]), access_type: r.pick([0x01, 0x02, 0xff]), session_id: 0,
          capacity_kb: r.int(1024, 2 ** 31), bandwidth_kb: r.int(1024, 1 << 20), qos: r.int(0, 4),
          flags: r.int(0, 7) | (r.chance(0.1) ? 0x08 : 0), timeout_ms: r.pick([0, 2000, 5000]),
        };
        return [this.header(a, OP_ALLOCATE, r.pick([0x01, 0x02, 0xff]), { payload: a.alloc })];
      }
      case 'initialize':
        return [this.header(a, OP_INITIALIZE, 0, {
          payload: {
            session_id: a.session, stripe_size: r.pick([0, 65536, 262144]), cache_line_size: r.pick([0, 64, 128]),
            block_size: r.pick([0, 512, 4096]), include_device_id: r.chance(0.2) ? a.server.san * 1000 + 7 : 0, exclude_device_id: 0,
          },
        })];
      case 'modify+stats':
        return [
          this.header(a, OP_MODIFY, 0, { payload: { ...a.alloc, session_id: a.session, capacity_kb: Number(a.alloc.capacity_kb) + 1024 } }),
          this.header(a, OP_STATISTICS, 0, { payload: { session_id: a.session } }),
        ];
      case 'stats':
        return [this.header(a, OP_STATISTICS, 0, { payload: { session_id: a.session } })];
      case 'free':
        return [this.header(a, OP_FREE, 0, { payload: { session_id: a.session, release_kb: step.release } })];
      case 'done':
        return [];
    }
  }

  /** The server's answer to a well-formed request; null when it never answers (a timeout). */
  private answer(a: Actor, req: FrameSpec): FrameSpec | null {
    const r = this.rng;
    const base = req.opcode;
    if ((base === OP_STATISTICS || base === OP_QUERY) && r.chance(0.002)) {
      this.stats.timeouts++;
      return null;
    }
    switch (base) {
      case OP_QUERY: {
        const n = r.int(0, 6);
        const devs = [];
        for (let i = 0; i < n; i++) devs.push({ ...a.server.devices[(i + a.tx) % a.server.devices.length]!, free_kb: r.int(1, 2 ** 31) });
        return this.reply(req, STATUS_OK, { devices: devs }, a);
      }
      case OP_ALLOCATE: {
        if (r.chance(0.02)) return this.reply(req, STATUS_NO_CAPACITY, null, a);
        const s = a.server;
        a.session = s.nextSession;
        s.nextSession = s.nextSession >= 0xffff ? 1 : s.nextSession + 1;
        const granted = { ...a.alloc, session_id: a.session };
        if ((Number(a.alloc.flags) & 0x08) !== 0 && r.chance(0.3)) {
          a.waiting = this.reply(req, STATUS_OK, granted, a);
          return this.reply(req, STATUS_PENDING, granted, a);
        }
        return this.reply(req, STATUS_OK, granted, a);
      }
      case OP_STATISTICS: {
        a.statsRead += BigInt(r.int(0, 1 << 30));
        a.statsWritten += BigInt(r.int(0, 1 << 30));
        return this.reply(req, STATUS_OK, {
          session_id: a.session, reserved: 0, age_ms: Math.max(0, Math.floor((this.clock - a.sessionStart) / 1e6)),
          bytes_read: a.statsRead, bytes_written: a.statsWritten, io_ops: r.int(0, 2 ** 31), io_errors: r.chance(0.05) ? r.int(1, 9) : 0,
        }, a);
      }
      default:
        return this.reply(req, STATUS_OK, req.payload, a); // Initialize, Modify, Free: as applied
    }
  }

  // ---- the loop --------------------------------------------------------------------

  /** One turn of one client: its pending replies, or its next requests. */
  private turn(slot: number): void {
    const a = this.actors[slot]!;
    if (a.pending) {
      const { replies, retry } = a.pending;
      a.pending = null;
      const n = Math.min(replies.length, this.remaining);
      if (n > 0) this.send(a, false, replies.slice(0, n));
      for (const rep of replies.slice(0, n)) this.effect(a, rep);
      if (retry.length) {
        // send the requests that failed their checksum again, with new transaction ids
        const again = retry.map((q) => ({ ...q, transaction_id: (a.tx = (a.tx + 1) >>> 0) }));
        this.request(a, again);
      }
      return;
    }
    if (a.waiting) {
      const fin = a.waiting;
      a.waiting = null;
      if (this.remaining > 0) this.send(a, false, [fin]);
      return;
    }
    const step = a.steps[a.step]!;
    if (step.kind === 'done') {
      if (a.tcp && this.rng.chance(0.3)) {
        for (const p of a.tcp.close()) this.packet(p);
        this.conns.delete(a.index);
      }
      if (a.session) this.stats.sessionsClosed++;
      this.actors[slot] = this.newActor();
      return;
    }
    this.request(a, this.requests(a, step));
    a.step++;
  }

  private request(a: Actor, reqs: FrameSpec[]): void {
    const n = Math.min(reqs.length, this.remaining);
    if (n <= 0) return;
    const sent = reqs.slice(0, n);
    const bad = this.send(a, true, sent);
    const replies: FrameSpec[] = [];
    const retry: FrameSpec[] = [];
    sent.forEach((q, i) => {
      if (bad[i]) {
        replies.push(this.reply(q, STATUS_BAD_CHECKSUM, null, a));
        retry.push(q);
        return;
      }
      const rep = this.answer(a, q);
      if (rep) replies.push(rep);
    });
    if (replies.length) a.pending = { replies, retry };
    else if (retry.length) a.pending = { replies: [], retry };
  }

  /** What a reply does to the client's life. */
  private effect(a: Actor, rep: FrameSpec): void {
    const op = rep.opcode & 0x7fff;
    if (op === OP_ALLOCATE) {
      if (rep.sub_opcode === STATUS_NO_CAPACITY) {
        a.session = 0;
        a.step = a.steps.length - 1; // rejected: the life ends
      } else if (rep.sub_opcode === STATUS_OK || rep.sub_opcode === STATUS_PENDING) {
        if (rep.sub_opcode === STATUS_OK || a.waiting) {
          this.stats.sessionsOpened++;
          a.sessionStart = this.clock;
        }
      }
    }
  }

  private announce(): void {
    const s = this.rng.pick(this.servers);
    const n = this.rng.int(1, 4);
    const devs = [];
    for (let i = 0; i < n; i++) devs.push({ ...s.devices[this.rng.int(0, s.devices.length - 1)]!, free_kb: this.rng.int(1, 2 ** 31) });
    const f = this.encode({
      opcode: OP_ANNOUNCE, sub_opcode: 0x01, src_san: s.san, dst_san: 0xffffff, server_id: s.id,
      transaction_id: this.rng.u32(), payload: { devices: devs },
    });
    this.stats.udpFrames++;
    this.ipId = (this.ipId + 1) & 0xffff;
    const dev: Ep = { ip: (10 << 24) | (254 << 16) | (s.san << 8) | this.rng.int(1, 8), port: PORT };
    this.packet(udpPacket(dev, { ip: (10 << 24) | 0xffffff, port: PORT }, f, this.ipId));
  }

  run(): GenerateStats {
    const conc = this.actors.length;
    while (this.remaining > 0) {
      if (this.rng.chance(0.003)) {
        this.announce();
        continue;
      }
      this.turn(Math.floor(this.rng.next() * conc));
    }
    this.sink.close();
    this.stats.captureSeconds = this.clock / 1e9;
    return this.stats;
  }
}

function checksumGood(f: Uint8Array): boolean {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += f[i]!;
  return (s & 0xff) === 0;
}

/** Writes the capture; returns what it holds. */
export function generateCapture(opts: GenerateOptions): GenerateStats {
  if (!Number.isSafeInteger(opts.frames) || opts.frames < 1) throw new RangeError(`frames must be a positive integer, got ${opts.frames}`);
  return new Generator(opts).run();
}

// ---- command line ------------------------------------------------------------------------

function parseArgs(argv: string[]): GenerateOptions {
  const o: Partial<GenerateOptions> = {};
  const num = (v: string | undefined, what: string): number => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isFinite(n)) throw new Error(`${what}: not a number: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--frames': o.frames = num(v, a); i++; break;
      case '--out': o.out = v; i++; break;
      case '--seed': o.seed = num(v, a); i++; break;
      case '--clients': o.clients = num(v, a); i++; break;
      case '--servers': o.servers = num(v, a); i++; break;
      case '--concurrency': o.concurrency = num(v, a); i++; break;
      case '--tcp-share': o.tcpShare = num(v, a); i++; break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.frames || !o.out) {
    throw new Error('usage: generate.ts --frames N --out FILE.pcap [--seed S] [--clients N] [--servers N] [--concurrency N] [--tcp-share X]');
  }
  return o as GenerateOptions;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = performance.now();
    const st = generateCapture({ ...opts, progress: (n) => process.stderr.write(`  ${n.toLocaleString('en')} frames\n`) });
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`${opts.out}: ${JSON.stringify(st)}\n`);
    process.stderr.write(`generated in ${s.toFixed(1)} s (${Math.round(st.frames / s).toLocaleString('en')} frames/s), ` +
      `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`);
  } catch (e) {
    process.stderr.write(`generate: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
