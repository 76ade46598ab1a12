// The real terminal UI, driven in tmux: keys in, screen text out.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_A_TERMINAL } from '../../src/cli/tui.js';
import { writeBigCapture, writeCapture } from './fixture.js';
import { hasTmux, Tmux, vvmpCommand } from './tmux.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let dir = '';
let cap = '';
let count = 0;
const sessions: Tmux[] = [];

function open(args = '', opts: Parameters<typeof Tmux.start>[2] = {}): Tmux {
  const t = Tmux.start(`ui${++count}`, `${vvmpCommand()} tui ${args || cap}`, opts);
  sessions.push(t);
  return t;
}

/** The selected row of the frame list: `> N …`. */
function selected(screen: string): number | null {
  const m = /^> +(\d+) /m.exec(screen);
  return m ? Number(m[1]) : null;
}

/** Frame numbers of the list rows on screen. */
function rows(screen: string): number[] {
  const out: number[] = [];
  for (const line of screen.split('\n')) {
    const m = /^[> ] +(\d+) \d+\.\d{6} /.exec(line);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

const FIRST_ROW = /^[> ] +1 0\.000000 /m;

/** The screen once frame `sel` is selected and every text is shown (a screen can be caught mid-redraw). */
function shows(sel: number, ...texts: string[]): (screen: string) => boolean {
  return (x) => selected(x) === sel && texts.every((t) => x.includes(t));
}

describe.skipIf(!hasTmux())('terminal UI in tmux', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-tui-'));
    cap = path.join(dir, 'ui.pcap');
    writeCapture(cap);
  });

  afterAll(() => {
    for (const t of sessions) t.kill();
    Tmux.killServer();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens with the frame list, the tree, the hex and the status bar', async () => {
    const t = open();
    // The status bar shows "loading… N%" at its end until the file is read; then the whole hint line.
    const s = await t.waitFor((x) => FIRST_ROW.test(x) && /\? help {2}\/ filter {2}Tab pane .* q quit/.test(x));
    expect(s).toContain('18 frames');
    expect(s).toContain('4 errors');
    expect(s).toContain('1 timeout');
    expect(s).toContain('[F]rames [L]flows [S]essions [E]xpert');
    expect(s).toMatch(/No\. +Time +Source +Destination +Proto +Summary/);
    expect(s).toContain('Query Request this SAN txid=1');
    expect(s).toMatch(/11 0\.500000 .*✗ checksum_bad/);
    expect(s).toMatch(/15 1\.000000 .*✗ timeout/);
    expect(s).toContain('Frame 1: 32 bytes, packet 1, UDP 10.0.0.1:40001 → 10.0.0.2:7369');
    // The hex pane shows the whole packet (Ethernet, IPv4, UDP, then VVMP from byte 42).
    expect(s).toContain('Hex  74 B · VVMP 42..73 ');
    expect(s).toContain('0028  00 00 00 01 00 00 01 00');
    expect(s).toMatch(/\? help {2}\/ filter {2}Tab pane .* q quit/);
    expect(selected(s)).toBe(1);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('moves the selection with j/k/G/g and the tree follows', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('j');
    await t.waitFor(shows(2, 'Frame 2: 72 bytes', 'Reply to frame 1 after 0.4 ms'));
    t.send('j', 'j');
    await t.waitFor(shows(4, 'Frame 4:', 'Session: 0x00000000000000aa/17'));
    t.send('G');
    await t.waitFor(shows(18, 'Frame 18:'));
    t.send('k');
    await t.waitFor(shows(17, 'Frame 17:'));
    t.send('g');
    await t.waitFor((x) => selected(x) === 1 && x.includes('Frame 1:'));
    t.send('C-d');
    await t.waitFor((x) => (selected(x) ?? 0) > 1);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('Tab moves to the tree; Enter collapses; the hex pane follows the selected node', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('Tab', 'Enter');
    await t.waitFor('▸ Frame 1:');
    t.send('j');
    await t.waitFor('Hex  74 B · field 42..73');
    t.send('j');
    await t.waitFor(/Hex +74 B · field 42\.\.43 /);
    t.send('Tab');
    await t.waitFor('Hex');
    t.send('BTab', 'BTab');
    t.send('j');
    await t.waitFor((x) => selected(x) === 2);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('filters: a good filter narrows the rows, a bad one shows its error in place', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('/');
    t.type('vvmp.opcod == 1');
    let s = await t.waitFor('unknown field');
    const bar = s.split('\n')[1]!;
    expect(bar).toContain('filter: vvmp.opcod == 1');
    expect(bar).toMatch(/✗ column 1: unknown field "vvmp\.opcod"; did you mean vvmp\.opcode\?/);
    t.send('Enter'); // invalid: not applied
    await new Promise((r) => setTimeout(r, 200));
    expect(t.capture()).toContain('18 frames');
    t.send('C-u');
    t.type('vvmp.reply == 1');
    await t.waitFor('✓ valid');
    t.send('Enter');
    s = await t.waitFor('8 of 18 frames');
    expect(rows(s)).toEqual([2, 4, 6, 8, 10, 12, 14, 18]);
    expect(s.split('\n')[1]).toContain('filter: vvmp.reply == 1');
    // Esc cancels an edit.
    t.send('/');
    t.type('x');
    await t.waitFor('filter: vvmp.reply == 1x');
    t.send('Escape');
    await t.waitFor((x) => x.split('\n')[1]!.trim() === 'filter: vvmp.reply == 1');
    // Empty clears.
    t.send('/', 'C-u', 'Enter');
    s = await t.waitFor('filter: none');
    expect(s).toMatch(/pcap {3}18 frames/);
    expect(rows(s).slice(0, 3)).toEqual([1, 2, 3]);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('f follows the selected frame\'s flow, s its session', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('G');
    await t.waitFor((x) => selected(x) === 18);
    t.send('f');
    let s = await t.waitFor('14 of 18 frames');
    expect(s).toContain('filter: udp && ((ip.src == 10.0.0.1 && udp.srcport == 40001');
    t.send('g', 'j', 'j');
    await t.waitFor((x) => selected(x) === 3);
    t.send('s');
    s = await t.waitFor('8 of 18 frames');
    expect(s).toContain('filter: vvmp.session == "0x00000000000000aa/17"');
    expect(rows(s)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('Flows view lists the flows; Enter follows one', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('L');
    let s = await t.waitFor('Endpoint A');
    expect(s).toMatch(/> UDP +10\.0\.0\.1:40001 +10\.0\.0\.2:7369 +14 +648 B +0\.000000 +6\.600300 +2/);
    expect(s).toMatch(/UDP +10\.0\.0\.3:40100 +10\.0\.0\.2:7369 +2 /);
    expect(s).toMatch(/UDP +10\.0\.0\.5:7369 +10\.0\.0\.255:7369 +1 /);
    t.send('j', 'Enter');
    s = await t.waitFor('2 of 18 frames');
    expect(rows(s)).toEqual([13, 14]);
    t.send('2');
    await t.waitFor('Endpoint A');
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('Sessions view shows states and lifecycles; Enter shows a session\'s frames', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('S');
    let s = await t.waitFor('Lifecycle');
    expect(s).toMatch(/> 0xaa +17 0x11 +CLOSED +RAID5 +100\.0 GiB +0\.1004 +●alloc 0\.39ms ─ ●init ─ ●stats ─ ●free/);
    expect(s).toMatch(/0xaa +— 0x22 +REJECTED +RAID0 +2\.0 GiB .*●alloc ✗ NO_CAPACITY/);
    t.send('Enter');
    s = await t.waitFor('8 of 18 frames');
    expect(s).toContain('vvmp.session == "0x00000000000000aa/17"');
    t.send('3', 'j', 'Enter');
    s = await t.waitFor('2 of 18 frames');
    expect(rows(s)).toEqual([13, 14]);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('Expert view groups findings, errors first; Enter on checksum_bad jumps to its frame', async () => {
    const t = open(`${cap} -Y 'vvmp.reply == 1'`);
    await t.waitFor('8 of 18 frames');
    t.send('E');
    let s = await t.waitFor('Severity');
    const order = s.split('\n').map((l) => /[▸▾] (?:error|warning|note) +(\w+)/.exec(l)?.[1]).filter(Boolean);
    expect(order).toEqual(['checksum_bad', 'status_error', 'timeout']);
    expect(s).toMatch(/> ▸ error +checksum_bad +1 +1 frame/);
    t.send('Enter');
    s = await t.waitFor('▾ error');
    expect(s).toMatch(/ 11 +0\.500000 +Query Request this SAN txid=6 — frame bytes sum to 0x01, not 0/);
    t.send('j', 'Enter');
    // The filter hid frame 11: cleared.
    s = await t.waitFor(shows(11, 'Frame 11: 32 bytes', 'filter cleared to show frame 11', 'filter: none'));
    expect(s).toMatch(/pcap {3}18 frames/);
    expect(s).toMatch(/Checksum: 0x[0-9a-f]{2} \[✗ bytes sum to 0x01, expected 0\]/);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('? shows help from the key table', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('?');
    const s = await t.waitFor('Keys');
    for (const text of ['display filter', 'Ctrl-d', 'half a page down', 'Shift-Tab', 'F 1', 'E 4 e', 'q Ctrl-c', 'Frames: list, detail tree and hex']) {
      expect(s).toContain(text);
    }
    t.send('Escape');
    await t.waitFor(FIRST_ROW);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('q quits and gives the terminal back; Ctrl-C too', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('q');
    expect(await t.waitDead()).toBe(0);
    const after = t.capture();
    expect(after).not.toContain('[F]rames');
    expect(after).not.toContain('Query Request');
    const u = open();
    await u.waitFor(FIRST_ROW);
    u.send('C-c');
    expect(await u.waitDead()).toBe(0);
    expect(u.capture()).not.toContain('[F]rames');
  });

  it('works at 80×24 (hex folds under the tree) and redraws on resize', async () => {
    const t = open('', { width: 80, height: 24 });
    let s = await t.waitFor(FIRST_ROW);
    const lines = s.split('\n');
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(s).toContain('18 frames');
    expect(s).toMatch(/── Tree .*─/);
    expect(s).toMatch(/── Hex .*─/);
    expect(s).toContain('0020  00 02 9c 41 1c c9 00 28  00 00 00 01 00 00 01 00');
    expect(lines[23]).toContain('? help');
    t.send('j', 'j', 'j');
    await t.waitFor((x) => selected(x) === 4 && x.includes('Frame 4:'));
    t.resize(140, 40);
    s = await t.waitFor((x) => x.includes('┬') && x.split('\n').length >= 40 && x.includes('Frame 4:'));
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('selects a row with a mouse click', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    // SGR mouse press, then release, on the 5th frame row (screen line 8, 1-based); blessed
    // reads one mouse event per input chunk, hence two sends.
    t.type('\x1b[<0;20;8M');
    await new Promise((r) => setTimeout(r, 100));
    t.type('\x1b[<0;20;8m');
    await t.waitFor(shows(5, 'Frame 5:'));
    // The wheel moves the selection by three rows.
    t.type('\x1b[<65;20;8M');
    await t.waitFor(shows(8, 'Frame 8:'));
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('NO_COLOR: no colours, the selection still shows (inverse)', async () => {
    const t = open('', { env: { NO_COLOR: '1' } });
    await t.waitFor(FIRST_ROW);
    const s = t.capture(true);
    expect(s).not.toMatch(/\x1b\[(3[1-7]|9[1-7]|4[1-7])m/);
    expect(s).toContain('\x1b[7m');
    const c = open();
    await c.waitFor(FIRST_ROW);
    expect(c.capture(true)).toMatch(/\x1b\[31m +11 0\.500000/);
    t.send('q');
    c.send('q');
    expect(await t.waitDead()).toBe(0);
    expect(await c.waitDead()).toBe(0);
  });

  it('an unreadable file is one line and exit 1, before the screen is taken', async () => {
    const t = open(path.join(dir, 'missing.pcap'));
    expect(await t.waitDead()).toBe(1);
    expect(t.capture()).toContain(`vvmp: ${path.join(dir, 'missing.pcap')}: no such file`);
  });

  it('shows a large capture at once, keeps loading, filters it in slices', async () => {
    const big = path.join(dir, 'big.pcap');
    writeBigCapture(big, 200_000);
    const t = open(big);
    await t.waitFor(FIRST_ROW);
    let s = await t.waitFor('200,000 frames', 60000);
    await t.waitFor((x) => !x.includes('loading'), 60000);
    t.send('/');
    t.type('vvmp.name == Allocate && vvmp.reply == 1');
    t.send('Enter');
    s = await t.waitFor('25,000 of 200,000 frames', 60000);
    expect(rows(s)[0]).toBe(8);
    t.send('G');
    await t.waitFor((x) => selected(x) === 200_000);
    t.send('p');
    await t.waitFor('PAUSED');
    t.send('p');
    await t.waitFor('display resumed');
    t.send('q');
    expect(await t.waitDead()).toBe(0);
  });

  it('refuses to start without a terminal', () => {
    const [cmd, ...args] = vvmpCommand().split(' ');
    const r = spawnSync(cmd!, [...args, 'tui', cap], { cwd: ROOT, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(NOT_A_TERMINAL + '\n');
    expect(r.stdout).toBe('');
  });
});
