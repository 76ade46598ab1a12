// The one key table: the key bindings of every view, the `?` help screen and
// the hints in the status bar are all read from it.

export type Action =
  | 'help' | 'filter' | 'quit'
  | 'viewFrames' | 'viewFlows' | 'viewSessions' | 'viewExpert' | 'viewLatency' | 'viewIo' | 'viewTimeline'
  | 'command' | 'mark' | 'nextMark' | 'prevMark' | 'timeRef' | 'search' | 'searchNext' | 'searchPrev'
  | 'gotoFrame' | 'copy' | 'save' | 'addColumn'
  | 'nextPane' | 'prevPane'
  | 'down' | 'up' | 'left' | 'right' | 'top' | 'bottom' | 'pageDown' | 'pageUp' | 'halfDown' | 'halfUp'
  | 'enter' | 'toggle'
  | 'followFlow' | 'followSession' | 'pause';

export interface Binding {
  /** Key names as `keyName` gives them: a printable character, or blessed's `full` name (`C-d`, `S-tab`, `enter`). */
  keys: readonly string[];
  action: Action;
  section: 'General' | 'Views' | 'Moving' | 'Panes and trees' | 'Frames' | 'Marks, search, copy';
  help: string;
  /** Short word for the status-bar hints. */
  hint?: string;
}

export const KEY_TABLE: readonly Binding[] = [
  { section: 'General', keys: ['?'], action: 'help', help: 'this help (Esc, q or ? closes it)', hint: 'help' },
  { section: 'General', keys: ['/'], action: 'filter', help: 'display filter: checked as you type (red: invalid, green: valid); Enter applies, Esc cancels, empty clears', hint: 'filter' },
  { section: 'General', keys: [':'], action: 'command', help: 'command line (:goto N, :mark, :ref, :search, :col add FIELD, :copy, :save FILE, :view; :help); Tab completes', hint: 'cmd' },
  { section: 'General', keys: ['p'], action: 'pause', help: 'pause / resume the display (the capture goes on)', hint: 'pause' },
  { section: 'General', keys: ['q', 'C-c'], action: 'quit', help: 'quit, restoring the terminal', hint: 'quit' },

  { section: 'Views', keys: ['F', '1'], action: 'viewFrames', help: 'Frames: list, detail tree and hex of the selected frame' },
  { section: 'Views', keys: ['L', '2'], action: 'viewFlows', help: 'Flows: one row per TCP connection / UDP pair' },
  { section: 'Views', keys: ['S', '3'], action: 'viewSessions', help: 'Sessions: one row per session with its lifecycle' },
  { section: 'Views', keys: ['E', '4', 'e'], action: 'viewExpert', help: 'Expert: findings grouped by code, errors first', hint: 'expert' },
  { section: 'Views', keys: ['R', '5'], action: 'viewLatency', help: 'Latency: response-time histogram per opcode, client or server, with percentiles; Enter filters a bucket' },
  { section: 'Views', keys: ['I', '6'], action: 'viewIo', help: 'I/O graph: frames/s and errors/s over capture time; Enter filters the selected time range' },
  { section: 'Views', keys: ['T', '7'], action: 'viewTimeline', help: 'Session timeline: each session along capture time, cross-SAN links; Enter shows its frames' },

  { section: 'Moving', keys: ['j', 'down'], action: 'down', help: 'next row (tree: next node; hex: scroll)' },
  { section: 'Moving', keys: ['k', 'up'], action: 'up', help: 'previous row' },
  { section: 'Moving', keys: ['g', 'home'], action: 'top', help: 'first row' },
  { section: 'Moving', keys: ['G', 'end'], action: 'bottom', help: 'last row (live: follow the newest frame again)' },
  { section: 'Moving', keys: ['pagedown', 'C-f'], action: 'pageDown', help: 'one page down' },
  { section: 'Moving', keys: ['pageup', 'C-b'], action: 'pageUp', help: 'one page up' },
  { section: 'Moving', keys: ['C-d'], action: 'halfDown', help: 'half a page down' },
  { section: 'Moving', keys: ['C-u'], action: 'halfUp', help: 'half a page up' },

  { section: 'Panes and trees', keys: ['tab'], action: 'nextPane', help: 'next pane (list → tree → hex)', hint: 'pane' },
  { section: 'Panes and trees', keys: ['S-tab'], action: 'prevPane', help: 'previous pane' },
  { section: 'Panes and trees', keys: ['enter'], action: 'enter', help: 'list: go to the tree · tree: expand/collapse · Flows, Sessions: show their frames · Expert: open a group, jump to a frame', hint: 'select' },
  { section: 'Panes and trees', keys: ['space'], action: 'toggle', help: 'expand / collapse the tree node or Expert group · I/O: start / drop a time range' },
  { section: 'Panes and trees', keys: ['l', 'right'], action: 'right', help: 'expand the node (tree, Expert) · Latency: next grouping · I/O: next time bin' },
  { section: 'Panes and trees', keys: ['h', 'left'], action: 'left', help: 'collapse the node, or go to its parent · Latency, I/O: the other way' },

  { section: 'Frames', keys: ['f'], action: 'followFlow', help: 'follow the selected frame\'s flow (filter)', hint: 'flow' },
  { section: 'Frames', keys: ['s'], action: 'followSession', help: 'the selected frame\'s session: every frame its lifecycle lists', hint: 'session' },
  { section: 'Frames', keys: ['C-g'], action: 'gotoFrame', help: 'go to frame number … (:goto N)' },
  { section: 'Frames', keys: ['c'], action: 'addColumn', help: 'add a column: a display-filter field (:col add FIELD; Tab completes)' },

  { section: 'Marks, search, copy', keys: ['m'], action: 'mark', help: 'mark / unmark the selected frame (shown with *)', hint: 'mark' },
  { section: 'Marks, search, copy', keys: [']'], action: 'nextMark', help: 'next marked frame' },
  { section: 'Marks, search, copy', keys: ['['], action: 'prevMark', help: 'previous marked frame' },
  { section: 'Marks, search, copy', keys: ['t'], action: 'timeRef', help: 'time reference on / off: times count from the selected frame (*REF*)' },
  { section: 'Marks, search, copy', keys: ['C-s'], action: 'search', help: 'search summaries, tree lines and bytes (text, or hex: de ad be ef)' },
  { section: 'Marks, search, copy', keys: ['n'], action: 'searchNext', help: 'next match' },
  { section: 'Marks, search, copy', keys: ['N'], action: 'searchPrev', help: 'previous match' },
  { section: 'Marks, search, copy', keys: ['y'], action: 'copy', help: 'copy: the frame\'s summary (list), the field\'s value (tree), the bytes as hex (hex pane)', hint: 'copy' },
  { section: 'Marks, search, copy', keys: ['w'], action: 'save', help: 'save the shown frames\' packets as pcapng (:save FILE [shown|marked|all])' },
];

