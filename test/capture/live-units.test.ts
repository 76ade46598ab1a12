// The pure parts of live capture (no capture, no root): filters, link types, tcpdump's
// arguments and report, error lines, the summary line.

import { describe, expect, it } from 'vitest';
import { capLinkType, dltNameLinkType, openError, type LiveCapture, type LiveStats } from '../../src/capture/live.js';
import { parseTcpdumpStats, tcpdumpArgs } from '../../src/capture/liveTcpdump.js';
import { captureFilter, summaryLine } from '../../src/cli/live.js';

const FRAGMENTS = '(ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)';

describe('capture filter', () => {
  it('default: port 7369 plus IP fragments (a BPF port test misses later fragments)', () => {
    expect(captureFilter({})).toEqual({ bpf: `port 7369 or ${FRAGMENTS}`, label: 'port 7369' });
  });
  it('--port: the decode ports, as read does (--port adds to 7369; --no-default-port drops it)', () => {
    expect(captureFilter({ port: [5555, 6000, 5555] })).toEqual({
      bpf: `port 7369 or port 5555 or port 6000 or ${FRAGMENTS}`, label: 'port 7369 or port 5555 or port 6000',
    });
    expect(captureFilter({ port: [5555, 6000], defaultPort: false })).toEqual({
      bpf: `port 5555 or port 6000 or ${FRAGMENTS}`, label: 'port 5555 or port 6000',
    });
  });
  it('-f replaces it, whatever else is given', () => {
    expect(captureFilter({ captureFilter: 'udp', port: [1], heuristic: true })).toEqual({ bpf: 'udp', label: 'filter "udp"' });
    expect(captureFilter({ captureFilter: '' })).toEqual({ bpf: '', label: 'filter ""' });
  });
  it('--heuristic: all IP traffic (VVMP on any port)', () => {
    expect(captureFilter({ heuristic: true })).toEqual({ bpf: 'ip or ip6', label: 'all IP traffic' });
  });
});

describe('link types', () => {
  it('cap open() names', () => {
    expect(capLinkType('ETHERNET')).toBe(1);
    expect(capLinkType('LINKTYPE_LINUX_SLL')).toBe(113);
    expect(capLinkType('NULL')).toBe(0);
    expect(capLinkType('RAW')).toBe(101);
    expect(capLinkType('Unknown linktype 276')).toBe(276);
    expect(capLinkType('Unknown linktype 12')).toBe(101);
    expect(capLinkType('???')).toBe(-1);
  });
  it("tcpdump's link-type names", () => {
    expect(dltNameLinkType('EN10MB')).toBe(1);
    expect(dltNameLinkType('LINUX_SLL2')).toBe(276);
    expect(dltNameLinkType('LINUX_SLL')).toBe(113);
    expect(dltNameLinkType('FOO')).toBe(-1);
  });
});

describe('tcpdump', () => {
  const info = { path: 'tcpdump', immediate: true, nano: true };
  it('arguments: immediate, packet-buffered, 256 MiB ring (issue #18: 64 MiB dropped at 20k packets/s), whole packets, ns, the filter after --', () => {
    expect(tcpdumpArgs(info, { iface: 'lo', filter: 'port 7369', backend: 'tcpdump' })).toEqual([
      '--immediate-mode', '-U', '-B', '262144', '-s', '0', '--time-stamp-precision=nano', '-i', 'lo', '-w', '-', '--', 'port 7369',
    ]);
    expect(tcpdumpArgs({ ...info, immediate: false, nano: false }, { iface: 'any', filter: ' ', backend: 'tcpdump', bufferMiB: 128, snaplen: 200 }))
      .toEqual(['-U', '-B', '131072', '-s', '200', '-i', 'any', '-w', '-']);
  });
  it('exit report', () => {
    const err = 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n' +
      '12 packets captured\n14 packets received by filter\n2 packets dropped by kernel\n1 packet dropped by interface\n';
    expect(parseTcpdumpStats(err)).toEqual({ captured: 12, dropped: 2, ifDropped: 1 });
    expect(parseTcpdumpStats('tcpdump: listening on lo\n')).toEqual({ captured: null, dropped: null, ifDropped: null });
  });
});

