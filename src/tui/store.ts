// The terminal UI's frame store: every VVMP frame of a capture (or the newest
// N of a live capture) in a few typed arrays plus a byte arena, so that a
// capture of millions of frames fits in memory and any frame can be rebuilt
// on demand. It knows nothing of blessed.
//
// Per frame (index `seq` = frame number − 1, slot = seq mod capacity):
//   packet, time (sec, nsec, digits), flow row (the analysis' flow table) +
//   direction, opcode, sub-opcode, row flags, worst severity, peer frame,
//   latency, session (interned), and where
//   its bytes sit in the arena (chunk, offset, length).
// Rare data lives in a sparse Map: exchange-level findings (timeout,
// reply_unmatched, txid_duplicate, …) that the decoder cannot recompute.
// `get(seq)` re-decodes the bytes with the field table and puts the stored
// context back, giving the same AnalyzedFrame the analyzer produced; the few
// frames on screen are cached. `probe(seq)` is the same frame read in place
// (probeFrame.ts): what the filter pass tests a million frames with.
//
// Frames arrive through the analysis pipeline (`store.packet(p)`), whatever
// the source: a file read in slices, a live capture. Counts, flows and
// sessions cover every frame; in ring mode (live) only the newest `ring`
// frames keep their bytes and columns.

import type { Packet } from '../capture/packet.js';
import type { AnalyzedFrame } from '../analysis/frame.js';
import { Pipeline, type PipelineOptions } from '../analysis/pipeline.js';
import { Summary } from '../analysis/summary.js';
import type { SessionRecord } from '../analysis/sessions.js';
import type { SegmentEvent } from '../net/types.js';
import { EXPERT_CODES, expertCodesWhere, severityRank, type ExpertCode, type Finding, type Severity } from '../protocol/expert.js';
import { FlowEntry } from './flowEntry.js';
import { ProbeFrame } from './probeFrame.js';
import { SeqList } from './seqlist.js';

export { FlowEntry } from './flowEntry.js';

/** Findings the decoder produces from a frame's bytes alone; everything else is kept beside the frame. */
const DECODE_CODES: ReadonlySet<ExpertCode> = expertCodesWhere((d) => d.scope === 'frame');

/** Bits of the per-frame `rowFlags` column. */
const FROM_B = 1; // sent by the flow's b endpoint
const HAS_OPCODE = 2;
const HAS_SUB_OPCODE = 4;
const IS_REPLY = 8;

export const DEFAULT_RING = 100_000;
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const CACHE_SIZE = 256;

export interface ExpertGroup {
  code: ExpertCode;
  severity: Severity;
  /** Findings of this code (segment findings included), as the analysis counts them. */
  count: number;
  /** Retained frames carrying it, in order. */
  frames: SeqList;
}

export interface StoreOptions {
  /** Keep only the newest N frames (live); default: all. */
  ring?: number;
  /** Live ring: also drop the oldest frames when their bytes exceed this (default 1 GiB). */
  maxArenaBytes?: number;
  /** Packets come from a live capture (no file to read them back from). */
  live?: boolean;
  /** Arena chunk size (tests use small ones). */
  chunkSize?: number;
  pipeline?: PipelineOptions;
}

interface Chunk {
  no: number;
  buf: Buffer;
  used: number;
  /** First frame whose bytes are in this chunk. */
  firstSeq: number;
}

export type ChangeListener = (seq: number) => void;

export class FrameStore {
  readonly pipeline: Pipeline;
  /** Frames ever stored (the next frame's seq). */
  total = 0;
  /** Oldest retained frame (0 unless a ring evicted some). */
  first = 0;
  readonly ring: number;
  private readonly live: boolean;

  readonly flows: FlowEntry[] = [];
  private readonly flowIds = new Map<string, number>();
  /** Widest endpoint text seen (for column widths). */
  endpointWidth = 0;

  /** What `stats` counts (findings by code, flows), fed with every frame: the UI shows these numbers. */
  readonly summary = new Summary();
  private readonly groups = new Map<ExpertCode, ExpertGroup>();

