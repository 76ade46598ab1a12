// Case generation: the field table drives it, a seed makes it repeatable.

import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { HEADER, HEADER_SIZE, OPCODES, PAYLOAD_BLOCKS, fieldMax } from '../../src/protocol/fields.js';
import { caseExpectations, caseFromJson, caseToJson, type FuzzCase } from '../../src/traffic/fuzz/cases.js';
import { OFF, REQUEST_TEMPLATES, TEMPLATES, build, residue, txidOf } from '../../src/traffic/fuzz/frames.js';
import { Rng } from '../../src/traffic/fuzz/prng.js';
import { Scheduler } from '../../src/traffic/fuzz/scheduler.js';
import { makeStrategies, type GenOptions } from '../../src/traffic/fuzz/strategies.js';
import { boundaryValues, interestingValues } from '../../src/traffic/fuzz/values.js';

const OPTS: GenOptions = { seed: 1, transport: 'both', maxPayload: 65536 };

function firstCases(opts: GenOptions, n: number): FuzzCase[] {
  const s = new Scheduler(makeStrategies(opts));
  const out: FuzzCase[] = [];
  for (let i = 0; i < n; i++) {
    const c = s.next();
    if (!c) break;
    out.push(c);
  }
  return out;
}

function fingerprint(cases: FuzzCase[]): string {
  return JSON.stringify(cases.map((c) => [c.strategy, c.desc, c.conns, c.steps.map((s) => [s.conn, s.frame.toString('hex'), s.bind ?? null, s.segments?.length ?? 0])]));
}

describe('strategies come from the field table', () => {
  it('has boundary:<filter> for every field of the header and of every payload block', () => {
    const names = new Set(makeStrategies(OPTS).map((s) => s.name));
    const want = [HEADER, ...PAYLOAD_BLOCKS].flatMap((b) => b.fields.map((f) => `boundary:${f.filter}`));
    expect(want.length).toBeGreaterThan(40);
    for (const w of want) expect(names, w).toContain(w);
  });

  it('every boundary strategy writes its field: each value lands at the field offset', () => {
    for (const st of makeStrategies(OPTS).filter((s) => s.name.startsWith('boundary:'))) {
      const filter = st.name.slice('boundary:'.length);
      const cases: FuzzCase[] = [];
      for (let c = st.next(); c; c = st.next()) cases.push(c);
      expect(cases.length, st.name).toBeGreaterThan(0);
      // the mutated step is the one with a base (deep cases: after the Allocate)
      const changed = cases.filter((c) => c.steps.some((s) => s.base && !s.base.equals(s.frame)));
      expect(changed.length, `${st.name}: no case changes its frame`).toBeGreaterThan(0);
      expect(filter.startsWith('vvmp')).toBe(true);
    }
  });

  it('has sub-opcode, opcode, length, checksum, size, stateful and transport strategies', () => {
    const names = new Set(makeStrategies(OPTS).map((s) => s.name));
    for (const d of OPCODES) expect(names).toContain(`subop:${d.name.toLowerCase()}`);
    for (const n of [
      'opcode:unknown', 'opcode:reply', 'length:zero', 'length:short', 'length:long', 'length:huge', 'length:over-limit',
      'checksum:broken', 'truncate', 'trailing', 'payload:size', 'records:count', 'flip', 'random:fields',
      'stateful:init-before-alloc', 'stateful:double-free', 'stateful:free-other-client', 'stateful:modify-after-free',
      'stateful:use-after-free', 'stateful:txid-reuse', 'stateful:outstanding-1000', 'stateful:interleaved-sessions',
      'transport:slow-drip', 'transport:split-1byte', 'transport:coalesced', 'transport:half-open',
      'transport:many-connections', 'transport:garbage',
    ]) expect(names, n).toContain(n);
    expect(names).not.toContain('seed:flip');
    const withSeeds = new Set(makeStrategies({ ...OPTS, seeds: [build(REQUEST_TEMPLATES[1]!)] }).map((s) => s.name));
    expect(withSeeds).toContain('seed:flip');
    expect(withSeeds).toContain('seed:field');
  });

  it('the deterministic first pass runs whole before any random or stateful case', () => {
    const all = makeStrategies(OPTS);
    const firstNames = new Set(all.filter((s) => s.deterministic).map((s) => s.name));
    const sched = new Scheduler(all);
    const cases: FuzzCase[] = [];
    for (;;) {
      const c = sched.next()!;
      if (!firstNames.has(c.strategy)) break;
      cases.push(c);
    }
    expect(sched.inFirstPass).toBe(false);
    expect(cases.every((c) => firstNames.has(c.strategy))).toBe(true);
    // every field of every opcode got every boundary value: one change per case
    for (const f of HEADER.fields) {
      for (const t of REQUEST_TEMPLATES) {
        const sent = new Set(cases.filter((c) => c.change?.field === f.filter && c.change.opcode === t.name).map((c) => c.change!.value));
        for (const v of interestingValues(f)) expect(sent, `${f.filter}=${v.label} in ${t.name}`).toContain(v.label);
      }
    }
    expect(cases.length).toBeLessThan(120_000);
  });

  it('after the first pass every other strategy shows up early (weighted round robin)', () => {
    const all = makeStrategies(OPTS);
    const sched = new Scheduler(all);
    while (sched.inFirstPass) sched.next();
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) seen.add(sched.next()!.strategy);
    for (const s of all.filter((x) => !x.deterministic)) expect(seen, s.name).toContain(s.name);
  });

  it('the baseline is ordinary: small sequential transaction ids, few stable client ids', () => {
    const cases = firstCases({ ...OPTS, only: ['stateful:'] }, 300);
    const txids = cases.flatMap((c) => c.steps.map((s) => txidOf(s.frame)!));
    expect(Math.max(...txids)).toBeLessThan(100_000);
    for (const c of cases) {
      const ids = c.steps.map((s) => txidOf(s.frame)!);
      for (let i = 1; i < ids.length; i++) expect(ids[i]! - ids[i - 1]!, c.strategy).toBeLessThanOrEqual(1);
    }
    const clients = new Set(cases.flatMap((c) => c.steps.map((s) => s.frame.readBigUInt64BE(OFF.client))));
    expect(clients.size).toBeLessThanOrEqual(24);
  });

  it('--strategies keeps only the chosen names or prefixes', () => {
    const names = makeStrategies({ ...OPTS, only: ['stateful:', 'flip', 'boundary:vvmp.alloc*'] }).map((s) => s.name);
    expect(names).toContain('flip');
    expect(names).toContain('stateful:double-free');
    expect(names).toContain('boundary:vvmp.alloc.qos');
    expect(names).not.toContain('random:fields');
    expect(names).not.toContain('boundary:vvmp.opcode');
  });

  it('templates are valid frames the decoder finds nothing wrong with', () => {
    for (const t of TEMPLATES) {
      const f = decodeFrame(build(t, { transaction_id: 7 }), { udp: true });
      expect(f.findings.filter((x) => x.severity !== 'note').map((x) => x.code), t.name).toEqual([]);
    }
  });

  it('stateful cases bind session ids from the Allocate reply', () => {
    const st = makeStrategies(OPTS).find((s) => s.name === 'stateful:double-free')!;
    const c = st.next()!;
    expect(c.steps.length).toBe(3);
    expect(c.steps[1]!.bind).toEqual([{ from: 0, replyOffset: HEADER_SIZE + 2, offset: HEADER_SIZE }]);
    expect(c.steps[2]!.bind?.[0]?.from).toBe(0);
    expect(c.steps.every((s) => s.await)).toBe(true);
  });
});

