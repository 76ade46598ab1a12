// Pieces without servers: the TCP framer, address parsing, config
// validation, the client's option parsers.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/encode.js';
import {
  OptionError, formatKb, parseAccessType, parseAllocSubop, parseBytes, parseClientId, parseQos, parseQueryScope, parseRate,
  parseSize, parseStorageType,
} from '../../src/traffic/client.js';
import { ConfigError, defaultServerConfig, loadServerConfig, serverConfigToJson, validateServerConfig } from '../../src/traffic/config.js';
import { FrameReader, parseHostPort } from '../../src/traffic/transport.js';

describe('FrameReader', () => {
  const frames = [
    encodeFrame({ opcode: 1, sub_opcode: 1, transaction_id: 1 }),
    encodeFrame({ opcode: 2, sub_opcode: 1, transaction_id: 2, payload: { capacity_kb: 5 } }),
    encodeFrame({ opcode: 6, transaction_id: 3, payload: { session_id: 9 } }),
  ];
  const stream = Buffer.concat(frames);

  it('emits the same frames however the stream is cut', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 33)]) {
        const got: Buffer[] = [];
        const r = new FrameReader({ onFrame: (f) => got.push(Buffer.from(f)) });
        r.push(stream.subarray(0, a));
        r.push(stream.subarray(a, b));
        r.push(stream.subarray(b));
        expect(got).toEqual(frames);
        expect(r.buffered).toBe(0);
      }
    }
  });

  it('byte by byte, holding only the partial frame', () => {
    const got: Buffer[] = [];
    const r = new FrameReader({ onFrame: (f) => got.push(Buffer.from(f)) });
    for (let i = 0; i < stream.length; i++) {
      r.push(stream.subarray(i, i + 1));
      expect(r.buffered).toBeLessThan(64);
    }
    expect(got).toEqual(frames);
    expect(r.frames).toBe(3);
  });

  it('stops at a length over the limit and reports the header', () => {
    const big = Buffer.from(frames[0]!);
    big.writeUInt16BE(300, 29);
    const got: number[] = [];
    let over: [number | null, number] | null = null;
    const r = new FrameReader({ maxPayload: 1024, onFrame: (f) => got.push(f.readUInt32BE(24)), onOversize: (h, size) => (over = [h.transaction_id, size]) });
    r.push(Buffer.concat([frames[0]!, big.subarray(0, 20)]));
    expect(over).toBeNull();
    r.push(Buffer.concat([big.subarray(20), frames[1]!]));
    expect(got).toEqual([1]);
    expect(over).toEqual([1, 32 + 1200]);
    expect(r.isStopped).toBe(true);
    r.push(frames[2]!);
    expect(got).toEqual([1]);
  });
});

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port, bare ports and hosts', () => {
    expect(parseHostPort('10.0.0.1:7000')).toEqual({ host: '10.0.0.1', port: 7000 });
    expect(parseHostPort('[::1]:7001')).toEqual({ host: '::1', port: 7001 });
    expect(parseHostPort('::1')).toEqual({ host: '::1', port: 7369 });
    expect(parseHostPort('7002')).toEqual({ host: '127.0.0.1', port: 7002 });
    expect(parseHostPort(':7003')).toEqual({ host: '127.0.0.1', port: 7003 });
    expect(parseHostPort('example.org')).toEqual({ host: 'example.org', port: 7369 });
    expect(() => parseHostPort('h:99999')).toThrow('bad address "h:99999": port must be 0..65535');
  });
});