  // ---- columns --------------------------------------------------------------
  private cap = 0;
  private packetNo = new Float64Array(0);
  private tsSec = new Uint32Array(0);
  private tsNsec = new Uint32Array(0);
  private tsDigits = new Uint8Array(0);
  private flow = new Uint32Array(0);
  private rowFlags = new Uint8Array(0);
  private opcodeCol = new Uint16Array(0);
  private subCol = new Uint8Array(0);
  private sev = new Uint8Array(0);
  private peerCol = new Float64Array(0);
  private latency = new Float64Array(0);
  private sessionCol = new Uint32Array(0);
  /** Where the frame's last packet sits in the capture file (record offset, captured length); -1: unknown. */
  private pktOffset = new Float64Array(0);
  private pktLength = new Uint32Array(0);
  private chunkNo = new Uint32Array(0);
  private offset = new Uint32Array(0);
  private length = new Uint32Array(0);

  // ---- arena ----------------------------------------------------------------
  private readonly chunkSize: number;
  private readonly maxArena: number;
  private chunks: Chunk[] = [];
  private nextChunkNo = 0;
  private spare: Buffer | null = null;

  private readonly extras = new Map<number, Finding[]>();
  /** First packet of frames that span packets (TCP segments): rare. */
  private readonly firstPackets = new Map<number, number>();
  private readonly sessionKeys: string[] = [];
  private readonly sessionIds = new Map<string, number>();
  private readonly cache = new Map<number, AnalyzedFrame>();
  private readonly listeners: ChangeListener[] = [];

  constructor(opts: StoreOptions = {}) {
    this.ring = opts.ring && opts.ring > 0 ? Math.floor(opts.ring) : Infinity;
    this.live = opts.live === true;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
    this.maxArena = Number.isFinite(this.ring) ? (opts.maxArenaBytes ?? 1024 * 1024 * 1024) : Infinity;
    this.pipeline = new Pipeline({
      frame: (f) => this.onFrame(f),
      lateFinding: (f, x) => this.onLateFinding(f, x),
      segment: (e) => this.onSegment(e),
    }, { ...opts.pipeline, keepBytes: false });
  }

  /** Feeds one captured packet through the analysis (any source: file slices, live capture). */
  readonly packet = (p: Packet): void => {
    this.current = p;
    this.pipeline.packet(p);
    this.current = null;
  };

  /** The packet being analysed (frames completed by it take its file position). */
  private current: Packet | null = null;

  /** End of input: flushes streams and judges what is still open (timeouts). */
  end(): void {
    this.pipeline.end();
  }

  get packets(): number {
    return this.pipeline.analyzer.packets;
  }

  get timeouts(): number {
    return this.summary.expertCounts.get('timeout') ?? 0;
  }

  /** Findings by severity (all frames and segments), from the analysis' counts by code. */
  get errors(): number {
    return this.bySeverity('error');
  }

  get warnings(): number {
    return this.bySeverity('warning');
  }

  get notes(): number {
    return this.bySeverity('note');
  }

  private bySeverity(sev: Severity): number {
    let n = 0;
    for (const [code, c] of this.summary.expertCounts) if (EXPERT_CODES[code] === sev) n += c;
    return n;
  }

  get sessions(): readonly SessionRecord[] {
    return this.pipeline.analyzer.sessions.all;
  }

  /** Retained frames. */
  get size(): number {
    return this.total - this.first;
  }

