// Text screenshots of every view, for docs/screens/: `npx tsx test/tui/screens.ts [CAPTURE]`.
// Uses captures/demo.pcapng when it exists, else the UI test capture.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCapture } from './fixture.js';
import { Tmux, vvmpCommand } from './tmux.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'docs/screens');
const demo = path.join(ROOT, 'captures/demo.pcapng');
let cap = process.argv[2] ?? (fs.existsSync(demo) ? demo : '');
if (!cap) {
  cap = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vvmp-screens-')), 'vvmp-ui-test.pcap');
  writeCapture(cap);
}
const shown = path.relative(ROOT, cap).startsWith('..') ? path.basename(cap) : path.relative(ROOT, cap);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

fs.mkdirSync(OUT, { recursive: true });
const t = Tmux.start('screens', `${vvmpCommand()} tui ${shown === path.basename(cap) ? cap : shown}`, { width: 120, height: 40 });
try {
  await t.waitFor(/^[> ] +1 +\d+\.\d+ /m);
  await t.waitFor((s) => !s.includes('loading'), 60000);
  const save = async (name: string) => {
    await pause(400);
    const text = t.capture().split('\n').map((l) => l.replace(/\s+$/, '')).join('\n').replace(/\n+$/, '\n');
    fs.writeFileSync(path.join(OUT, `${name}.txt`), text.replace(path.dirname(cap) + '/', ''));
    process.stdout.write(`docs/screens/${name}.txt\n`);
  };
  // Frames: the first frame with an error finding, its tree and hex.
  t.send('E');
  await t.waitFor('Severity');
  t.send('Enter', 'j', 'Enter');
  await t.waitFor(/^> +\d+ /m);
  await save('frames');
  t.send('L');
  await t.waitFor('Endpoint A');
  await save('flows');
  t.send('S');
  await t.waitFor('Lifecycle');
  await save('sessions');
  t.send('E');
  await t.waitFor('Severity');
  await save('expert');
  // The graph views (issue 17): latency by opcode with the Free histogram, the I/O graph, the timeline.
  t.send('R');
  await t.waitFor('Latency to first reply');
  t.send('j', 'j', 'j');
  await t.waitFor(/── Free: /);
  await save('latency');
  // The I/O graph zoomed in: Enter on the first bin filters to it, and the graph spans the filter.
  t.send('I');
  await t.waitFor('I/O graph');
  t.send('Enter');
  await t.waitFor('filter: frame.time >=');
  t.send('I');
  await t.waitFor(/I\/O graph · \d+ frames · bin .* · filter: frame\.time/);
  await save('io');
  t.send('/', 'C-u', 'Enter');
  await t.waitFor('filter: none');
  t.send('T');
  await t.waitFor('sessions over');
  await save('timeline');
  t.send('?');
  await t.waitFor('Keys');
  await save('help');
  t.send('Escape');
  await pause(200);
  t.send('q');
  await t.waitDead();
} finally {
  t.kill();
  Tmux.killServer();
}
