// A one-pane view: a header line and a virtual list of rows (Flows,
// Sessions, Expert). Subclasses say how many rows there are and how each
// row reads; only the visible ones are ever formatted.

import type blessed from 'blessed';
import type { Action } from './keys.js';
import { isMove, ListCursor } from './list.js';
import { esc, fit } from './text.js';
import { onMouse, pane, place, type AppContext, type View, type ViewId } from './view.js';

export interface Row {
  /** Plain text (escaped when drawn). */
  text: string;
  /** Severity rank colouring the whole row (0 none). */
  rank?: number;
  /** Already tagged text drawn after `text` (coloured cells). */
  tail?: string;
}

export abstract class TableView implements View {
  abstract readonly id: ViewId;
  protected readonly cursor = new ListCursor();
  protected width = 80;
  protected height = 1;
  private readonly head: blessed.Widgets.BoxElement;
  private readonly body: blessed.Widgets.BoxElement;

  constructor(protected readonly ctx: AppContext) {
    this.head = pane(ctx.screen);
    this.body = pane(ctx.screen);
    onMouse(this.body, (line) => {
      this.cursor.click(line, this.count(), this.height);
      ctx.requestRender();
    }, (dir) => {
      for (let i = 0; i < 3; i++) this.cursor.move(dir > 0 ? 'down' : 'up', this.count(), this.height);
      ctx.requestRender();
    });
  }

  protected abstract count(): number;
  protected abstract header(): string;
  protected abstract row(i: number): Row;
  /** Enter (and Space, →, ←) on row i. */
  protected abstract activate(i: number, action: Action): boolean;
  /** What to show when there are no rows. */
  protected abstract empty(): string;
  /** A line under the rows (a legend), or null. */
  protected footer(): string | null {
    return null;
  }

  show(): void {
    this.head.show();
    this.body.show();
  }

  hide(): void {
    this.head.hide();
    this.body.hide();
  }

  layout(top: number, height: number, width: number): void {
    this.width = width;
    this.height = Math.max(1, height - 1);
    place(this.head, top, 0, width, 1);
    place(this.body, top + 1, 0, width, this.height);
  }

  handle(action: Action): boolean {
    const n = this.count();
    if (isMove(action)) return this.cursor.move(action, n, this.height);
    if (n === 0) return false;
    return this.activate(this.cursor.sel, action);
  }

  render(): void {
    const { theme } = this.ctx;
    const n = this.count();
    const foot = this.footer();
    const height = foot === null ? this.height : Math.max(1, this.height - 1);
    this.cursor.clamp(n, height);
    this.head.setContent(theme.inverse(esc(fit('  ' + this.header(), this.width))));
    const lines: string[] = [];
    const [a, b] = this.cursor.visible(n, height);
    for (let i = a; i < b; i++) {
      const r = this.row(i);
      const sel = i === this.cursor.sel;
      const plain = (sel ? '> ' : '  ') + r.text;
      if (r.tail === undefined) lines.push(theme.row(fit(plain, this.width), r.rank ?? 0, sel));
      else {
        // The tail is pre-coloured: keep the selection inverse across it.
        const room = Math.max(0, this.width - plain.length);
        const t = theme.row(plain, r.rank ?? 0, false) + fitTagged(r.tail, room);
        lines.push(sel ? theme.inverse(t) : t);
      }
    }
    if (n === 0) lines.push(esc('  ' + this.empty()));
    if (foot !== null) {
      while (lines.length < height) lines.push('');
      lines.push(theme.bold(esc(fit(' ' + foot, this.width))));
    }
    this.body.setContent(lines.join('\n'));
  }
}

/** Pads or cuts tagged text to `width` visible cells. */
export function fitTagged(tagged: string, width: number): string {
  let out = '';
  let seen = 0;
  for (let i = 0; i < tagged.length;) {
    if (tagged[i] === '{') {
      const end = tagged.indexOf('}', i);
      if (end > i) {
        const tag = tagged.slice(i, end + 1);
        const visible = tag === '{open}' || tag === '{close}';
        if (visible) {
          if (seen >= width) break;
          seen++;
        }
        out += tag;
        i = end + 1;
        continue;
      }
    }
    if (seen >= width) {
      i++;
      continue;
    }
    out += tagged[i];
    seen++;
    i++;
  }
  // Tags after the cut are kept (they close what is open); only visible text is dropped.
  return seen < width ? out + ' '.repeat(width - seen) : out;
}
