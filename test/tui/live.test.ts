// The live terminal UI on `lo` (root): `vvmp serve` runs, `vvmp tui --live`
// captures, a client scenario talks, and its frames and sessions appear.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTmux, Tmux, vvmpCommand } from './tmux.js';
import { freePort } from '../helpers/ports.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/vvmp.js');

function skipReason(): string | null {
  if (!hasTmux()) return 'tmux is not installed';
  if (process.getuid?.() !== 0) return 'live capture needs root';
  const cap = spawnSync(process.execPath, ['-e', "import('cap').then(()=>process.exit(0),()=>process.exit(1))"], { cwd: ROOT });
  if (cap.status !== 0) return 'the cap binding does not load (libpcap missing?)';
  return null;
}


const SKIP = skipReason();
const children: ChildProcess[] = [];
let ui: Tmux | null = null;

afterAll(() => {
  ui?.kill();
  for (const c of children) c.kill('SIGINT');
});

describe('vvmp tui --live', () => {
  if (SKIP) {
    it.skip(`skipped: ${SKIP}`, () => undefined);
    console.log(`test/tui/live.test.ts skipped: ${SKIP}`);
    return;
  }

  it('shows the frames and sessions of a client scenario as they happen', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--quiet'], { cwd: ROOT });
    children.push(server);
    await new Promise((r) => setTimeout(r, 1500));
    ui = Tmux.start('live1', `${vvmpCommand()} tui --live -i lo --port ${port}`, { width: 140, height: 40 });
    await ui.waitFor(/live|capturing|lo/i, 20000);
    await new Promise((r) => setTimeout(r, 1000));
    const scenario = spawnSync(process.execPath, [BIN, 'client', 'scenario', 'lifecycle', '--target', `127.0.0.1:${port}`], { cwd: ROOT, encoding: 'utf8' });
    expect(scenario.status).toBe(0);
    const frames = await ui.waitFor((s) => s.includes('Allocate Reply OK') && s.includes('Free Reply OK'), 20000);
    expect(frames).toContain(`127.0.0.1:${port}`);
    ui.send('S');
    const sessions = await ui.waitFor(/CLOSED/, 10000);
    expect(sessions).toMatch(/●alloc/);
    ui.send('q');
    expect(await ui.waitDead(10000)).toBe(0);
  }, 90_000);
});
