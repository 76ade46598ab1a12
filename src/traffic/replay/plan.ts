// Reading a capture into a replay plan: which frames to re-send, on which
// socket, in which order, after which replies, and what the capture says the
// answers were.
//
// What is replayed: every frame with a whole 32-byte header whose reply bit is
// clear (requests, Announces and unknown opcodes alike: everything a client
// side sent), selected by -Y when given, except
//   - frames sent by the server side of a flow (the endpoint that did not send
//     the flow's first such frame): a replay plays the clients; it cannot make
//     the target send requests to us, and a server's frames sent from a
//     stand-in socket would be a conversation the capture does not show;
//   - on TCP, frames cut short (snaplen, end of stream): sending part of a
//     frame would desynchronise the stream for every frame after it.
// A UDP datagram is re-sent whole, as captured (trailing bytes and short or
// cut frames included: the target should answer them as it answered them).
//
// -Y: a request is replayed when the filter matches it or one of its captured
// replies (so `-Y 'vvmp.status == DENIED'` replays the requests that were
// denied).
//
// Sockets ("channels"): one TCP connection per captured TCP connection (flow),
// one UDP socket per captured source endpoint.
//
// Waiting ("dependencies"), two rules (--wait):
//   capture (default)  request R waits for every reply the capture shows
//       before R, on any socket: the order in which the captured server saw
//       requests and answered them is kept (a Free on one connection does not
//       overtake the WAIT Allocate it released on another). Concurrency stays
//       as captured: requests sent before a reply arrived still go without it.
//   flow  R waits only for replies on its own socket that the capture shows
//       before R (the captured client had them when it sent R); requests of
//       one socket sent before a reply arrived are pipelined, other sockets
//       are not waited for.
// In both, R also waits for the Allocate reply that granted the session R
// names (any socket): R's session id is only known once that reply is in.
// Only the replies since the previous planned request need recording: every
// earlier one is waited for through that request (sending is in capture order).

import { Analyzer } from '../../analysis/analyzer.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import type { CompiledFilter } from '../../analysis/filter/index.js';
import type { PipelineOptions } from '../../analysis/pipeline.js';
import { readCaptureFile, type CaptureResult } from '../../capture/file.js';
import { NetDecoder, netOptions } from '../../net/decoder.js';
import { SESSION_ID_FIELDS, recordAs } from '../../protocol/access.js';
import type { DecodedFrame } from '../../protocol/decode.js';
import {
  ALLOC_BLOCK, HEADER_SIZE, OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_STATISTICS, REPLY_BIT, STATUS_OK,
} from '../../protocol/fields.js';
import { defaultTimeoutFor } from '../transport.js';

export interface ExpectedReply {
  /** Captured frame number of the reply. */
  frame: number;
  decoded: DecodedFrame;
  /** Capture time, ms after the plan's first request. */
  capMs: number;
  /** Index of the last planned request sent before this reply in the capture (−1: none). */
  afterIndex: number;
}

/** Request `req` (plan index) must have its reply number `reply` (0-based) before the dependent request goes. */
export interface Dependency {
  req: number;
  reply: number;
}

export interface SessionRef {
  /** Captured server the session lives on (request server_id, else its captured reply's). */
  server: bigint;
  sid: number;
  /** Byte offset of the payload's session_id (u16) in the frame. */
  offset: number;
}

export interface PlannedRequest {
  index: number;
  /** Captured frame number. */
  frame: number;
  /** Capture time, ms after the first planned request. */
  capMs: number;
  channel: number;
  /** Bytes to send as captured (UDP: the whole datagram). */
  bytes: Buffer;
  /** Bytes of the frame proper in `bytes` (the rest: UDP trailing bytes). */
  frameLen: number;
  decoded: DecodedFrame;
  opcode: number;
  name: string;
  txid: number;
  clientId: bigint;
  serverId: bigint;
  /** Replies the capture shows, in order (several after PENDING). */
  expected: ExpectedReply[];
  deps: Dependency[];
  session: SessionRef | null;
  /** The request's own reply timeout (VVMP.md section 7). */
  timeoutMs: number;
}

export interface PlannedChannel {
  index: number;
  transport: 'tcp' | 'udp';
  /** Captured client endpoint (`ip:port`). */
  client: string;
  /** Captured server endpoint of the first request. */
  server: string;
  requests: number;
}

