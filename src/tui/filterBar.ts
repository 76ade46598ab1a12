// The filter bar: `/` opens it; the text is compiled as it is typed — green
// when valid, red with the filter's own one-line error in place when not.
// Enter applies, Esc cancels, an empty filter clears.

import type blessed from 'blessed';
import { compileFilter, FilterError, isEmptyFilter } from '../analysis/filter/index.js';
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
    this.validate();
  }

  /** Whether the text in the bar compiles (empty counts: it clears). */
  get valid(): boolean {
    return this.error === null;
  }

  /** One key while editing. */
  key(name: string, ch: string | undefined, ctrl: boolean): FilterKeyResult {
    const t = this.text;
    switch (name) {
      case 'enter': return this.valid ? 'apply' : null;
      case 'escape': this.editing = false; return 'cancel';
      case 'backspace':
        if (this.pos > 0) {
          this.text = t.slice(0, this.pos - 1) + t.slice(this.pos);
          this.pos--;
        }
        break;
      case 'delete': case 'C-d': this.text = t.slice(0, this.pos) + t.slice(this.pos + 1); break;
      case 'left': case 'C-b': this.pos = Math.max(0, this.pos - 1); break;
      case 'right': case 'C-f': this.pos = Math.min(t.length, this.pos + 1); break;
      case 'home': case 'C-a': this.pos = 0; break;
      case 'end': case 'C-e': this.pos = t.length; break;
      case 'C-u': this.text = t.slice(this.pos); this.pos = 0; break;
      case 'C-k': this.text = t.slice(0, this.pos); break;
      case 'C-w': {
        const before = t.slice(0, this.pos).replace(/\S+\s*$/, '');
        this.text = before + t.slice(this.pos);
        this.pos = before.length;
        break;
      }
      default:
        if (ch && !ctrl && ch.length === 1 && ch >= ' ' && ch !== '\x7f') {
          this.text = t.slice(0, this.pos) + ch + t.slice(this.pos);
          this.pos++;
        } else return null;
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
    const note = empty ? '  (empty: Enter clears the filter)' : this.valid ? '  ✓ valid, Enter applies' : `  ✗ ${this.error}`;
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
