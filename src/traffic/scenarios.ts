// Named traffic scenarios over real loopback sockets (so `tcpdump -i lo` can
// record them): lifecycle, contention, multi-san, errors, load. Each returns
// a structured result (steps with expected and received status) and
// print-friendly lines.
//
// Scenarios that need servers of a known shape start them in-process on
// 127.0.0.1 (port 0 unless `ports` says otherwise):
//   multi-san — three managers, SANs 1, 2, 3, peers of each other. SAN 1 has
//     a small RAID5/FC device, SAN 2 only RAID0/SCSI, SAN 3 a big RAID5/FC
//     device: an Allocate 0xFF for more than SAN 1 holds is forwarded to SAN 2
//     (NO_MATCH), then SAN 3 (granted) and relayed.
//   errors — DENIED, CONFLICT and TIMEOUT need a known configuration: they run
//     against an auxiliary manager (restricted domain; a peer that accepts
//     connections and never answers). The other statuses go to the target;
//     without a target, everything goes to the auxiliary manager.

import net from 'node:net';
import { readUint } from '../protocol/codec.js';
import { isDevicesPayload, type DecodedFrame } from '../protocol/decode.js';
import { encodeFrame, rewriteHeaderField, type FrameSpec } from '../protocol/encode.js';
import type { BlockRecord } from '../protocol/codec.js';
import {
  OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS, opcodeDef, statusName,
} from '../protocol/fields.js';
import { DEFAULT_CLIENT_ID, describePayload, formatKb } from './client.js';
import { defaultServerConfig, type DeviceConfig, type PeerConfig, type ServerConfig } from './config.js';
import { FLAG_EXCLUSIVE, FLAG_WAIT } from './manager.js';
import { startServer, type VvmpServer } from './server.js';
import {
  FrameReader, VvmpConnection, bindUdp, formatHostPort, parseHostPort, type TransportKind,
} from './transport.js';

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

export interface LoadOptions extends ScenarioOptions {
  clients: number;
  durationS: number;
  /** Requests each client keeps outstanding (default 1: request/response loops). */
  pipeline?: number;
  /** Statistics on a session of its own (default), or Query 0x01. */
  op?: 'stats' | 'query';
}

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

// ---- step runner -------------------------------------------------------------------------

