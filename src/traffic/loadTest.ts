// The load generator (`vvmp client scenario load`): N TCP clients in
// request/response loops (or pipelined), requests per second and latency
// percentiles from a fixed-bucket histogram.

import net from 'node:net';
import { fixChecksum } from '../protocol/checksum.js';
import { encodeFrame } from '../protocol/encode.js';
import { Header } from '../protocol/access.js';
import { OP_FREE, OP_QUERY, OP_STATISTICS, STATUS_OK } from '../protocol/fields.js';
import { StreamFramer } from '../net/streamFramer.js';
import { allocSpec, hp, sessionOf, spec, type LoadResult, type Req, type ScenarioOptions } from './scenarioSteps.js';

export type { LoadResult } from './scenarioSteps.js';
import { VvmpConnection } from './transport.js';

export interface LoadOptions extends ScenarioOptions {
  clients: number;
  durationS: number;
  /** Requests each client keeps outstanding (default 1: request/response loops). */
  pipeline?: number;
  /** Statistics on a session of its own (default), or Query 0x01. */
  op?: 'stats' | 'query';
}


// ---- load ---------------------------------------------------------------------------------------

/** Request/response loops from N TCP clients; requests per second and latency percentiles. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { host, port } = hp(opts.target);
  const clients = Math.max(1, Math.floor(opts.clients));
  const depth = Math.max(1, Math.floor(opts.pipeline ?? 1));
  const op = opts.op ?? 'stats';
  const base = opts.clientId ?? 0x1000n;
  // Latency histogram: 10 µs buckets up to 1 s, then one overflow bucket.
  const BUCKET_US = 10;
  const hist = new Uint32Array(100_001);
  let maxMs = 0;
  let sumMs = 0;
  let requests = 0;
  let errors = 0;
  let running = true;

  const workers = Array.from({ length: clients }, async (_, i) => {
    const client = base + BigInt(i);
    const r: Req = { client };
    // Setup through the regular client: a session of our own for Statistics.
    let session = 0;
    const setup = await VvmpConnection.connect({ host, port });
    if (op === 'stats') {
      const a = await setup.request(allocSpec(r, 0x01, { capacity_kb: 1024 })).catch(() => null);
      session = a?.header.sub_opcode === 0 ? sessionOf(a) : 0;
    }
    const templates = Array.from({ length: depth }, () => encodeFrame(session
      ? spec(r, OP_STATISTICS, 0, { session_id: session, reserved: 0 })
      : spec(r, OP_QUERY, 0x01)));
    const sentAt = new Float64Array(depth);
    let txid = 0;
    let inflight = 0;
    const sock = net.connect({ host, port, noDelay: true });
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    let resolveDone!: () => void;
    const done = new Promise<void>((res) => (resolveDone = res));
    const fire = (slot: number) => {
      txid += 1;
      const t = (txid * depth + slot) >>> 0;
      const frame = templates[slot]!;
      Header.set.transaction_id(frame, 0, t);
      fixChecksum(frame);
      sentAt[slot] = performance.now();
      inflight++;
      sock.write(frame);
    };
    const reader = new StreamFramer({
      onFrame: (bytes) => {
        const now = performance.now();
        const t = Header.get.transaction_id(bytes, 0);
        const slot = t % depth;
        const ms = now - sentAt[slot]!;
        inflight--;
        requests++;
        if (Header.get.sub_opcode(bytes, 0) !== STATUS_OK) errors++;
        sumMs += ms;
        if (ms > maxMs) maxMs = ms;
        const b = Math.floor((ms * 1000) / BUCKET_US);
        hist[b < 100_000 ? b : 100_000]!++;
        if (running) fire(slot);
        else if (inflight === 0) resolveDone();
      },
    });
    sock.on('data', (chunk: Buffer) => {
      sock.cork();
      reader.push(chunk);
      sock.uncork();
    });
    sock.on('error', () => resolveDone());
    sock.on('close', () => resolveDone());
    return {
      start: () => {
        for (let s = 0; s < depth; s++) fire(s);
      },
      stop: async () => {
        if (inflight > 0) await Promise.race([done, new Promise((res) => setTimeout(res, 2000))]);
        errors += inflight;
        sock.destroy();
        if (session) await setup.request(spec(r, OP_FREE, 0, { session_id: session, reserved: 0, release_kb: 0 })).catch(() => null);
        await setup.close();
      },
    };
  });
  const ready = await Promise.all(workers);
  const t0 = performance.now();
  for (const w of ready) w.start();
  await new Promise((res) => setTimeout(res, opts.durationS * 1000));
  running = false;
  const elapsed = (performance.now() - t0) / 1000;
  const counted = requests;
  await Promise.all(ready.map((w) => w.stop()));

  const pct = (p: number): number => {
    const want = Math.ceil(requests * p);
    let acc = 0;
    for (let b = 0; b < hist.length; b++) {
      acc += hist[b]!;
      if (acc >= want) return ((b + 1) * BUCKET_US) / 1000;
    }
    return maxMs;
  };
  return {
    clients, pipeline: depth, op, durationS: Math.round(elapsed * 1000) / 1000, requests, errors,
    rps: Math.round(counted / elapsed), p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: Math.round(maxMs * 1000) / 1000,
    mean_ms: requests ? Math.round((sumMs / requests) * 1000) / 1000 : 0,
  };
}

