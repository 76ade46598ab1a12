// The flow table (analysis/flows.ts): numbers in columns, endpoints from the key.

import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/analysis/flows.js';
import { flowKeyOf } from '../../src/net/endpoint.js';
import type { Endpoint, Transport } from '../../src/net/types.js';

const ep = (ip: string, port: number): Endpoint => ({ ip, port });

let frameNumber = 0;

function add(t: FlowTable, transport: Transport, src: Endpoint, dst: Endpoint, size: number, sec: number, nsec = 0, error = false, number = ++frameNumber): void {
  const key = flowKeyOf(transport, src, dst);
  t.frame(key, number, src.text!, size, sec, nsec, 6, error);
}

describe('FlowTable', () => {
  it('names the sender of the first frame a, whichever side of the key it is', () => {
    const t = new FlowTable();
    const client = ep('10.0.0.9', 40000);
    const server = ep('10.0.0.10', 7369);
    add(t, 'udp', client, server, 40, 100); // key sorts "10.0.0.10:7369" first: the client is the key's second
    add(t, 'udp', server, client, 60, 101, 5);
    add(t, 'tcp', server, client, 32, 102);
    const [u, c] = [...t.records()];
    expect(u).toEqual({
      transport: 'udp', a: '10.0.0.9:40000', b: '10.0.0.10:7369', frames: 2, bytes: 100,
      firstSec: 100, firstNsec: 0, lastSec: 101, lastNsec: 5, digits: 6, errors: 0,
    });
    expect([c!.transport, c!.a, c!.b]).toEqual(['tcp', '10.0.0.10:7369', '10.0.0.9:40000']);
  });

  it('tells endpoints apart when one text is a prefix of the other', () => {
    const t = new FlowTable();
    const long = ep('10.0.0.1', 4000);
    const short = ep('10.0.0.1', 400);
    add(t, 'udp', short, long, 32, 1);
    add(t, 'udp', long, ep('10.0.0.1', 40), 32, 1);
    const [x, y] = [...t.records()];
    expect([x!.a, x!.b]).toEqual(['10.0.0.1:400', '10.0.0.1:4000']);
    expect([y!.a, y!.b]).toEqual(['10.0.0.1:4000', '10.0.0.1:40']);
  });

  it('splits IPv6 endpoints and a flow from an endpoint to itself', () => {
    const t = new FlowTable();
    const v6 = ep('fd00::1', 7369);
    add(t, 'tcp', ep('fd00::2', 50000), v6, 32, 1);
    add(t, 'udp', v6, v6, 32, 1);
    const [a, b] = [...t.records()];
    expect([a!.a, a!.b]).toEqual(['[fd00::2]:50000', '[fd00::1]:7369']);
    expect([b!.a, b!.b]).toEqual(['[fd00::1]:7369', '[fd00::1]:7369']);
  });

  it('counts errors given with the frame and added later, for known flows only', () => {
    const t = new FlowTable();
    const a = ep('1.1.1.1', 1);
    const b = ep('2.2.2.2', 7369);
    add(t, 'udp', a, b, 32, 1, 0, true);
    add(t, 'udp', a, b, 32, 2, 0, false);
    t.error(flowKeyOf('udp', a, b));
    t.error('udp 9.9.9.9:1 9.9.9.9:2');
    expect([...t.records()][0]!.errors).toBe(2);
  });

  it('gives the same flows whatever order the frames are counted in (filtered stats count requests late)', () => {
    const c1 = ep('10.0.0.1', 40000);
    const c2 = ep('10.0.0.2', 40000);
    const s = ep('10.0.0.9', 7369);
    // [frame number, sender, receiver, bytes, time]
    const frames: [number, Endpoint, Endpoint, number, number][] = [
      [1, c1, s, 40, 10], [2, s, c1, 60, 11], [3, c2, s, 40, 12], [4, s, c2, 36, 13], [5, c1, s, 32, 14], [6, s, c1, 32, 15],
    ];
    const inOrder = new FlowTable();
    for (const [n, a, b, size, sec] of frames) add(inOrder, 'udp', a, b, size, sec, 0, false, n);
    const late = new FlowTable();
    // Requests (1, 3, 5) counted once answered: after their replies.
    for (const i of [1, 0, 3, 2, 5, 4]) {
      const [n, a, b, size, sec] = frames[i]!;
      add(late, 'udp', a, b, size, sec, 0, false, n);
    }
    expect([...late.entries()]).toEqual([...inOrder.entries()]);
    expect([...late.records()].map((f) => [f.a, f.firstSec, f.lastSec, f.frames])).toEqual([
      ['10.0.0.1:40000', 10, 15, 4], ['10.0.0.2:40000', 12, 13, 2],
    ]);
  });

  it('keeps every flow, in order of appearance, across chunks', () => {
    const t = new FlowTable();
    const server = ep('10.255.0.1', 7369);
    const n = 10_000;
    for (let i = 0; i < n; i++) add(t, 'udp', ep(`10.1.${i >> 8}.${i & 255}`, 40000), server, 32 + i, 1000 + i, i);
    for (let i = 0; i < n; i += 7) add(t, 'udp', server, ep(`10.1.${i >> 8}.${i & 255}`, 40000), 1, 5000, 1);
    expect(t.size).toBe(n);
    const rows = [...t.entries()];
    expect(rows.length).toBe(n);
    rows.forEach(([key, f], i) => {
      expect(key).toBe(flowKeyOf('udp', ep(`10.1.${i >> 8}.${i & 255}`, 40000), server));
      expect(f.a).toBe(`10.1.${i >> 8}.${i & 255}:40000`);
      expect(f.frames).toBe(i % 7 === 0 ? 2 : 1);
      expect(f.bytes).toBe(32 + i + (i % 7 === 0 ? 1 : 0));
      expect([f.firstSec, f.firstNsec]).toEqual([1000 + i, i]);
      expect(f.lastSec).toBe(i % 7 === 0 ? 5000 : 1000 + i);
    });
  });
});
