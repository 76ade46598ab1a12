// The project carries its own copy of the spec (spec/VVMP.md, OUTPUT.md,
// vectors.json): tests and users read that one. Where the reference copy
// ../shared/spec exists beside the project, each of the three files must equal
// it byte for byte (file by file: other documents may live beside the copy).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_SPEC, SPEC } from '../helpers/shared.js';

const FILES = ['VVMP.md', 'OUTPUT.md', 'vectors.json'];

describe('spec/ in the project', () => {
  for (const name of FILES) {
    it(`has ${name}`, () => {
      expect(existsSync(join(SPEC, name))).toBe(true);
      expect(readFileSync(join(SPEC, name)).length).toBeGreaterThan(1000);
    });
    const ref = join(SHARED_SPEC, name);
    const haveRef = existsSync(ref);
    if (!haveRef) console.warn(`skipped: spec/${name} against ${ref}: the reference copy is absent`);
    it.skipIf(!haveRef)(`spec/${name} equals ../shared/spec/${name}`, () => {
      const ours = readFileSync(join(SPEC, name));
      const theirs = readFileSync(ref);
      expect(ours.equals(theirs), `spec/${name} differs from ${ref}: copy it again`).toBe(true);
    });
  }
});
