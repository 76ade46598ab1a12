// The hex pane: offset, hex bytes, ASCII, with the selected tree node's bytes
// highlighted. 16 bytes a row when there is room, 8 when narrow.

import type { Action } from './keys.js';
import { esc, type Theme } from './text.js';

/** Columns a row of `n` bytes takes: ` 0000  xx xx … xx  xx … xx  ascii`. */
export function hexWidth(n: number): number {
  return 1 + 4 + 2 + (n * 3 - 1) + (n > 8 ? 1 : 0) + 2 + n;
}

export class HexState {
  top = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  private hl: [number, number] | null = null;
  private part: [number, number] | null = null;
  private key = '';

  /**
   * Sets the bytes, the highlighted field and (for a whole packet) the VVMP
   * part; scrolls to the highlight when it changed.
   */
  set(id: number, bytes: Uint8Array, hl: [number, number] | null, perRow: number, height: number, part: [number, number] | null = null): void {
    const key = `${id}:${hl ? hl.join('+') : '-'}:${perRow}`;
    this.bytes = bytes;
    this.hl = hl;
    this.part = part;
    if (key === this.key) return;
    const frameChanged = !this.key.startsWith(`${id}:`);
    this.key = key;
    if (frameChanged) this.top = part ? Math.floor(part[0] / perRow) : 0;
    if (hl) {
      const first = Math.floor(hl[0] / perRow);
      const last = Math.floor((hl[0] + hl[1] - 1) / perRow);
      if (first < this.top || last >= this.top + height) this.top = Math.max(0, Math.min(first, last - height + 1));
    }
  }

  handle(action: Action, perRow: number, height: number): boolean {
    const rows = Math.ceil(this.bytes.length / perRow);
    const max = Math.max(0, rows - height);
    switch (action) {
      case 'down': this.top++; break;
      case 'up': this.top--; break;
      case 'top': this.top = 0; break;
      case 'bottom': this.top = max; break;
      case 'pageDown': case 'halfDown': this.top += Math.max(1, action === 'pageDown' ? height - 1 : height >> 1); break;
      case 'pageUp': case 'halfUp': this.top -= Math.max(1, action === 'pageUp' ? height - 1 : height >> 1); break;
      default: return false;
    }
    this.top = Math.max(0, Math.min(this.top, max));
    return true;
  }

  lines(theme: Theme, perRow: number, height: number): string[] {
    const b = this.bytes;
    const rows = Math.ceil(b.length / perRow);
    this.top = Math.max(0, Math.min(this.top, Math.max(0, rows - height)));
    const [hs, hl] = this.hl ?? [-1, 0];
    const [ps, pl] = this.part ?? [-1, 0];
    // 2: the selected field (inverse); 1: the VVMP part of a whole packet (coloured, or underlined without colour).
    const style = (i: number): number => (i >= hs && i < hs + hl ? 2 : i >= ps && i < ps + pl ? 1 : 0);
    const open = (st: number): string => (st === 2 ? '{inverse}' : st === 1 ? (theme.colour ? '{green-fg}' : '{underline}') : '');
    const close = (st: number): string => (st === 2 ? '{/inverse}' : st === 1 ? (theme.colour ? '{/green-fg}' : '{/underline}') : '');
    const out: string[] = [];
    for (let r = this.top; r < rows && out.length < height; r++) {
      const base = r * perRow;
      let hex = '';
      let ascii = '';
      let hexSt = 0;
      let asciiSt = 0;
      for (let k = 0; k < perRow; k++) {
        const i = base + k;
        const sep = k === 0 ? '' : k === 8 ? '  ' : ' ';
        if (i >= b.length) {
          hex += close(hexSt) + sep + '  ';
          hexSt = 0;
          continue;
        }
        const st = style(i);
        // The gap between two bytes of one style takes that style, so a field reads as one block.
        if (st !== hexSt) {
          hex += close(hexSt) + sep + open(st);
          hexSt = st;
        } else hex += sep;
        hex += b[i]!.toString(16).padStart(2, '0');
        const c = b[i]!;
        const ch = c >= 0x20 && c < 0x7f ? esc(String.fromCharCode(c)) : '.';
        if (st !== asciiSt) {
          ascii += close(asciiSt) + open(st);
          asciiSt = st;
        }
        ascii += ch;
      }
      hex += close(hexSt);
      ascii += close(asciiSt);
      out.push(` ${base.toString(16).padStart(4, '0')}  ${hex}  ${ascii}`);
    }
    if (b.length === 0) out.push(' (no bytes)');
    return out;
  }
}
