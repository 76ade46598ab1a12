// The Frames view: the virtual frame list (only visible rows are drawn), the
// detail tree of the selected frame and its hex dump, kept in step. The hex
// pane sits beside the tree on wide terminals and folds under it when narrow.

import type blessed from 'blessed';
import type { AnalyzedFrame } from '../analysis/frame.js';
import { findingMarks, frameSummary } from '../output/summary.js';
import { cellText, shortTitle } from './columns.js';
import { hexWidth, HexState } from './hexPane.js';
import { packetBytes, type PacketBytes } from './packetBytes.js';
import type { Action } from './keys.js';
import { isMove, ListCursor } from './list.js';
import { cut, esc, fit, fitRight, seconds, thousands } from './text.js';
import { flowFilter, sessionRecordFilter, sessionRecordOf } from './filters.js';
import { TreeState } from './treePane.js';
import { onMouse, pane, place, type AppContext, type View } from './view.js';

type Pane = 'list' | 'tree' | 'hex';
const PANES: readonly Pane[] = ['list', 'tree', 'hex'];

export class FramesView implements View {
  readonly id = 'frames' as const;
  focus: Pane = 'list';
  /** Selected frame (seq), or -1. */
  selSeq = 0;
  /** Live: the selection follows the newest frame until the user moves. */
  follow: boolean;
  /** Paused display: rows shown are frozen at this count. */
  frozen: number | null = null;

  private readonly cursor = new ListCursor();
  private readonly tree = new TreeState();
  private readonly hex = new HexState();

  private readonly head: blessed.Widgets.BoxElement;
  private readonly list: blessed.Widgets.BoxElement;
  private readonly sep1: blessed.Widgets.BoxElement;
  private readonly treeBox: blessed.Widgets.BoxElement;
  private readonly vsep: blessed.Widgets.BoxElement;
  private readonly sep2: blessed.Widgets.BoxElement;
  private readonly hexBox: blessed.Widgets.BoxElement;

  private width = 80;
  private listH = 1;
  private treeH = 1;
  private hexH = 1;
  private treeW = 80;
  private perRow = 16;
  private side = false;

  constructor(private readonly ctx: AppContext) {
    const s = ctx.screen;
    this.follow = ctx.live;
    this.head = pane(s);
    this.list = pane(s);
    this.sep1 = pane(s);
    this.treeBox = pane(s);
    this.vsep = pane(s);
    this.sep2 = pane(s);
    this.hexBox = pane(s);
    onMouse(this.list, (line) => {
      this.focus = 'list';
      this.cursor.click(line, this.rowCount(), this.listH);
      this.selectRow(this.cursor.sel);
      this.ctx.requestRender();
    }, (dir) => {
      this.moveList(dir > 0 ? 'down' : 'up', 3);
      this.ctx.requestRender();
    });
    onMouse(this.treeBox, (line) => {
      this.focus = 'tree';
      this.tree.click(line, this.treeH);
      this.ctx.requestRender();
    }, (dir) => {
      for (let i = 0; i < 3; i++) this.tree.handle(dir > 0 ? 'down' : 'up', this.treeH);
      this.ctx.requestRender();
    });
    onMouse(this.hexBox, () => {
      this.focus = 'hex';
      this.ctx.requestRender();
    }, (dir) => {
      for (let i = 0; i < 3; i++) this.hex.handle(dir > 0 ? 'down' : 'up', this.perRow, this.hexH);
      this.ctx.requestRender();
    });
  }

  private get elements(): blessed.Widgets.BoxElement[] {
    return [this.head, this.list, this.sep1, this.treeBox, this.vsep, this.sep2, this.hexBox];
  }

  show(): void {
    for (const e of this.elements) e.show();
    if (this.side) this.sep2.hide();
    else this.vsep.hide();
  }

  hide(): void {
    for (const e of this.elements) e.hide();
  }

