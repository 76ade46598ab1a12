// The step runner and request builders the named scenarios share: each step
// is one request with the status it must get (ScenarioStep), checks are
// steps without a request, and a scenario's result is its steps plus the
// lines printed as they complete.

import type { DecodedFrame } from '../protocol/decode.js';
import type { FrameSpec } from '../protocol/encode.js';
import {
  ALLOC_BLOCK, DEFAULT_PORT, DEVICE_RECORD, FREE_BLOCK, INIT_BLOCK, OP_ALLOCATE, SESSION_REF, STATS_BLOCK, opcodeDef, statusName,
} from '../protocol/fields.js';
import { recordAs, recordsAs, type DeviceRecord } from '../protocol/access.js';
import { describePayload } from './client.js';
import { VvmpConnection, parseHostPort, type TransportKind } from './transport.js';

export interface ScenarioStep {
  step: string;
  op: string;
  /** Expected status name(s), `|`-separated. */
  expect: string;
  /** Received status name, or `ERROR` for a transport failure. */
  status: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface ScenarioResult {
  scenario: string;
  /** The target the client talked to (`host:port`), or the in-process servers. */
  target: string;
  ok: boolean;
  steps: ScenarioStep[];
  /** Print-friendly lines (one per step, then a summary). */
  lines: string[];
  /** Servers the scenario started (`SAN n host:port`). */
  servers: string[];
  metrics?: LoadResult;
}

/** What the load scenario measured (loadTest.ts). */
export interface LoadResult {
  clients: number;
  pipeline: number;
  op: 'stats' | 'query';
  durationS: number;
  requests: number;
  /** Replies whose status was not OK, plus requests left unanswered. */
  errors: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

export interface ScenarioOptions {
  /** `host:port` of the server under test (lifecycle, contention, errors, load). */
  target?: string;
  transport?: TransportKind;
  /** Client id of the first client (others count up from it). */
  clientId?: bigint;
  /** Ports for servers the scenario starts (multi-san: three; errors: aux, silent peer). 0 = any. */
  ports?: number[];
  /**
   * Loopback addresses for those servers (default 127.0.0.1 each). Distinct
   * addresses let every server use port 7369, so a capture decodes without --port.
   */
  hosts?: string[];
  /** Log lines of in-process servers. */
  serverLog?: (line: string) => void;
  /** Each step's line as it completes. */
  onLine?: (line: string) => void;
}

// ---- step runner -------------------------------------------------------------------------

export class Run {
  readonly steps: ScenarioStep[] = [];
  readonly lines: string[] = [];
  readonly servers: string[] = [];
  private readonly cleanups: Array<() => Promise<unknown>> = [];

  constructor(readonly scenario: string, readonly opts: ScenarioOptions) {}

  line(s: string): void {
    this.lines.push(s);
    this.opts.onLine?.(s);
  }

  onCleanup(fn: () => Promise<unknown>): void {
    this.cleanups.unshift(fn);
  }

  /** Runs a request step; a transport error is recorded as status ERROR. */
  async step(step: string, expect: string, fn: () => Promise<DecodedFrame>, detail?: (f: DecodedFrame) => string): Promise<DecodedFrame | null> {
    const t0 = performance.now();
    let f: DecodedFrame | null = null;
    let status: string;
    let info = '';
    let op = '';
    try {
      f = await fn();
      status = statusName(f.header.sub_opcode ?? 0);
      op = opcodeDef((f.header.opcode ?? 0) & 0x7fff)?.name ?? `0x${((f.header.opcode ?? 0) & 0x7fff).toString(16).padStart(4, '0')}`;
      info = detail ? detail(f) : describePayload(f)[0] ?? '';
    } catch (e) {
      status = 'ERROR';
      info = (e as Error).message;
    }
    this.record({ step, op, expect, status, ok: expect.split("|").includes(status), ms: performance.now() - t0, detail: info });
    return f;
  }