describe('config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vvmp-cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills defaults and reads names for enumerations', () => {
    const c = validateServerConfig({
      san_id: 4, server_id: '0x00000000000000b4',
      devices: [{ device_id: 1, device_class: 'raid controller', storage_type: 'raid5', access_type: 'FC', capacity_kb: 10, bandwidth_kb: 20 },
        { device_id: 2, device_class: 3, access_type: 0, bandwidth_kb: 5, san_id: 9 }],
      allowed_clients: ['0x11', '18'], peers: { 5: '127.0.0.1:7370', 2: 'h2' },
      limits: { max_payload: 1024 },
    });
    expect(c.server_id).toBe(0xb4n);
    expect(c.devices[0]).toEqual({ device_id: 1, device_class: 2, storage_type: 5, access_type: 2, capacity_kb: 10, bandwidth_kb: 20, device_flags: 0, san_id: 4 });
    expect(c.devices[1]).toMatchObject({ device_class: 3, capacity_kb: 0, storage_type: 0, san_id: 9 });
    expect(c.allowed_clients).toEqual([0x11n, 18n]);
    expect(c.peers.map((p) => [p.san_id, p.host, p.port])).toEqual([[2, 'h2', 7369], [5, '127.0.0.1', 7370]]);
    expect(c.limits).toMatchObject({ max_payload: 1024, max_connections: 4096, max_outstanding_per_client: 1024 });
    expect(c.port).toBe(7369);
    expect(c.announce_interval_ms).toBe(0);
    const d = validateServerConfig({});
    expect(d).toEqual(defaultServerConfig());
    expect(validateServerConfig(JSON.parse(JSON.stringify(serverConfigToJson(c))))).toEqual(c);
  });

  it('one-line errors naming the file and the field', () => {
    const bad = (raw: unknown) => {
      try {
        validateServerConfig(raw, 'config.json');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      return 'no error';
    };
    const dev = { device_id: 1, access_type: 'fc', capacity_kb: 1, bandwidth_kb: 1 };
    expect(bad({ devices: [dev, { ...dev, device_id: 2 }, { ...dev, device_id: 3, capacity_kb: '10' }] })).toBe('config.json: devices[2].capacity_kb must be a number');
    expect(bad({ devices: [dev, dev] })).toBe('config.json: devices[1].device_id 1 is used twice');
    expect(bad({ devices: [{ ...dev, storage_type: 'raid9' }] })).toMatch(/^config.json: devices\[0\]\.storage_type must be one of JBOD, RAID0/);
    expect(bad({ server_id: 12 })).toBe('config.json: server_id must be a 64-bit id as a "0x…" hex string');
    expect(bad({ server_id: '0x1ffffffffffffffff' })).toBe('config.json: server_id must be a 64-bit id as a "0x…" hex string');
    expect(bad({ allowed_clients: ['0x11', 'x'] })).toBe('config.json: allowed_clients[1] must be a 64-bit id as a "0x…" hex string');
    expect(bad({ peers: { 1: 'h:1' } })).toBe('config.json: peers["1"] is this server\'s own SAN');
    expect(bad({ peers: { 2: 5 } })).toBe('config.json: peers["2"] must be a "host:port" string');
    expect(bad({ limits: { max_conns: 1 } })).toMatch(/^config.json: limits.max_conns is not a known limit/);
    expect(bad({ san_id: -1 })).toBe('config.json: san_id must be an integer 0..16777214');
    expect(bad({ colour: 'red' })).toMatch(/^config.json: colour is not a known key/);
    expect(bad([])).toBe('config.json: top level must be a JSON object');
    for (const m of [bad({ devices: [{ ...dev, capacity_kb: 'x' }] }), bad({ peers: { 2: 'h:x' } })]) expect(m).not.toContain('\n');
  });

  it('security domain and limits: networks, device addresses, quotas (spec/SERVER.md)', () => {
    const c = validateServerConfig({
      client_networks: ['10.1.0.0/16', '::1'], device_networks: ['127.0.0.3/32'],
      devices: [{ device_id: 1, access_type: 'fc', capacity_kb: 1, bandwidth_kb: 1, address: '::ffff:10.0.0.5' }],
      limits: { max_connections_per_source: 8, max_sessions_per_client: 10, max_sessions_per_source: 20, max_capacity_per_client_kb: 5, udp_reply_factor: 4 },
    });
    expect(c).toMatchObject({ client_networks: ['10.1.0.0/16', '::1'], device_networks: ['127.0.0.3/32'] });
    expect(c.devices[0]!.address).toBe('10.0.0.5');
    expect(c.limits).toMatchObject({ max_connections_per_source: 8, max_sessions_per_client: 10, max_sessions_per_source: 20, max_capacity_per_client_kb: 5, udp_reply_factor: 4 });
    expect(validateServerConfig(JSON.parse(JSON.stringify(serverConfigToJson(c))))).toEqual(c);
    const d = defaultServerConfig();
    expect(d.client_networks).toEqual(['127.0.0.0/8', '::1/128']);
    expect(d.device_networks).toEqual([]);
    expect(d.limits.idle_timeout_ms).toBeGreaterThan(0);
    const bad = (raw: unknown) => {
      try {
        validateServerConfig(raw, 'c.json');
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad({ client_networks: ['10.0.0.0/33'] })).toBe('c.json: client_networks[0] "10.0.0.0/33": prefix length must be 0..32');
    expect(bad({ device_networks: ['nope'] })).toBe('c.json: device_networks[0] "nope": "nope" is not an IP address');
    expect(bad({ client_networks: '10.0.0.0/8' })).toMatch(/^c.json: client_networks must be an array/);
    expect(bad({ devices: [{ device_id: 1, access_type: 'fc', capacity_kb: 1, bandwidth_kb: 1, address: '10.0.0.0/8' }] })).toMatch(/^c.json: devices\[0\]\.address .*one address, not a network/);
    expect(bad({ limits: { max_sessions_per_client: 0 } })).toBe('c.json: limits.max_sessions_per_client must be at least 1');
  });

  it('loadServerConfig reads files and reports missing or broken ones', () => {
    const p = join(dir, 'c.json');
    writeFileSync(p, JSON.stringify({ san_id: 3, devices: [{ device_id: 7, access_type: 'scsi', capacity_kb: 1, bandwidth_kb: 2 }] }));
    expect(loadServerConfig(p).devices[0]!.san_id).toBe(3);
    expect(() => loadServerConfig(join(dir, 'missing.json'))).toThrow(`${join(dir, 'missing.json')}: no such file`);
    writeFileSync(p, '{"san_id": ');
    expect(() => loadServerConfig(p)).toThrow(new RegExp(`^${p}: not valid JSON`));
  });
});

