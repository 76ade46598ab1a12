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
import type { DecodedFrame } from '../protocol/decode.js';
import { encodeFrame } from '../protocol/encode.js';
import {
  ALLOC_FLAG_BITS, DEFAULT_PORT, OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_QUERY, OP_STATISTICS, STATS_BLOCK, flagMask,
} from '../protocol/fields.js';
import { recordAs, type DeviceRecord } from '../protocol/access.js';
import { DEFAULT_CLIENT_ID, formatKb } from './client.js';
import { defaultServerConfig, type DeviceConfig, type PeerConfig, type ServerConfig } from './config.js';
import { runLoad, type LoadOptions, type LoadResult } from './loadTest.js';
import {
  GiB, Run, allocSpec, connect, devicesOf, holdsStorage, holdsStorageClass, isRaid, sessionOf, spec,
  type Req, type ScenarioOptions, type ScenarioResult,
} from './scenarioSteps.js';
import { startServer, type VvmpServer } from './server.js';
import { VvmpConnection, bindUdp, formatHostPort } from './transport.js';

export type { ScenarioOptions, ScenarioResult, ScenarioStep } from './scenarioSteps.js';
export { runLoad, type LoadOptions, type LoadResult } from './loadTest.js';

const FLAG_EXCLUSIVE = flagMask(ALLOC_FLAG_BITS, 'EXCLUSIVE');
const FLAG_WAIT = flagMask(ALLOC_FLAG_BITS, 'WAIT');

// ---- lifecycle ------------------------------------------------------------------------------

/** Query → Allocate (0x02) → Initialize → Modify (grow) → Statistics → Free (shrink) → Free (all) → Statistics. */
export async function lifecycle(opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const run = new Run('lifecycle', opts);
  const target = opts.target ?? `127.0.0.1:${DEFAULT_PORT}`;
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
  const raid = devs.filter(isRaid);
  const pick = (raid.length ? raid : devs).sort((a, b) => b.free_kb - a.free_kb)[0];
  if (!pick) {
    run.check('pick a storage device', false, 'the target reports no device with free storage');
    return run.finish(target);
  }
  const special = devicesOf(q).find((d) => d.device_class === 3);
  const cap = Math.max(1, Math.min(GiB, Math.floor(pick.free_kb / 4)));
  const bw = Math.min(10 * 1024, Math.floor(pick.bandwidth_kb / 8));
  const a = await run.step('allocate (expandable)', 'OK', () => c.request(allocSpec(r, 0x02, {
    type: pick.storage_type, access: pick.access_type, capacity_kb: cap, bandwidth_kb: bw, qos: 2,
  })));
  const sid = sessionOf(a);
  if (!sid) return run.finish(target);
  await run.step('initialize RAID parameters', 'OK', () => c.request(spec(r, OP_INITIALIZE, 0, {
    session_id: sid, reserved: 0, stripe_size: 64 * 1024, cache_line_size: 4096, block_size: 4096,
    include_device_id: special ? special.device_id : 0, exclude_device_id: 0,
  })));
  await run.step('modify: grow capacity ×2', 'OK', () => c.request(spec(r, OP_MODIFY, 0, {
    storage_type: 0xff, access_type: 0xff, session_id: sid, capacity_kb: 2 * cap, bandwidth_kb: bw, qos: 2, flags: 0, timeout_ms: 0,
  })));
  await new Promise((res) => setTimeout(res, 30));
  const s1 = await run.step('statistics', 'OK', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: sid, reserved: 0 })));
  await new Promise((res) => setTimeout(res, 30));
  const s2 = await run.step('statistics again (counters move)', 'OK', () => c.request(spec(r, OP_STATISTICS, 0, { session_id: sid, reserved: 0 })));
  const p1 = s1 && recordAs(s1.payloadBlock, s1.payload, STATS_BLOCK);
  const p2 = s2 && recordAs(s2.payloadBlock, s2.payload, STATS_BLOCK);
  if (p1 && p2) {
    run.check('age and bytes advance', p2.age_ms > p1.age_ms && p2.bytes_read > p1.bytes_read,
      `age ${p1.age_ms}→${p2.age_ms} ms, read ${p1.bytes_read}→${p2.bytes_read} B`);
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
  const target = opts.target ?? `127.0.0.1:${DEFAULT_PORT}`;
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
  const devs = devicesOf(q).filter(holdsStorageClass);
  const key = (d: DeviceRecord) => `${d.storage_type}/${d.access_type}`;
  const unique = devs.filter((d) => holdsStorage(d) && devs.filter((e) => key(e) === key(d)).length === 1)
    .sort((a, b) => Number(isRaid(b)) - Number(isRaid(a)) || b.free_kb - a.free_kb)[0];
  if (!unique) {
    run.check('pick a device', false, 'no device with free storage has a storage/access type of its own');
    return run.finish(target);
  }
  const type = unique.storage_type;
  const access = unique.access_type;
  const cap = Math.max(1, Math.min(GiB, Math.floor(unique.free_kb / 4)));
  run.line(`     using device ${unique.device_id} (${formatKb(unique.free_kb)} free), ${formatKb(cap)} per request`);

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
    const sans = [...new Set(devicesOf(f).map((d) => d.san_id))].sort();
    return `${devicesOf(f).length} devices on SANs ${sans.join(', ')}`;
  });
  run.check('devices of all three SANs listed', new Set(devicesOf(q).map((d) => d.san_id)).size === 3, `${devicesOf(q).length} devices`);
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

export async function load(opts: LoadOptions): Promise<ScenarioResult> {
  const run = new Run('load', opts);
  const target = opts.target ?? `127.0.0.1:${DEFAULT_PORT}`;
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
