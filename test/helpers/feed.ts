// Feeds the analysis directly with frames at given capture times (no capture file, no IP),
// so each exchange and session rule can be tested on exactly the frames it needs.

import type { Packet } from '../../src/capture/packet.js';
import { Analyzer, type AnalyzerHooks, type AnalyzerOptions } from '../../src/analysis/analyzer.js';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { Summary } from '../../src/analysis/summary.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import type { Endpoint } from '../../src/net/types.js';

export const CLIENT: Endpoint = { ip: '10.0.0.1', port: 40001 };
export const SERVER: Endpoint = { ip: '10.0.0.2', port: 7369 };
export const BASE_SEC = 1700000000;

export interface Step {
  /** Capture time in ms after BASE_SEC (fractions allowed down to 1 ns). */
  at: number;
  /** A frame, or raw bytes; omitted: a non-VVMP packet that only moves time on. */
  frame?: FrameSpec | Buffer;
  /** Sender: the client (default for requests) or the server (default for replies). */
  from?: 'client' | 'server';
}

export interface FeedResult {
  analyzer: Analyzer;
  summary: Summary;
  /** Frames in settled (output) order. */
  frames: AnalyzedFrame[];
}

export function packetAt(index: number, ms: number, data: Buffer = Buffer.alloc(0)): Packet {
  const totalNs = Math.round(ms * 1e6);
  return {
    index, tsSec: BASE_SEC + Math.floor(totalNs / 1e9), tsNsec: totalNs % 1e9, tsDigits: 9,
    linkType: 1, data, origLen: data.length, interfaceId: 0, fileOffset: 0,
  };
}

export function feed(steps: Step[], hooks: AnalyzerHooks = {}, opts: AnalyzerOptions = {}): FeedResult {
  const summary = new Summary();
  const frames: AnalyzedFrame[] = [];
  const analyzer = new Analyzer({
    ...hooks,
    settled: (f) => {
      frames.push(f);
      summary.frame(f);
    },
    segment: (e) => summary.segment(e),
  }, opts);
  steps.forEach((s, i) => {
    const p = packetAt(i + 1, s.at);
    analyzer.packet(p);
    if (!s.frame) return;
    const data = Buffer.isBuffer(s.frame) ? s.frame : encodeFrame(s.frame);
    const isReply = data.length >= 2 && (data[0]! & 0x80) !== 0;
    const fromClient = (s.from ?? (isReply ? 'server' : 'client')) === 'client';
    const [src, dst] = fromClient ? [CLIENT, SERVER] : [SERVER, CLIENT];
    analyzer.frame({
      packet: p, transport: 'udp', src, dst, data,
      flowKey: `udp ${CLIENT.ip}:${CLIENT.port} ${SERVER.ip}:${SERVER.port}`, flow: 0,
    });
  });
  analyzer.end();
  return { analyzer, summary, frames };
}

export const codes = (f: AnalyzedFrame): string[] => f.expert.map((x) => x.code);
