// Bugs, not cases: triggers named through the field table, cause signatures,
// counting on a known bug, retired triggers that hide nothing else; the
// state model; crash last words; the latency-derived reply deadline.

import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { encodeFrame } from '../../src/protocol/encode.js';
import { HEADER, OP_ALLOCATE, OP_FREE, REPLY_BIT } from '../../src/protocol/fields.js';
import { Baseline } from '../../src/traffic/fuzz/baseline.js';
import type { FuzzCase } from '../../src/traffic/fuzz/cases.js';
import { OFF, build, templateByName } from '../../src/traffic/fuzz/frames.js';
import { fixChecksumForView } from '../../src/traffic/fuzz/gen.js';
import { causeOf, lastWords } from '../../src/traffic/fuzz/investigate.js';
import { BugRegistry, signatureOf, type Bug, type Cause } from '../../src/traffic/fuzz/registry.js';
import { StateModel, replyState } from '../../src/traffic/fuzz/statemodel.js';
import { caseTriggers } from '../../src/traffic/fuzz/triggers.js';
import { writeField } from '../../src/protocol/codec.js';

const F = (name: string) => HEADER.fields.find((f) => f.name === name)!;

/** A one-frame case: `template` with `field` set to `value` (checksum fixed unless `bad`). */
function mutated(template: string, field: string, value: bigint, bad = false): FuzzCase {
  const base = build(templateByName(template), { transaction_id: 5 });
  const frame = Buffer.from(base);
  writeField(frame, 0, F(field), value);
  if (!bad) fixChecksumForView(frame);
  return { seq: 1, strategy: 'test', desc: '', conns: ['tcp'], steps: [{ conn: 0, frame, base }] };
}

function badChecksum(template: string): FuzzCase {
  const base = build(templateByName(template), { transaction_id: 5 });
  const frame = Buffer.from(base);
  frame[OFF.checksum] ^= 0x01;
  return { seq: 1, strategy: 'test', desc: '', conns: ['tcp'], steps: [{ conn: 0, frame, base }] };
}

function bug(cause: Cause, c: FuzzCase): Bug {
  const t = caseTriggers(c);
  return { id: 'f0001', signature: signatureOf(cause, t, c.strategy), cause, fields: t.fields, sequence: t.fields.length ? [] : t.sequence, kind: c.strategy, count: 1, size: 1, detail: '', strategy: c.strategy, dir: '' };
}

describe('triggers', () => {
  it('name the changed field and value in the base opcode; a bad checksum is one value', () => {
    expect(caseTriggers(mutated('Query', 'dst_san', 0x800000n)).keys).toEqual(['tcp:Query|vvmp.dst_san=0x800000']);
    const t = caseTriggers(badChecksum('Statistics'));
    expect(t.keys).toEqual(['tcp:Statistics|vvmp.checksum=bad']);
    expect(t.fields).toEqual(['vvmp.checksum']);
  });

  it('a sequence without a base is its opcode sequence', () => {
    const frames = ['Allocate', 'Free', 'Modify'].map((n) => build(templateByName(n)));
    const t = caseTriggers({ seq: 1, strategy: 's', desc: '', conns: ['tcp'], steps: frames.map((frame) => ({ conn: 0, frame })) });
    expect(t.sequence).toEqual(['Allocate', 'Free', 'Modify']);
    expect(t.fields).toEqual([]);
  });
});