  /** Bytes held by the arena (allocated chunks). */
  get arenaBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.buf.length;
    return n;
  }

  onChange(l: ChangeListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  has(seq: number): boolean {
    return seq >= this.first && seq < this.total;
  }

  // ---- cheap per-frame reads (no decoding) -----------------------------------

  /** 0 none, 1 note, 2 warning, 3 error. */
  severity(seq: number): number {
    return this.sev[seq % this.cap]!;
  }

  flowOf(seq: number): FlowEntry {
    return this.flows[this.flow[seq % this.cap]!]!;
  }

  opcode(seq: number): number | null {
    const s = seq % this.cap;
    return this.rowFlags[s]! & HAS_OPCODE ? this.opcodeCol[s]! : null;
  }

  sessionOf(seq: number): string | null {
    const id = this.sessionCol[seq % this.cap]!;
    return id === 0 ? null : this.sessionKeys[id - 1]!;
  }

  packetOf(seq: number): number {
    return this.packetNo[seq % this.cap]!;
  }

  /** Capture packets carrying the frame: [first, last] (more than one for frames spanning TCP segments). */
  packetRange(seq: number): [number, number] {
    const last = this.packetNo[seq % this.cap]!;
    return [this.firstPackets.get(seq) ?? last, last];
  }

  /** Request → reply milliseconds of a matched reply (the analysis' value), else NaN. */
  latencyOf(seq: number): number {
    return this.latency[seq % this.cap]!;
  }

  isReply(seq: number): boolean {
    return (this.rowFlags[seq % this.cap]! & IS_REPLY) !== 0;
  }

  /** Frame number of the frame's peer (a reply's request, a request's first reply), or 0. */
  peerOf(seq: number): number {
    return this.peerCol[seq % this.cap]!;
  }

  secOf(seq: number): number {
    return this.tsSec[seq % this.cap]!;
  }

  nsecOf(seq: number): number {
    return this.tsNsec[seq % this.cap]!;
  }

  stampOf(seq: number): { sec: number; nsec: number; digits: number } {
    const s = seq % this.cap;
    return { sec: this.tsSec[s]!, nsec: this.tsNsec[s]!, digits: this.tsDigits[s]! };
  }

  /** Capture time in seconds (absolute), for time arithmetic over many frames. */
  timeOf(seq: number): number {
    const s = seq % this.cap;
    return this.tsSec[s]! + this.tsNsec[s]! / 1e9;
  }

  /** The file position of the frame's last packet: [record offset, captured length], or null (live). */
  packetRecord(seq: number): [number, number] | null {
    const off = this.pktOffset[seq % this.cap]!;
    return off < 0 ? null : [off, this.pktLength[seq % this.cap]!];
  }


  /** Bytes of the VVMP frame. */
  sizeOf(seq: number): number {
    return this.length[seq % this.cap]!;
  }

  flowIdOf(seq: number): number {
    return this.flow[seq % this.cap]!;
  }

  /** The frame's endpoint that sent it: true when it is the flow's b endpoint. */
  fromB(seq: number): boolean {
    return (this.rowFlags[seq % this.cap]! & FROM_B) !== 0;
  }

  /** Seconds since the capture's first packet. */
  relTime(seq: number): number {
    const s = seq % this.cap;
    return this.relative(this.tsSec[s]!, this.tsNsec[s]!);
  }

  /** Seconds from frame `from` to frame `to` (negative when `to` is earlier). */
  between(from: number, to: number): number {
    const a = from % this.cap;
    const b = to % this.cap;
    return this.tsSec[b]! - this.tsSec[a]! + (this.tsNsec[b]! - this.tsNsec[a]!) / 1e9;
  }

  /** Whole nanoseconds from frame `from` to frame `to` (exact below 2^53 ns, about 104 days). */
  betweenNs(from: number, to: number): number {
    const a = from % this.cap;
    const b = to % this.cap;
    return (this.tsSec[b]! - this.tsSec[a]!) * 1e9 + (this.tsNsec[b]! - this.tsNsec[a]!);
  }

  relative(sec: number, nsec: number): number {
    const base = this.pipeline.analyzer.first;
    if (!base) return 0;
    return sec - base.sec + (nsec - base.nsec) / 1e9;
  }

  bytesOf(seq: number): Buffer {
    const s = seq % this.cap;
    const c = this.chunks[this.chunkNo[s]! - this.chunks[0]!.no]!;
    return c.buf.subarray(this.offset[s]!, this.offset[s]! + this.length[s]!);
  }

  /** Expert groups: errors first (checksum_bad first among them), then warnings, then notes. */
  expertGroups(): ExpertGroup[] {
    const order = Object.keys(EXPERT_CODES) as ExpertCode[];
    for (const g of this.groups.values()) g.count = this.summary.expertCounts.get(g.code) ?? 0;
    return [...this.groups.values()].sort((x, y) =>
      severityRank(y.severity) - severityRank(x.severity) || order.indexOf(x.code) - order.indexOf(y.code));
  }

  group(code: ExpertCode): ExpertGroup | undefined {
    const g = this.groups.get(code);
    if (g) g.count = this.summary.expertCounts.get(code) ?? 0;
    return g;
  }

  // ---- frames on demand --------------------------------------------------------

  /** The frame, rebuilt and cached (for the rows on screen); null when not retained. */
  get(seq: number): AnalyzedFrame | null {
    if (!this.has(seq)) return null;
    let f = this.cache.get(seq);
    if (f) return f;
    f = this.build(seq);
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(seq, f);
    return f;
  }

  /** The frame rebuilt without caching: a plain object, decoded whole. */
  build(seq: number): AnalyzedFrame {
    this.builder.reset(seq);
    return this.builder.toFrame();
  }

  private readonly builder = new ProbeFrame(this);
  private readonly probeFrame = new ProbeFrame(this);

  /**
   * The frame for one test, in place: a reused object over the arena bytes
   * and the columns (see ProbeFrame), valid until the next call. Filters walk frames with it.
   */
  probe(seq: number): AnalyzedFrame {
    this.probeFrame.reset(seq);
    return this.probeFrame;
  }

  /** Exchange-level findings kept beside the frame (the decoder cannot recompute them). */
  extrasOf(seq: number): readonly Finding[] | undefined {
    return this.extras.get(seq);
  }

  get firstStamp(): { sec: number; nsec: number } | null {
    return this.pipeline.analyzer.first ?? null;
  }

  // ---- intake (analyzer hooks) ---------------------------------------------------

  private onFrame(f: AnalyzedFrame): void {
    const seq = f.number - 1;
    if (seq !== this.total) throw new Error(`frame store: frame ${f.number} out of order (expected ${this.total + 1})`);
    const d = f.decoded;
    // The frame as captured: for UDP the trailing bytes follow the decoded view in the same buffer.
    const bytes = d.trailing > 0
      ? Buffer.from(d.bytes.buffer, d.bytes.byteOffset, d.bytes.length + d.trailing)
      : d.bytes;
    if (this.size >= this.ring) this.evict(this.first + 1);
    this.reserve();
    const s = seq % this.cap;
    this.store(seq, s, bytes);

    // The flow's row in the analysis' flow table (what `stats` lists): a new key adds the next row.
    const knownFlows = this.summary.flows.size;
    this.summary.frame(f);
    let fid = this.flowIds.get(f.flowKey);
    if (fid === undefined) {
      fid = this.summary.flows.size - 1;
      if (this.summary.flows.size !== knownFlows + 1 || fid !== this.flows.length) {
        throw new Error(`frame store: flow ${f.flowKey} is not the analysis' next flow row`);
      }
      this.flows.push(new FlowEntry(fid, f.flowKey, f.transport, f.src, f.dst, f.srcText, f.dstText, this.summary.flows));
      this.flowIds.set(f.flowKey, fid);
      this.endpointWidth = Math.max(this.endpointWidth, f.srcText.length, f.dstText.length);
    }
    const flow = this.flows[fid]!;
    const ba = f.srcText !== flow.aText;

    const h = d.header;
    let flags = ba ? FROM_B : 0;
    if (h.opcode !== null) flags |= HAS_OPCODE;
    if (h.sub_opcode !== null) flags |= HAS_SUB_OPCODE;
    if (d.reply) flags |= IS_REPLY;
    this.packetNo[s] = f.packet;
    if (f.firstPacket !== f.packet) this.firstPackets.set(seq, f.firstPacket);
    this.tsSec[s] = f.tsSec;
    this.tsNsec[s] = f.tsNsec;
    this.tsDigits[s] = f.tsDigits;
    this.flow[s] = fid;
    this.rowFlags[s] = flags;
    this.opcodeCol[s] = h.opcode ?? 0;
    this.subCol[s] = h.sub_opcode ?? 0;
    this.peerCol[s] = f.peer ?? 0;
    this.latency[s] = f.latencyMs ?? NaN;
    this.sessionCol[s] = f.session === null ? 0 : this.intern(f.session);
    const cur = this.current;
    const known = cur !== null && cur.index === f.packet && !this.live;
    this.pktOffset[s] = known ? cur.fileOffset : -1;
    this.pktLength[s] = known ? cur.data.length : 0;

    let worst = 0;
    let extra: Finding[] | undefined;
    for (const x of f.expert) {
      if (!DECODE_CODES.has(x.code)) (extra ??= []).push(x);
      worst = Math.max(worst, severityRank(x.severity));
      this.count(x, seq);
    }
    if (extra) this.extras.set(seq, extra);
    this.sev[s] = worst;
    this.total = seq + 1;

    // A request's first reply completes it: the analyzer set the request's peer (and maybe
    // session) then. After a PENDING, the grant no longer changes the request (as in read).
    if (d.reply && f.peer !== null) {
      const req = f.peer - 1;
      if (this.has(req) && this.peerCol[req % this.cap] === 0) {
        const r = req % this.cap;
        this.peerCol[r] = f.number;
        if (this.sessionCol[r] === 0 && f.session !== null) this.sessionCol[r] = this.sessionCol[s]!;
        this.changed(req);
      }
    }
  }

  private onLateFinding(f: AnalyzedFrame, x: Finding): void {
    const seq = f.number - 1;
    this.summary.lateFinding(f, x);
    this.count(x, seq);
    if (!this.has(seq)) return;
    const s = seq % this.cap;
    const list = this.extras.get(seq);
    if (list) list.push(x);
    else this.extras.set(seq, [x]);
    const rank = severityRank(x.severity);
    if (rank > this.sev[s]!) this.sev[s] = rank;
    this.changed(seq);
  }

  private onSegment(e: SegmentEvent): void {
    this.summary.segment(e);
    this.count({ code: e.code, severity: EXPERT_CODES[e.code], message: e.message }, -1);
  }

  /** Keeps the frames of each finding code (the Expert view's lists); the counts are the summary's. */
  private count(x: Finding, seq: number): void {
    let g = this.groups.get(x.code);
    if (!g) this.groups.set(x.code, (g = { code: x.code, severity: x.severity, count: 0, frames: new SeqList(16) }));
    if (seq >= this.first) g.frames.add(seq); // -1: a segment finding, counted only
  }

  private changed(seq: number): void {
    this.cache.delete(seq);
    for (const l of this.listeners) l(seq);
  }

  private intern(key: string): number {
    let id = this.sessionIds.get(key);
    if (id === undefined) {
      this.sessionKeys.push(key);
      id = this.sessionKeys.length;
      this.sessionIds.set(key, id);
    }
    return id;
  }

  // ---- columns and arena -------------------------------------------------------

  /** Makes room for frame `total`: grows the columns until the ring size is reached. */
  private reserve(): void {
    if (this.total < this.cap) return;
    if (this.cap >= this.ring) return; // full ring: slots are reused (the oldest was evicted)
    const n = Math.min(this.ring, Math.max(1024, this.cap * 2));
    const grow = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.packetNo = grow(this.packetNo, (k) => new Float64Array(k));
    this.tsSec = grow(this.tsSec, (k) => new Uint32Array(k));
    this.tsNsec = grow(this.tsNsec, (k) => new Uint32Array(k));
    this.tsDigits = grow(this.tsDigits, (k) => new Uint8Array(k));
    this.flow = grow(this.flow, (k) => new Uint32Array(k));
    this.rowFlags = grow(this.rowFlags, (k) => new Uint8Array(k));
    this.opcodeCol = grow(this.opcodeCol, (k) => new Uint16Array(k));
    this.subCol = grow(this.subCol, (k) => new Uint8Array(k));
    this.sev = grow(this.sev, (k) => new Uint8Array(k));
    this.peerCol = grow(this.peerCol, (k) => new Float64Array(k));
    this.latency = grow(this.latency, (k) => new Float64Array(k));
    this.sessionCol = grow(this.sessionCol, (k) => new Uint32Array(k));
    this.pktOffset = grow(this.pktOffset, (k) => new Float64Array(k));
    this.pktLength = grow(this.pktLength, (k) => new Uint32Array(k));
    this.chunkNo = grow(this.chunkNo, (k) => new Uint32Array(k));
    this.offset = grow(this.offset, (k) => new Uint32Array(k));
    this.length = grow(this.length, (k) => new Uint32Array(k));
    this.cap = n;
  }

  /** Copies a frame's bytes into the arena. */
  private store(seq: number, s: number, bytes: Uint8Array): void {
    const len = bytes.length;
    let c = this.chunks[this.chunks.length - 1];
    if (!c || c.used + len > c.buf.length) {
      const size = Math.max(this.chunkSize, len);
      let buf: Buffer;
      if (this.spare && this.spare.length >= size) {
        buf = this.spare;
        this.spare = null;
      } else buf = Buffer.allocUnsafe(size);
      c = { no: this.nextChunkNo++, buf, used: 0, firstSeq: seq };
      this.chunks.push(c);
      // A bounded arena (live): drop the oldest frames until it fits.
      while (this.chunks.length > 1 && this.arenaBytes > this.maxArena) this.evict(this.chunks[1]!.firstSeq);
    }
    bytes.length && c.buf.set(bytes, c.used);
    this.chunkNo[s] = c.no;
    this.offset[s] = c.used;
    this.length[s] = len;
    c.used += len;
  }

  /** Forgets frames below `seq` (ring mode): their columns, bytes and extras. */
  private evict(seq: number): void {
    const upto = Math.min(seq, this.total);
    for (let i = this.first; i < upto; i++) {
      this.extras.delete(i);
      this.firstPackets.delete(i);
      this.cache.delete(i);
    }
    this.first = upto;
    while (this.chunks.length > 1 && this.chunks[1]!.firstSeq <= this.first) {
      const old = this.chunks.shift()!;
      if (old.buf.length === this.chunkSize) this.spare = old.buf;
    }
    for (const g of this.groups.values()) g.frames.dropBelow(this.first);
  }
}