class Run {
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

function hp(target: string | undefined): { host: string; port: number } {
  return parseHostPort(target ?? '127.0.0.1:7369');
}

async function connect(target: string, transport: TransportKind = 'tcp'): Promise<VvmpConnection> {
  const t = hp(target);
  return VvmpConnection.connect({ host: t.host, port: t.port, transport });
}

interface Req {
  client: bigint;
  san?: number;
}

function spec(r: Req, opcode: number, sub: number, payload: FrameSpec['payload'] = null): FrameSpec {
  return { opcode, src_san: r.san ?? 1, dst_san: r.san ?? 1, client_id: r.client, server_id: 0n, sub_opcode: sub, payload };
}

function allocSpec(r: Req, sub: number, a: { type?: number; access?: number; capacity_kb: number; bandwidth_kb?: number; qos?: number; flags?: number; timeout_ms?: number }): FrameSpec {
  return spec(r, OP_ALLOCATE, sub, {
    storage_type: a.type ?? 0xff, access_type: a.access ?? 0xff, session_id: 0, capacity_kb: a.capacity_kb,
    bandwidth_kb: a.bandwidth_kb ?? 0, qos: a.qos ?? 0, flags: a.flags ?? 0, timeout_ms: a.timeout_ms ?? 0,
  });
}

function sessionOf(f: DecodedFrame | null): number {
  const p = f?.payload as BlockRecord | null | undefined;
  return p && !isDevicesPayload(p) && typeof p['session_id'] === 'number' ? p['session_id'] : 0;
}

function devicesOf(f: DecodedFrame | null): BlockRecord[] {
  return f?.payload && isDevicesPayload(f.payload) ? f.payload.devices : [];
}

const holdsStorage = (d: BlockRecord) => [0, 1, 2].includes(d['device_class'] as number) && (d['free_kb'] as number) > 0;
const GiB = 1024 * 1024;

// ---- lifecycle ------------------------------------------------------------------------------

/** Query → Allocate (0x02) → Initialize → Modify (grow) → Statistics → Free (shrink) → Free (all) → Statistics. */
export async function lifecycle(opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const run = new Run('lifecycle', opts);
  const target = opts.target ?? '127.0.0.1:7369';
  const r: Req = { client: opts.clientId ?? DEFAULT_CLIENT_ID };
  let c: VvmpConnection;
  try {
    c = await connect(target, opts.transport);
  } catch (e) {
    run.check('connect', false, (e as Error).message);
    return run.finish(target);
  }
  run.onCleanup(() => c.close());
  const q = await run.step('query devices of this SAN', 'OK', () => c.request(spec(r, OP_QUERY, 0x01)),
    (f) => `${devicesOf(f).length} devices`);
  const devs = devicesOf(q).filter(holdsStorage);
  const raid = devs.filter((d) => (d['storage_type'] as number) >= 1 && (d['storage_type'] as number) <= 5);
  const pick = (raid.length ? raid : devs).sort((a, b) => (b['free_kb'] as number) - (a['free_kb'] as number))[0];
  if (!pick) {
    run.check('pick a storage device', false, 'the target reports no device with free storage');
    return run.finish(target);
  }
  const special = devicesOf(q).find((d) => d['device_class'] === 3);
  const cap = Math.max(1, Math.min(GiB, Math.floor((pick['free_kb'] as number) / 4)));
  const bw = Math.min(10 * 1024, Math.floor((pick['bandwidth_kb'] as number) / 8));
  const a = await run.step('allocate (expandable)', 'OK', () => c.request(allocSpec(r, 0x02, {
    type: pick['storage_type'] as number, access: pick['access_type'] as number, capacity_kb: cap, bandwidth_kb: bw, qos: 2,
  })));
  const sid = sessionOf(a);
  if (!sid) return run.finish(target);
  await run.step('initialize RAID parameters', 'OK', () => c.request(spec(r, OP_INITIALIZE, 0, {
    session_id: sid, reserved: 0, stripe_size: 64 * 1024, cache_line_size: 4096, block_size: 4096,
    include_device_id: special ? (special['device_id'] as number) : 0, exclude_device_id: 0,
  })));
  await run.step('modify: grow capacity ×2', 'OK', () => c.request(spec(r, OP_MODIFY, 0, {
    storage_type: 0xff, access_type: 0xff, session_id: sid, capacity_kb: 2 * cap, bandwidth_kb: bw, qos: 2, flags: 0, timeout_ms: 0,
  })));
  await new Promise((res) => setTimeout(res, 30));
  const s1 = await run.step('statistics', 'OK', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: sid, reserved: 0 })));
  await new Promise((res) => setTimeout(res, 30));
  const s2 = await run.step('statistics again (counters move)', 'OK', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: sid, reserved: 0 })));
  const p1 = s1?.payload as BlockRecord | null;
  const p2 = s2?.payload as BlockRecord | null;
  if (p1 && p2) {
    run.check('age and bytes advance', (p2['age_ms'] as number) > (p1['age_ms'] as number) && BigInt(p2['bytes_read']!) > BigInt(p1['bytes_read']!),
      `age ${p1['age_ms']}→${p2['age_ms']} ms, read ${p1['bytes_read']}→${p2['bytes_read']} B`);
  }
  await run.step('free part (shrink)', 'OK', () => c.request(spec(r, OP_FREE, 0, { session_id: sid, reserved: 0, release_kb: cap })));
  await run.step('free all (close)', 'OK', () => c.request(spec(r, OP_FREE, 0, { session_id: sid, reserved: 0, release_kb: 0 })));
  await run.step('statistics of the closed session', 'UNKNOWN_SESSION', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: sid, reserved: 0 })));
  return run.finish(c.target);
}

// ---- contention -------------------------------------------------------------------------------

/**
 * Two clients on one device: exclusive access blocks the other (CONFLICT),
 * WAIT registers (PENDING) and the grant arrives as a second reply after the
 * holder frees; then exclusive is refused while the other shares.
 */
