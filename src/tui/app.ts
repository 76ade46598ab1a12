// The terminal UI: a header with the view tabs, the filter bar, one of the
// four views (Frames, Flows, Sessions, Expert) or help, and a status bar.
// Keys go through the one key table (keys.ts). The store fills while the UI
// runs (a file loading in slices, a live capture); the screen is redrawn at
// most ~12 times a second for that, and at once after a key.

import { basename } from 'node:path';
import blessed from 'blessed';
import { compileFilter } from '../analysis/filter/index.js';
import { ExpertView } from './expertView.js';
import { FilterBar } from './filterBar.js';
import { FlowsView } from './flowsView.js';
import { FrameRows } from './frameRows.js';
import { FramesView } from './framesView.js';
import { HelpView } from './help.js';
import { actionFor, hints, keyName, type Action } from './keys.js';
import { CommandBar } from './commandBar.js';
import { CommandError, parseCommand, type Command } from './commands.js';
import { IoView } from './ioView.js';
import { LatencyView } from './latencyView.js';
import { copyOut, runCommand, type CommandHost } from './runner.js';
import { SessionsView } from './sessionsView.js';
import { TimelineView } from './timelineView.js';
import { UiState } from './uiState.js';
import type { Source } from './source.js';
import type { FrameStore } from './store.js';
import { cut, esc, fit, plural, Theme, thousands } from './text.js';
import { pane, place, type View, type ViewId } from './view.js';

export interface AppOptions {
  /** Initial display filter (already validated), or null. */
  filter?: string | null;
  colour: boolean;
}

/** Redraws for new frames (loading, live) at most this often; keys redraw at once. */
const RENDER_INTERVAL_MS = 150;
const FILTER_SLICE_MS = 15;

const TABS: ReadonlyArray<[ViewId, string, string]> = [
  ['frames', 'F', 'rames'], ['flows', 'L', 'flows'], ['sessions', 'S', 'essions'], ['expert', 'E', 'xpert'],
  ['latency', 'R', 'latency'], ['io', 'I', '/O'], ['timeline', 'T', 'imeline'],
];

/** Runs the UI until the user quits; the terminal is restored when the promise resolves. */
export function runApp(store: FrameStore, source: Source, opts: AppOptions): Promise<void> {
  return new Promise((resolve) => {
    const app = new App(store, source, opts, resolve);
    app.start();
  });
}

class App implements CommandHost {
  readonly screen: blessed.Widgets.Screen;
  readonly frames: FrameRows;
  readonly theme: Theme;
  readonly live: boolean;
  readonly ui = new UiState();
  readonly framesView: FramesView;

  private readonly views: Record<ViewId, View>;
  private readonly commandBar = new CommandBar();
  private searching: { row: number; dir: 1 | -1; from: number; wrapped: boolean } | null = null;
  private readonly help: HelpView;
  private readonly filterBar: FilterBar;
  private readonly headerBox: blessed.Widgets.BoxElement;
  private readonly statusBox: blessed.Widgets.BoxElement;
  private current: ViewId = 'frames';
  private helpOpen = false;
  private paused = false;
  private flashText: string | null = null;
  private flashTimer: NodeJS.Timeout | null = null;
  private renderTimer: NodeJS.Timeout | null = null;
  private lastRender = 0;
  private pumping = false;
  private quitting = false;

