// What the chart views (Latency, I/O graph) share: one text pane filling the
// view's area, numbers computed over the rows the Frames view shows and kept
// until those rows change (a redraw costs nothing), the scope line ("whole
// capture" or the filter), and narrowing the current filter to a selection.
// The drawing itself (bars, axes) is graph.ts.

import type blessed from 'blessed';
import type { Action } from './keys.js';
import { pane, place, type AppContext, type View, type ViewId } from './view.js';

export abstract class ChartView<T> implements View {
  abstract readonly id: ViewId;
  protected readonly box: blessed.Widgets.BoxElement;
  protected width = 80;
  protected height = 1;
  private cache: { key: string; value: T } | null = null;

  constructor(protected readonly ctx: AppContext) {
    this.box = pane(ctx.screen);
  }

  show(): void {
    this.box.show();
  }

  hide(): void {
    this.box.hide();
  }

  layout(top: number, height: number, width: number): void {
    this.width = width;
    this.height = height;
    place(this.box, top, 0, width, height);
  }

  /** The view's numbers for the shown rows: computed again only when the rows or `extraKey` changed. */
  protected data(extraKey: string, compute: () => T): T {
    const { store, frames } = this.ctx;
    const key = `${extraKey}|${frames.filter?.text ?? ''}|${frames.length}|${store.total}|${store.first}`;
    if (this.cache?.key !== key) this.cache = { key, value: compute() };
    return this.cache.value;
  }

  /** What the numbers cover, for the heading. */
  protected scope(): string {
    const f = this.ctx.frames.filter;
    return f ? `filter: ${f.text}` : 'whole capture';
  }

  /** Shows the Frames view filtered to `selection` within what the current filter shows. */
  protected filterTo(selection: string): void {
    const f = this.ctx.frames.filter;
    this.ctx.applyFilter(f ? `(${f.text}) && ${selection}` : selection);
  }

  abstract render(): void;
  abstract handle(action: Action): boolean;
}