  layout(top: number, height: number, width: number): void {
    this.width = width;
    this.side = width >= 110;
    if (this.side) {
      this.perRow = width >= 160 ? 16 : 8;
      const body = Math.max(2, height - 2);
      this.listH = Math.max(1, Math.floor(body * 0.45));
      const detail = Math.max(1, body - this.listH);
      const hexW = hexWidth(this.perRow) + 1;
      this.treeW = width - hexW - 1;
      this.treeH = detail;
      this.hexH = detail;
      place(this.head, top, 0, width, 1);
      place(this.list, top + 1, 0, width, this.listH);
      place(this.sep1, top + 1 + this.listH, 0, width, 1);
      place(this.treeBox, top + 2 + this.listH, 0, this.treeW, detail);
      place(this.vsep, top + 2 + this.listH, this.treeW, 1, detail);
      place(this.hexBox, top + 2 + this.listH, this.treeW + 1, hexW, detail);
    } else {
      this.perRow = width >= hexWidth(16) ? 16 : 8;
      const body = Math.max(3, height - 3);
      this.listH = Math.max(1, Math.floor(body * 0.4));
      const rest = Math.max(2, body - this.listH);
      this.hexH = Math.max(1, Math.floor(rest * 0.4));
      this.treeH = Math.max(1, rest - this.hexH);
      this.treeW = width;
      place(this.head, top, 0, width, 1);
      place(this.list, top + 1, 0, width, this.listH);
      place(this.sep1, top + 1 + this.listH, 0, width, 1);
      place(this.treeBox, top + 2 + this.listH, 0, width, this.treeH);
      place(this.sep2, top + 2 + this.listH + this.treeH, 0, width, 1);
      place(this.hexBox, top + 3 + this.listH + this.treeH, 0, width, this.hexH);
    }
    if (!this.head.hidden) this.show();
  }

  // ---- rows ------------------------------------------------------------------

  rowCount(): number {
    const n = this.ctx.frames.length;
    return this.frozen === null ? n : Math.min(n, this.frozen);
  }

  /** Resolves the selected row from the selected frame (filters and rings move rows). */
  private resolve(): number {
    const len = this.rowCount();
    const fv = this.ctx.frames;
    if (len === 0) return -1;
    if (this.follow) {
      this.selSeq = fv.seqAt(len - 1);
      return len - 1;
    }
    let row = this.selSeq >= 0 ? fv.rowOf(this.selSeq) : -1;
    if (row >= len) row = -1;
    if (row < 0) {
      // Not (yet) among the rows: wait while the filter has not reached it, else take the nearest.
      if (fv.pending && this.selSeq >= 0 && !fv.reached(this.selSeq)) return Math.min(this.cursor.sel, len - 1);
      row = Math.min(fv.nearestRow(Math.max(this.selSeq, this.ctx.store.first)), len - 1);
      this.selSeq = fv.seqAt(row);
    }
    return row;
  }

  private selectRow(row: number): void {
    const len = this.rowCount();
    if (len === 0) return;
    const r = Math.max(0, Math.min(row, len - 1));
    this.selSeq = this.ctx.frames.seqAt(r);
    this.cursor.sel = r;
    this.follow = false;
  }

  private moveList(action: Action, times = 1): void {
    const len = this.rowCount();
    if (len === 0) return;
    this.cursor.sel = Math.max(0, this.resolve());
    for (let i = 0; i < times; i++) this.cursor.move(action, len, this.listH);
    this.selectRow(this.cursor.sel);
    if (action === 'bottom' && this.ctx.live) this.follow = true;
  }

  /** Selects a frame (jumps from other views). */
  select(seq: number): void {
    this.selSeq = seq;
    this.follow = false;
    this.focus = 'list';
    const row = this.ctx.frames.rowOf(seq);
    if (row >= 0) {
      this.cursor.sel = row;
      // Put the frame in the middle of the list when it is off screen.
      if (row < this.cursor.top || row >= this.cursor.top + this.listH) this.cursor.top = Math.max(0, row - (this.listH >> 1));
    }
  }

  /** The selected frame's packet (read back once per selection). */
  private packet(seq: number): PacketBytes | null {
    if (this.pktCache?.seq !== seq) this.pktCache = { seq, p: packetBytes(this.ctx.store, this.ctx.source, seq) };
    return this.pktCache.p;
  }

  private pktCache: { seq: number; p: PacketBytes | null } | null = null;

  /** The selected frame (seq) when one is shown, else -1. */
  selected(): number {
    return this.rowCount() > 0 && this.resolve() >= 0 && this.ctx.store.has(this.selSeq) ? this.selSeq : -1;
  }

  /** Row of the selection (for searches), -1 when none. */
  selectedRow(): number {
    return this.rowCount() > 0 ? this.resolve() : -1;
  }

  /** What `y` copies from the focused pane: the summary line (list), the field's value (tree), the bytes as hex (hex). */
  copyText(what: 'summary' | 'field' | 'hex' | null): { what: string; text: string } | null {
    const seq = this.selected();
    if (seq < 0) return null;
    const f = this.ctx.store.get(seq)!;
    const kind = what ?? (this.focus === 'tree' ? 'field' : this.focus === 'hex' ? 'hex' : 'summary');
    if (kind === 'summary') return { what: `frame ${f.number}'s summary`, text: summaryLine(f, this.ctx.store.relTime(seq)) };
    if (kind === 'hex') {
      const hl = this.tree.highlight();
      const bytes = this.ctx.store.bytesOf(seq);
      const part = what === null && hl ? bytes.subarray(hl[0], hl[0] + hl[1]) : bytes;
      return { what: `${part.length} bytes of frame ${f.number}`, text: Buffer.from(part).toString('hex').replace(/(..)(?!$)/g, '$1 ') };
    }
    this.tree.setFrame(f);
    const node = this.tree.selected;
    if (!node) return null;
    const i = node.label.indexOf(': ');
    return { what: node.filter ? `${node.filter}` : 'the tree line', text: i >= 0 ? node.label.slice(i + 2) : node.label };
  }

