// `stats -Y` (issue 13): every section describes the frames the filter
// selects. Checked on every capture in captures/ against the frames a plain
// ordered pass (as `read -Y` prints them) shows, with the exchange rules
// applied by hand: a request counts when it matches, its answer, timeout and
// response time with it; an error reply when it matches; a session when a
// matching frame belongs to it; I/O over time counts the matching frames.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { analyseFile, mergeStats } from '../../src/analysis/merge.js';
import { compileFilter } from '../../src/analysis/filter/index.js';
import { writeStatsSourceJson } from '../../src/output/statsJson.js';
import { TextBuilder } from '../../src/output/textBuilder.js';
import { OP_ANNOUNCE, REPLY_BIT } from '../../src/protocol/fields.js';
import { ROOT } from '../helpers/cli.js';

const CAPTURES = join(ROOT, 'captures');
const FILES = readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
const FILTERS = ['vvmp.client_id == 0x11', '!vvmp.reply', 'vvmp.reply', 'vvmp.session', 'expert.code == timeout',
  'vvmp.status == PENDING || vvmp.opcode == Allocate', 'expert.severity == error', 'vvmp.opcode == Free', 'vvmp.transaction_id > 3'];

function allFrames(file: string): AnalyzedFrame[] {
  const out: AnalyzedFrame[] = [];
  // Filters read fields where they lie in the frame's bytes: frames kept past the pass keep their own.
  const p = new Pipeline({ settled: (f) => out.push(f) }, { keepBytes: true });
  readCaptureFile(file, p.packet);
  p.end();
  return out;
}

interface Json {
  vvmp_frames: number;
  sessions: { server_id: string; session_id: number; client_id: string; state: string }[];
  transactions: { requests: number; answered: number; timed_out: number; open_at_end: number };
  response_time_ms: { by_opcode: { opcode: string; count: number }[]; by_client: { client_id: string; count: number }[] };
  errors: { by_status: Record<string, number> };
  io: { intervals: { frames: number; errors: number }[] };
}

function statsJson(file: string, filter: string | null): Json {
  const tb = new TextBuilder();
  writeStatsSourceJson(mergeStats([analyseFile(file, { pipeline: {}, filter })]), tb);
  return JSON.parse(tb.take()) as Json;
}

const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');

describe('stats -Y: every section is filtered', () => {
  it.each(FILTERS)('-Y %s', (text) => {
    const filter = compileFilter(text);
    for (const name of FILES) {
      const file = join(CAPTURES, name);
      const frames = allFrames(file);
      const shown = frames.filter((f) => filter.test(f));
      const s = statsJson(file, text);
      const why = `${name} -Y ${text}`;
      expect(s.vvmp_frames, why).toBe(shown.length);

      // Exchanges by hand (OUTPUT.md convention 5): a reply answers the oldest outstanding request.
      const isRequest = (f: AnalyzedFrame) => f.decoded.bytes.length >= 32 && !f.decoded.reply && f.decoded.header.opcode !== OP_ANNOUNCE;
      const outstanding = new Map<string, AnalyzedFrame[]>();
      const firstReply = new Map<AnalyzedFrame, AnalyzedFrame>();
      const answered = new Set<AnalyzedFrame>();
      for (const f of frames) {
        const h = f.decoded.header;
        if (f.decoded.bytes.length < 32 || h.opcode === OP_ANNOUNCE) continue;
        const key = `${h.client_id}/${h.transaction_id}/${h.opcode! & ~REPLY_BIT}`;
        if (isRequest(f)) {
          const q = outstanding.get(key) ?? [];
          q.push(f);
          outstanding.set(key, q);
          continue;
        }
        const q = outstanding.get(key);
        const req = q?.[0];
        if (!req) continue;
        if (!firstReply.has(req)) firstReply.set(req, f);
        if (f.decoded.status !== 'PENDING') {
          answered.add(req);
          q!.splice(q!.indexOf(req), 1);
        }
      }
      const requests = shown.filter(isRequest);
      expect(s.transactions.requests, why).toBe(requests.length);
      expect(s.transactions.answered, why).toBe(requests.filter((r) => answered.has(r)).length);
      expect(s.transactions.timed_out, why).toBe(requests.filter((r) => r.expert.some((x) => x.code === 'timeout')).length);
      const rt = s.response_time_ms.by_opcode.reduce((n, r) => n + r.count, 0);
      expect(rt, why).toBe(requests.filter((r) => firstReply.has(r)).length);
      expect(s.response_time_ms.by_client.reduce((n, r) => n + r.count, 0), why).toBe(rt);

      const errors: Record<string, number> = {};
      for (const f of shown) {
        const st = f.decoded.status;
        if (f.decoded.reply && f.decoded.bytes.length >= 32 && st !== null && st !== 'OK' && st !== 'PENDING') errors[st] = (errors[st] ?? 0) + 1;
      }
      expect(s.errors.by_status, why).toEqual(errors);

      // Sessions: each shown frame's session is listed; nothing else but entries a shown frame of the Allocate exchange made.
      const keys = new Set(s.sessions.map((x) => `${x.server_id}/${x.session_id}`));
      for (const f of shown) if (f.session) expect(keys.has(f.session), `${why}: ${f.session}`).toBe(true);
      if (text === 'vvmp.client_id == 0x11') expect(s.sessions.every((x) => x.client_id === hex(0x11n)), why).toBe(true);
      if (shown.length === 0) expect(s.sessions, why).toEqual([]);

      expect(s.io.intervals.reduce((n, r) => n + r.frames, 0), why).toBe(shown.length);
      expect(s.io.intervals.reduce((n, r) => n + r.errors, 0), why).toBe(shown.filter((f) => f.expert.some((x) => x.severity === 'error')).length);
    }
  }, 120_000);

  it('without a filter nothing changes: the filter that takes everything gives the same report', () => {
    for (const name of FILES) {
      const file = join(CAPTURES, name);
      expect(statsJson(file, 'vvmp'), name).toEqual(statsJson(file, null));
    }
  });
});
