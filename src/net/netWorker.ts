// The second thread of `vvmp stats FILE` (net/threaded.ts): reads the capture
// and runs the network layers, writing their events into the shared ring
// for the analysing thread. Started through netWorker.mjs under tsx.

import { workerData } from 'node:worker_threads';
import { readCaptureFile, readCaptureInput } from '../capture/file.js';
import { CaptureError } from '../capture/errors.js';
import { NetDecoder, netOptions, type NetOptionsInput } from './decoder.js';
import { RingWriter, type RingBuffers } from './ring.js';
import { WireWriter } from './wire.js';

export interface NetWorkerData {
  file: string;
  net: NetOptionsInput;
  ring: RingBuffers;
  /** WireWriter's endpoint table size (the reader needs none: it mirrors the records). */
  endpointSlots: number;
  /** Read as readCaptureInput does (gzip, a packet limit) instead of readCaptureFile. */
  input: { maxPackets?: number } | null;
}

const data = workerData as NetWorkerData | null;
if (data) {
  const ring = new RingWriter(data.ring);
  const wire = new WireWriter(ring, data.endpointSlots);
  try {
    const net = new NetDecoder(netOptions(data.net), wire);
    const onPacket = (p: Parameters<typeof net.packet>[0]): void => {
      wire.packet(p);
      net.packet(p);
    };
    const result = data.input ? await readCaptureInput(data.file, onPacket, data.input) : readCaptureFile(data.file, onPacket);
    net.end();
    wire.end({ result, undecoded: [...net.counters.undecoded] });
  } catch (e) {
    const err = e as Error;
    wire.error({
      message: err?.message ?? String(e),
      capture: e instanceof CaptureError ? { path: e.path, reason: e.reason } : null,
    });
  } finally {
    ring.close();
  }
}