  // ---- keys --------------------------------------------------------------------

  handle(action: Action): boolean {
    if (action === 'nextPane' || action === 'prevPane') {
      const i = PANES.indexOf(this.focus);
      this.focus = PANES[(i + (action === 'nextPane' ? 1 : PANES.length - 1)) % PANES.length]!;
      return true;
    }
    if (action === 'followFlow' || action === 'followSession') return this.followSelected(action);
    if (this.focus === 'list') {
      if (isMove(action)) {
        this.moveList(action);
        return true;
      }
      if (action === 'enter' || action === 'toggle' || action === 'right') {
        if (this.selSeq >= 0 && this.rowCount() > 0) this.focus = 'tree';
        return true;
      }
      return false;
    }
    if (this.focus === 'tree') return this.tree.handle(action, this.treeH);
    return this.hex.handle(action, this.perRow, this.hexH);
  }

  private followSelected(action: 'followFlow' | 'followSession'): boolean {
    const store = this.ctx.store;
    if (this.rowCount() === 0 || !store.has(this.selSeq)) {
      this.ctx.flash('no frame selected');
      return true;
    }
    if (action === 'followFlow') {
      this.ctx.applyFilter(flowFilter(store.flowOf(this.selSeq)));
      return true;
    }
    const rec = sessionRecordOf(store.sessions, this.selSeq + 1, store.sessionOf(this.selSeq));
    if (!rec) this.ctx.flash(`frame ${this.selSeq + 1} belongs to no session`);
    else this.ctx.applyFilter(sessionRecordFilter(rec, (n) => (store.has(n - 1) ? store.sessionOf(n - 1) : null)));
    return true;
  }

  // ---- drawing -------------------------------------------------------------------