export async function contention(opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const run = new Run('contention', opts);
  const target = opts.target ?? '127.0.0.1:7369';
  const A: Req = { client: opts.clientId ?? DEFAULT_CLIENT_ID };
  const B: Req = { client: A.client + 1n };
  let ca: VvmpConnection;
  let cb: VvmpConnection;
  try {
    ca = await connect(target, opts.transport);
    cb = await connect(target, opts.transport);
  } catch (e) {
    run.check('connect', false, (e as Error).message);
    return run.finish(target);
  }
  run.onCleanup(() => Promise.all([ca.close(), cb.close()]));
  const q = await run.step('query devices', 'OK', () => ca.request(spec(A, OP_QUERY, 0x01)), (f) => `${devicesOf(f).length} devices`);
  // A device whose (storage, access) pair no other device offers: holding it holds the type.
  const devs = devicesOf(q).filter((d) => [0, 1, 2].includes(d['device_class'] as number));
  const key = (d: BlockRecord) => `${d['storage_type']}/${d['access_type']}`;
  const isRaid = (d: BlockRecord) => ((d['storage_type'] as number) >= 1 && (d['storage_type'] as number) <= 5 ? 1 : 0);
  const unique = devs.filter((d) => holdsStorage(d) && devs.filter((e) => key(e) === key(d)).length === 1)
    .sort((a, b) => isRaid(b) - isRaid(a) || (b['free_kb'] as number) - (a['free_kb'] as number))[0];
  if (!unique) {
    run.check('pick a device', false, 'no device with free storage has a storage/access type of its own');
    return run.finish(target);
  }
  const type = unique['storage_type'] as number;
  const access = unique['access_type'] as number;
  const cap = Math.max(1, Math.min(GiB, Math.floor((unique['free_kb'] as number) / 4)));
  run.line(`     using device ${unique['device_id']} (${formatKb(unique['free_kb'] as number)} free), ${formatKb(cap)} per request`);

  const a1 = await run.step('A: allocate EXCLUSIVE', 'OK', () => ca.request(allocSpec(A, 0x01, { type, access, capacity_kb: cap, flags: FLAG_EXCLUSIVE })));
  const sa = sessionOf(a1);
  await run.step('B: allocate shared → held exclusively', 'CONFLICT', () => cb.request(allocSpec(B, 0x01, { type, access, capacity_kb: cap })));
  let final: Promise<DecodedFrame> | null = null;
  await run.step('B: allocate shared with WAIT', 'PENDING', async () => {
    const x = await cb.requestWithPending(allocSpec(B, 0x01, { type, access, capacity_kb: cap, flags: FLAG_WAIT }), { pendingTimeoutMs: 5000 });
    final = x.final;
    if (!x.pending) final.catch(() => undefined);
    return x.first;
  });
  await run.step('A: free the exclusive session', 'OK', () => ca.request(spec(A, OP_FREE, 0, { session_id: sa, reserved: 0, release_kb: 0 })));
  const granted = final ? await run.step('B: second reply (same txid) grants', 'OK', () => final!) : null;
  const sb = sessionOf(granted);
  await run.step('A: allocate EXCLUSIVE while B shares', 'CONFLICT', () => ca.request(allocSpec(A, 0x01, { type, access, capacity_kb: cap, flags: FLAG_EXCLUSIVE })));
  const a2 = await run.step('A: allocate shared beside B', 'OK', () => ca.request(allocSpec(A, 0x01, { type, access, capacity_kb: cap })));
  if (sb) await run.step('B: free', 'OK', () => cb.request(spec(B, OP_FREE, 0, { session_id: sb, reserved: 0, release_kb: 0 })));
  const sa2 = sessionOf(a2);
  if (sa2) await run.step('A: free', 'OK', () => ca.request(spec(A, OP_FREE, 0, { session_id: sa2, reserved: 0, release_kb: 0 })));
  return run.finish(ca.target);
}

// ---- in-process servers --------------------------------------------------------------------

function sanConfig(san: number, devices: Array<Omit<DeviceConfig, 'san_id'>>): ServerConfig {
  const c = defaultServerConfig();
  c.san_id = san;
  c.server_id = 0xa0n + BigInt(san);
  c.devices = devices.map((d) => ({ ...d, san_id: san }));
  return c;
}

const dev = (device_id: number, device_class: number, storage_type: number, access_type: number, capacity_kb: number, bandwidth_kb: number): Omit<DeviceConfig, 'san_id'> => ({
  device_id, device_class, storage_type, access_type, capacity_kb, bandwidth_kb, device_flags: 0x01,
});

