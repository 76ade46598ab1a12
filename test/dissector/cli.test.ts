// `vvmp dissector --lua` as the lead wires it: registerDissector on a commander program.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerDissector } from '../../src/cli/dissector.js';
import { generateLuaDissector } from '../../src/dissector/lua.js';
import { UsageError } from '../../src/cli/errors.js';

function program(): Command {
  const p = new Command('vvmp').exitOverride();
  registerDissector(p);
  for (const c of p.commands) c.exitOverride();
  return p;
}

describe('vvmp dissector', () => {
  it('--lua prints the generated dissector', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    try {
      await program().parseAsync(['node', 'vvmp', 'dissector', '--lua']);
    } finally {
      spy.mockRestore();
    }
    expect(out.join('')).toBe(generateLuaDissector());
  });

  it('-o writes the file; --port changes the default port', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-cli-')), 'v.lua');
    await program().parseAsync(['node', 'vvmp', 'dissector', '--lua', '--port', '9000', '-o', file]);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('local DEFAULT_PORT = 9000');
    expect(text).toBe(generateLuaDissector({ port: 9000 }));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('without a kind is a usage error', async () => {
    await expect(program().parseAsync(['node', 'vvmp', 'dissector'])).rejects.toBeInstanceOf(UsageError);
  });
});
