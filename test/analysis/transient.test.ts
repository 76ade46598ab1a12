// Transient frames (AnalyzerOptions.transientFrames, payloadInPlace): the
// analysis reuses frame objects its hooks no longer hold. Whatever a hook
// reads during its call must be what it reads without reuse: rendered output
// (read's `render`, open requests waiting, timeouts) and every stats section.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import type { AnalyzedFrame } from '../../src/analysis/frame.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { Summary } from '../../src/analysis/summary.js';
import { compileFilter } from '../../src/analysis/filter/index.js';
import { writeStatsJson } from '../../src/output/statsJson.js';
import { BufferedOut } from '../../src/output/frameWriter.js';
import { HeldOutput } from '../../src/output/heldBytes.js';
import { TextBuilder } from '../../src/output/textBuilder.js';
import { generateCapture } from '../../bench/generate.js';
import { ROOT } from '../helpers/cli.js';

/** Everything a frame says, as text (payload records included when built). */
function describe_(f: AnalyzedFrame): string {
  const d = f.decoded;
  const h = d.header;
  return JSON.stringify({
    n: f.number, p: f.packet, fp: f.firstPacket, t: [f.tsSec, f.tsNsec], src: f.srcText, dst: f.dstText, k: f.flowKey,
    s: f.session, l: f.latencyMs, peer: f.peer, x: f.expert.map((e) => `${e.code}:${e.message}`), st: f.stream, fl: f.flow,
    h: [h.opcode, h.src_san, h.dst_san, String(h.client_id), String(h.server_id), h.transaction_id, h.sub_opcode, h.length, h.checksum],
    name: d.name, status: d.status, sum: d.sum, len: d.bytes.length, block: d.payloadBlock?.label ?? null,
    payload: d.payload, hex: d.bytes.toString('hex'),
  }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Everything `render` is given, through read's own output buffers (held bytes released in frame order). */
function rendered(file: string, transientFrames: boolean): string {
  const chunks: Buffer[] = [];
  const out = new BufferedOut((b) => void chunks.push(Buffer.from(b)));
  const held = new HeldOutput(out);
  const pipeline = new Pipeline({
    render: (f, isHeld) => {
      const to = isHeld ? held : out;
      to.str(describe_(f)).char(0x0a);
      to.endRecord();
    },
    held,
  }, { compactSessions: true, transientFrames });
  readCaptureFile(file, pipeline.packet);
  pipeline.end();
  out.flush();
  return Buffer.concat(chunks).toString('utf8');
}

function stats(file: string, transient: boolean, filter: string | null): string {
  const summary = new Summary();
  const f = filter === null ? null : compileFilter(filter);
  const hooks = f
    ? { final: (x: AnalyzedFrame, included: boolean) => { if (included) summary.frame(x); }, segment: () => {} }
    : { frame: (x: AnalyzedFrame) => summary.frame(x), lateFinding: (x: AnalyzedFrame, e: Parameters<Summary['lateFinding']>[1]) => summary.lateFinding(x, e) };
  const pipeline = new Pipeline(hooks, {
    compactSessions: true, transientFrames: transient, payloadInPlace: transient, ...(f ? { include: (x: AnalyzedFrame) => f.test(x) } : {}),
  });
  readCaptureFile(file, pipeline.packet);
  pipeline.end();
  const tb = new TextBuilder();
  writeStatsJson(pipeline.analyzer, summary, tb);
  return tb.take();
}

let dir = '';
let files: string[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-transient-'));
  const bench = path.join(dir, 'bench.pcap');
  // Timeouts, PENDING, sessions, frames split across segments, checksum errors.
  generateCapture({ frames: 20_000, out: bench, seed: 11 });
  files = [...fs.readdirSync(path.join(ROOT, 'captures')).filter((n) => /\.pcap(ng)?$/.test(n)).map((n) => path.join(ROOT, 'captures', n)), bench];
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('transient frames', () => {
  it('render (read): every frame as without reuse, open requests and timeouts included', () => {
    for (const file of files) {
      const want = rendered(file, false);
      expect(want.split('\n').length, file).toBeGreaterThan(10);
      expect(rendered(file, true), file).toBe(want);
    }
  }, 60_000);

  it('stats: every section as without reuse, with and without a display filter', () => {
    for (const file of files) {
      for (const filter of [null, 'vvmp.reply == 1', 'vvmp.opcode == 2 || expert.severity == error']) {
        expect(stats(file, true, filter), `${file} ${filter}`).toBe(stats(file, false, filter));
      }
    }
  }, 60_000);
});
