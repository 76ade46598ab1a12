// Stateful sequences (VVMP.md section 7 forbids them): session ids bound from
// the server's own Allocate replies, so they replay against a fresh server.

import { Header } from '../../protocol/access.js';
import { OP_ALLOCATE } from '../../protocol/fields.js';
import type { Step, Transport } from './cases.js';
import { templateByName } from './frames.js';
import { fromList, infinite, sequence, type Ctx, type SeqBuilder, type Strategy } from './gen.js';
import type { Rng } from './prng.js';
import type { StateModel } from './statemodel.js';

/**
 * `stateful:walk`: go back to one of the rarest states of the model (the
 * shortest recorded sequence that reached it) and take 1–3 more steps from
 * there, each an opcode of the session life cycle on the session of the
 * latest Allocate of the path, from its client or another one.
 */
export function walkStrategy(ctx: Ctx, model: StateModel): Strategy {
  const name = 'stateful:walk';
  const rng = ctx.rng(name);
  const moves = ['Allocate', 'Initialize', 'Modify', 'Statistics', 'Free', 'Free', 'Query'].map(templateByName);
  return infinite(name, 1, (n) => {
    const rare = model.rarest().slice(0, 4);
    const [state, info] = rare.length ? rng.pick(rare) : ['start', { prefix: [] as Step[], transport: null }];
    const prefix = (info.prefix ?? []).map((s) => ({ ...s, cleanup: false, frame: Buffer.from(s.frame), base: undefined }));
    const b = sequence(ctx, name, n);
    b.steps.push(...prefix);
    let alloc = -1;
    prefix.forEach((s, i) => {
      if (Header.has.opcode(s.frame.length) && Header.get.opcode(s.frame, 0) === OP_ALLOCATE) alloc = i;
    });
    const lastFrame = prefix[prefix.length - 1]?.frame;
    const owner = lastFrame && Header.has.client_id(lastFrame.length) ? Header.get.client_id(lastFrame, 0) : ctx.client(name, n);
    const took: string[] = [];
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const t = rng.pick(moves);
      const client = rng.chance(0.2) ? ctx.client(name, n + 1) : owner;
      const at = b.add(t, t.name === 'Allocate' ? { client_id: client, sub_opcode: rng.pick([0x01, 0x02, 0xff]) } : { client_id: client },
        { bindFrom: alloc >= 0 && t.name !== 'Allocate' ? alloc : undefined });
      if (t.name === 'Allocate') alloc = at;
      took.push(`${t.name}${client === owner ? '' : ' (other client)'}`);
    }
    const transport = info.transport ?? ctx.transport(rng);
    return { seq: 0, strategy: name, desc: `from "${state}" (${prefix.length} steps) then ${took.join(', ')}`, conns: [transport], steps: b.steps, from: state };
  });
}

