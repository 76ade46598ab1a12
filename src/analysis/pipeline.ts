// The one data path: packets → network layers → VVMP frames → analysis.
// Files, pipes and live capture all feed `Pipeline.packet`.

import type { Packet } from '../capture/packet.js';
import { NetDecoder, netOptions } from '../net/decoder.js';
import { readCaptureThreaded, type ThreadedOptions, type ThreadedRead } from '../net/threaded.js';
import { Analyzer, type AnalyzerHooks, type AnalyzerOptions } from './analyzer.js';

export interface PipelineOptions extends AnalyzerOptions {
  /** Ports decoded as VVMP (TCP and UDP); absent: 7369 alone. Empty: none (the heuristic only). */
  ports?: readonly number[];
  heuristic?: boolean;
  maxPayload?: number;
}

export class Pipeline {
  readonly analyzer: Analyzer;
  readonly net: NetDecoder;
  private readonly opts: PipelineOptions;

  constructor(hooks: AnalyzerHooks, opts: PipelineOptions = {}) {
    const analyzer = new Analyzer(hooks, opts);
    this.analyzer = analyzer;
    this.opts = opts;
    this.net = new NetDecoder(netOptions(opts), {
      frame: (e) => void analyzer.frame(e),
      segment: (e) => analyzer.segment(e),
    });
  }

  /** One captured packet: time first (timeouts), then its frames. */
  readonly packet = (p: Packet): void => {
    this.analyzer.packet(p);
    this.net.packet(p);
  };

  /**
   * Every packet of `file` as `packet` would take them, with the capture
   * read and the network layers run on a second thread (net/threaded.ts):
   * the analysis gets the same events in the same order. Call `end` after.
   * The network counters come back in the result (`net.counters` stays
   * empty), and frames carry no packet bytes (`packetData`): not for
   * display filters that read them. `onPacket` sees each packet before the
   * analysis does (its bytes are zeros: only numbers and lengths cross).
   */
  readFileThreaded(file: string, input?: ThreadedOptions['input'], onPacket?: (p: Packet) => void): Promise<ThreadedRead> {
    const a = this.analyzer;
    const { ports, heuristic, maxPayload } = this.opts;
    return readCaptureThreaded(file, { ports, heuristic, maxPayload }, {
      packet: onPacket ? (p) => {
        onPacket(p);
        a.packet(p);
      } : (p) => a.packet(p),
      frame: (e) => void a.frame(e),
      segment: (e) => a.segment(e),
    }, { input });
  }

  /** Live capture: time passes without packets (see Analyzer.tick). */
  tick(sec: number, nsec: number): void {
    this.analyzer.tick(sec, nsec);
  }

  /** End of input: flush the streams, then judge what is still open. */
  end(): void {
    this.net.end();
    this.analyzer.end();
  }
}
