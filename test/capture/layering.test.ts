// Issue #15: the capture layer imports nothing above it, and the live modules form no cycle
// (live.ts loads the backends; the backends and live.ts share liveShared.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../../src/capture/', import.meta.url));

function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(DIR, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]!);
}

describe('capture layer imports', () => {
  it('imports nothing from a higher layer', () => {
    for (const f of fs.readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
      for (const i of imports(f)) {
        expect(`${f} -> ${i}`).not.toMatch(/-> \.\.\/(cli|tui|traffic|output|analysis|net)\//);
      }
    }
  });

  it('the live backends do not import live.ts (no cycle)', () => {
    for (const f of ['liveCap.ts', 'liveTcpdump.ts', 'liveShared.ts']) {
      expect(imports(f)).not.toContain('./live.js');
    }
  });
});
