// Runs the command line's commands (and the keys that share them: marks,
// time reference, copy, save, columns) against the app. Every outcome is one
// line in the status bar.

import { copyText } from './clipboard.js';
import { makeColumn } from './columns.js';
import type { Command, SaveWhich } from './commands.js';
import type { FramesView } from './framesView.js';
import { savePackets } from './save.js';
import { frameMatcher } from './search.js';
import type { Source } from './source.js';
import { plural } from './text.js';
import type { AppContext, ViewId } from './view.js';

export interface CommandHost extends AppContext {
  readonly framesView: FramesView;
  readonly source: Source;
  /** Starts a search from the selection (dir 1 forward, -1 backward). */
  search(dir: 1 | -1): void;
  showHelp(): void;
  quit(): void;
  /** Writes raw bytes to the terminal (OSC 52). */
  writeTerminal(s: string): void;
}

export function runCommand(c: Command, h: CommandHost): void {
  const { store, ui } = h;
  const sel = h.framesView.selected();
  switch (c.kind) {
    case 'goto': {
      const seq = c.frame - 1;
      if (seq >= store.total) return h.flash(`goto: no frame ${c.frame} (${plural(store.total, 'frame')})`);
      h.jumpToFrame(seq);
      return;
    }
    case 'mark': {
      const seqs = c.frames ? c.frames.map((n) => n - 1) : sel >= 0 ? [sel] : [];
      if (seqs.length === 0) return h.flash('mark: no frame selected');
      for (const seq of seqs) {
        if (!store.has(seq)) return h.flash(`mark: no frame ${seq + 1}`);
        if (c.frames) ui.marks.add(seq);
        else ui.toggleMark(seq);
      }
      h.flash(c.frames || ui.marks.has(seqs[0]!)
        ? `marked ${seqs.map((s) => s + 1).join(', ')} (${plural(ui.marks.length, 'mark')}; ] [ jump)`
        : `unmarked ${seqs[0]! + 1} (${plural(ui.marks.length, 'mark')})`);
      return;
    }
    case 'unmark': {
      if (c.frames === 'all') {
        const n = ui.marks.length;
        ui.marks.clear();
        return h.flash(`${plural(n, 'mark')} cleared`);
      }
      const seqs = c.frames ? c.frames.map((n) => n - 1) : sel >= 0 ? [sel] : [];
      for (const seq of seqs) ui.marks.remove(seq);
      return h.flash(`${plural(ui.marks.length, 'mark')} left`);
    }
    case 'markJump': {
      const next = ui.nextMark(sel, c.dir);
      if (next < 0) return h.flash('no marked frames (m marks the selected one)');
      h.jumpToFrame(next);
      return h.flash(`mark: frame ${next + 1} (${ui.marks.lowerBound(next) + 1} of ${ui.marks.length})`);
    }
    case 'ref': {
      if (c.frame === 'off' || (c.frame === null && ui.ref >= 0 && ui.ref === sel)) {
        ui.ref = -1;
        return h.flash('time reference off: times count from the first packet');
      }
      const seq = c.frame === null ? sel : c.frame - 1;
      if (seq < 0 || !store.has(seq)) return h.flash(c.frame === null ? 'ref: no frame selected' : `ref: no frame ${seq + 1}`);
      ui.ref = seq;
      return h.flash(`time reference: frame ${seq + 1} (*REF*); times count from it`);
    }
    case 'search':
      ui.search = { text: c.text, matcher: frameMatcher(c.text) };
      h.show('frames');
      return h.search(1);
    case 'filter':
      h.applyFilter(c.text);
      return;
    case 'colAdd': {
      if (ui.columns.some((x) => x.field === c.field)) return h.flash(`column ${c.field} is already shown`);
      try {
        ui.columns.push(makeColumn(c.field));
      } catch (e) {
        return h.flash(`col: ${(e as Error).message}`);
      }
      h.show('frames');
      return h.flash(`column ${c.field} added (:col del ${c.field} removes it)`);
    }
    case 'colDel': {
      const i = ui.columns.findIndex((x) => x.field === c.field);
      if (i < 0) return h.flash(`col: no column ${c.field}`);
      ui.columns.splice(i, 1);
      return h.flash(`column ${c.field} removed`);
    }
    case 'colClear':
      ui.columns.length = 0;
      return h.flash('custom columns cleared');
    case 'copy': return copyOut(h, h.framesView.copyText(c.what), c.file);
    case 'save': return save(h, c.file, c.which);
    case 'view': return h.show(c.view as ViewId);
    case 'help': return h.showHelp();
    case 'quit': return h.quit();
  }
}

/** Copies what `copyText` gave to `file` or the clipboard and says where it went. */
export function copyOut(h: CommandHost, got: { what: string; text: string } | null, file: string | null): void {
  if (!got) return h.flash('copy: no frame selected');
  try {
    const where = copyText(got.text, file, (s) => h.writeTerminal(s));
    h.flash(`copied ${got.what} to ${where}`);
  } catch (e) {
    h.flash(`copy: ${(e as Error).message}`);
  }
}

/** `:save FILE [shown|marked|all]`: the packets of those frames, as `read -w` writes them. */
function save(h: CommandHost, file: string, which: SaveWhich): void {
  const { store, frames, ui } = h;
  const input = h.source.path;
  if (input === null) return h.flash('save: a live capture keeps no packets to save; capture to a file with vvmp live -w');
  const seqs: number[] = [];
  if (which === 'marked') for (let i = 0; i < ui.marks.length; i++) seqs.push(ui.marks.at(i));
  else if (which === 'all') for (let s = store.first; s < store.total; s++) seqs.push(s);
  else {
    if (frames.pending) return h.flash('save: the filter is still running; save when it is done');
    for (let r = 0; r < frames.length; r++) seqs.push(frames.seqAt(r));
  }
  if (seqs.length === 0) return h.flash(`save: no ${which} frames`);
  const keep = new Set<number>();
  for (const s of seqs) {
    const [a, b] = store.packetRange(s);
    for (let p = a; p <= b; p++) keep.add(p);
  }
  const what = which === 'shown' && frames.filter ? `frames matching ${frames.filter.text}` : `${which} frames`;
  try {
    const n = savePackets(input, file, keep, `VVMP ${what} from ${input}`);
    h.flash(`saved ${plural(seqs.length, `${which} frame`)} (${plural(n, 'packet')}) to ${file}`);
  } catch (e) {
    h.flash(`save: ${(e as Error).message}`);
  }
}