export function statefulStrategies(ctx: Ctx): Strategy[] {
  const A = templateByName('Allocate');
  const I = templateByName('Initialize');
  const F = templateByName('Free');
  const M = templateByName('Modify');
  const S = templateByName('Statistics');
  const Q = templateByName('Query');
  const W = 0.5;
  const mk = (name: string, body: (rng: Rng, n: number, b: SeqBuilder, client: bigint) => string): Strategy => {
    const rng = ctx.rng(name);
    return infinite(name, W, (n) => {
      const b = sequence(ctx, name, n);
      const client = ctx.client(name, n);
      const desc = body(rng, n, b, client);
      return { seq: 0, strategy: name, desc, conns: [ctx.transport(rng)], steps: b.steps };
    });
  };
  const allocSub = (rng: Rng) => rng.pick([0x01, 0x02, 0xff]);
  const list: Strategy[] = [
    mk('stateful:init-before-alloc', (rng, _n, b, c) => {
      const guess = 1 + rng.int(64);
      b.add(I, { client_id: c }, { payload: { session_id: guess } });
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(I, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a, cleanup: true });
      return `Initialize of session ${guess} before any Allocate, then Allocate and Initialize`;
    }),
    mk('stateful:double-free', (rng, _n, b, c) => {
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(F, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a });
      return 'Allocate, Free, Free of the same session';
    }),
    mk('stateful:free-other-client', (rng, _n, b, c) => {
      const other = c ^ 0xffffn;
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(F, { client_id: other }, { bindFrom: a });
      b.add(S, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a, cleanup: true });
      return "Free of another client's session, then the owner's Statistics and Free";
    }),
    mk('stateful:modify-after-free', (rng, _n, b, c) => {
      const a = b.add(A, { client_id: c, sub_opcode: 0x02 });
      b.add(F, { client_id: c }, { bindFrom: a });
      b.add(M, { client_id: c }, { bindFrom: a, payload: { capacity_kb: 2048 + rng.int(1024) } });
      return 'Allocate, Free, Modify of the freed session';
    }),
    mk('stateful:use-after-free', (rng, _n, b, c) => {
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) });
      b.add(I, { client_id: c }, { bindFrom: a });
      b.add(F, { client_id: c }, { bindFrom: a });
      b.add(S, { client_id: c }, { bindFrom: a });
      b.add(I, { client_id: c }, { bindFrom: a });
      return 'Allocate, Initialize, Free, then Statistics and Initialize of the freed session';
    }),
    mk('stateful:txid-reuse', (rng, n, b, c) => {
      const tx = ctx.txid('stateful:txid-reuse/shared', n);
      const a = b.add(A, { client_id: c, sub_opcode: allocSub(rng) }, { await: false, txid: tx });
      b.add(Q, { client_id: c }, { await: false, txid: tx });
      b.add(Q, { client_id: c }, { await: false, txid: tx });
      b.add(S, { client_id: c }, { await: true, txid: tx });
      b.add(F, { client_id: c }, { bindFrom: a, cleanup: true });
      return `Allocate, Query, Query, Statistics with one transaction id (${tx}) outstanding together`;
    }),
    mk('stateful:interleaved-sessions', (rng, _n, b, c) => {
      const ca = c;
      const cb = c ^ 0x1n;
      const cc = c ^ 0x2n;
      const a = b.add(A, { client_id: ca, sub_opcode: 0x02 });
      const bb = b.add(A, { client_id: cb, sub_opcode: allocSub(rng) });
      const cs = b.add(A, { client_id: cc, sub_opcode: 0x02 });
      b.add(I, { client_id: ca }, { bindFrom: a });
      b.add(S, { client_id: cb }, { bindFrom: bb });
      b.add(M, { client_id: cc }, { bindFrom: cs, payload: { capacity_kb: 4096 } });
      b.add(F, { client_id: cb }, { bindFrom: bb, payload: { release_kb: rng.pick([1, 256, 512]) } });
      b.add(S, { client_id: ca }, { bindFrom: a });
      b.add(F, { client_id: cc }, { bindFrom: cs });
      b.add(M, { client_id: ca }, { bindFrom: a, payload: { capacity_kb: 512 } });
      b.add(I, { client_id: cb }, { bindFrom: bb });
      b.add(F, { client_id: ca }, { bindFrom: a, cleanup: true });
      b.add(F, { client_id: cb }, { bindFrom: bb, cleanup: true });
      return 'three clients\' sessions interleaved on one connection';
    }),
  ];
  // 1,000 outstanding requests on TCP; UDP gets 100 (a burst the kernel's buffers hold).
  list.push(fromList('stateful:outstanding-1000', 0.1, () => ctx.transports().map((transport) => {
    const name = 'stateful:outstanding-1000';
    const count = transport === 'tcp' ? 1000 : 100;
    const b = sequence(ctx, name, transport === 'tcp' ? 0 : 1);
    const c = ctx.client(name, transport === 'tcp' ? 0 : 1);
    for (let k = 0; k < count; k++) b.add(k % 2 ? S : Q, { client_id: c }, { await: k === count - 1 });
    return { seq: 0, strategy: name, desc: `${count} requests outstanding at once`, conns: [transport], steps: b.steps, health: true };
  })));
  return list;
}