describe('bug registry', () => {
  it('counts a failure with a known signature on its bug; a crash is known by exit and last words', () => {
    const reg = new BugRegistry();
    const crash: Cause = { oracle: 'crash', qualifier: 'code 70', words: 'no route to SAN #' };
    reg.add(bug(crash, mutated('Query', 'dst_san', 0x800000n)));
    // another value, another opcode, or a random case: the same crash site
    expect(reg.match(crash, mutated('Allocate', 'dst_san', 0xffffffn))?.id).toBe('f0001');
    expect(reg.match({ oracle: 'crash', qualifier: 'code 70' }, mutated('Free', 'src_san', 3n))?.id).toBe('f0001');
    expect(reg.match({ oracle: 'crash', qualifier: 'code 1', words: 'RangeError: #' }, mutated('Query', 'dst_san', 0x800000n))).toBeNull();
    expect(reg.match({ oracle: 'crash', qualifier: 'code 70', words: 'something else' }, mutated('Query', 'dst_san', 0x800000n))).toBeNull();
  });

  it('retires a trigger per opcode: a bug on every bad checksum does not hide one on a bad checksum in Statistics', () => {
    const reg = new BugRegistry();
    const wrong: Cause = { oracle: 'wrong_reply', qualifier: 'wrong client_id' };
    const b = bug(wrong, badChecksum('Query'));
    reg.add(b);
    reg.retire(b, badChecksum('Query'));
    reg.count(b, badChecksum('Allocate'));
    expect(reg.isRetired(badChecksum('Query'))).toBe(true);
    expect(reg.isRetired(badChecksum('Allocate'))).toBe(true);
    // not retired in Statistics: its own bug (malformed_ok) is still to be found
    expect(reg.isRetired(badChecksum('Statistics'))).toBe(false);
    expect(reg.match({ oracle: 'malformed_ok', qualifier: '' }, badChecksum('Statistics'))).toBeNull();
    expect(reg.matchByTrigger(badChecksum('Statistics'))).toBeNull();
    expect(reg.matchByTrigger(badChecksum('Allocate'))?.id).toBe('f0001');
    expect(b.count).toBe(2);
  });

  it('a crash value seen in two opcodes is retired in all; a crash through one field four times retires the field', () => {
    const reg = new BugRegistry();
    const crash: Cause = { oracle: 'crash', qualifier: 'code 70' };
    const b = bug(crash, mutated('Query', 'dst_san', 0x800000n));
    reg.add(b);
    reg.retire(b, mutated('Query', 'dst_san', 0x800000n));
    reg.count(b, mutated('Allocate', 'dst_san', 0x800000n));
    expect(reg.isRetired(mutated('Free', 'dst_san', 0x800000n))).toBe(true);
    expect(reg.isRetired(mutated('Free', 'dst_san', 0x900000n))).toBe(false);
    reg.count(b, mutated('Free', 'dst_san', 0x900000n));
    reg.count(b, mutated('Free', 'dst_san', 0xa00000n));
    expect(reg.isRetired(mutated('Modify', 'dst_san', 0xb00000n))).toBe(true);
    // other fields stay in play
    expect(reg.isRetired(mutated('Modify', 'src_san', 0xb00000n))).toBe(false);
  });

  it('the same value over the other transport is still one opcode; a payload size change never leaves its opcode', () => {
    const sized = (template: string, delta: number, transport: 'tcp' | 'udp'): FuzzCase => {
      const base = build(templateByName(template), { transaction_id: 5 });
      const frame = Buffer.alloc(base.length + delta);
      base.copy(frame, 0, 0, Math.min(base.length, frame.length));
      frame.writeUInt16BE((frame.length - 32) / 4, OFF.length);
      fixChecksumForView(frame);
      return { seq: 1, strategy: 'test', desc: '', conns: [transport], steps: [{ conn: 0, frame, base }] };
    };
    const overUdp = (c: FuzzCase): FuzzCase => ({ ...c, conns: ['udp'] });
    const reg = new BugRegistry();
    const crash: Cause = { oracle: 'crash', qualifier: 'code 1', words: 'RangeError: #' };
    const b = bug(crash, sized('Announce', -4, 'tcp'));
    reg.add(b);
    reg.retire(b, sized('Announce', -4, 'tcp'));
    reg.count(b, sized('Announce', -4, 'udp'));
    // Announce's payload 4 bytes short crashes; Initialize's 4 bytes short is another frame
    expect(reg.isRetired(sized('Announce', -4, 'udp'))).toBe(true);
    expect(reg.isRetired(sized('Initialize', -4, 'tcp'))).toBe(false);
    // a header value over TCP and UDP in one opcode is not "seen in two opcodes"
    const q = mutated('Query', 'dst_san', 0x800000n);
    reg.count(b, q);
    reg.count(b, overUdp(q));
    expect(reg.isRetired(mutated('Free', 'dst_san', 0x800000n))).toBe(false);
    // four times through the size field: retired in the opcodes it was seen in only
    reg.count(b, sized('Announce', -8, 'tcp'));
    expect(reg.isRetired(sized('Announce', -12, 'tcp'))).toBe(true);
    expect(reg.isRetired(sized('Initialize', -4, 'udp'))).toBe(false);
  });

  it('cause: crash exit and words, hang scope, the wrong reply field', () => {
    expect(causeOf({ oracle: 'crash', detail: 'target exited with signal SIGSEGV' })).toEqual({ oracle: 'crash', qualifier: 'signal SIGSEGV' });
    expect(causeOf({ oracle: 'hang', detail: '', scope: 'whole server' }).qualifier).toBe('whole server');
    expect(causeOf({ oracle: 'wrong_reply', detail: '', replyField: 'transaction_id' }).qualifier).toBe('wrong transaction_id');
  });

  it('last words skip stack frames and blank numbers', () => {
    const stderr = [
      'file:///tmp/x.mjs:12', '      throw new RangeError(`device record ${n}`);', '      ^', '',
      'RangeError: device record 3 of the Announce reads past byte 28', '    at Immediate.<anonymous> (file:///tmp/x.mjs:12:13)', '',
      'Node.js v20.20.2',
    ];
    expect(lastWords(stderr)).toBe('RangeError: device record # of the Announce reads past byte #');
    expect(lastWords([' 1: 0xb8a3a0 node::Abort() [node]'])).toBe('');
  });
});