  render(): void {
    const { store, frames, theme } = this.ctx;
    const len = this.rowCount();
    const row = this.resolve();
    if (row >= 0) this.cursor.sel = row;
    this.cursor.clamp(len, this.listH);

    // Columns: No., Time, Source, Destination, Proto, custom columns, Summary (+ findings).
    const ui = this.ctx.ui;
    const noW = Math.max(5, String(store.total).length);
    // Relative time with the capture's own resolution: `12.345678`, nanosecond captures wider.
    const first = len > 0 ? store.get(frames.seqAt(this.cursor.top)) : null;
    const timeW = Math.max(10, 5 + (first?.tsDigits ?? 6));
    const epW = Math.max(12, Math.min(21, store.endpointWidth || 15));
    const proto = this.width >= 90;
    const cols = ui.columns;
    const colsW = cols.reduce((n, c) => n + c.width + 1, 0);
    const fixed = 2 + noW + 1 + timeW + 1 + epW + 1 + epW + 1 + (proto ? 6 : 0) + colsW;
    const sumW = Math.max(8, this.width - fixed);
    const ref = ui.ref >= 0 && store.has(ui.ref) ? ui.ref : -1;
    const colHead = cols.map((c) => fit(shortTitle(c.field), c.width) + ' ').join('');
    const header = `  ${fitRight('No.', noW)} ${fit(ref >= 0 ? 'Time (ref)' : 'Time', timeW)} ${fit('Source', epW)} ${fit('Destination', epW)} ${proto ? 'Proto ' : ''}${colHead}${fit('Summary', sumW)}`;
    const listFocused = this.focus === 'list';
    this.head.setContent(listFocused ? theme.inverse(esc(fit(header, this.width))) : theme.bold(esc(fit(header, this.width))));

    const lines: string[] = [];
    const [a, b] = this.cursor.visible(len, this.listH);
    for (let r = a; r < b; r++) {
      const seq = frames.seqAt(r);
      const f = store.get(seq);
      if (!f) continue;
      const sel = r === this.cursor.sel && row >= 0;
      const marks = findingMarks(f.expert);
      const summary = frameSummary(f);
      let sumText: string;
      if (!marks) sumText = summary;
      else {
        const room = sumW - marks.length - 2;
        sumText = room >= 16 ? `${fit(summary, room)}  ${marks}` : `${summary}  ${marks}`;
      }
      const time = seq === ref ? '*REF*' : seconds(ref >= 0 ? store.between(ref, seq) : store.relTime(seq), f.tsDigits);
      const cells = cols.map((c) => fit(cellText(f, c.field), c.width) + ' ').join('');
      const text = `${sel ? '>' : ' '}${ui.marks.has(seq) ? '*' : ' '}${fitRight(String(f.number), noW)} ${fit(time, timeW)} `
        + `${fit(f.srcText, epW)} ${fit(f.dstText, epW)} ${proto ? fit(f.transport.toUpperCase(), 6) : ''}${cells}${fit(sumText, sumW)}`;
      lines.push(theme.row(text, store.severity(seq), sel, true));
    }
    if (len === 0) {
      const why = frames.filter
        ? (frames.pending ? '  filtering…' : `  no frame matches the filter "${frames.filter.text}"`)
        : '  no VVMP frames (yet)';
      lines.push(esc(why));
    }
    this.list.setContent(lines.join('\n'));

    // Tree and hex of the selected frame.
    const f = row >= 0 && store.has(this.selSeq) ? store.get(this.selSeq) : null;
    this.tree.setFrame(f);
    const treeLines = this.tree.lines(theme, this.treeW, this.treeH, this.focus === 'tree');
    this.treeBox.setContent(treeLines.join('\n'));
    // The whole packet when it can be read back (the VVMP part coloured), else the VVMP bytes.
    const pkt = f ? this.packet(this.selSeq) : null;
    const bytes = pkt ? pkt.data : f ? store.bytesOf(this.selSeq) : new Uint8Array(0);
    const field = this.tree.highlight();
    let hl = field;
    if (pkt && field) {
      // Frame offsets → packet offsets, cut to the part of the frame this packet holds.
      const a = Math.max(field[0], pkt.frameStart);
      const b = Math.min(field[0] + field[1], pkt.frameStart + pkt.vvmp[1]);
      hl = b > a ? [pkt.vvmp[0] + a - pkt.frameStart, b - a] : null;
    }
    this.hex.set(f ? this.selSeq : -1, bytes, hl, this.perRow, this.hexH, pkt ? pkt.vvmp : null);
    this.hexBox.setContent(this.hex.lines(theme, this.perRow, this.hexH).join('\n'));

    const title = (name: string, focused: boolean, extra: string): string => {
      const t = ` ${name} `;
      return `──${focused ? theme.inverse(t) : theme.bold(t)}${esc(extra)}`;
    };
    const treeExtra = f ? ` frame ${thousands(f.number)} · ${f.decoded.name ?? 'fragment'}${f.decoded.reply ? ' reply' : f.decoded.reply === false ? ' request' : ''} ` : ' ';
    // Short enough for the narrow side pane: `74 B · VVMP 42..73`, or with a field `74 B · field 42..43`
    // (the VVMP part is coloured in the pane itself).
    let hexExtra = ' ';
    if (f && pkt) hexExtra = ` ${thousands(bytes.length)} B · ${hl ? `field ${hl[0]}..${hl[0] + hl[1] - 1}` : `VVMP ${pkt.vvmp[0]}..${pkt.vvmp[0] + pkt.vvmp[1] - 1}`} `;
    else if (f) hexExtra = ` ${plainBytes(bytes.length)}${hl ? ` · bytes ${hl[0]}..${hl[0] + hl[1] - 1}` : ''} `;
    const rule = (used: number, width: number) => '─'.repeat(Math.max(0, width - used));
    if (this.side) {
      const left = title('Tree', this.focus === 'tree', treeExtra);
      const leftLen = 2 + 6 + treeExtra.length;
      const right = title('Hex', this.focus === 'hex', hexExtra);
      const rightLen = 2 + 5 + hexExtra.length;
      this.sep1.setContent(`${left}${rule(leftLen, this.treeW)}┬${right}${rule(rightLen, this.width - this.treeW - 1)}`);
      this.vsep.setContent(Array.from({ length: this.treeH }, () => '│').join('\n'));
    } else {
      this.sep1.setContent(`${title('Tree', this.focus === 'tree', cut(treeExtra, this.width - 10))}${rule(2 + 6 + Math.min(treeExtra.length, this.width - 10), this.width)}`);
      this.sep2.setContent(`${title('Hex', this.focus === 'hex', hexExtra)}${rule(2 + 5 + hexExtra.length, this.width)}`);
    }
  }
}

/** A frame's list line as plain text, as `vvmp read` prints it. */
function summaryLine(f: AnalyzedFrame, rel: number): string {
  const marks = findingMarks(f.expert);
  return `${f.number} ${seconds(rel, f.tsDigits)} ${f.srcText} → ${f.dstText} ${f.transport.toUpperCase()} ${frameSummary(f)}${marks ? '  ' + marks : ''}`;
}

function plainBytes(n: number): string {
  return `${thousands(n)} byte${n === 1 ? '' : 's'}`;
}
