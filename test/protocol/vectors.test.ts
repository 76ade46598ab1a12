import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { headerJson } from '../../src/output/frameJson.js';
import { toJson } from '../../src/output/jsonText.js';

const here = dirname(fileURLToPath(import.meta.url));
const vectorsPath = join(here, '../../spec/vectors.json');

interface Vector {
  name: string;
  context?: string;
  hex: string;
  checksum_ok: boolean;
  header: Record<string, unknown>;
  payload: unknown;
  expert: string[];
}

const vectors = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { vectors: Vector[] }).vectors;

describe('spec/vectors.json', () => {
  it('has vectors', () => expect(vectors.length).toBeGreaterThan(40));
  for (const v of vectors) {
    it(v.name, () => {
      const d = decodeFrame(Buffer.from(v.hex, 'hex'), { udp: v.context === 'udp' });
      expect(d.checksumOk).toBe(v.checksum_ok);
      expect(headerJson(d)).toEqual(v.header);
      // Through our JSON writer, so u64 values are compared as the digits we print.
      expect(JSON.parse(toJson(d.payload as never))).toEqual(v.payload);
      expect(d.findings.map((f) => f.code).sort()).toEqual(v.expert);
    });
  }
});

describe('the NDJSON writer', () => {
  it('writes exactly the record frameRecord builds, for every vector', async () => {
    const { frameJsonLine, frameRecord } = await import('../../src/output/frameJson.js');
    const { finding } = await import('../../src/protocol/expert.js');
    for (const v of vectors) {
      const d = decodeFrame(Buffer.from(v.hex, 'hex'), { udp: v.context === 'udp' });
      const ctx = {
        frame: 3, packet: 9, tsSec: 1700000000, tsNsec: 123456789, tsDigits: 9, transport: 'udp' as const,
        src: '10.0.0.1:1', dst: '[::1]:7369', session: v.name.length % 2 ? '0x00000000000000aa/1' : null,
        expert: [...d.findings, finding('timeout', 'no reply within 5000 ms "quoted"')],
      };
      expect(frameJsonLine(d, ctx)).toBe(toJson(frameRecord(d, ctx)));
    }
  });
});
