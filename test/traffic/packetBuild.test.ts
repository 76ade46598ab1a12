// The one packet builder (src/net/build.ts): what it writes is read back by
// real tshark with checksum validation on (IPv4 header, UDP, TCP, both IP
// versions), and by our own network decoder.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter, fileSink } from '../../src/capture/writer.js';
import { TCP_ACK, TCP_PSH, TCP_SYN, ip4, ipBytes, tcpPacket, udpPacket, type Hosts } from '../../src/net/build.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-build-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const V4: Hosts = { srcMac: ip4('10.0.0.1'), dstMac: Uint8Array.of(2, 0, 0, 0, 0, 9), src: ip4('10.0.0.1'), dst: ipBytes('192.168.7.9') };
const V6: Hosts = { srcMac: 1, dstMac: 2, src: ipBytes('fe80::1:2'), dst: ipBytes('::ffff:127.0.0.3') };

function tshark(file: string, fields: string[]): string[][] {
  const r = spawnSync('tshark', ['-n', '-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=,', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((l) => l.split(','));
}

function write(name: string, packets: Buffer[]): string {
  const file = path.join(dir, name);
  const sink = fileSink(file);
  const w = new PcapWriter(sink);
  packets.forEach((p, i) => w.writePacket(1_700_000_000 + i, 0, p));
  sink.close();
  return file;
}

describe('packet builder', () => {
  it('addresses, ports, lengths and checksums as tshark reads them (IPv4, IPv6, UDP, TCP)', () => {
    const file = write('mix.pcap', [
      udpPacket(V4, 40000, 7369, Buffer.from('odd payload'), 7),
      tcpPacket(V4, 40001, 7369, 1000, 0, TCP_SYN, Buffer.alloc(0), 8),
      tcpPacket(V4, 7369, 40001, 5000, 1001, TCP_ACK | TCP_PSH, Buffer.alloc(33, 0xab), 9),
      udpPacket(V6, 40002, 7369, Buffer.alloc(0)),
      tcpPacket(V6, 40003, 7369, 0xfffffff0, 77, TCP_ACK, Buffer.alloc(64, 1)),
    ]);
    const rows = tshark(file, ['eth.src', 'ip.src', 'ipv6.dst', 'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status',
      'udp.length', 'tcp.len', 'tcp.ack_raw', 'tcp.seq_raw', 'ip.id']);
    expect(rows).toEqual([
      ['02:00:0a:00:00:01', '10.0.0.1', '', '1', '1', '', '19', '', '', '', '0x0007'],
      ['02:00:0a:00:00:01', '10.0.0.1', '', '1', '', '1', '', '0', '0', '1000', '0x0008'],
      ['02:00:0a:00:00:01', '10.0.0.1', '', '1', '', '1', '', '33', '1001', '5000', '0x0009'],
      ['02:00:00:00:00:01', '', '::ffff:127.0.0.3', '', '1', '', '8', '', '', '', ''],
      ['02:00:00:00:00:01', '', '::ffff:127.0.0.3', '', '', '1', '', '64', '77', '4294967280', ''],
    ]);
  });

  it('any payload gets good checksums (random sizes and addresses)', () => {
    const packets: Buffer[] = [];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }),
      fc.boolean(), fc.integer({ min: 1, max: 65535 }), (payload, a, b, tcp, port) => {
        const h: Hosts = { srcMac: a, dstMac: b, src: a, dst: b };
        packets.push(tcp ? tcpPacket(h, port, 7369, a, b, TCP_ACK, payload, port) : udpPacket(h, port, 7369, payload, port));
      }), { numRuns: 60, seed: 42 });
    const rows = tshark(write('random.pcap', packets), ['ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status']);
    expect(rows).toHaveLength(packets.length);
    for (const r of rows) expect(r.filter((x) => x !== '')).toEqual(['1', '1']);
  });

  it('refuses a packet whose ends are of different IP versions, and datagrams over 64 KiB', () => {
    expect(() => udpPacket({ ...V4, dst: ipBytes('::1') }, 1, 2, Buffer.alloc(0))).toThrow(/same IP version/);
    expect(() => udpPacket(V4, 1, 2, Buffer.alloc(65536))).toThrow(RangeError);
  });
});