describe('client option parsers', () => {
  it('sizes and rates to KB', () => {
    expect(parseSize('100GiB')).toBe(104857600);
    expect(parseSize('1.5 MiB')).toBe(1536);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('4kb')).toBe(4);
    expect(parseSize('2T')).toBe(2 * 1024 ** 3);
    expect(parseSize('1500B')).toBe(2);
    expect(parseRate('20MiB/s')).toBe(20480);
    expect(parseRate('1GBps')).toBe(1024 * 1024);
    expect(parseRate(300)).toBe(300);
    expect(parseBytes('64KiB')).toBe(65536);
    expect(parseBytes(512)).toBe(512);
    expect(() => parseSize('10XB')).toThrow('bad size "10XB": unknown unit "XB" (use KiB, MiB, GiB, TiB), e.g. 100GiB');
    expect(() => parseSize('lots')).toThrow(OptionError);
    expect(() => parseSize('5TiB')).toThrow('bad size "5TiB": 5368709120 KB is over the 4294967295 KB a VVMP field holds');
    expect(() => parseRate('fast/s')).toThrow('bad rate "fast/s": expected a number with an optional unit, e.g. 20MiB/s');
  });

  it('types, access, QoS, modes, scopes and ids', () => {
    expect([parseStorageType('raid5'), parseStorageType('JBOD'), parseStorageType('any'), parseStorageType(3), parseStorageType('tape')]).toEqual([5, 0, 0xff, 3, 0]);
    expect([parseAccessType('fc'), parseAccessType('HiPPI'), parseAccessType('any')]).toEqual([2, 3, 0xff]);
    expect([parseQos('gold'), parseQos('best-effort'), parseQos(4)]).toEqual([3, 0, 4]);
    expect([parseAllocSubop('local'), parseAllocSubop('expand'), parseAllocSubop('anywhere'), parseAllocSubop('0x07')]).toEqual([1, 2, 0xff, 7]);
    expect([parseQueryScope('san'), parseQueryScope('all'), parseQueryScope('local'), parseQueryScope('everywhere')]).toEqual([1, 2, 3, 0xff]);
    expect(parseClientId('0x11')).toBe(0x11n);
    expect(() => parseStorageType('raid6')).toThrow('bad storage type "raid6": use one of jbod, raid0, raid2, raid3, raid4, raid5, any');
    expect(() => parseClientId('zz')).toThrow('bad client id "zz": expected a 64-bit id such as 0x11');
    expect(formatKb(10 * 1024 * 1024)).toBe('10 GiB');
    expect(formatKb(1536)).toBe('1.50 MiB');
    expect(formatKb(100)).toBe('100 KB');
  });
});
