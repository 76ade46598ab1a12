// Reading a capture on a second thread: the capture reader and the network
// layers (link, IP, UDP, TCP reassembly, framing) run in a worker thread and
// hand their events through a shared-memory ring (net/ring.ts, net/wire.ts)
// to this thread, which analyses them. The events are the ones a NetDecoder
// in this thread would have emitted, in the same order, so the analysis and
// everything it reports are exactly the same; the work is split along the
// data path instead of across flows (nothing of the analysis, sessions
// included, is divided). `vvmp stats FILE` on two or more cores.

import { Worker } from 'node:worker_threads';
import { CaptureError } from '../capture/errors.js';
import type { CaptureResult } from '../capture/file.js';
import type { NetOptionsInput } from './decoder.js';
import type { NetWorkerData } from './netWorker.js';
import { RingReader, newRing } from './ring.js';
import { ENDPOINT_SLOTS, WireReader, type WireSink } from './wire.js';

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './netWorker.mjs' : './netWorker.js', import.meta.url);

/**
 * Slots of the ring and their size: 4 MiB in flight, and room in a slot for
 * the largest frame (64 KiB payload limit by default; a larger --max-payload
 * gets larger slots).
 */
const SLOTS = 4;
const MIN_SLOT = 1 << 20;

export interface ThreadedOptions {
  /**
   * Read as readCaptureInput does (gzip-compressed files, `maxPackets`)
   * instead of readCaptureFile. Not standard input: the worker has none.
   */
  input?: { maxPackets?: number };
  // Sizes (tests make them small, to wrap the ring and recycle endpoint entries often).
  slots?: number;
  slotSize?: number;
  endpointSlots?: number;
}

export interface ThreadedRead {
  result: CaptureResult;
  /** The network layers' NetCounters.undecoded. */
  undecoded: Map<string, number>;
}

/**
 * Reads `file` as readCaptureFile would (readCaptureInput with
 * `opts.input`), feeding `sink` what a NetDecoder with `net` options gives
 * (packets, frames, segment findings) on this thread. A capture that cannot
 * be read throws the same CaptureError.
 */
export async function readCaptureThreaded(file: string, net: NetOptionsInput, sink: WireSink, tuning: ThreadedOptions = {}): Promise<ThreadedRead> {
  const maxPayload = net.maxPayload ?? 65536;
  // A slot holds the largest frame with room to spare.
  const slotSize = Math.max(tuning.slotSize ?? MIN_SLOT, 2 * (maxPayload + 4096));
  const ring = newRing(tuning.slots ?? SLOTS, slotSize);
  const workerData: NetWorkerData = {
    file, net: { ...net, ports: net.ports ? [...net.ports] : undefined }, ring, endpointSlots: tuning.endpointSlots ?? ENDPOINT_SLOTS,
    input: tuning.input ?? null,
  };
  // A small young generation: the reading thread waits on the analysis anyway, and its memory adds to the process's.
  const worker = new Worker(WORKER, { workerData, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  let stopped: string | null = null;
  const exited = new Promise<void>((resolve) => {
    worker.once('error', (e) => {
      stopped = e.message.split('\n')[0]!;
      resolve();
    });
    worker.once('exit', (code) => {
      stopped ??= `exited with code ${code}`;
      resolve();
    });
  });
  const reader = new RingReader(ring);
  const wire = new WireReader(reader, sink);
  try {
    for (;;) {
      const s = reader.next();
      if (s !== null) {
        wire.slot(s[0], s[1]);
        reader.release();
        continue;
      }
      if (reader.finished) break;
      if (stopped !== null) throw new Error(`the capture reading thread stopped: ${stopped}`);
      await Promise.race([reader.wait(), exited]);
    }
  } catch (e) {
    void worker.terminate();
    throw e;
  }
  if (wire.failed) {
    const f = wire.failed;
    throw f.capture ? new CaptureError(f.capture.path, f.capture.reason) : new Error(f.message);
  }
  if (!wire.ended) throw new Error('the capture reading thread ended without a result');
  return { result: wire.ended.result as CaptureResult, undecoded: new Map(wire.ended.undecoded) };
}