describe('interesting values', () => {
  it('boundaries of a u16: 0, 1, max, max−1, the sign bit and its neighbours, byte edges', () => {
    const v = boundaryValues(2).map((x) => Number(x.value));
    for (const x of [0, 1, 2, 0xffff, 0xfffe, 0x8000, 0x7fff, 0x8001, 0xff, 0x100]) expect(v).toContain(x);
  });

  it('enums get every valid value and its neighbours; flags their bits and reserved bits', () => {
    for (const b of PAYLOAD_BLOCKS) {
      for (const f of b.fields) {
        const vals = interestingValues(f).map((x) => x.value);
        for (const x of vals) expect(x >= 0n && x <= fieldMax(f)).toBe(true);
        if (f.kind === 'enum' && f.names) {
          for (const k of Object.keys(f.names).map(BigInt)) {
            expect(vals).toContain(k);
            if (k > 0n) expect(vals).toContain(k - 1n);
            if (k < fieldMax(f)) expect(vals).toContain(k + 1n);
          }
        }
        if (f.reservedMask) expect(vals).toContain(BigInt(f.reservedMask));
        if (f.kind === 'flags') for (const bit of f.bits ?? []) expect(vals).toContain(1n << BigInt(bit.bit));
      }
    }
  });
});

describe('determinism', () => {
  it('the same seed gives the same cases; another seed other cases', () => {
    const a = fingerprint(firstCases(OPTS, 3000));
    const b = fingerprint(firstCases(OPTS, 3000));
    const c = fingerprint(firstCases({ ...OPTS, seed: 2 }, 3000));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('the PRNG is mulberry32 with per-label streams', () => {
    const r = new Rng(1);
    const seq = [r.next(), r.next(), r.next()];
    expect(new Rng(1).next()).toBe(seq[0]);
    expect(Rng.forLabel(1, 'flip').next()).not.toBe(Rng.forLabel(1, 'random:fields').next());
    expect(Rng.forLabel(5, 'x').next()).toBe(Rng.forLabel(5, 'x').next());
  });
});

describe('case.json', () => {
  it('round-trips frames, timing, bindings and expectations', () => {
    const cases = firstCases({ ...OPTS, only: ['stateful:', 'transport:'] }, 600).filter((c) => c.steps.length > 1 || c.steps[0]!.segments);
    expect(cases.length).toBeGreaterThan(5);
    for (const c of cases) {
      const j = caseToJson(c, { seed: 1, target: '127.0.0.1:7369', timeoutMs: 1000, maxPayload: 65536, oracle: 'crash' });
      const back = caseFromJson(JSON.parse(JSON.stringify(j))).c;
      expect(fingerprint([back])).toBe(fingerprint([c]));
      expect(j.steps.every((s) => Array.isArray(s.expect))).toBe(true);
    }
  });

  it('a checksum fixed after mutation is good over what the server frames', () => {
    const st = makeStrategies(OPTS).find((s) => s.name === 'boundary:vvmp.alloc.capacity_kb')!;
    const c = st.next()!;
    expect(residue(c.steps[0]!.frame)).toBe(0);
    const ex = caseExpectations(c, 65536);
    expect(ex.perStep[0]![0]!.malformed).toEqual([]);
  });
});
