// What a replay produces: counts, the differences, missing and extra replies (OUTPUT.md's
// replay object is made from this by report.ts), and the progress line's numbers.

import type { FieldDifference } from './compare.js';

export interface Difference extends FieldDifference {
  /** Captured request's frame number. */
  frame: number;
}

export interface MissingReply {
  frame: number;
  name: string;
  txid: number;
  /** 1-based number of the reply among the request's captured replies. */
  reply: number;
  expectedStatus: string;
  reason: string;
}

export interface ExtraReply {
  name: string;
  txid: number | null;
  status: string | null;
  /** Captured client endpoint of the socket it came on. */
  socket: string;
  /** The captured request it answers, when it answers one that already had all its replies. */
  frame: number | null;
}

export interface ReplayResult {
  sent: number;
  replies: number;
  matched: number;
  /** Replies with at least one difference. */
  differed: number;
  missing: number;
  extra: number;
  differences: Difference[];
  missingList: MissingReply[];
  extraList: ExtraReply[];
  /** Requests not sent because their socket had failed. */
  notSent: number;
  warnings: string[];
  /** Wall time of the whole replay, ms. */
  elapsedMs: number;
  /** First send to last send, ms. */
  sendMs: number;
  loops: number;
  tcpConnections: number;
  udpSockets: number;
  /** Stopped early (interrupt()). */
  interrupted: boolean;
}

export interface ReplayProgress {
  sent: number;
  total: number;
  replies: number;
  differed: number;
  missing: number;
  extra: number;
  elapsedMs: number;
}