export interface ReplayPlan {
  file: string;
  requests: PlannedRequest[];
  channels: PlannedChannel[];
  /** VVMP frames in the capture. */
  vvmpFrames: number;
  /** Frames with a whole header and the reply bit clear. */
  requestFrames: number;
  skipped: { filtered: number; serverSide: number; incomplete: number };
  capture: CaptureResult;
  wait: WaitRule;
}

export type WaitRule = 'capture' | 'flow';

export interface PlanOptions extends PipelineOptions {
  filter?: CompiledFilter | null;
  /** Which captured replies a request waits for (default `capture`). */
  wait?: WaitRule;
}

const SESSION_OPS: ReadonlySet<number> = new Set([OP_INITIALIZE, OP_MODIFY, OP_FREE, OP_STATISTICS]);

type Ev = { kind: 'req'; f: AnalyzedFrame } | { kind: 'rep'; f: AnalyzedFrame };

/**
 * The session a request names (Initialize/Modify/Free/Statistics), on the
 * server the request addresses, else the one that answered it in the capture,
 * else `fallback` (the server its socket last heard from).
 */
function sessionRef(r: PlannedRequest, fallback: bigint | null): SessionRef | null {
  const d = r.decoded;
  if (!SESSION_OPS.has(r.opcode & ~REPLY_BIT) || !d.payloadBlock) return null;
  const s = SESSION_ID_FIELDS.get(d.payloadBlock);
  if (!s) return null;
  // A payload block is set only when the whole payload is present.
  const sid = s.get(d.bytes, HEADER_SIZE);
  const server = r.serverId !== 0n ? r.serverId : (r.expected[0]?.decoded.header.server_id ?? fallback ?? 0n);
  return { server, sid, offset: HEADER_SIZE + s.field.offset };
}

function msBetween(a: AnalyzedFrame, b: AnalyzedFrame): number {
  return (b.tsSec - a.tsSec) * 1000 + (b.tsNsec - a.tsNsec) / 1e6;
}

/** Reads the capture (CaptureError when it cannot be read at all) and builds the plan. */
export function loadReplayPlan(file: string, opts: PlanOptions = {}): ReplayPlan {
  const events: Ev[] = [];
  const raw = new Map<number, Buffer>();
  const selected = new Set<number>();
  const filter = opts.filter ?? null;
  const analyzer = new Analyzer({
    settled: (f) => {
      const d = f.decoded;
      if (d.bytes.length < HEADER_SIZE || d.reply === null) return;
      if (!d.reply) {
        const r = raw.get(f.number);
        if (r) d.bytes = r.subarray(0, d.bytes.length);
        events.push({ kind: 'req', f });
        if (!filter || filter.test(f)) selected.add(f.number);
      } else {
        d.bytes = Buffer.from(d.bytes);
        if (f.peer === null) return;
        events.push({ kind: 'rep', f });
        if (filter && filter.test(f)) selected.add(f.peer);
      }
    },
  });
  const decoder = new NetDecoder(netOptions(opts), {
    frame: (e) => {
      const f = analyzer.frame(e);
      if (f.decoded.reply === false && e.data.length >= HEADER_SIZE) raw.set(f.number, Buffer.from(e.data));
    },
    segment: (e) => analyzer.segment(e),
  });
  const capture = readCaptureFile(file, (p) => {
    analyzer.packet(p);
    decoder.packet(p);
  });
  decoder.end();
  analyzer.end();
  return buildPlan(file, events, selected, raw, analyzer.vvmpFrames, capture, opts.wait ?? 'capture');
}

