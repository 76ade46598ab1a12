// What `stats` reports about exchanges: requests, answered, timed out,
// response times by opcode (exact), by client and by server (bounded
// histograms), error replies by status and by server. The Analyzer feeds it
// (under a display filter, only the exchanges whose request matches, and
// the error replies that match); merge.ts adds several files' data up.

import { LatencyStats, type LatencyData } from './latency.js';
import { CountTable, RtTable, type RtData } from './rtHistogram.js';

/** Plain data of TransactionStats (crosses postMessage). */
export interface TransactionData {
  requests: number;
  answered: number;
  timedOut: number;
  latency: [number, LatencyData][];
  byClient: { rows: [bigint, RtData][]; other: RtData };
  byServer: { rows: [bigint, RtData][]; other: RtData };
  errorsByStatus: [string, number][];
  errorsByStatusOther: number;
  errorsByServer: [bigint, number][];
  errorsByServerOther: number;
}

export class TransactionStats {
  requests = 0;
  answered = 0;
  timedOut = 0;
  /** Request → first reply, by request opcode, exact. */
  readonly latency = new LatencyStats();
  /** The same samples by client_id and by the reply's server_id. */
  readonly byClient = new RtTable();
  readonly byServer = new RtTable();
  /** Replies whose status is neither OK nor PENDING, by status name and by the reply's server_id. */
  readonly errorsByStatus = new CountTable<string>();
  readonly errorsByServer = new CountTable<bigint>();

  /** A request's first reply came after `us` microseconds. */
  responseTime(opcode: number, client: bigint, server: bigint, us: number): void {
    this.latency.add(opcode, us);
    this.byClient.add(client, us);
    this.byServer.add(server, us);
  }

  errorReply(status: string, server: bigint): void {
    this.errorsByStatus.add(status);
    this.errorsByServer.add(server);
  }

  data(): TransactionData {
    return {
      requests: this.requests, answered: this.answered, timedOut: this.timedOut,
      latency: this.latency.data(), byClient: this.byClient.data(), byServer: this.byServer.data(),
      errorsByStatus: [...this.errorsByStatus.rows], errorsByStatusOther: this.errorsByStatus.other,
      errorsByServer: [...this.errorsByServer.rows], errorsByServerOther: this.errorsByServer.other,
    };
  }

  merge(d: TransactionData): void {
    this.requests += d.requests;
    this.answered += d.answered;
    this.timedOut += d.timedOut;
    for (const [op, l] of d.latency) this.latency.merge(op, l);
    this.byClient.mergeAll(d.byClient);
    this.byServer.mergeAll(d.byServer);
    for (const [s, n] of d.errorsByStatus) this.errorsByStatus.add(s, n);
    this.errorsByStatus.other += d.errorsByStatusOther;
    for (const [s, n] of d.errorsByServer) this.errorsByServer.add(s, n);
    this.errorsByServer.other += d.errorsByServerOther;
  }
}

/** The ArrayBuffers of TransactionData that can be moved to another thread. */
export function transactionTransferables(d: TransactionData): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const [, l] of d.latency) out.push(l.counts.buffer as ArrayBuffer, l.rare.buffer as ArrayBuffer);
  for (const t of [d.byClient, d.byServer]) {
    for (const [, r] of t.rows) out.push(r.counts.buffer as ArrayBuffer);
    out.push(t.other.counts.buffer as ArrayBuffer);
  }
  return out;
}
