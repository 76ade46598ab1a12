// What every view gets from the app, and what the app asks of every view.

import blessed from 'blessed';
import type { FrameStore } from './store.js';
import type { FrameRows } from './frameRows.js';
import type { Action } from './keys.js';
import type { Theme } from './text.js';
import type { Source } from './source.js';
import type { UiState } from './uiState.js';

export type ViewId = 'frames' | 'flows' | 'sessions' | 'expert' | 'latency' | 'io' | 'timeline';

export interface AppContext {
  readonly screen: blessed.Widgets.Screen;
  readonly store: FrameStore;
  readonly frames: FrameRows;
  readonly theme: Theme;
  readonly live: boolean;
  readonly ui: UiState;
  readonly source: Source;
  /** Applies a display filter (text already valid) and shows the Frames view. */
  applyFilter(text: string): void;
  /** Shows the Frames view with this frame selected, clearing a filter that hides it. */
  jumpToFrame(seq: number): void;
  show(view: ViewId): void;
  /** A one-line message in the status bar for a few seconds. */
  flash(message: string): void;
  requestRender(): void;
}

export interface View {
  readonly id: ViewId;
  show(): void;
  hide(): void;
  /** Places the view's elements in the rows [top, top + height) of a `width`-column screen. */
  layout(top: number, height: number, width: number): void;
  render(): void;
  /** Handles a key action; false when the view has no use for it. */
  handle(action: Action): boolean;
}

/** A plain text box whose content the view sets line by line (no blessed scrolling or wrapping). */
export function pane(screen: blessed.Widgets.Screen): blessed.Widgets.BoxElement {
  return blessed.box({
    parent: screen,
    top: 0,
    left: 0,
    width: 1,
    height: 1,
    tags: true,
    wrap: false,
    scrollable: false,
    hidden: true,
  });
}

export function place(el: blessed.Widgets.BoxElement, top: number, left: number, width: number, height: number): void {
  el.top = top;
  el.left = left;
  el.width = Math.max(1, width);
  el.height = Math.max(1, height);
}

/** Screen line of a mouse event inside an element. */
export function lineOf(el: blessed.Widgets.BoxElement, y: number): number {
  return y - (el.atop as number);
}

/** Calls `fn(line)` on clicks and `wheel(±1)` on the wheel. */
export function onMouse(el: blessed.Widgets.BoxElement, click: (line: number) => void, wheel: (dir: 1 | -1) => void): void {
  el.on('click', (data: blessed.Widgets.Events.IMouseEventArg) => click(lineOf(el, data.y)));
  el.on('wheeldown', () => wheel(1));
  el.on('wheelup', () => wheel(-1));
}