/** A listener on TCP and UDP that takes everything and never answers (a dead peer manager). */
export async function startSilentPeer(port = 0, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const tcp = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => undefined);
    s.on('close', () => socks.delete(s));
    s.resume();
  });
  await new Promise<void>((res, rej) => {
    tcp.once('error', rej);
    tcp.listen(port, host, () => res());
  });
  const p = (tcp.address() as net.AddressInfo).port;
  const udp = await bindUdp(p, host).catch(() => null);
  udp?.on('message', () => undefined);
  return {
    port: p,
    async close() {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      if (udp) await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}

// ---- multi-san ------------------------------------------------------------------------------

/** Three SAN managers as peers; a cross-SAN Allocate 0xFF while the local SAN is exhausted. */
/** The three SAN managers of the multi-san scenario (SAN 1 small, SAN 2 RAID0/SCSI, SAN 3 RAID5/FC); peers are set once they listen. */
export function multiSanConfigs(): ServerConfig[] {
  return [
    sanConfig(1, [dev(11, 2, 0x05, 0x02, 4 * GiB, 200 * 1024), dev(12, 3, 0x00, 0x02, 0, 500 * 1024)]),
    sanConfig(2, [dev(21, 2, 0x01, 0x01, 100 * GiB, 300 * 1024)]),
    sanConfig(3, [dev(31, 2, 0x05, 0x02, 100 * GiB, 400 * 1024), dev(32, 1, 0x00, 0x01, 500 * GiB, 40 * 1024)]),
  ];
}

export async function multiSan(opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const run = new Run('multi-san', opts);
  const ports = opts.ports ?? [0, 0, 0];
  const hostOf = (i: number): string => opts.hosts?.[i] ?? '127.0.0.1';
  const cfgs = multiSanConfigs();
  const servers: VvmpServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const log = opts.serverLog;
      servers.push(await startServer({ host: hostOf(i), port: ports[i] ?? 0, config: cfgs[i]!, log: log ? (l) => log(`san=${i + 1} ${l}`) : undefined }));
    }
  } catch (e) {
    for (const s of servers) await s.close();
    run.check('start three SAN managers', false, (e as Error).message);
    return run.finish('-');
  }
  run.onCleanup(() => Promise.all(servers.map((s) => s.close())));
  const peerOf = (i: number): PeerConfig => ({ san_id: i + 1, address: formatHostPort(hostOf(i), servers[i]!.tcpPort), host: hostOf(i), port: servers[i]!.tcpPort });
  servers.forEach((s, i) => s.setPeers([0, 1, 2].filter((j) => j !== i).map(peerOf)));
  // Now that every manager knows its peers: a round of periodic Announces (UDP) between them.
  await Promise.all(servers.map((s) => s.announce(0x01)));
  servers.forEach((s, i) => run.servers.push(`SAN ${i + 1} ${formatHostPort(hostOf(i), s.tcpPort)}`));
  run.line(`     ${run.servers.join(', ')}`);

  const target = formatHostPort(hostOf(0), servers[0]!.tcpPort);
  const r: Req = { client: opts.clientId ?? DEFAULT_CLIENT_ID, san: 1 };
  const c = await connect(target, opts.transport);
  run.onCleanup(() => c.close());
  const q = await run.step('query all SANs (0xFF) at SAN 1', 'OK', () => c.request(spec(r, OP_QUERY, 0xff)), (f) => {
    const sans = [...new Set(devicesOf(f).map((d) => d['san_id']))].sort();
    return `${devicesOf(f).length} devices on SANs ${sans.join(', ')}`;
  });
  run.check('devices of all three SANs listed', new Set(devicesOf(q).map((d) => d['san_id'])).size === 3, `${devicesOf(q).length} devices`);
  const want = { type: 0x05, access: 0x02, capacity_kb: 10 * GiB, bandwidth_kb: 50 * 1024, qos: 3 };
  await run.step('allocate 10 GiB RAID5/FC local only', 'NO_CAPACITY', () => c.request(allocSpec(r, 0x01, want)));
  const a = await run.step('allocate 10 GiB RAID5/FC anywhere (0xFF)', 'OK', () => c.request(allocSpec(r, 0xff, want)));
  const sid = sessionOf(a);
  const remote = servers[2]!.manager.sessions();
  run.check('granted on SAN 3, relayed by SAN 1', remote.length === 1 && servers[1]!.manager.sessions().length === 0
    && servers[0]!.manager.session(sid)?.remote?.san_id === 3,
  `SAN 1 session ${sid} → SAN 3 session ${remote[0]?.session_id ?? '-'} on device ${remote[0]?.device_id ?? '-'}`);
  if (sid) {
    await run.step('initialize via SAN 1', 'OK', () => c.request(spec(r, OP_INITIALIZE, 0, {
      session_id: sid, reserved: 0, stripe_size: 128 * 1024, cache_line_size: 0, block_size: 8192, include_device_id: 0, exclude_device_id: 0,
    })));
    await new Promise((res) => setTimeout(res, 20));
    await run.step('statistics via SAN 1', 'OK', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: sid, reserved: 0 })));
    await run.step('free via SAN 1', 'OK', () => c.request(spec(r, OP_FREE, 0, { session_id: sid, reserved: 0, release_kb: 0 })));
    run.check('SAN 3 session closed', servers[2]!.manager.sessions().length === 0 && servers[0]!.manager.sessions().length === 0,
      `SAN 1 sessions ${servers[0]!.manager.sessions().length}, SAN 3 sessions ${servers[2]!.manager.sessions().length}`);
  }
  return run.finish(run.servers.join(', '));
}

