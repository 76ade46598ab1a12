// The `:` command line, drawn in the status bar's row while it is open (as
// in vim): the text with a cursor, then the completions Tab offered or the
// last error. A small history is kept (↑ / ↓).

import { completeCommand } from './commands.js';
import { completeFilter } from './completion.js';
import { LineEditor, type EditResult } from './lineEdit.js';
import { esc, type Theme } from './text.js';

export class CommandBar {
  editing = false;
  private readonly line = new LineEditor();
  private readonly history: string[] = [];
  private back = 0;

  get text(): string {
    return this.line.text;
  }

  begin(prefill = ''): void {
    this.editing = true;
    this.line.set(prefill);
    this.back = 0;
  }

  end(): void {
    this.editing = false;
    const t = this.line.text.trim();
    if (t && this.history[this.history.length - 1] !== t) this.history.push(t);
    if (this.history.length > 100) this.history.shift();
  }

  key(name: string, ch: string | undefined, ctrl: boolean): EditResult {
    if (name === 'up' || name === 'down') {
      const n = this.history.length;
      this.back = Math.max(0, Math.min(n, this.back + (name === 'up' ? 1 : -1)));
      this.line.set(this.back === 0 ? '' : this.history[n - this.back]!);
      return 'edited';
    }
    const r = this.line.key(name, ch, ctrl, (word, before) => {
      // `:filter EXPR` completes like the filter bar.
      const m = /^\s*filter\s+(.*)$/.exec(before);
      if (m) return completeFilter(word, m[1]!);
      return completeCommand(word, before, (w) => completeFilter(w, ''));
    });
    if (r === 'cancel') this.editing = false;
    return r;
  }

  /** The status-bar row while editing. */
  render(theme: Theme, width: number): string {
    const t = this.line.text;
    const pos = this.line.pos;
    const offered = this.line.offered.length ? `   Tab: ${this.line.offered.join(' ')}` : '';
    const room = Math.max(10, width - 2 - Math.min(offered.length, Math.floor(width / 2)));
    const start = Math.max(0, pos - room + 1);
    const shown = (t + ' ').slice(start, start + room);
    let body = '';
    for (let i = 0; i < shown.length; i++) body += i === pos - start ? theme.inverse(esc(shown[i]!)) : esc(shown[i]!);
    const rest = Math.max(0, width - 1 - shown.length);
    return theme.bold(':') + body + esc(offered.slice(0, rest));
  }
}
