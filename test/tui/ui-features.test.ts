// Issue 17 in the real terminal UI, driven in tmux: marks, time reference,
// search, go to, columns, copy, save, Tab completion, the command line, the
// Latency, I/O and Timeline views, Flows under a filter, `s` after PENDING.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapture } from './fixture.js';
import { hasTmux, Tmux, vvmpCommand } from './tmux.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'captures/demo.pcapng');
let dir = '';
let cap = '';
let count = 0;
const sessions: Tmux[] = [];

function open(args = '', opts: Parameters<typeof Tmux.start>[2] = {}): Tmux {
  const t = Tmux.start(`feat${++count}`, `${vvmpCommand()} tui ${args || cap}`, { ...opts, env: { TMPDIR: dir, ...opts.env } });
  sessions.push(t);
  return t;
}

/** The selected row of the frame list: `> N …` or `>* N …` (marked). */
function selected(screen: string): number | null {
  const m = /^>[* ] *(\d+) /m.exec(screen);
  return m ? Number(m[1]) : null;
}

/** Frame numbers of the list rows on screen. */
function rows(screen: string): number[] {
  const out: number[] = [];
  for (const line of screen.split('\n')) {
    const m = /^[> ][* ] *(\d+) (?:\d+\.\d{6}|\*REF\*) /.exec(line);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** The list row of frame n. */
function rowOf(screen: string, n: number): string {
  return screen.split('\n').find((l) => new RegExp(`^[> ][* ] *${n} `).test(l)) ?? '';
}

const FIRST_ROW = /^[> ] +1 0\.000000 /m;

async function command(t: Tmux, text: string): Promise<void> {
  t.send(':');
  await t.waitFor((s) => s.split('\n').some((l) => l.startsWith(':')));
  t.type(text);
  t.send('Enter');
}

async function quit(t: Tmux): Promise<void> {
  t.send('q');
  expect(await t.waitDead()).toBe(0);
}

describe.skipIf(!hasTmux())('terminal UI in tmux: issue 17', { timeout: 120_000 }, () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-tui-feat-'));
    cap = path.join(dir, 'ui.pcap');
    writeCapture(cap);
  });

  afterAll(() => {
    for (const t of sessions) t.kill();
    Tmux.killServer();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('m marks, ] and [ jump between marks; t sets a time reference', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('j', 'm');
    await t.waitFor((s) => /^>\* +2 /m.test(s) && s.includes('marked 2 (1 mark'));
    t.send('j', 'j', 'j', 'm');
    await t.waitFor((s) => /^>\* +5 /m.test(s) && s.includes('2 marks'));
    t.send('G');
    await t.waitFor((s) => selected(s) === 18);
    t.send(']');
    await t.waitFor((s) => selected(s) === 2 && s.includes('mark: frame 2 (1 of 2)'));
    t.send(']');
    await t.waitFor((s) => selected(s) === 5);
    t.send('[');
    await t.waitFor((s) => selected(s) === 2);
    // Unmark with m again.
    t.send('m');
    await t.waitFor((s) => /^> +2 /m.test(s) && s.includes('unmarked 2'));
    // Time reference on frame 3: frame 4 comes 0.39 ms later.
    t.send('j');
    await t.waitFor((s) => selected(s) === 3);
    t.send('t');
    let s = await t.waitFor((x) => x.includes('*REF*') && x.includes('Time (ref)'));
    expect(rowOf(s, 3)).toMatch(/^> +3 \*REF\* /);
    expect(rowOf(s, 4)).toMatch(/^ +4 0\.000390 /);
    expect(rowOf(s, 1)).toMatch(/^ +1 -0\.100000 /);
    t.send('t');
    s = await t.waitFor((x) => !x.includes('*REF*') && x.includes('time reference off'));
    expect(rowOf(s, 4)).toMatch(/^ +4 0\.100390 /);
    await quit(t);
  });

  it(':goto, Ctrl-g and :N go to a frame; bad commands say why', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    await command(t, 'goto 15');
    await t.waitFor((s) => selected(s) === 15 && s.includes('Frame 15:'));
    t.send('C-g');
    await t.waitFor(/^:goto/m);
    t.type('7');
    t.send('Enter');
    await t.waitFor((s) => selected(s) === 7);
    await command(t, '12');
    await t.waitFor((s) => selected(s) === 12);
    await command(t, 'goto 99');
    await t.waitFor('goto: no frame 99 (18 frames)');
    await command(t, 'frobnicate');
    await t.waitFor(':frobnicate: unknown command "frobnicate" (:help lists them)');
    // A filter hiding the frame is cleared to show it.
    t.send('/');
    t.type('vvmp.reply == 1');
    t.send('Enter');
    await t.waitFor('8 of 18 frames');
    await command(t, 'goto 3');
    await t.waitFor((s) => selected(s) === 3 && s.includes('filter cleared to show frame 3'));
    await quit(t);
  });

  it('Ctrl-s searches summaries, tree lines and bytes; n and N repeat', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('C-s');
    await t.waitFor(/^:search/m);
    t.type('NO_CAPACITY');
    t.send('Enter');
    await t.waitFor((s) => selected(s) === 14 && s.includes('"NO_CAPACITY": frame 14'));
    t.send('n');
    await t.waitFor((s) => selected(s) === 14 && s.includes('search wrapped to the top'));
    // A tree line: "Stripe size" is only in Initialize frames 5 and 6.
    await command(t, 'search stripe size');
    await t.waitFor((s) => selected(s) === 5);
    t.send('n');
    await t.waitFor((s) => selected(s) === 6);
    t.send('N');
    await t.waitFor((s) => selected(s) === 5);
    // Bytes, as hex: client 0x22 (only frames 13 and 14).
    await command(t, 'search 00 00 00 00 00 00 00 22');
    await t.waitFor((s) => selected(s) === 13);
    await command(t, 'search no such thing');
    await t.waitFor('"no such thing": not found');
    await quit(t);
  });

  it('c adds a column of a filter field (Tab completes); :col del removes it', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('c');
    await t.waitFor(/^:col add/m);
    t.type('vvmp.client_i');
    t.send('Tab');
    await t.waitFor(/^:col add vvmp\.client_id/m);
    t.send('Enter');
    let s = await t.waitFor('column vvmp.client_id added');
    expect(s).toMatch(/Proto client_id +Summary/);
    expect(rowOf(s, 13)).toMatch(/UDP +0x22 +Allocate Request/);
    expect(rowOf(s, 15)).toMatch(/UDP +0x33 +Query Request/);
    await command(t, 'col add vvmp.status');
    s = await t.waitFor('column vvmp.status added');
    expect(rowOf(s, 14)).toMatch(/0x22 +NO_CAPACITY +Allocate Reply/);
    await command(t, 'col del vvmp.client_id');
    s = await t.waitFor('column vvmp.client_id removed');
    expect(s).toMatch(/Proto status +Summary/);
    await command(t, 'col add vvmp.nope');
    await t.waitFor('col: no display-filter field "vvmp.nope"');
    await quit(t);
  });

  it('y copies the summary, the field value or the bytes; :copy writes a file', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    const clip = path.join(dir, 'vvmp-clipboard.txt');
    t.send('j', 'y');
    await t.waitFor(`copied frame 2's summary to the terminal clipboard (OSC 52) and ${clip}`);
    expect(fs.readFileSync(clip, 'utf8')).toBe('2 0.000400 10.0.0.2:7369 → 10.0.0.1:40001 UDP Query Reply OK 2 devices txid=1 (0.4 ms)\n');
    // Tree: the Client ID line's value.
    t.send('Tab', 'j', 'j', 'j', 'j', 'j', 'j', 'j');
    await t.waitFor('Hex  114 B · field 50..57');
    t.send('y');
    await t.waitFor('copied vvmp.client_id to');
    expect(fs.readFileSync(clip, 'utf8')).toBe('0x0000000000000011\n');
    // Hex pane: the selected field's bytes.
    t.send('Tab', 'y');
    await t.waitFor('copied 8 bytes of frame 2 to');
    expect(fs.readFileSync(clip, 'utf8')).toBe('00 00 00 00 00 00 00 11\n');
    const out = path.join(dir, 'frame2.hex');
    await command(t, `copy hex ${out}`);
    await t.waitFor(`copied 72 bytes of frame 2 to ${out}`);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^80 01 00 00 01 00 00 01 00 00 00 00 00 00 00 11 .* [0-9a-f]{2}\n$/);
    await quit(t);
  });

  it(':save writes the shown or marked frames\' packets as pcapng, as read -w does', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('/');
    t.type('vvmp.name == Allocate');
    t.send('Enter');
    await t.waitFor('4 of 18 frames');
    const shown = path.join(dir, 'alloc.pcapng');
    t.send('w');
    await t.waitFor(/^:save/m);
    t.type(shown);
    t.send('Enter');
    await t.waitFor(`saved 4 shown frames (4 packets) to ${shown}`);
    const viaRead = path.join(dir, 'alloc-read.pcapng');
    execFileSync('node', [path.join(ROOT, 'bin/vvmp.js'), 'read', cap, '-Y', 'vvmp.name == Allocate', '-w', viaRead]);
    const listing = (f: string): string => execFileSync('node', [path.join(ROOT, 'bin/vvmp.js'), 'read', f], { encoding: 'utf8' });
    expect(listing(shown)).toBe(listing(viaRead));
    expect(listing(shown).trim().split('\n')).toHaveLength(4);
    // Marked frames, whatever the filter.
    t.send('m', 'j', 'j', 'j', 'm');
    await t.waitFor('2 marks');
    const marked = path.join(dir, 'marked.pcapng');
    await command(t, `save ${marked} marked`);
    await t.waitFor(`saved 2 marked frames (2 packets) to ${marked}`);
    expect(listing(marked)).toMatch(/^ +1 .*Allocate Request .*\n +2 .*Allocate Reply NO_CAPACITY/);
    await command(t, `save ${cap}`);
    await t.waitFor('is the capture being shown; choose another file');
    await quit(t);
  });

  it('Tab completes field names and values in the filter bar', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('/');
    t.type('vvmp.alloc.stor');
    t.send('Tab');
    await t.waitFor('filter: vvmp.alloc.storage_type');
    t.type('== RAID');
    t.send('Tab');
    await t.waitFor(/Tab: RAID0 RAID2 .*RAID5/);
    t.type('5');
    t.send('Enter');
    const s = await t.waitFor('2 of 18 frames');
    expect(rows(s)).toEqual([3, 4]);
    await quit(t);
  });

  it('the Flows view counts only the frames the filter keeps', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('/');
    t.type('vvmp.name == Allocate');
    t.send('Enter');
    await t.waitFor('4 of 18 frames');
    t.send('L');
    const s = await t.waitFor('2 of 4 flows carry frames matching the filter vvmp.name == Allocate');
    expect(s).toMatch(/> UDP +10\.0\.0\.1:40001 +10\.0\.0\.2:7369 +2 +\d+ B +0\.100000 +0\.100390 +0/);
    expect(s).toMatch(/UDP +10\.0\.0\.3:40100 +10\.0\.0\.2:7369 +2 .* 1$/m);
    expect(s).not.toContain('10.0.0.5:7369');
    await quit(t);
  });

  it('Latency view: percentiles per opcode, client, server; Enter on a bucket filters its replies', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('R');
    let s = await t.waitFor('Latency to first reply, by');
    // Query: replies at 0.4, 0.1 (bad checksum reply) and 0.3 ms.
    expect(s).toMatch(/> Query +3 +0\.300 +0\.400 +0\.400 +0\.400/);
    expect(s).toMatch(/ Allocate +2 +0\.390 +0\.500 +0\.500 +0\.500/);
    expect(s).toContain('── Query: 3 replies');
    expect(s).toMatch(/0\.1–0\.2 ms +1 █/);
    expect(s).toMatch(/0\.2–0\.5 ms +2 █+.*◀ p50 p90 p99/);
    t.send('l');
    s = await t.waitFor(/> 0x11 +7 /);
    expect(s).toMatch(/ 0x22 +1 +0\.500/);
    t.send('l');
    s = await t.waitFor(/> 0xaa +8 /);
    t.send('h', 'h');
    await t.waitFor(/> Query +3 /);
    t.send('Tab', 'j', 'Enter');
    s = await t.waitFor('2 of 18 frames');
    expect(s).toContain('filter: vvmp.name == Query && vvmp.latency >= 0.2 && vvmp.latency < 0.5');
    expect(rows(s)).toEqual([2, 18]);
    await quit(t);
  });

  it('I/O graph: frames/s and errors/s over time; Enter filters the selected time range', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('I');
    let s = await t.waitFor('I/O graph · 18 frames · bin 100 ms · whole capture');
    expect(s).toContain('frames/s (per second; max 20/s)');
    expect(s).toContain('errors/s');
    expect(s).toMatch(/bin 0–0\.1 s: 2 frames \(20\/s\), 0 errors/);
    t.send('l', 'l', 'l', 'l', 'l');
    s = await t.waitFor(/bin 0\.5–0\.6 s: 2 frames/);
    expect(s).toMatch(/bin 0\.5–0\.6 s: 2 frames \(20\/s\), 2 errors/);
    t.send('space', 'l');
    await t.waitFor(/range 0\.5–0\.7 s: 4 frames/);
    t.send('Enter');
    s = await t.waitFor('4 of 18 frames');
    expect(s).toContain('filter: frame.time >= 1700000000.5 && frame.time < 1700000000.7');
    expect(rows(s)).toEqual([11, 12, 13, 14]);
    // With the filter: the graph counts only those frames.
    t.send('I');
    s = await t.waitFor('I/O graph · 4 frames');
    expect(s).toContain('filter: frame.time');
    await quit(t);
  });

  it('Session timeline: each session along capture time; Enter shows its frames', async () => {
    const t = open();
    await t.waitFor(FIRST_ROW);
    t.send('T');
    let s = await t.waitFor('sessions over');
    expect(s).toMatch(/> 0xaa\/17 +0x11 +CLOSED +A.*I.*S.*F/);
    expect(s).toMatch(/\(rejected\) +0x22 +REJECTED +.*✗/);
    expect(s).toContain('2 sessions over');
    t.send('Enter');
    s = await t.waitFor('8 of 18 frames');
    expect(s).toContain('vvmp.session == "0x00000000000000aa/17"');
    await quit(t);
  });

  it('s after a PENDING reply shows the whole session; a later s clears "belongs to no session"', async () => {
    const t = open(DEMO);
    await t.waitFor(/^> +1 /m);
    t.send('s');
    await t.waitFor('frame 1 belongs to no session');
    await command(t, 'goto 50');
    await t.waitFor((x) => selected(x) === 50);
    t.send('s');
    const s = await t.waitFor('5 of 106 frames');
    expect(s).toContain('filter: vvmp.session == "0x00000000000000aa/6" || frame.number in {47 48}');
    expect(rows(s)).toEqual([47, 48, 50, 56, 57]);
    expect(s).not.toContain('belongs to no session');
    await quit(t);
  });

  it('the new views and the command line fit 80×24; ? lists the new keys and commands', async () => {
    const t = open(DEMO, { width: 80, height: 24 });
    await t.waitFor(/^> +1 /m);
    for (const [key, text] of [['R', 'Latency to first reply'], ['I', 'I/O graph'], ['T', 'sessions over']] as const) {
      t.send(key);
      const s = await t.waitFor(text);
      const lines = s.split('\n');
      expect(lines.every((l) => l.length <= 80)).toBe(true);
      expect(lines[23]).toContain('? help');
    }
    t.send(':');
    await t.waitFor((s) => s.split('\n')[23]!.startsWith(':'));
    t.type('vi');
    t.send('Tab');
    await t.waitFor((s) => s.split('\n')[23]!.startsWith(':view'));
    t.send('Escape');
    await t.waitFor((x) => x.split('\n')[23]!.startsWith(' ? help'));
    t.send('?');
    // Page through the help: every page read, until no "more lines" remain.
    let all = await t.waitFor('Keys');
    for (let page = 0; page < 20 && /more lines/.test(t.capture()); page++) {
      const before = t.capture();
      t.send('PageDown');
      all += await t.waitFor((x) => x !== before);
    }
    for (const text of ['Latency: response-time', 'I/O graph', 'Session timeline', ':goto N', ':save FILE', ':col add FIELD', 'Ctrl-s', 'next match', 'Ctrl-g', 'time reference']) {
      expect(all).toContain(text);
    }
    t.send('Escape');
    await t.waitFor((x) => !x.includes('Keys  (Esc'));
    await quit(t);
  });
});
