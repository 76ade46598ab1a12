// The replay engine: sends a plan's requests to a target and checks the replies.
//
// Scheduling. One dispatcher walks the requests in capture order (across all
// sockets, like tcpreplay) and sends request i when
//   1. its dependencies are in (plan.ts: the replies the captured client had
//      seen before sending it; a dependency that times out counts as in);
//   2. its time has come: original pacing puts request i at
//      start + capMs(i) / speed + delay, where `delay` only grows — when a
//      reply we waited for came later than the capture's pacing allows, the
//      request goes `capture gap after that reply` / speed after it and the
//      rest of the schedule shifts by as much (no catch-up burst); --topspeed
//      skips this step;
//   3. its socket has room: at most `window` requests with replies
//      outstanding per socket (default: unlimited on TCP, 32 on UDP, where a
//      burst would overflow socket buffers and lose datagrams), and TCP's
//      write backlog under 4 MiB.
// A request that cannot go yet holds back every later one (capture order is
// kept; since the capture shows every later request after the awaited reply
// too, holding them back never reorders anything the capture shows).
// Requests that are due together are written in one batch per socket.
//
// Replies are matched per socket by (transaction id, client id, opcode). The
// k-th reply to a request is compared with the k-th captured reply
// (compare.ts). A reply that ends the exchange (any status but PENDING) while
// the capture shows more replies makes those missing at once; replies beyond
// what the capture shows, or answering nothing, are extra.
//
// Timeouts: a request's first reply is missing after --timeout ms (default:
// the request's own rule, VVMP.md section 7: Allocate/Modify timeout_ms or
// 5,000 ms). A reply after PENDING cannot be timed from the request (it comes
// when storage frees up, i.e. after the requests that free it): its clock
// starts once the PENDING is in and the last request the capture shows before
// that reply has been sent.
//
// Session ids: an Allocate reply OK teaches the map (captured server, captured
// session id) → the target's session id; later requests naming a session get
// the target's id written into their payload, and replies are compared
// through the map.
//
// --loop N: the plan is replayed N times, one after the other, each time on
// fresh sockets (the session map carries over and is re-learned).


import { performance } from 'node:perf_hooks';
import { ReplayAbort, checkTarget } from './probe.js';
import type { ReplayOptions } from './options.js';
import { ReplayPass, type PassHost } from './pass.js';
import type { PlannedRequest, ReplayPlan } from './plan.js';
import type { ExtraReply, MissingReply, ReplayProgress, ReplayResult } from './result.js';

export type { Difference, ExtraReply, MissingReply, ReplayProgress, ReplayResult } from './result.js';
export { DEFAULT_LINGER_MS, DEFAULT_UDP_WINDOW, type ReplayOptions } from './options.js';
export { ReplayAbort };

/** Detail lists (missing, extra) keep this many entries; counters are exact. */
const LIST_LIMIT = 1000;

export class ReplayEngine implements PassHost {
  private readonly reqs: readonly PlannedRequest[];
  private readonly res: ReplayResult;
  private readonly sessions = new Map<string, number>();
  private t0 = 0;
  private firstSend = -1;
  private lastSend = -1;
  private anyAnswer = false;
  private lastAnswerAt = -Infinity;
  private rechecking: Promise<void> | null = null;
  private stopRequested = false;
  private current: ReplayPass | null = null;

  constructor(readonly plan: ReplayPlan, readonly opts: ReplayOptions) {
    this.reqs = plan.requests;
    this.res = {
      sent: 0, replies: 0, matched: 0, differed: 0, missing: 0, extra: 0, differences: [], missingList: [], extraList: [],
      notSent: 0, warnings: [], elapsedMs: 0, sendMs: 0, loops: 0, tcpConnections: 0, udpSockets: 0, interrupted: false,
    };
  }

  get progress(): ReplayProgress {
    const r = this.res;
    return {
      sent: r.sent, total: this.reqs.length * this.opts.loops, replies: r.replies, differed: r.differed,
      missing: r.missing, extra: r.extra, elapsedMs: this.t0 ? performance.now() - this.t0 : 0,
    };
  }

  /** Stops sending; what is outstanding counts as missing; the result is still produced. */
  interrupt(): void {
    this.stopRequested = true;
    this.res.interrupted = true;
    this.current?.interrupt();
  }

  async run(): Promise<ReplayResult> {
    if (!this.opts.baselineChecked) await checkTarget(this.plan, this.opts);
    this.t0 = performance.now();
    for (let loop = 0; loop < this.opts.loops && !this.stopRequested; loop++) {
      const it = new ReplayPass(this, loop);
      this.current = it;
      await it.run();
      this.res.loops++;
    }
    this.current = null;
    this.res.elapsedMs = performance.now() - this.t0;
    this.res.sendMs = this.firstSend < 0 ? 0 : this.lastSend - this.firstSend;
    return this.res;
  }

  // ---- shared by the iterations --------------------------------------------

  /** @internal */ get result(): ReplayResult {
    return this.res;
  }
  /** @internal */ get requests(): readonly PlannedRequest[] {
    return this.reqs;
  }
  /** @internal */ noteSend(now: number): void {
    if (this.firstSend < 0) this.firstSend = now;
    this.lastSend = now;
  }
  /** @internal */ noteAnswer(now: number): void {
    this.anyAnswer = true;
    this.lastAnswerAt = now;
  }
  /**
   * A request sent at `sentAt` got no reply and the target has sent nothing since: is it still
   * a VVMP server? Resolves when it is; rejects with ReplayAbort when it stopped answering.
   * One check at a time (the others wait for it).
   */
  /** @internal */ get checking(): Promise<void> | null {
    return this.rechecking;
  }
  /** @internal */ recheck(sentAt: number, transport: 'tcp' | 'udp'): Promise<void> | null {
    if (this.lastAnswerAt >= sentAt) return null;
    this.rechecking ??= checkTarget(this.plan, this.opts, [transport],
      `; it stopped answering after ${this.res.replies} repl${this.res.replies === 1 ? 'y' : 'ies'}`)
      .finally(() => { this.rechecking = null; });
    return this.rechecking;
  }
  /** @internal */ get answered(): boolean {
    return this.anyAnswer;
  }
  /** @internal */ sessionFor(server: bigint, sid: number): number | undefined {
    return this.sessions.get(`${server}/${sid}`);
  }
  /** @internal */ learn(server: bigint, sid: number, got: number): void {
    this.sessions.set(`${server}/${sid}`, got);
  }
  /** @internal */ missing(m: MissingReply): void {
    this.res.missing++;
    if (this.res.missingList.length < LIST_LIMIT) this.res.missingList.push(m);
  }
  /** @internal */ extra(x: ExtraReply): void {
    this.res.extra++;
    if (this.res.extraList.length < LIST_LIMIT) this.res.extraList.push(x);
  }
}
