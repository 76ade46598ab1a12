import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { headerJson } from '../../src/output/frameJson.js';
import { toJson } from '../../src/output/jsonText.js';

const here = dirname(fileURLToPath(import.meta.url));
const vectorsPath = join(here, '../../../shared/spec/vectors.json');

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

describe('shared/spec/vectors.json', () => {
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