describe('state model', () => {
  const reply = (op: number, status: number, payload: Record<string, unknown> | null = null) =>
    decodeFrame(encodeFrame({ opcode: op | REPLY_BIT, sub_opcode: status, client_id: 1n, transaction_id: 1, payload: payload as never }));

  it('states from replies (opcode, status, session); rarest first; dot and JSON', () => {
    const m = new StateModel();
    const alloc = build(templateByName('Allocate'));
    const free = build(templateByName('Free'));
    const c: FuzzCase = { seq: 1, strategy: 's', desc: '', conns: ['tcp'], steps: [{ conn: 0, frame: alloc }, { conn: 0, frame: free }] };
    const granted = reply(OP_ALLOCATE, 0, { storage_type: 0xff, access_type: 0xff, session_id: 7, capacity_kb: 1, bandwidth_kb: 1, qos: 1, flags: 0, timeout_ms: 0 });
    const freed = reply(OP_FREE, 0, { session_id: 7, reserved: 0, release_kb: 0 });
    expect(replyState(granted)).toBe('Allocate OK session granted');
    for (let i = 0; i < 3; i++) m.observe({ ...c, steps: [c.steps[0]!] }, () => granted);
    m.observe(c, (i) => (i === 0 ? granted : freed));
    const rare = m.rarest();
    expect(rare[0]![0]).toBe('Free OK session freed');
    expect(rare[0]![1]).toMatchObject({ visits: 1, transport: 'tcp' });
    expect(rare[0]![1].prefix!.length).toBe(2);
    // ties (4 visits each) go to the shorter way there
    expect(rare.map(([s]) => s)).toEqual(['Free OK session freed', 'start', 'Allocate OK session granted']);
    expect(m.toDot()).toContain('"Allocate OK session granted" -> "Free OK session freed" [label="1"]');
    expect(m.toJson().edges).toContainEqual({ from: 'start', to: 'Allocate OK session granted', count: 4 });
  });
});

describe('state model: avoided states', () => {
  it('a state whose walks only re-trigger a known crash is not walked from again', () => {
    const m = new StateModel();
    const alloc = build(templateByName('Allocate'));
    const c: FuzzCase = { seq: 1, strategy: 's', desc: '', conns: ['tcp'], steps: [{ conn: 0, frame: alloc }] };
    const granted = decodeFrame(encodeFrame({ opcode: OP_ALLOCATE | REPLY_BIT, sub_opcode: 0, client_id: 1n, transaction_id: 1,
      payload: { storage_type: 0xff, access_type: 0xff, session_id: 7, capacity_kb: 1, bandwidth_kb: 1, qos: 1, flags: 0, timeout_ms: 0 } as never }));
    m.observe(c, () => granted);
    expect(m.rarest().map(([s]) => s)).toContain('Allocate OK session granted');
    m.avoid('Allocate OK session granted');
    expect(m.isAvoided('Allocate OK session granted')).toBe(true);
    expect(m.rarest().map(([s]) => s)).not.toContain('Allocate OK session granted');
    // seen again: still avoided
    m.observe(c, () => granted);
    expect(m.rarest().map(([s]) => s)).not.toContain('Allocate OK session granted');
  });
});

describe('reply deadline', () => {
  it('follows the measured latency within its bounds; a given --timeout is used as is', () => {
    const b = new Baseline('127.0.0.1', 1, 2000);
    expect(b.replyDeadlineMs()).toBe(2000);
    (b as unknown as { recent: number[] }).recent.push(2, 3, 2, 40);
    expect(b.replyDeadlineMs()).toBe(160);
    (b as unknown as { recent: number[] }).recent.push(500);
    expect(b.replyDeadlineMs()).toBe(2000);
    const fixed = new Baseline('127.0.0.1', 1, 700, 150, true);
    (fixed as unknown as { recent: number[] }).recent.push(1);
    expect(fixed.replyDeadlineMs()).toBe(700);
  });
});