describe('open errors: one line each', () => {
  const never = () => false;
  const always = () => true;
  it('no such interface (libpcap and tcpdump wording)', () => {
    expect(openError('eth9', '', 'cap', 'No such device exists', never).message)
      .toBe('no such interface "eth9" (vvmp live --list shows them)');
    expect(openError('eth9', '', 'tcpdump', 'tcpdump: eth9: No such device exists\n(No such device exists)', never).message)
      .toBe('no such interface "eth9" (vvmp live --list shows them)');
  });
  it('no permission', () => {
    expect(openError('lo', '', 'cap', 'socket: Operation not permitted', never).message)
      .toBe('capturing on lo needs root or CAP_NET_RAW (run as root, or setcap cap_net_raw+ep $(which node))');
    expect(openError('lo', '', 'tcpdump', "tcpdump: lo: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)", never).message)
      .toMatch(/^capturing on lo needs root or CAP_NET_RAW \(run as root, or setcap .*tcpdump\)\)$/);
  });
  it('a filter that does not compile', () => {
    expect(openError('lo', 'port 1 and', 'tcpdump', "tcpdump: can't parse filter expression: syntax error", always).message)
      .toBe('capture filter "port 1 and": syntax error');
    expect(openError('lo', 'port x', 'cap', "unknown port 'x'", always).message).toBe('capture filter "port x": unknown port \'x\'');
  });
  it('an interface that is down; anything else', () => {
    expect(openError('ifb0', '', 'tcpdump', 'tcpdump: ifb0: That device is not up', never).message)
      .toBe('interface "ifb0" is down (That device is not up)');
    expect(openError('lo', 'udp', 'cap', 'something odd', never).message).toBe('capturing on lo: something odd');
  });
});

describe('summary line', () => {
  const fake = (backend: 'cap' | 'tcpdump', s: Partial<LiveStats>): LiveCapture => ({
    backend, iface: 'lo', filter: '', linkType: 1, snaplen: 65535, tsDigits: 6, timestampSource: '',
    safeTime: () => ({ sec: 0, nsec: 0 }),
    stats: () => ({ received: 1234, dropped: null, ifDropped: null, truncated: 0, ...s }),
    stop: async () => {},
  });
  it('tcpdump: kernel drops', () => {
    expect(summaryLine(fake('tcpdump', { dropped: 0 }), 56)).toBe('vvmp: 1234 packets captured, 0 dropped by kernel; 56 VVMP frames shown');
    expect(summaryLine(fake('tcpdump', { dropped: 3, ifDropped: 2 }), 1))
      .toBe('vvmp: 1234 packets captured, 3 dropped by kernel, 2 dropped by interface; 1 VVMP frame shown');
  });
  it('tcpdump: packets it captured that never reached vvmp are counted too', () => {
    expect(summaryLine(fake('tcpdump', { dropped: 0, lostInPipe: 7 }), 2))
      .toBe('vvmp: 1234 packets captured, 0 dropped by kernel, 7 captured by tcpdump but never delivered; 2 VVMP frames shown');
  });
  it('cap: drops unknown, said so', () => {
    expect(summaryLine(fake('cap', { truncated: 4 }), 0)).toBe(
      'vvmp: 1234 packets captured, drops: unknown with the cap backend (use --backend tcpdump for kernel drop counts), ' +
      '4 cut by the snapshot length; 0 VVMP frames shown');
  });
});

describe('tcpdump drop counts', () => {
  it('on lo the kernel counts both copies of a packet: half, rounded up', async () => {
    const { packetDrops } = await import('../../src/capture/liveTcpdump.js');
    if (process.platform === 'linux') {
      expect(packetDrops('lo', 5126)).toBe(2563);
      expect(packetDrops('lo', 1)).toBe(1);
    }
    expect(packetDrops('lo', 0)).toBe(0);
    expect(packetDrops('eth0', 5126)).toBe(5126);
    expect(packetDrops('lo', null)).toBeNull();
  });

  it('on lo the exact loss is the packets seen (half of "received by filter") less those captured', async () => {
    const { loopbackLoss, receivedByFilter } = await import('../../src/capture/liveTcpdump.js');
    // 40,000 packets, 4,446 lost, but the kernel dropped only 8,891 copies (one lost packet's sent
    // copy found room): halving says 4,446 → rounded from 4,445.5; the exact count says 4,446 as well,
    // and stays right when the drops are lopsided (8,890 copies for 4,446 packets: halving says 4,445).
    expect(loopbackLoss(80_000, 35_554)).toBe(4_446);
    expect(loopbackLoss(80_000, 40_000)).toBe(0);
    expect(loopbackLoss(3, 1)).toBe(1);
    expect(receivedByFilter('tcpdump: listening on lo\n12 packets captured\n30 packets received by filter\n2 packets dropped by kernel\n')).toBe(30);
    expect(receivedByFilter('tcpdump: listening on lo\n')).toBeNull();
  });
});

describe('capture errors are the capture layer\'s own', () => {
  it('open errors are LiveCaptureError (capture/errors.ts); the CLI maps them to exit 1', async () => {
    const { LiveCaptureError } = await import('../../src/capture/errors.js');
    const e = openError('nosuch0', '', 'cap', 'No such device exists', () => false);
    expect(e).toBeInstanceOf(LiveCaptureError);
    expect(e.message).toBe('no such interface "nosuch0" (vvmp live --list shows them)');
  });
});
