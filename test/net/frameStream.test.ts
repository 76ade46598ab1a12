// net/framer.ts on a plain byte stream (client, server, fuzzer): push bytes, get whole frames.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameStream } from '../../src/net/framer.js';
import { allocate, cat, query, queryReply } from './build.js';

function collect(maxPayload = 65536) {
  const frames: Buffer[] = [];
  const events: string[] = [];
  const s = new FrameStream({
    maxPayload,
    onFrame: (f) => frames.push(Buffer.from(f)),
    onOversize: (h, size) => events.push(`oversize ${h.length} ${size}`),
    onPartial: (b) => events.push(`partial ${b.length}`),
  });
  return { s, frames, events };
}

const frameArb = fc.oneof(
  fc.nat(1e6).map(query),
  fc.nat(1e6).map(allocate),
  fc.tuple(fc.nat(1e6), fc.nat(20)).map(([tx, n]) => queryReply(tx, n)),
);

describe('FrameStream', () => {
  it('gives back exactly the frames pushed, however the bytes are cut into chunks', () => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1 }), (frames, cuts) => {
      const bytes = cat(...frames);
      const { s, frames: got, events } = collect();
      let at = 0;
      for (let i = 0; at < bytes.length; i++) {
        const n = cuts[i % cuts.length]!;
        s.push(bytes.subarray(at, at + n));
        at += n;
      }
      expect(got).toEqual(frames);
      expect(s.frames).toBe(frames.length);
      expect(s.buffered).toBe(0);
      s.end();
      expect(events).toEqual([]);
    }));
  });

  it('hands a frame inside one chunk on as a view of it (no copy)', () => {
    const chunk = cat(query(1), query(2));
    const views: Buffer[] = [];
    const s = new FrameStream({ maxPayload: 65536, onFrame: (f) => views.push(f) });
    s.push(chunk);
    expect(views.map((v) => v.buffer === chunk.buffer)).toEqual([true, true]);
  });

  it('holds an incomplete frame and says what was left at the end', () => {
    const { s, frames, events } = collect();
    const f = queryReply(5, 3);
    s.push(cat(query(1), f.subarray(0, 40)));
    expect(frames.length).toBe(1);
    expect(s.buffered).toBe(40);
    s.end();
    expect(events).toEqual(['partial 40']);
  });

  it('stops at a header over the payload limit', () => {
    const { s, frames, events } = collect(16);
    s.push(cat(query(1), allocate(2), query(3))); // allocate carries 20 bytes > 16
    expect(frames.length).toBe(1);
    expect(events).toEqual(['oversize 32 52']);
    expect(s.isStopped).toBe(true);
    s.push(query(4));
    expect(frames.length).toBe(1);
  });
});
