import { describe, expect, it } from 'vitest';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { compileFilter, filterFieldNames, filterFields, isEmptyFilter } from '../../src/analysis/filter/index.js';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame, type FrameSpec } from '../../src/protocol/encode.js';
import { finding, type Finding } from '../../src/protocol/expert.js';
import { HEADER, PAYLOAD_BLOCKS } from '../../src/protocol/fields.js';

// ---- fixtures ----------------------------------------------------------------

interface Where {
  transport: 'tcp' | 'udp';
  src: [string, number];
  dst: [string, number];
  time: [number, number];
  session?: string;
  latencyMs?: number;
  peer?: number;
  extraExpert?: Finding[];
}

function text(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function frame(number: number, spec: FrameSpec, w: Where): AnalyzedFrame {
  const decoded = decodeFrame(encodeFrame(spec), { udp: w.transport === 'udp' });
  return {
    number,
    packet: number + 100,
    firstPacket: number + 100,
    tsSec: w.time[0],
    tsNsec: w.time[1],
    tsDigits: 9,
    transport: w.transport,
    src: { ip: w.src[0], port: w.src[1] },
    dst: { ip: w.dst[0], port: w.dst[1] },
    srcText: text(...w.src),
    dstText: text(...w.dst),
    flowKey: `${w.transport} ${text(...w.src)} ${text(...w.dst)}`,
    decoded,
    session: w.session ?? null,
    expert: [...decoded.findings, ...(w.extraExpert ?? [])],
    latencyMs: w.latencyMs ?? null,
    peer: w.peer ?? null,
  };
}

const C = ['10.0.0.1', 40001] as [string, number];
const S = ['10.0.0.2', 7369] as [string, number];
const C6 = ['2001:db8::1', 40200] as [string, number];
const S6 = ['2001:db8::2', 7369] as [string, number];
const SESSION = '0x00000000000000aa/17';
const ALLOC = {
  storage_type: 5, access_type: 2, session_id: 0, capacity_kb: 104857600, bandwidth_kb: 20480,
  qos: 3, flags: 0b0101, timeout_ms: 5000,
};

const FRAMES: AnalyzedFrame[] = [
  // 1 Allocate request
  frame(1, { opcode: 0x0002, sub_opcode: 0x01, client_id: 0x11n, transaction_id: 7, payload: ALLOC },
    { transport: 'tcp', src: C, dst: S, time: [1700000000, 100000000] }),
  // 2 Allocate reply OK
  frame(2, {
    opcode: 0x8002, sub_opcode: 0x00, client_id: 0x11n, server_id: 0xaan, transaction_id: 7,
    payload: { ...ALLOC, session_id: 17, qos: 4, flags: 0 },
  }, { transport: 'tcp', src: S, dst: C, time: [1700000000, 100390000], session: SESSION, latencyMs: 0.39, peer: 1 }),
  // 3 Initialize request with a bad checksum, client id all ones
  frame(3, {
    opcode: 0x0003, client_id: 0xffffffffffffffffn, server_id: 0xaan, transaction_id: 8,
    payload: { session_id: 17, stripe_size: 65536, cache_line_size: 64, block_size: 4096 }, corruptChecksum: true,
  }, { transport: 'tcp', src: C, dst: S, time: [1700000000, 500000000], session: SESSION }),
  // 4 Query request over UDP/IPv6
  frame(4, { opcode: 0x0001, sub_opcode: 0xff, client_id: 0x22n, transaction_id: 9 },
    { transport: 'udp', src: C6, dst: S6, time: [1700000001, 0] }),
  // 5 Query reply with two device records
  frame(5, {
    opcode: 0x8001, client_id: 0x22n, server_id: 0xbbn, transaction_id: 9,
    payload: {
      devices: [
        { device_id: 1, storage_type: 5, access_type: 2, device_class: 0, device_flags: 0b0001, free_kb: 1000, san_id: 1 },
        { device_id: 2, storage_type: 1, access_type: 1, device_class: 1, device_flags: 0b0110, free_kb: 5000, san_id: 2 },
      ],
    },
  }, { transport: 'udp', src: S6, dst: C6, time: [1700000001, 2500000], latencyMs: 2.5, peer: 4 }),
  // 6 Allocate reply DENIED, empty
  frame(6, { opcode: 0x8002, sub_opcode: 0x21, client_id: 0x33n, server_id: 0xaan, transaction_id: 3 },
    { transport: 'udp', src: ['192.168.1.10', 7369], dst: ['192.168.1.9', 5000], time: [1700000002, 0] }),
  // 7 Statistics reply with a 64-bit counter above 2^63
  frame(7, {
    opcode: 0x8006, client_id: 0x11n, server_id: 0xaan, transaction_id: 10,
    payload: { session_id: 17, age_ms: 1500, bytes_read: 0x8000000000000001n, bytes_written: 12345n, io_ops: 10 },
  }, { transport: 'tcp', src: S, dst: C, time: [1700000003, 0], session: SESSION, latencyMs: 1, peer: 11 }),
  // 8 unknown opcode
  frame(8, { opcode: 0x0042, client_id: 0x44n }, { transport: 'tcp', src: C, dst: S, time: [1700000004, 0] }),
  // 9 Free reply with an undefined status 0x7E
  frame(9, { opcode: 0x8004, sub_opcode: 0x7e, server_id: 0xaan }, { transport: 'tcp', src: S, dst: C, time: [1700000005, 0] }),
  // 10 Announce (boot) with one device record, plus an exchange-level finding
  frame(10, {
    opcode: 0x0007, sub_opcode: 0x02, server_id: 0xaan,
    payload: { devices: [{ device_id: 9, storage_type: 5, device_class: 4, free_kb: 0 }] },
  }, {
    transport: 'udp', src: ['10.1.2.3', 7369], dst: ['10.255.255.255', 7369], time: [1700000006, 0],
    extraExpert: [finding('boot_teardown', 'server 0xaa rebooted')],
  }),
  // 11 Statistics request (session reference)
  frame(11, { opcode: 0x0006, client_id: 0x11n, server_id: 0xaan, transaction_id: 10, payload: { session_id: 17 } },
    { transport: 'tcp', src: C, dst: S, time: [1700000002, 999999999], session: SESSION }),
  // 12 Allocate reply PENDING
  frame(12, { opcode: 0x8002, sub_opcode: 0x01, client_id: 0x11n, server_id: 0xaan, transaction_id: 7, payload: ALLOC },
    { transport: 'tcp', src: S, dst: C, time: [1700000007, 0] }),
];

const ALL = FRAMES.map((f) => f.number);

/** Numbers of the fixture frames the filter matches. */
function match(expr: string): number[] {
  const flt = compileFilter(expr);
  return FRAMES.filter((f) => flt.test(f)).map((f) => f.number);
}

function except(...ns: number[]): number[] {
  return ALL.filter((n) => !ns.includes(n));
}

describe('fixtures decode as intended', () => {
  it('payload blocks and findings', () => {
    expect(FRAMES.map((f) => f.decoded.payloadBlock?.id ?? null)).toEqual(
      ['alloc', 'alloc', 'init', null, 'device', null, 'stats', null, null, 'device', 'sessref', 'alloc']);
    expect(FRAMES[2]!.decoded.checksumOk).toBe(false);
    expect(FRAMES[7]!.decoded.name).toBe('Unknown');
  });
});

// ---- field list -----------------------------------------------------------------

describe('filter fields', () => {
  const names = filterFieldNames();

  it('include every field of the field table and every block prefix', () => {
    for (const block of [HEADER, ...PAYLOAD_BLOCKS]) {
      expect(names).toContain(block.prefix);
      for (const f of block.fields) expect(names).toContain(f.filter);
    }
  });

  it('include the derived fields', () => {
    for (const n of [
      'vvmp.reply', 'vvmp.status', 'vvmp.name', 'vvmp.checksum_ok', 'vvmp.session', 'vvmp.session_id', 'vvmp.latency',
      'frame.number', 'frame.packet', 'frame.time', 'frame.len', 'ip.addr', 'ip.src', 'ip.dst', 'tcp.port', 'udp.port',
      'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'transport', 'expert.code', 'expert.severity',
    ]) expect(names).toContain(n);
  });

  it('are unique', () => expect(new Set(names).size).toBe(names.length));

  it('every table field compiles bare, with == 0 and in a set', () => {
    for (const block of [HEADER, ...PAYLOAD_BLOCKS]) {
      for (const f of block.fields) {
        expect(() => compileFilter(f.filter)).not.toThrow();
        expect(() => compileFilter(`${f.filter} == 0 || ${f.filter} in {1 2..3}`)).not.toThrow();
      }
    }
  });

  it('a payload field is present only in frames decoded with its block', () => {
    for (const block of PAYLOAD_BLOCKS) {
      const want = FRAMES.filter((f) => f.decoded.payloadBlock === block).map((f) => f.number);
      expect(match(block.prefix)).toEqual(want);
      for (const fd of block.fields) expect(match(fd.filter)).toEqual(want);
    }
  });

  it('filterFields gives types, help and value names', () => {
    const byName = new Map(filterFields().map((f) => [f.name, f]));
    expect(byName.get('vvmp.alloc.storage_type')).toMatchObject({ type: 'uint', values: ['JBOD', 'RAID0', 'RAID2', 'RAID3', 'RAID4', 'RAID5', 'ANY'] });
    expect(byName.get('vvmp.alloc.flags')!.values).toEqual(['EXCLUSIVE', 'MIRROR', 'BACKUP', 'WAIT']);
    expect(byName.get('vvmp.opcode')!.values).toContain('Allocate');
    expect(byName.get('vvmp.status')!.values).toContain('DENIED');
    expect(byName.get('frame.time')!.type).toBe('time');
    for (const f of byName.values()) expect(f.help.length).toBeGreaterThan(0);
  });
});

// ---- grammar ---------------------------------------------------------------------

describe('empty filter', () => {
  it('matches everything', () => {
    expect(isEmptyFilter('')).toBe(true);
    expect(isEmptyFilter('  \t')).toBe(true);
    expect(isEmptyFilter('vvmp')).toBe(false);
    expect(match('')).toEqual(ALL);
    expect(match('   ')).toEqual(ALL);
    expect(compileFilter('').fields).toEqual([]);
  });
});

describe('comparison operators', () => {
  it.each([
    ['frame.number == 3', [3]], ['frame.number eq 3', [3]],
    ['frame.number != 3', except(3)], ['frame.number ne 3', except(3)],
    ['frame.number < 3', [1, 2]], ['frame.number lt 3', [1, 2]],
    ['frame.number <= 3', [1, 2, 3]], ['frame.number le 3', [1, 2, 3]],
    ['frame.number > 10', [11, 12]], ['frame.number gt 10', [11, 12]],
    ['frame.number >= 10', [10, 11, 12]], ['frame.number ge 10', [10, 11, 12]],
    ['frame.number==3', [3]], ['frame.number EQ 3', [3]],
    ['frame.number == 0x0b', [11]], ['frame.number == 0b11', [3]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('set membership', () => {
  it.each([
    ['frame.number in {1 3 5}', [1, 3, 5]],
    ['frame.number in {1, 3, 5}', [1, 3, 5]],
    ['frame.number in {1,3,5}', [1, 3, 5]],
    ['frame.number in {2..4}', [2, 3, 4]],
    ['frame.number in {1 4..5 11..100}', [1, 4, 5, 11, 12]],
    ['frame.number in {0x1..0x2, 12}', [1, 2, 12]],
    ['frame.number not in {2..11}', [1, 12]],
    ['vvmp.alloc.storage_type in {RAID0..RAID5}', [1, 2, 12]],
    ['vvmp.status in {DENIED PENDING}', [6, 12]],
    ['vvmp.name in {Query "Free" announce}', [4, 5, 9, 10]],
    ['vvmp.latency in {0..1}', [2, 7]],
    ['vvmp.latency in {2.5}', [5]],
    ['frame.time in {1700000001..1700000002}', [4, 5, 6]],
    ['frame.time in {1700000001 1700000005}', [4, 9]],
    ['vvmp.reply in {false}', [1, 3, 4, 8, 10, 11]],
    ['transport in {udp}', [4, 5, 6, 10]],
    ['vvmp.client_id in {0x11 0xffffffffffffffff}', [1, 2, 3, 7, 11, 12]],
    ['vvmp.stats.bytes_read in {0x8000000000000000..0x8000000000000001}', [7]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('contains, matches and &', () => {
  it.each([
    ['vvmp.name contains "Alloc"', [1, 2, 6, 12]],
    ['vvmp.name contains ery', [4, 5]],
    ['vvmp.alloc.flags contains EXCLUSIVE', [1, 12]],
    ['vvmp.alloc.flags contains exclusive', [1, 12]],
    ['vvmp.alloc.flags contains 5', [1, 12]],
    ['vvmp.alloc.flags contains MIRROR', []],
    ['vvmp.device.device_flags contains DOWNLOADS', [5]],
    ['vvmp.alloc.flags & 0x6', [1, 12]],
    ['vvmp.alloc.flags & BACKUP', [1, 12]],
    ['vvmp.alloc.flags & 0x2', []],
    ['vvmp.client_id & 0x8000000000000000', [3]],
    ['expert.code contains checksum', [3]],
    ['expert.code contains status', [6, 9, 12]],
    ['expert.code contains timeout', []],
    ['expert.message contains "sum to"', [3]],
    ['vvmp.session contains "/17"', [2, 3, 7, 11]],
    ['vvmp.name matches "^(query|free)$"', [4, 5, 9]],
    ['vvmp.name ~ "^A"', [1, 2, 6, 10, 12]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('logical operators and precedence', () => {
  it.each([
    // a || b && c  is  a || (b && c)
    ['frame.number == 1 || frame.number == 3 && vvmp.reply == 1', [1]],
    ['frame.number == 2 || frame.number == 3 && vvmp.reply == 1', [2]],
    ['(frame.number == 1 || frame.number == 2) && vvmp.reply == 1', [2]],
    ['frame.number == 1 or frame.number == 2 and vvmp.reply == 1', [1, 2]],
    ['frame.number == 1 || frame.number == 2 and vvmp.reply == 1', [1, 2]],
    // !a && b  is  (!a) && b
    ['!vvmp.reply == 1 && frame.number <= 3', [1, 3]],
    ['!(vvmp.reply == 1 && frame.number <= 3)', except(2)],
    ['not vvmp.reply == 1 and frame.number <= 3', [1, 3]],
    // ! binds looser than a comparison: !frame.number == 1 is !(frame.number == 1)
    ['!frame.number == 1', except(1)],
    ['not (frame.number == 1 or vvmp.reply == 1)', [3, 4, 8, 10, 11]],
    ['!!vvmp.reply == 1', [2, 5, 6, 7, 9, 12]],
    ['NOT vvmp.reply == 1 AND frame.number < 4', [1, 3]],
    ['vvmp.reply == 1 && vvmp.checksum_ok == 1 && frame.number < 6 || frame.number == 12', [2, 5, 12]],
    ['((((vvmp.init))))', [3]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('bare fields', () => {
  it.each([
    ['vvmp', ALL],
    ['frame', ALL],
    ['vvmp.alloc', [1, 2, 12]],
    ['vvmp.device', [5, 10]],
    ['vvmp.init', [3]],
    ['vvmp.free', []],
    ['vvmp.stats', [7]],
    ['vvmp.sessref', [11]],
    // Wireshark: a bare field tests presence, for booleans too (false counts).
    ['vvmp.reply', except()],
    ['!vvmp.reply', []],
    ['vvmp.checksum_ok', except()],
    ['vvmp.status', [2, 5, 6, 7, 9, 12]],
    ['vvmp.latency', [2, 5, 7]],
    ['vvmp.session', [2, 3, 7, 11]],
    ['vvmp.session_id', [1, 2, 3, 7, 11, 12]],
    ['vvmp.device.free_kb', [5, 10]],
    ['vvmp.peer', [2, 5, 7]],
    ['tcp', [1, 2, 3, 7, 8, 9, 11, 12]],
    ['udp', [4, 5, 6, 10]],
    ['expert', [3, 6, 8, 9, 10, 12]],
    ['!expert', [1, 2, 4, 5, 7, 11]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('header fields, opcodes and statuses', () => {
  it.each([
    ['vvmp.opcode == Allocate', [1, 2, 6, 12]],
    ['vvmp.opcode == allocate', [1, 2, 6, 12]],
    ['vvmp.opcode == "Allocate"', [1, 2, 6, 12]],
    ['vvmp.opcode == 2', [1]],
    ['vvmp.opcode == 0x8002', [2, 6, 12]],
    ['vvmp.opcode != Allocate', except(1, 2, 6, 12)],
    ['vvmp.opcode in {Query Free}', [4, 5, 9]],
    ['vvmp.opcode == Announce', [10]],
    ['vvmp.opcode >= 0x8000', [2, 5, 6, 7, 9, 12]],
    ['vvmp.name == Allocate', [1, 2, 6, 12]],
    ['vvmp.name == ALLOCATE', [1, 2, 6, 12]],
    ['vvmp.name == Unknown', [8]],
    ['vvmp.name != Allocate', except(1, 2, 6, 12)],
    ['vvmp.status == OK', [2, 5, 7]],
    ['vvmp.status == ok', [2, 5, 7]],
    ['vvmp.status == "DENIED"', [6]],
    ['vvmp.status == DENIED', [6]],
    ['vvmp.status == 0x21', [6]],
    ['vvmp.status == 0x7E', [9]],
    ['vvmp.status == 126', [9]],
    ['vvmp.status == PENDING', [12]],
    ['vvmp.status != OK', [6, 9, 12]],
    ['vvmp.status > PENDING', [6, 9]],
    ['vvmp.sub_opcode == 0xff', [4]],
    ['vvmp.transaction_id == 7', [1, 2, 12]],
    ['vvmp.reply == true', [2, 5, 6, 7, 9, 12]],
    ['vvmp.reply == 1', [2, 5, 6, 7, 9, 12]],
    ['vvmp.reply == false', [1, 3, 4, 8, 10, 11]],
    ['vvmp.reply != TRUE', [1, 3, 4, 8, 10, 11]],
    ['vvmp.checksum_ok == false', [3]],
    ['vvmp.checksum_ok == 0', [3]],
    ['!vvmp.checksum_ok', []],
    ['vvmp.length == 5', [1, 2, 10, 12]],
    ['vvmp.length == 6', [3]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('64-bit ids compare exactly', () => {
  it.each([
    ['vvmp.client_id == 0xffffffffffffffff', [3]],
    ['vvmp.client_id == 0xFFFFFFFFFFFFFFFF', [3]],
    ['vvmp.client_id == 18446744073709551615', [3]],
    // 2^64 - 2 rounds to the same double as 2^64 - 1: must not match
    ['vvmp.client_id == 18446744073709551614', []],
    ['vvmp.client_id == 0xfffffffffffffffe', []],
    ['vvmp.client_id > 0xfffffffffffffffe', [3]],
    ['vvmp.client_id >= 0xffffffffffffffff', [3]],
    ['vvmp.client_id < 0xffffffffffffffff && vvmp.client_id > 0x40', [8]],
    ['vvmp.client_id == 0x11', [1, 2, 7, 11, 12]],
    ['vvmp.client_id == 17', [1, 2, 7, 11, 12]],
    ['vvmp.client_id == 0x0000000000000011', [1, 2, 7, 11, 12]],
    ['vvmp.client_id != 0x11', [3, 4, 5, 6, 8, 9, 10]],
    ['vvmp.server_id == 0xbb', [5]],
    ['vvmp.stats.bytes_read == 0x8000000000000001', [7]],
    ['vvmp.stats.bytes_read == 9223372036854775809', [7]],
    ['vvmp.stats.bytes_read == 9223372036854775808', []],
    ['vvmp.stats.bytes_read > 9223372036854775808', [7]],
    ['vvmp.stats.bytes_written == 12345', [7]],
    // wider than 64 bits: never equal, no error
    ['vvmp.client_id == 0x1ffffffffffffffff', []],
    ['vvmp.client_id < 0x1ffffffffffffffff', ALL],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('payload fields and enum names', () => {
  it.each([
    ['vvmp.alloc.storage_type == RAID5', [1, 2, 12]],
    ['vvmp.alloc.storage_type == raid5', [1, 2, 12]],
    ['vvmp.alloc.storage_type == 5', [1, 2, 12]],
    ['vvmp.alloc.storage_type != RAID5', []],
    ['vvmp.alloc.access_type == FC', [1, 2, 12]],
    ['vvmp.alloc.qos == gold', [1, 12]],
    ['vvmp.alloc.qos == GOLD', [1, 12]],
    ['vvmp.alloc.qos >= silver', [1, 2, 12]],
    ['vvmp.alloc.qos > gold', [2]],
    ['vvmp.alloc.qos in {platinum, best_effort}', [2]],
    ['vvmp.alloc.capacity_kb == 104857600', [1, 2, 12]],
    ['vvmp.alloc.capacity_kb >= 0x6400000', [1, 2, 12]],
    ['vvmp.alloc.flags == 5', [1, 12]],
    ['vvmp.alloc.flags == 0', [2]],
    ['vvmp.alloc.session_id == 17', [2]],
    ['vvmp.init.stripe_size == 65536', [3]],
    ['vvmp.sessref.session_id == 17', [11]],
    ['vvmp.session_id == 17', [2, 3, 7, 11]],
    ['vvmp.session_id == 0', [1, 12]],
    ['vvmp.session_id != 17', [1, 12]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('device records: any record matches', () => {
  it.each([
    ['vvmp.device.storage_type == RAID0', [5]],
    ['vvmp.device.storage_type == RAID5', [5, 10]],
    // != : device records present and none equal
    ['vvmp.device.storage_type != RAID0', [10]],
    ['vvmp.device.storage_type != RAID5', []],
    ['!(vvmp.device.storage_type == RAID0)', except(5)],
    ['vvmp.device.free_kb > 4000', [5]],
    ['vvmp.device.free_kb < 1000', [10]],
    ['vvmp.device.device_class == TAPE', [5]],
    ['vvmp.device.device_class == switch', [10]],
    ['vvmp.device.device_id in {2 9}', [5, 10]],
    ['vvmp.device.device_id not in {1}', [10]],
    ['vvmp.device.access_type == NONE', [10]],
    // both conditions may hold on different records (Wireshark semantics)
    ['vvmp.device.storage_type == RAID0 && vvmp.device.free_kb == 1000', [5]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('sessions, latency, frame fields', () => {
  it.each([
    ['vvmp.session == "0x00000000000000aa/17"', [2, 3, 7, 11]],
    ['vvmp.session == 0x00000000000000aa/17', [2, 3, 7, 11]],
    ['vvmp.session == 0xaa/17', [2, 3, 7, 11]],
    ['vvmp.session == "0xAA/17"', [2, 3, 7, 11]],
    ['vvmp.session == 170/17', [2, 3, 7, 11]],
    ['vvmp.session == "0x00000000000000aa\\x2f17"', [2, 3, 7, 11]],
    ['vvmp.session == 0xaa/18', []],
    ['vvmp.session != 0xaa/18', [2, 3, 7, 11]],
    ['vvmp.latency < 1', [2]],
    ['vvmp.latency <= 1', [2, 7]],
    ['vvmp.latency == 0.39', [2]],
    ['vvmp.latency > 2', [5]],
    ['vvmp.latency >= 2.5e0', [5]],
    ['vvmp.peer == 1', [2]],
    ['frame.packet == 103', [3]],
    ['frame.len == 52', [1, 2, 10, 12]],
    ['frame.len == 56', [3]],
    ['frame.len == 32', [4, 6, 8, 9]],
    ['frame.len > 56', [5, 7]],
    ['frame.time >= 1700000000.5', except(1, 2)],
    ['frame.time > 1700000000.5', except(1, 2, 3)],
    ['frame.time == 1700000000.5', [3]],
    ['frame.time == 1700000000.500000000', [3]],
    ['frame.time == 1700000000.10039', [2]],
    ['frame.time == 1700000000.1003900001', []],
    ['frame.time < 1700000000.1003900001', [1, 2]],
    ['frame.time <= 1700000000.100390000', [1, 2]],
    ['frame.time < 1700000000.10039', [1]],
    ['frame.time != 1700000002', except(6)],
    ['frame.time > 1700000002 && frame.time < 1700000003', [11]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('addresses, ports, transport', () => {
  it.each([
    ['ip.addr == 10.0.0.1', [1, 2, 3, 7, 8, 9, 11, 12]],
    ['ip.src == 10.0.0.1', [1, 3, 8, 11]],
    ['ip.dst == 10.0.0.1', [2, 7, 9, 12]],
    ['ip.addr != 10.0.0.1', [4, 5, 6, 10]],
    ['ip.addr == 10.0.0.0/8', [1, 2, 3, 7, 8, 9, 10, 11, 12]],
    ['ip.addr == 10.1.0.0/16', [10]],
    ['ip.addr == 10.1.99.99/16', [10]],
    ['ip.dst == 10.255.255.255/32', [10]],
    ['ip.addr == 0.0.0.0/0', [1, 2, 3, 6, 7, 8, 9, 10, 11, 12]],
    ['ip.addr == 192.168.1.0/24', [6]],
    ['ip.addr == "192.168.1.9"', [6]],
    ['ip.addr in {192.168.1.9 10.1.2.3}', [6, 10]],
    ['ip.addr in {192.168.1.1..192.168.1.9}', [6]],
    ['ip.addr == 2001:db8::1', [4, 5]],
    ['ip.src == 2001:db8::1', [4]],
    ['ip.addr == 2001:0DB8:0000:0000:0000:0000:0000:0002', [4, 5]],
    ['ip.addr == 2001:db8::/32', [4, 5]],
    ['ip.addr == 2001:db9::/32', []],
    ['ip.addr == ::/0', [4, 5]],
    ['ip.addr == "2001:db8::1"', [4, 5]],
    ['tcp.port == 7369', [1, 2, 3, 7, 8, 9, 11, 12]],
    ['udp.port == 7369', [4, 5, 6, 10]],
    ['tcp.srcport == 40001', [1, 3, 8, 11]],
    ['tcp.dstport == 40001', [2, 7, 9, 12]],
    ['udp.srcport == 7369', [5, 6, 10]],
    ['udp.dstport == 5000', [6]],
    ['udp.port in {5000 40200}', [4, 5, 6]],
    ['tcp.port != 7369', []],
    ['transport == udp', [4, 5, 6, 10]],
    ['transport == TCP', [1, 2, 3, 7, 8, 9, 11, 12]],
    ['transport != tcp', [4, 5, 6, 10]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('expert findings', () => {
  it.each([
    ['expert.code == checksum_bad', [3]],
    ['expert.code == CHECKSUM_BAD', [3]],
    ['expert.code == status_error', [6, 9]],
    ['expert.code == boot_teardown', [10]],
    ['expert.code != status_error', [3, 8, 10, 12]],
    ['expert.code in {opcode_unknown subop_invalid}', [8, 9]],
    ['expert.severity == error', [3, 6, 9]],
    ['expert.severity == note', [12]],
    ['expert.severity >= warning', [3, 6, 8, 9, 10]],
    ['expert.severity < warning', [12]],
    ['expert.severity > note && !(expert.severity == error)', [8, 10]],
  ])('%s', (expr, want) => expect(match(expr)).toEqual(want));
});

describe('compiled filter', () => {
  it('keeps the text and lists the fields it reads, once each, in order', () => {
    const flt = compileFilter('vvmp.reply && frame.number > 1 || vvmp.reply && ip.addr == 10.0.0.1');
    expect(flt.text).toBe('vvmp.reply && frame.number > 1 || vvmp.reply && ip.addr == 10.0.0.1');
    expect(flt.fields).toEqual(['vvmp.reply', 'frame.number', 'ip.addr']);
  });

  it('a field needs no VVMP payload to be tested (no throw on short frames)', () => {
    const short = frame(99, { opcode: 0x0002, payload: new Uint8Array(0) }, { transport: 'udp', src: C, dst: S, time: [0, 0] });
    short.decoded = decodeFrame(Buffer.from([0x00, 0x02, 0x00]));
    expect(compileFilter('vvmp.client_id == 0 || vvmp.alloc.qos == gold || vvmp.status == OK').test(short)).toBe(false);
    expect(compileFilter('vvmp.opcode == Allocate && vvmp.name == Allocate').test(short)).toBe(true);
    expect(compileFilter('vvmp.client_id').test(short)).toBe(false);
  });

  it('evaluates a million frames quickly', () => {
    const flt = compileFilter(
      'vvmp.opcode == Allocate && vvmp.alloc.storage_type in {RAID5 RAID0} && ip.addr == 10.0.0.0/8 || vvmp.device.free_kb > 4000 || expert.severity >= warning');
    let n = 0;
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000 / FRAMES.length; i++) for (const f of FRAMES) if (flt.test(f)) n++;
    const ms = performance.now() - t0;
    expect(n).toBeGreaterThan(0);
    expect(ms).toBeLessThan(2000);
  });
});