function buildPlan(
  file: string, events: Ev[], selected: Set<number>, raw: Map<number, Buffer>, vvmpFrames: number, capture: CaptureResult,
  wait: WaitRule,
): ReplayPlan {
  const skipped = { filtered: 0, serverSide: 0, incomplete: 0 };
  const requests: PlannedRequest[] = [];
  const byFrame = new Map<number, PlannedRequest>();
  const channels: PlannedChannel[] = [];
  const channelByKey = new Map<string, PlannedChannel>();
  /** Flow → its client endpoint (sender of the flow's first request, selected or not). */
  const flowClient = new Map<string, string>();
  let requestFrames = 0;
  let first: AnalyzedFrame | null = null;

  // Pass 1: the requests to replay, their channels.
  for (const ev of events) {
    if (ev.kind !== 'req') continue;
    const f = ev.f;
    requestFrames++;
    if (!flowClient.has(f.flowKey)) flowClient.set(f.flowKey, f.srcText);
    if (!selected.has(f.number)) {
      skipped.filtered++;
      continue;
    }
    const d = f.decoded;
    if (flowClient.get(f.flowKey) !== f.srcText) {
      skipped.serverSide++;
      continue;
    }
    if (f.transport === 'tcp' && !d.complete) {
      skipped.incomplete++;
      continue;
    }
    const key = f.transport === 'tcp' ? f.flowKey : `udp ${f.srcText}`;
    let ch = channelByKey.get(key);
    if (!ch) {
      ch = { index: channels.length, transport: f.transport, client: f.srcText, server: f.dstText, requests: 0 };
      channels.push(ch);
      channelByKey.set(key, ch);
    }
    ch.requests++;
    if (first === null) first = f;
    const h = d.header;
    const bytes = raw.get(f.number) ?? Buffer.from(d.bytes);
    // Only Allocate and Modify take their timeout from the payload (the Allocate block).
    const alloc = recordAs(d.payloadBlock, d.payload, ALLOC_BLOCK);
    const req: PlannedRequest = {
      index: requests.length,
      frame: f.number,
      capMs: msBetween(first, f),
      channel: ch.index,
      bytes,
      frameLen: d.bytes.length,
      decoded: d,
      opcode: h.opcode!,
      name: d.name ?? 'Unknown',
      txid: h.transaction_id!,
      clientId: h.client_id!,
      serverId: h.server_id!,
      expected: [],
      deps: [],
      session: null,
      timeoutMs: defaultTimeoutFor({ opcode: h.opcode!, payload: alloc }),
    };
    requests.push(req);
    byFrame.set(f.number, req);
  }

  // Pass 2: expected replies (with capture times relative to the first request).
  for (const ev of events) {
    if (ev.kind !== 'rep') continue;
    const q = byFrame.get(ev.f.peer!);
    if (!q) continue;
    q.expected.push({ frame: ev.f.number, decoded: ev.f.decoded, capMs: first ? msBetween(first, ev.f) : 0, afterIndex: -1 });
  }

  // Pass 3: dependencies, in capture order.
  // channel (or −1 for all, `capture` rule) → (request index → highest reply index seen since)
  const seen = new Map<number, Map<number, number>>();
  const seenKey = (channel: number) => (wait === 'capture' ? -1 : channel);
  const grants = new Map<string, Dependency>();
  const replyCount = new Map<number, number>(); // plan index → replies passed so far
  // Server of the latest captured reply, per socket and overall: the server of
  // a session named by a request with server_id 0 whose reply the capture lacks.
  const lastServer = new Map<number, bigint>();
  let anyServer: bigint | null = null;
  let lastReq = -1;
  for (const ev of events) {
    if (ev.kind === 'req') {
      const r = byFrame.get(ev.f.number);
      if (!r) continue;
      lastReq = r.index;
      r.session = sessionRef(r, lastServer.get(r.channel) ?? anyServer);
      const s = seen.get(seenKey(r.channel));
      if (s) {
        for (const [req, reply] of s) r.deps.push({ req, reply });
        s.clear();
      }
      if (r.session) {
        const g = grants.get(`${r.session.server}/${r.session.sid}`);
        if (g && !r.deps.some((x) => x.req === g.req && x.reply >= g.reply)) r.deps.push(g);
      }
      continue;
    }
    const q = byFrame.get(ev.f.peer!);
    if (!q) continue;
    const i = replyCount.get(q.index) ?? 0;
    replyCount.set(q.index, i + 1);
    q.expected[i]!.afterIndex = lastReq;
    let s = seen.get(seenKey(q.channel));
    if (!s) seen.set(seenKey(q.channel), (s = new Map()));
    s.set(q.index, i);
    const h = ev.f.decoded.header;
    lastServer.set(q.channel, h.server_id!);
    anyServer = h.server_id!;
    const p = recordAs(ev.f.decoded.payloadBlock, ev.f.decoded.payload, ALLOC_BLOCK);
    if ((q.opcode & ~REPLY_BIT) === OP_ALLOCATE && h.sub_opcode === STATUS_OK && p && p.session_id !== 0) {
      grants.set(`${h.server_id}/${p.session_id}`, { req: q.index, reply: i });
    }
  }

  return { file, requests, channels, vvmpFrames, requestFrames, skipped, capture, wait };
}
