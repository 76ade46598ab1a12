// Transport abuse: slow drip, 1-byte segments, coalescing, half-open and
// many connections, garbage. Each is followed by a health check.

import type { FuzzCase, Step, Transport } from './cases.js';
import { REQUEST_TEMPLATES, build, templateByName } from './frames.js';
import { fromList, sequence, type Ctx, type Strategy } from './gen.js';

// ---- transport abuse ------------------------------------------------------------------------

export function transportStrategies(ctx: Ctx): Strategy[] {
  const tcpOk = ctx.opts.transport !== 'udp';
  const udpOk = ctx.opts.transport !== 'tcp';
  const W = 0.1;
  const out: Strategy[] = [];
  if (tcpOk) {
    out.push(fromList('transport:slow-drip', W, () => {
      const name = 'transport:slow-drip';
      const b = sequence(ctx, name, 0);
      const c = ctx.client(name, 0);
      const a = b.add(templateByName('Allocate'), { client_id: c });
      const s = b.steps[a]!;
      s.segments = Array.from({ length: s.frame.length }, () => 1);
      s.gapMs = 3;
      b.add(templateByName('Free'), { client_id: c }, { bindFrom: a, cleanup: true });
      return [{ seq: 0, strategy: name, desc: 'Allocate dripped one byte every 3 ms', conns: ['tcp'], steps: b.steps, health: true }];
    }));
    out.push(fromList('transport:split-1byte', W, () => REQUEST_TEMPLATES.map((t, i) => {
      const frame = build(t, { transaction_id: ctx.txid('transport:split-1byte', i) });
      return {
        seq: 0, strategy: 'transport:split-1byte', desc: `${t.name} in 1-byte segments`, conns: ['tcp'] as Transport[], health: true,
        steps: [{ conn: 0, frame, segments: Array.from({ length: frame.length }, () => 1), gapMs: 0 }],
      };
    })));
    out.push(fromList('transport:coalesced', W, () => {
      const name = 'transport:coalesced';
      const frames = REQUEST_TEMPLATES.map((t, i) => build(t, { transaction_id: ctx.txid(name, i) }));
      const all = Buffer.concat(frames);
      // three writes cutting frames at odd places: many frames per segment, frames across segments
      const cuts = [Math.floor(all.length / 3) + 1, Math.floor((2 * all.length) / 3) + 3];
      const parts = [all.subarray(0, cuts[0]), all.subarray(cuts[0], cuts[1]), all.subarray(cuts[1])];
      return [{
        seq: 0, strategy: name, desc: `${frames.length} frames in 3 writes cut mid-frame`, conns: ['tcp'] as Transport[], health: true,
        steps: parts.map((p, k) => ({ conn: 0, frame: Buffer.from(p), await: k === parts.length - 1 })),
      }];
    }));
    out.push(fromList('transport:half-open', W, () => {
      const name = 'transport:half-open';
      const conns: Transport[] = [];
      const steps: Step[] = [];
      for (let k = 0; k < 20; k++) {
        conns.push('tcp');
        const frame = build(templateByName('Allocate'), { transaction_id: ctx.txid(name, k) }).subarray(0, 10 + k);
        steps.push({ conn: k, frame: Buffer.from(frame), halfClose: k % 2 === 0 });
      }
      conns.push('tcp');
      steps.push({ conn: 20, frame: build(templateByName('Query'), { transaction_id: ctx.txid(name, 99) }), await: true });
      return [{ seq: 0, strategy: name, desc: '20 connections left with partial frames (half of them half-closed), then a Query', conns, steps, health: true }];
    }));
  }
  out.push(fromList('transport:many-connections', W, () => {
    const name = 'transport:many-connections';
    const cases: FuzzCase[] = [];
    const kinds: Transport[] = [...(tcpOk ? ['tcp' as const] : []), ...(udpOk ? ['udp' as const] : [])];
    for (const transport of kinds) {
      const conns: Transport[] = [];
      const steps: Step[] = [];
      for (let k = 0; k < 200; k++) {
        conns.push(transport);
        steps.push({ conn: k, frame: build(templateByName('Query'), { transaction_id: ctx.txid(`${name}/${transport}`, k) }) });
      }
      steps[steps.length - 1]!.await = true;
      cases.push({ seq: 0, strategy: name, desc: `200 ${transport.toUpperCase()} connections, a Query on each`, conns, steps, health: true });
    }
    return cases;
  }));
  out.push(fromList('transport:garbage', W, () => {
    const name = 'transport:garbage';
    const rng = ctx.rng(name);
    const cases: FuzzCase[] = [];
    if (tcpOk) cases.push({ seq: 0, strategy: name, desc: '4 KiB of random bytes on a TCP connection', conns: ['tcp'], steps: [{ conn: 0, frame: rng.bytes(4096) }], health: true });
    if (udpOk) {
      cases.push({
        seq: 0, strategy: name, desc: '20 random datagrams', conns: ['udp'], health: true,
        steps: Array.from({ length: 20 }, (_, k) => ({ conn: 0, frame: rng.bytes(1 + rng.int(k < 10 ? 40 : 300)) })),
      });
    }
    return cases;
  }));
  return out;
}
