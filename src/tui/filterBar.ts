// The filter bar: `/` opens it; the text is compiled as it is typed — green
// when valid, red with the filter's own one-line error in place when not.
// Enter applies, Esc cancels, an empty filter clears; Tab completes field names.

import type blessed from 'blessed';
import { compileFilter, FilterError, isEmptyFilter } from '../analysis/filter/index.js';
import { completeFilter } from './completion.js';
import { LineEditor } from './lineEdit.js';
import { cut, esc, type Theme } from './text.js';
import { pane, place } from './view.js';

export type FilterKeyResult = 'apply' | 'cancel' | null;

export class FilterBar {
  editing = false;
  text = '';
  pos = 0;
  /** The filter in force ('' for none). */
  applied = '';
  error: string | null = null;
  errorColumn = 0;
  /** Field names the last Tab offered (several matched). */
  offered: string[] = [];
  private readonly line = new LineEditor();
  private readonly box: blessed.Widgets.BoxElement;
  private width = 80;

  constructor(screen: blessed.Widgets.Screen, private readonly theme: Theme) {
    this.box = pane(screen);
    this.box.show();
  }

  layout(top: number, width: number): void {
    this.width = width;
    place(this.box, top, 0, width, 1);
  }

  begin(): void {
    this.editing = true;
    this.text = this.applied;
    this.pos = this.text.length;
    this.offered = [];
    this.validate();
  }

  /** Whether the text in the bar compiles (empty counts: it clears). */
  get valid(): boolean {
    return this.error === null;
  }

  /** One key while editing; Tab completes a field name (or a value name after `==`). */
  key(name: string, ch: string | undefined, ctrl: boolean): FilterKeyResult {
    this.line.set(this.text);
    this.line.pos = this.pos;
    this.line.offered = this.offered;
    const r = this.line.key(name, ch, ctrl, completeFilter);
    this.text = this.line.text;
    this.pos = this.line.pos;
    this.offered = this.line.offered;
    if (r === 'apply') return this.valid ? 'apply' : null;
    if (r === 'cancel') {
      this.editing = false;
      return 'cancel';
    }
    this.validate();
    return null;
  }

  end(): void {
    this.editing = false;
  }

  private validate(): void {
    this.error = null;
    this.errorColumn = 0;
    if (isEmptyFilter(this.text)) return;
    try {
      compileFilter(this.text);
    } catch (e) {
      if (e instanceof FilterError) {
        this.error = e.message;
        this.errorColumn = e.column;
      } else this.error = (e as Error).message.split('\n')[0]!;
    }
  }

  render(): void {
    const th = this.theme;
    const label = ' filter: ';
    if (!this.editing) {
      this.box.setContent(this.applied
        ? th.bold(label) + th.fg('green', esc(cut(this.applied, this.width - label.length)))
        : esc(label + 'none  (/ to type a display filter, ? for help)'));
      return;
    }
    const empty = isEmptyFilter(this.text);
    const colour = empty ? null : this.valid ? 'green' : 'red';
    const note = this.offered.length > 0 ? `  Tab: ${this.offered.join(' ')}`
      : empty ? '  (empty: Enter clears the filter; Tab completes field names)' : this.valid ? '  ✓ valid, Enter applies' : `  ✗ ${this.error}`;
    // The text with a block cursor; when too long, a window around the cursor.
    const room = Math.max(10, this.width - label.length - Math.min(note.length, Math.floor(this.width / 2)) - 1);
    const start = Math.max(0, this.pos - room + 1);
    const shown = (this.text + ' ').slice(start, start + room);
    const at = this.pos - start;
    let body = '';
    for (let i = 0; i < shown.length; i++) {
      let c = esc(shown[i]!);
      const bad = this.error !== null && start + i === this.errorColumn - 1;
      if (bad) c = th.underline(c);
      body += i === at ? th.inverse(c) : c;
    }
    const withColour = th.fg(colour, body);
    const noteText = th.fg(colour, esc(cut(note, Math.max(0, this.width - label.length - shown.length))));
    this.box.setContent(th.bold(label) + withColour + noteText);
  }
}