// ---- errors ----------------------------------------------------------------------------------

/** Provokes every error status of VVMP.md section 5. */
export async function errors(opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const run = new Run('errors', opts);
  const base = opts.clientId ?? DEFAULT_CLIENT_ID;
  const r: Req = { client: base };
  const other: Req = { client: base + 1n };
  const outsider: Req = { client: 0xbad0000000000badn };

  // Auxiliary manager: domain {base, base+1}; one peer that never answers.
  const auxHost = opts.hosts?.[0] ?? '127.0.0.1';
  const silentHost = opts.hosts?.[1] ?? '127.0.0.1';
  const silent = await startSilentPeer(opts.ports?.[1] ?? 0, silentHost);
  run.onCleanup(() => silent.close());
  const cfg = defaultServerConfig();
  cfg.san_id = 9;
  cfg.server_id = 0xa9n;
  cfg.devices = cfg.devices.map((d) => ({ ...d, san_id: 9 }));
  cfg.allowed_clients = [base, base + 1n];
  cfg.peers = [{ san_id: 10, address: formatHostPort(silentHost, silent.port), host: silentHost, port: silent.port }];
  let aux: VvmpServer;
  try {
    aux = await startServer({ host: auxHost, port: opts.ports?.[0] ?? 0, config: cfg, log: opts.serverLog });
  } catch (e) {
    run.check('start the auxiliary manager', false, (e as Error).message);
    return run.finish('-');
  }
  run.onCleanup(() => aux.close());
  const auxTarget = formatHostPort(auxHost, aux.tcpPort);
  run.servers.push(`aux SAN 9 ${auxTarget}`, `silent peer SAN 10 ${formatHostPort(silentHost, silent.port)}`);
  run.line(`     ${run.servers.join(', ')}`);
  const target = opts.target ?? auxTarget;
  let c: VvmpConnection;
  let x: VvmpConnection;
  try {
    c = await connect(target, opts.transport);
    x = target === auxTarget ? c : await connect(auxTarget, opts.transport);
  } catch (e) {
    run.check('connect', false, (e as Error).message);
    return run.finish(target);
  }
  run.onCleanup(() => Promise.all([c.close(), x.close()]));

  await run.step('NO_CAPACITY: 4 TiB, local only', 'NO_CAPACITY', () => c.request(allocSpec(r, 0x01, { capacity_kb: 0xffffffff })));
  await run.step('NO_MATCH: 4 TiB/s bandwidth', 'NO_MATCH', () => c.request(allocSpec(r, 0x01, { capacity_kb: 1024, bandwidth_kb: 0xffffffff })));
  await run.step('UNKNOWN_SESSION: statistics of 65535', 'UNKNOWN_SESSION', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: 0xffff, reserved: 0 })));
  await run.step('DENIED: client outside the domain', 'DENIED', () => x.request(spec(outsider, OP_QUERY, 0x01)));
  const held = await run.step('(setup) exclusive RAID5/FC session', 'OK', () => x.request(allocSpec(r, 0x01, { type: 0x05, access: 0x02, capacity_kb: GiB, flags: FLAG_EXCLUSIVE })));
  await run.step('CONFLICT: other client, same device', 'CONFLICT', () => x.request(allocSpec(other, 0x01, { type: 0x05, access: 0x02, capacity_kb: GiB })));
  if (sessionOf(held)) await run.step('(cleanup) free it', 'OK', () => x.request(spec(r, OP_FREE, 0, { session_id: sessionOf(held), reserved: 0, release_kb: 0 })));
  const txid = () => c.nextTransactionId();
  await run.step('MALFORMED: Allocate with 16-byte payload', 'MALFORMED', () => c.requestBytes(encodeFrame({ ...spec(r, OP_ALLOCATE, 0x01, new Uint8Array(16)), transaction_id: txid() })));
  await run.step('BAD_CHECKSUM: Query, checksum + 1', 'BAD_CHECKSUM', () => c.requestBytes(encodeFrame({ ...spec(r, OP_QUERY, 0x01), transaction_id: txid(), corruptChecksum: true })));
  await run.step('UNSUPPORTED: opcode 0x0042', 'UNSUPPORTED', () => c.requestBytes(encodeFrame({ ...spec(r, 0x0042, 0), transaction_id: txid() })));
  await run.step('UNSUPPORTED: Allocate sub-op 0x07', 'UNSUPPORTED', () => c.request(allocSpec(r, 0x07, { capacity_kb: 1024 })));
  // RAID2: no local device matches, so the manager must ask its (silent) peer.
  await run.step('TIMEOUT: forward to a silent peer', 'TIMEOUT', () => x.request(allocSpec(r, 0xff, { type: 0x02, capacity_kb: GiB, timeout_ms: 1000 })));
  return run.finish(target === auxTarget ? auxTarget : `${target} + ${auxTarget}`);
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
      rewriteHeaderField(frame, 'transaction_id', t);
      sentAt[slot] = performance.now();
      inflight++;
      sock.write(frame);
    };
    const reader = new FrameReader({
      onFrame: (bytes) => {
        const now = performance.now();
        const t = readUint(bytes, 24, 4) as number;
        const slot = t % depth;
        const ms = now - sentAt[slot]!;
        inflight--;
        requests++;
        if (bytes[28] !== 0) errors++;
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

export async function load(opts: LoadOptions): Promise<ScenarioResult> {
  const run = new Run('load', opts);
  const target = opts.target ?? '127.0.0.1:7369';
  let m: LoadResult | undefined;
  try {
    m = await runLoad({ ...opts, target });
    run.line(`     ${m.clients} clients × pipeline ${m.pipeline}, ${m.op}, ${m.durationS} s: ${m.requests} requests, `
      + `${m.rps} req/s, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms, max ${m.max_ms} ms, errors ${m.errors}`);
    run.check('load ran without errors', m.errors === 0 && m.requests > 0, `${m.rps} req/s, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms`);
  } catch (e) {
    run.check('load', false, (e as Error).message);
  }
  return run.finish(target, m);
}

// ---- registry ------------------------------------------------------------------------------------

export const SCENARIO_NAMES = ['lifecycle', 'contention', 'multi-san', 'errors', 'load'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Runs a scenario by name; `load` needs clients and durationS (defaults 50 and 5). */
export async function runScenario(name: string, opts: ScenarioOptions & Partial<LoadOptions> = {}): Promise<ScenarioResult> {
  switch (name) {
    case 'lifecycle':
      return lifecycle(opts);
    case 'contention':
      return contention(opts);
    case 'multi-san':
      return multiSan(opts);
    case 'errors':
      return errors(opts);
    case 'load':
      return load({ ...opts, clients: opts.clients ?? 50, durationS: opts.durationS ?? 5 });
    default:
      throw new Error(`unknown scenario "${name}" (known: ${SCENARIO_NAMES.join(', ')})`);
  }
}