  /** Records a check that is not a request. */
  check(step: string, ok: boolean, detail: string): boolean {
    this.record({ step, op: '-', expect: 'true', status: ok ? 'true' : 'false', ok, ms: 0, detail });
    return ok;
  }

  private record(s: ScenarioStep): boolean {
    this.steps.push(s);
    const mark = s.ok ? ' ok ' : 'FAIL';
    this.line(`${mark} ${s.step.padEnd(42)} ${s.op.padEnd(10)} expect ${s.expect.padEnd(15)} got ${s.status.padEnd(15)} `
      + `${s.ms.toFixed(2).padStart(8)} ms  ${s.detail}`);
    return s.ok;
  }

  async finish(target: string, metrics?: LoadResult): Promise<ScenarioResult> {
    for (const c of this.cleanups) await c().catch(() => undefined);
    const ok = this.steps.every((s) => s.ok);
    const failed = this.steps.filter((s) => !s.ok).length;
    this.line(`${this.scenario}: ${ok ? 'PASS' : 'FAIL'} — ${this.steps.length - failed}/${this.steps.length} steps as expected`);
    return { scenario: this.scenario, target, ok, steps: this.steps, lines: this.lines, servers: this.servers, metrics };
  }
}

// ---- helpers -------------------------------------------------------------------------------

export function hp(target: string | undefined): { host: string; port: number } {
  return parseHostPort(target ?? `127.0.0.1:${DEFAULT_PORT}`);
}

export async function connect(target: string, transport: TransportKind = 'tcp'): Promise<VvmpConnection> {
  const t = hp(target);
  return VvmpConnection.connect({ host: t.host, port: t.port, transport });
}

export interface Req {
  client: bigint;
  san?: number;
}

export function spec(r: Req, opcode: number, sub: number, payload: FrameSpec['payload'] = null): FrameSpec {
  return { opcode, src_san: r.san ?? 1, dst_san: r.san ?? 1, client_id: r.client, server_id: 0n, sub_opcode: sub, payload };
}

export function allocSpec(r: Req, sub: number, a: { type?: number; access?: number; capacity_kb: number; bandwidth_kb?: number; qos?: number; flags?: number; timeout_ms?: number }): FrameSpec {
  return spec(r, OP_ALLOCATE, sub, {
    storage_type: a.type ?? 0xff, access_type: a.access ?? 0xff, session_id: 0, capacity_kb: a.capacity_kb,
    bandwidth_kb: a.bandwidth_kb ?? 0, qos: a.qos ?? 0, flags: a.flags ?? 0, timeout_ms: a.timeout_ms ?? 0,
  });
}

/** Payload blocks that name a session (all but device records). */
const SESSION_BLOCKS = [ALLOC_BLOCK, INIT_BLOCK, FREE_BLOCK, SESSION_REF, STATS_BLOCK] as const;

/** The session a reply names (0 when it names none). */
export function sessionOf(f: DecodedFrame | null): number {
  if (!f) return 0;
  for (const layout of SESSION_BLOCKS) {
    const p = recordAs(f.payloadBlock, f.payload, layout);
    if (p) return p.session_id;
  }
  return 0;
}

/** The device records of a Query reply (none for anything else). */
export function devicesOf(f: DecodedFrame | null): DeviceRecord[] {
  return f ? recordsAs(f.payloadBlock, f.payload, DEVICE_RECORD) : [];
}

/** Device classes that hold storage: disk, tape, RAID controller (VVMP.md section 6). */
const STORAGE_CLASSES: readonly number[] = [0, 1, 2];
export const holdsStorageClass = (d: DeviceRecord): boolean => STORAGE_CLASSES.includes(d.device_class);
export const holdsStorage = (d: DeviceRecord): boolean => holdsStorageClass(d) && d.free_kb > 0;
/** Storage types RAID0..RAID5 (section 6). */
export const isRaid = (d: DeviceRecord): boolean => d.storage_type >= 1 && d.storage_type <= 5;
export const GiB = 1024 * 1024;
