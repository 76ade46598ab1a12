// Selection and scrolling of a virtual list: only the rows on screen are ever
// drawn, whatever the list's length.

import type { Action } from './keys.js';

export class ListCursor {
  sel = 0;
  top = 0;

  /** Keeps the selection inside [0, len) and on screen. */
  clamp(len: number, height: number): void {
    if (len <= 0) {
      this.sel = 0;
      this.top = 0;
      return;
    }
    this.sel = Math.max(0, Math.min(this.sel, len - 1));
    const h = Math.max(1, height);
    if (this.sel < this.top) this.top = this.sel;
    if (this.sel >= this.top + h) this.top = this.sel - h + 1;
    this.top = Math.max(0, Math.min(this.top, Math.max(0, len - h)));
  }

  /** Applies a movement action; false when it is not one. */
  move(action: Action, len: number, height: number): boolean {
    const page = Math.max(1, height - 1);
    const half = Math.max(1, Math.floor(height / 2));
    switch (action) {
      case 'down': this.sel++; break;
      case 'up': this.sel--; break;
      case 'top': this.sel = 0; break;
      case 'bottom': this.sel = len - 1; break;
      case 'pageDown': this.sel += page; this.top += page; break;
      case 'pageUp': this.sel -= page; this.top -= page; break;
      case 'halfDown': this.sel += half; this.top += half; break;
      case 'halfUp': this.sel -= half; this.top -= half; break;
      default: return false;
    }
    this.top = Math.max(0, this.top);
    this.clamp(len, height);
    return true;
  }

  /** Selects the row at screen line `line` of the pane (a mouse click). */
  click(line: number, len: number, height: number): void {
    this.sel = this.top + line;
    this.clamp(len, height);
  }

  /** The visible rows: [top, end). */
  visible(len: number, height: number): [number, number] {
    return [this.top, Math.min(len, this.top + height)];
  }
}

export function isMove(a: Action): boolean {
  return a === 'down' || a === 'up' || a === 'top' || a === 'bottom' || a === 'pageDown' || a === 'pageUp'
    || a === 'halfDown' || a === 'halfUp';
}
