// The `?` help screen: every binding of the key table, by section, so help
// can never disagree with what the keys do.

import type blessed from 'blessed';
import { COMMANDS } from './commands.js';
import { KEY_TABLE, MOUSE_HELP, keyLabel, type Action, type Binding } from './keys.js';
import { esc, fit } from './text.js';
import { pane, place, type AppContext } from './view.js';

const EXAMPLES = [
  'vvmp.reply == 1', 'vvmp.status != OK', 'vvmp.checksum_ok == 0', 'expert.severity == error', 'expert.code == timeout',
  'vvmp.name == Allocate && vvmp.alloc.storage_type == RAID5', 'vvmp.session == "0xaa/17"', 'ip.addr == 10.0.0.0/8', 'vvmp.latency > 1.5',
];

/** Wraps words to `width` columns. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out.length ? out : [''];
}

/** Lines of one column: the given sections of the key table, wrapped to `width`. */
function sectionLines(sections: ReadonlyArray<Binding['section']>, width: number, theme: AppContext['theme']): Array<[string, number]> {
  const keyW = Math.min(18, Math.max(12, Math.floor(width / 4)));
  const textW = Math.max(16, width - keyW - 4);
  const out: Array<[string, number]> = [];
  for (const section of sections) {
    if (out.length) out.push(['', 0]);
    out.push([' ' + theme.bold(esc(section)), section.length + 1]);
    for (const b of KEY_TABLE.filter((x) => x.section === section)) {
      const keys = b.keys.map(keyLabel).join(' ');
      wrap(b.help, textW).forEach((t, i) => {
        const line = `   ${fit(i === 0 ? keys : '', keyW)} ${t}`;
        out.push([esc(line), line.length]);
      });
    }
  }
  return out;
}

const SECTIONS: ReadonlyArray<Binding['section']> = ['General', 'Views', 'Moving', 'Panes and trees', 'Frames', 'Marks, search, copy'];

/** The `:` commands, in the help after the keys. */
function commandLines(width: number, theme: AppContext['theme']): Array<[string, number]> {
  const out: Array<[string, number]> = [['', 0], [' ' + theme.bold('Commands') + esc(' (: then Enter; Tab completes)'), 40]];
  const keyW = Math.min(30, Math.max(14, Math.floor(width / 3)));
  for (const [cmd, help] of COMMANDS) {
    wrap(help, Math.max(16, width - keyW - 4)).forEach((t, i) => {
      const line = `   ${fit(i === 0 ? ':' + cmd : '', keyW)} ${t}`;
      out.push([esc(line), line.length]);
    });
  }
  return out;
}

/** Help text: every binding of the key table; two columns on wide terminals. */
export function helpLines(width: number, theme: AppContext['theme']): string[] {
  const lines: string[] = [theme.bold(esc(' Keys')) + esc('  (Esc, q or ? closes this; j/k scroll)'), ''];
  const tail: Array<[string, number]> = [['', 0], [' ' + esc(MOUSE_HELP), MOUSE_HELP.length + 1], ['', 0]];
  const title = ' Display filters (as in vvmp read -Y; Wireshark-like)';
  tail.push([' ' + theme.bold('Display filters') + esc(' (as in vvmp read -Y; Wireshark-like)'), title.length]);
  if (width >= 100) {
    const colW = Math.floor((width - 2) / 2);
    const left = [...sectionLines(['General', 'Moving', 'Panes and trees'], colW, theme), ...commandLines(colW, theme)];
    const right = [...sectionLines(['Views', 'Frames', 'Marks, search, copy'], colW, theme), ...tail];
    for (const t of wrap(EXAMPLES.join('   '), colW - 4)) right.push(['   ' + esc(t), t.length + 3]);
    for (let i = 0; i < Math.max(left.length, right.length); i++) {
      const [l, lw] = left[i] ?? ['', 0];
      const [r] = right[i] ?? [''];
      lines.push(l + ' '.repeat(Math.max(0, colW - lw)) + '  ' + r);
    }
    return lines;
  }
  for (const [l] of [...sectionLines(SECTIONS, width, theme), ...commandLines(width, theme), ...tail]) lines.push(l);
  for (const t of wrap(EXAMPLES.join('   '), Math.max(20, width - 4))) lines.push('   ' + esc(t));
  return lines;
}

export class HelpView {
  private readonly box: blessed.Widgets.BoxElement;
  private top = 0;
  private height = 1;
  private width = 80;

  constructor(private readonly ctx: AppContext) {
    this.box = pane(ctx.screen);
  }

  show(): void {
    this.box.show();
    this.box.setFront();
  }

  hide(): void {
    this.box.hide();
  }

  layout(top: number, height: number, width: number): void {
    this.height = height;
    this.width = width;
    place(this.box, top, 0, width, height);
  }

  handle(action: Action): boolean {
    const total = helpLines(this.width, this.ctx.theme).length;
    const max = Math.max(0, total - this.height);
    const page = Math.max(1, this.height - 1);
    switch (action) {
      case 'down': this.top++; break;
      case 'up': this.top--; break;
      case 'top': this.top = 0; break;
      case 'bottom': this.top = max; break;
      case 'pageDown': case 'halfDown': this.top += action === 'pageDown' ? page : page >> 1; break;
      case 'pageUp': case 'halfUp': this.top -= action === 'pageUp' ? page : page >> 1; break;
      default: return false;
    }
    this.top = Math.max(0, Math.min(this.top, max));
    return true;
  }

  render(): void {
    const all = helpLines(this.width, this.ctx.theme);
    this.top = Math.max(0, Math.min(this.top, Math.max(0, all.length - this.height)));
    const shown = all.slice(this.top, this.top + this.height);
    if (this.top + this.height < all.length && shown.length > 0) {
      shown[shown.length - 1] = this.ctx.theme.inverse(esc(fit(` ↓ ${all.length - this.top - this.height} more lines (j, PgDn)`, this.width)));
    }
    this.box.setContent(shown.join('\n'));
  }
}
