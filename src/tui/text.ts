// Cell text for the panes: fitting to a width, blessed tags, colours that
// vanish under NO_COLOR (selection then shows as inverse, focus as bold).

export type Colour = 'red' | 'yellow' | 'cyan' | 'green' | 'magenta' | 'blue';

/** Escapes blessed tag braces in user-visible text. */
export function esc(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Cut to `width` cells (with … when cut); all text here is single-width. */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : text.slice(0, width - 1) + '…';
}

/** Cut or pad on the right to exactly `width`. */
export function fit(text: string, width: number): string {
  const t = cut(text, width);
  return t.length < width ? t + ' '.repeat(width - t.length) : t;
}

/** Cut or pad on the left (numbers). */
export function fitRight(text: string, width: number): string {
  const t = cut(text, width);
  return t.length < width ? ' '.repeat(width - t.length) + t : t;
}

export function thousands(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function plural(n: number, word: string, many = word + 's'): string {
  return `${thousands(n)} ${n === 1 ? word : many}`;
}

/** Seconds with `digits` decimals (relative times). */
export function seconds(v: number, digits = 6): string {
  return v.toFixed(Math.min(9, Math.max(0, digits)));
}

/** `0x00000000000000aa` → `0xaa` (the full form is in the tree and in filters). */
export function shortId(v: bigint): string {
  return '0x' + v.toString(16);
}

export class Theme {
  constructor(readonly colour: boolean) {}

  fg(c: Colour | null, text: string): string {
    if (!this.colour || !c || text === '') return text;
    return `{${c}-fg}${text}{/${c}-fg}`;
  }

  bold(text: string): string {
    return text === '' ? text : `{bold}${text}{/bold}`;
  }

  inverse(text: string): string {
    return text === '' ? text : `{inverse}${text}{/inverse}`;
  }

  underline(text: string): string {
    return text === '' ? text : `{underline}${text}{/underline}`;
  }

  /** Colour of a severity rank: 3 error red, 2 warning yellow, 1 note cyan. */
  severity(rank: number): Colour | null {
    return rank >= 3 ? 'red' : rank === 2 ? 'yellow' : rank === 1 ? 'cyan' : null;
  }

  /** A row: coloured by severity, inverse when selected (bold too without colour, so it shows). */
  row(text: string, rank: number, selected: boolean, focused = true): string {
    let t = esc(text);
    t = this.fg(this.severity(rank), t);
    if (selected) t = focused ? this.inverse(t) : this.colour ? this.underline(t) : this.bold(this.underline(t));
    return t;
  }
}

/** NO_COLOR (https://no-color.org): present and not empty. */
export function noColorRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}