  constructor(
    readonly store: FrameStore,
    readonly source: Source,
    opts: AppOptions,
    private readonly done: () => void,
  ) {
    this.live = source.live;
    this.theme = new Theme(opts.colour);
    this.screen = blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      autoPadding: false,
      warnings: false,
      title: `vvmp — ${source.label}`,
      input: process.stdin,
      output: process.stdout,
    });
    // On a UTF-8 terminal draw box characters as they are, not through the
    // alternate character set (cleaner, and the same text in tmux captures).
    const tput = (this.screen as unknown as { tput: { unicode: boolean; brokenACS: boolean } }).tput;
    if (tput.unicode) tput.brokenACS = true;

    this.frames = new FrameRows(store);
    this.headerBox = pane(this.screen);
    this.headerBox.show();
    this.filterBar = new FilterBar(this.screen, this.theme);
    this.statusBox = pane(this.screen);
    this.statusBox.show();
    this.framesView = new FramesView(this);
    this.views = {
      frames: this.framesView,
      flows: new FlowsView(this),
      sessions: new SessionsView(this),
      expert: new ExpertView(this),
      latency: new LatencyView(this),
      io: new IoView(this),
      timeline: new TimelineView(this),
    };
    this.help = new HelpView(this);
    if (opts.filter) this.setFilter(opts.filter);
  }

  start(): void {
    const s = this.screen;
    s.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg) => this.guard(() => this.onKey(ch, key)));
    s.on('resize', () => this.guard(() => {
      this.layout();
      this.render();
    }));
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.once(sig, () => this.quit());
    process.on('uncaughtException', (err) => this.crash(err));
    s.enableMouse();
    this.layout();
    this.views.frames.show();
    this.render();
    this.source.start(() => {
      this.kick();
      this.requestRender();
    });
    this.kick();
  }

  // ---- context for the views ----------------------------------------------------

  applyFilter(text: string): void {
    // A new filter answers whatever the last message was about (e.g. "belongs to no session").
    this.clearFlash();
    try {
      this.setFilter(text);
    } catch (e) {
      this.flash(`display filter: ${(e as Error).message}`);
      return;
    }
    this.show('frames');
  }

  jumpToFrame(seq: number): void {
    if (!this.store.has(seq)) {
      this.flash(`frame ${seq + 1} is no longer kept`);
      return;
    }
    if (!this.frames.keeps(seq)) {
      this.setFilter('');
      this.flash(`filter cleared to show frame ${seq + 1}`);
    }
    this.framesView.select(seq);
    this.show('frames');
  }

  show(view: ViewId): void {
    if (this.helpOpen) {
      this.help.hide();
      this.helpOpen = false;
    } else if (view === this.current) return;
    this.views[this.current].hide();
    this.current = view;
    this.views[view].show();
  }

  flash(message: string): void {
    this.flashText = message;
    if (this.flashTimer) clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => {
      this.flashText = null;
      this.requestRender();
    }, 4000);
    this.flashTimer.unref();
  }

  private clearFlash(): void {
    this.flashText = null;
    if (this.flashTimer) clearTimeout(this.flashTimer);
    this.flashTimer = null;
  }

  requestRender(): void {
    if (this.renderTimer || this.quitting) return;
    const wait = Math.max(0, RENDER_INTERVAL_MS - (Date.now() - this.lastRender));
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.guard(() => this.render());
    }, wait);
  }

  // ---- filter ---------------------------------------------------------------------

  private setFilter(text: string): void {
    const compiled = text.trim() === '' ? null : compileFilter(text);
    this.frames.setFilter(compiled);
    this.filterBar.applied = compiled ? text : '';
    if (this.paused) this.framesView.frozen = null;
    this.paused = false;
    this.kick();
  }

  /** Runs the filter over new frames in slices, yielding between them. */
  private kick(): void {
    if (this.pumping || !this.frames.pending) return;
    this.pumping = true;
    const pump = (): void => {
      if (this.quitting) return;
      this.guard(() => {
        const more = this.frames.step(FILTER_SLICE_MS);
        this.requestRender();
        if (more) setImmediate(pump);
        else this.pumping = false;
      });
    };
    setImmediate(pump);
  }

  // ---- keys -------------------------------------------------------------------------

  private onKey(ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg): void {
    if (this.quitting) return;
    const name = keyName(ch, key);
    if (name === null) return;
    if (name === 'C-c') return this.quit();
    if (this.commandBar.editing) {
      const r = this.commandBar.key(name, ch, key.ctrl === true || key.meta === true);
      if (r === 'apply') {
        this.commandBar.end();
        this.command(this.commandBar.text);
      }
      if (!this.quitting) this.render();
      return;
    }
    if (this.filterBar.editing) {
      const r = this.filterBar.key(name, ch, key.ctrl === true || key.meta === true);
      if (r === 'apply') {
        this.filterBar.end();
        this.applyFilter(this.filterBar.text);
      } else if (r === 'cancel') this.filterBar.end();
      this.render();
      return;
    }
    if (this.helpOpen) {
      if (name === '?' || name === 'escape' || name === 'q') {
        this.help.hide();
        this.helpOpen = false;
        this.views[this.current].show();
      } else {
        const a = actionFor(name);
        if (a && !this.global(a)) this.help.handle(a);
      }
      this.render();
      return;
    }
    const action = actionFor(name);
    if (!action) return;
    if (!this.global(action)) this.views[this.current].handle(action);
    if (!this.quitting) this.render();
  }

  /** Actions that do the same in every view; false for the view's own. */
  private global(a: Action): boolean {
    switch (a) {
      case 'quit': this.quit(); return true;
      case 'help': this.showHelp(); return true;
      case 'filter': this.filterBar.begin(); return true;
      case 'viewFrames': this.show('frames'); return true;
      case 'viewFlows': this.show('flows'); return true;
      case 'viewSessions': this.show('sessions'); return true;
      case 'viewExpert': this.show('expert'); return true;
      case 'viewLatency': this.show('latency'); return true;
      case 'viewIo': this.show('io'); return true;
      case 'viewTimeline': this.show('timeline'); return true;
      case 'command': this.commandBar.begin(); return true;
      case 'gotoFrame': this.commandBar.begin('goto '); return true;
      case 'search': this.commandBar.begin('search '); return true;
      case 'save': this.commandBar.begin('save '); return true;
      case 'addColumn': this.commandBar.begin('col add '); return true;
      case 'mark': this.run({ kind: 'mark', frames: null }); return true;
      case 'nextMark': this.run({ kind: 'markJump', dir: 1 }); return true;
      case 'prevMark': this.run({ kind: 'markJump', dir: -1 }); return true;
      case 'timeRef': this.run({ kind: 'ref', frame: null }); return true;
      case 'copy': this.copyFocused(); return true;
      case 'searchNext': case 'searchPrev':
        if (!this.ui.search) this.flash('no search yet: Ctrl-s or :search TEXT');
        else this.search(a === 'searchNext' ? 1 : -1);
        return true;
      case 'pause':
        this.paused = !this.paused;
        this.framesView.frozen = this.paused ? this.framesView.rowCount() : null;
        this.flash(this.paused
          ? `display paused${this.source.live ? ' (capture goes on)' : ''}: p resumes`
          : 'display resumed');
        return true;
      default: return false;
    }
  }

  // ---- commands ---------------------------------------------------------------------

  private command(text: string): void {
    if (text.trim() === '') return;
    let c: Command;
    try {
      c = parseCommand(text);
    } catch (e) {
      if (e instanceof CommandError) return this.flash(`:${text.trim()}: ${e.message}`);
      throw e;
    }
    this.run(c);
  }

  private run(c: Command): void {
    runCommand(c, this);
  }

  /** `y`: what the focused pane holds (Frames view), to the clipboard. */
  private copyFocused(): void {
    if (this.current !== 'frames') return this.flash('y copies in the Frames view (summary, field value, bytes)');
    // The focused pane decides: summary (list), field value (tree), the field's bytes or all bytes (hex).
    copyOut(this, this.framesView.copyText(null), null);
  }

  showHelp(): void {
    if (this.helpOpen) return;
    this.views[this.current].hide();
    this.helpOpen = true;
    this.help.show();
  }

  writeTerminal(s: string): void {
    (this.screen as unknown as { program: { output: NodeJS.WriteStream } }).program.output.write(s);
  }

  /** Searches the shown rows from the selection, in slices, wrapping around once. */
  search(dir: 1 | -1): void {
    const n = this.framesView.rowCount();
    if (n === 0) return this.flash('search: no frames shown');
    const from = Math.max(0, this.framesView.selectedRow());
    this.searching = { row: from + dir, dir, from, wrapped: false };
    this.show('frames');
    const step = (): void => {
      if (this.quitting || !this.searching) return;
      this.guard(() => {
        const job = this.searching!;
        const matcher = this.ui.search!.matcher;
        const rows = this.framesView.rowCount();
        const t0 = performance.now();
        while (performance.now() - t0 < FILTER_SLICE_MS) {
          for (let k = 0; k < 64; k++) {
            if (job.row >= rows || job.row < 0) {
              if (job.wrapped) return this.searchDone(null);
              job.wrapped = true;
              job.row = job.dir > 0 ? 0 : rows - 1;
            }
            const seq = this.frames.seqAt(job.row);
            const f = this.store.build(seq);
            if (matcher(f, this.store.bytesOf(seq))) return this.searchDone(seq);
            if (job.wrapped && job.row === job.from) return this.searchDone(null);
            job.row += job.dir;
          }
        }
        this.requestRender();
        setImmediate(step);
      });
    };
    setImmediate(step);
  }

  private searchDone(seq: number | null): void {
    const job = this.searching;
    this.searching = null;
    const text = this.ui.search?.text ?? '';
    if (seq === null) this.flash(`"${text}": not found${this.frames.filter ? ' among the filtered frames' : ''}`);
    else {
      this.framesView.select(seq);
      this.flash(`"${text}": frame ${seq + 1}${job?.wrapped ? ` (search wrapped to the ${job.dir > 0 ? 'top' : 'bottom'})` : ''}  n/N: next/previous`);
    }
    this.render();
  }

  // ---- drawing ------------------------------------------------------------------------

  private layout(): void {
    const w = Math.max(20, this.screen.width as number);
    const h = Math.max(6, this.screen.height as number);
    place(this.headerBox, 0, 0, w, 1);
    this.filterBar.layout(1, w);
    place(this.statusBox, h - 1, 0, w, 1);
    const main = h - 3;
    for (const v of Object.values(this.views)) v.layout(2, main, w);
    this.help.layout(2, main, w);
  }

  private render(): void {
    if (this.quitting) return;
    if (this.renderTimer) {
      clearTimeout(this.renderTimer);
      this.renderTimer = null;
    }
    this.lastRender = Date.now();
    const w = this.screen.width as number;
    this.headerBox.setContent(this.headerLine(w));
    this.filterBar.render();
    this.statusBox.setContent(this.commandBar.editing ? this.commandBar.render(this.theme, w) : this.statusLine(w));
    if (this.helpOpen) this.help.render();
    else this.views[this.current].render();
    this.screen.render();
  }

  private headerLine(w: number): string {
    const th = this.theme;
    const s = this.store;
    const active = this.helpOpen ? null : this.current;
    // Narrow terminals: only the active view's tab is spelt out.
    const full = w >= 100;
    // The four list views are spelt out on wide terminals; the graph views only when active.
    const tabText = TABS.map(([id, k, rest], i) => ((full && i < 4) || id === active ? `[${k}]${rest}` : `[${k}]`));
    const tabs = tabText.map((t, i) => (TABS[i]![0] === active ? th.inverse(t) : t)).join(' ');
    const tabsLen = tabText.join(' ').length;
    const shown = this.frames.filter ? `${thousands(this.frames.length)} of ${thousands(s.total)} frames` : plural(s.total, 'frame');
    const kept = Number.isFinite(s.ring) && s.first > 0 ? ` (newest ${thousands(s.size)} kept)` : '';
    const counts = `${shown}${kept}  ${plural(s.errors, 'error')}  ${plural(s.timeouts, 'timeout')}`;
    const room = Math.max(0, w - tabsLen - 2);
    let left = ` vvmp — ${this.source.label}   ${counts}`;
    if (left.length > room) {
      const label = this.source.live ? this.source.label : basename(this.source.label);
      left = ` ${cut(label, Math.max(8, room - counts.length - 3))}  ${counts}`;
    }
    left = fit(left, room);
    // Errors in red in the counts.
    let leftTagged = esc(left);
    if (s.errors > 0 && th.colour) {
      const e = esc(plural(s.errors, 'error'));
      leftTagged = leftTagged.replace(e, th.fg('red', e));
    }
    return `${th.bold(leftTagged)} ${tabs} `;
  }

  private statusLine(w: number): string {
    const th = this.theme;
    const src = this.source;
    const parts: string[] = [];
    let colour: 'yellow' | 'red' | null = null;
    if (this.flashText) {
      parts.push(this.flashText);
      colour = 'yellow';
    } else if (src.problem) {
      parts.push(src.problem);
      colour = 'yellow';
    }
    const p = src.progress();
    if (!src.done && p !== null) parts.push(`loading… ${Math.floor(p * 100)}%`);
    if (this.frames.pending) parts.push(`filtering… ${Math.floor(this.frames.progress * 100)}%`);
    if (this.searching) parts.push(`searching "${this.ui.search?.text ?? ''}"…`);
    if (this.ui.marks.length > 0) parts.push(plural(this.ui.marks.length, 'mark'));
    if (src.live) {
      const drops = src.drops();
      parts.push(src.done ? 'capture stopped' : `live: ${thousands(src.rate() ?? 0)} fr/s  ${drops === null ? '? drops' : plural(drops, 'drop')}`);
    }
    if (this.paused) parts.push('PAUSED');
    if (this.frames.lastError) parts.push(`filter: ${this.frames.lastError}`);
    const right = parts.join('  ·  ');
    const hintText = hints().join('  ');
    const hintRoom = Math.max(0, w - right.length - 2);
    const left = hintRoom >= 10 ? fit(' ' + hintText, hintRoom) : ' '.repeat(hintRoom);
    const r = cut(right, w - left.length - 1);
    return esc(left) + ' ' + th.fg(colour, esc(r));
  }

  // ---- lifecycle ------------------------------------------------------------------------

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.crash(e as Error);
    }
  }

  quit(): void {
    if (this.quitting) return;
    this.quitting = true;
    if (this.renderTimer) clearTimeout(this.renderTimer);
    if (this.flashTimer) clearTimeout(this.flashTimer);
    this.screen.destroy();
    void this.source.stop().catch(() => undefined).finally(() => this.done());
  }

  /** A bug: give the terminal back before saying so. */
  private crash(err: Error): void {
    try {
      this.screen.destroy();
    } catch {
      // the terminal is as good as it gets
    }
    process.stderr.write(`vvmp tui: internal error: ${err.message}${process.env.VVMP_DEBUG ? `\n${err.stack}` : ' (VVMP_DEBUG=1 shows the stack)'}\n`);
    process.exit(70);
  }
}