/** The mouse, shown in help after the keys. */
export const MOUSE_HELP = 'Mouse: click a row to select it; the wheel scrolls.';

const BY_KEY = new Map<string, Action>();
for (const b of KEY_TABLE) {
  for (const k of b.keys) {
    if (BY_KEY.has(k)) throw new Error(`key table: ${k} bound twice`);
    BY_KEY.set(k, b.action);
  }
}

export interface KeyEvent {
  name?: string;
  full?: string;
  ctrl?: boolean;
  meta?: boolean;
}

/**
 * One name per key press: printable characters as themselves (`G`, `?`, `1`),
 * everything else by blessed's full name (`enter`, `C-d`, `S-tab`). Blessed
 * reports Enter twice (`enter` and `return`): `return` gives null.
 */
export function keyName(ch: string | undefined, key: KeyEvent): string | null {
  if (key.full === 'return' || key.name === 'return') return null;
  if (ch && ch.length === 1 && ch > ' ' && ch !== '\x7f' && !key.ctrl && !key.meta) return ch;
  return key.full ?? key.name ?? null;
}

export function actionFor(name: string): Action | undefined {
  return BY_KEY.get(name);
}

const DISPLAY: Record<string, string> = {
  down: '↓', up: '↑', left: '←', right: '→', enter: 'Enter', space: 'Space', tab: 'Tab', 'S-tab': 'Shift-Tab',
  pagedown: 'PgDn', pageup: 'PgUp', home: 'Home', end: 'End', escape: 'Esc',
};

/** How a key is written in help: `Ctrl-d`, `Shift-Tab`, `↓`. */
export function keyLabel(k: string): string {
  if (DISPLAY[k]) return DISPLAY[k]!;
  const m = /^C-(.)$/.exec(k);
  if (m) return `Ctrl-${m[1]}`;
  return k;
}

/** The status-bar hints, in this order, each with its binding's first key (Expert: its `e`). */
const HINT_ORDER: ReadonlyArray<[Action, string?]> = [
  ['help'], ['filter'], ['nextPane'], ['command'], ['enter'], ['followFlow'], ['followSession'], ['mark'], ['copy'], ['viewExpert', 'e'], ['pause'], ['quit'],
];

/** Status-bar hints: `? help  / filter  Tab pane …`. */
export function hints(): string[] {
  return HINT_ORDER.map(([action, key]) => {
    const b = KEY_TABLE.find((x) => x.action === action)!;
    return `${keyLabel(key ?? b.keys[0]!)} ${b.hint ?? action}`;
  });
}
