// The vim-style command line (`:`): commands parsed into plain objects the
// app runs. Unknown commands and bad arguments are one-line errors.

export type Command =
  | { kind: 'goto'; frame: number }
  | { kind: 'mark'; frames: number[] | null }
  | { kind: 'unmark'; frames: number[] | 'all' | null }
  | { kind: 'markJump'; dir: 1 | -1 }
  | { kind: 'ref'; frame: number | null | 'off' }
  | { kind: 'search'; text: string }
  | { kind: 'filter'; text: string }
  | { kind: 'colAdd'; field: string }
  | { kind: 'colDel'; field: string }
  | { kind: 'colClear' }
  | { kind: 'copy'; what: CopyWhat; file: string | null }
  | { kind: 'save'; file: string; which: SaveWhich }
  | { kind: 'view'; view: string }
  | { kind: 'help' }
  | { kind: 'quit' };

export type CopyWhat = 'summary' | 'field' | 'hex';
export type SaveWhich = 'shown' | 'marked' | 'all';

export const VIEWS = ['frames', 'flows', 'sessions', 'expert', 'latency', 'io', 'timeline'] as const;

/** Command words with their one-line help (completion, `?`). */
export const COMMANDS: ReadonlyArray<[string, string]> = [
  ['goto N', 'select frame N (also :N)'],
  ['mark [N…]', 'mark the selected frame (or frames N…); :unmark [N…|all]'],
  ['next-mark', 'next marked frame (:prev-mark the previous)'],
  ['ref [N|off]', 'time reference: times count from the selected frame (or N); off clears it'],
  ['search TEXT', 'find TEXT in summaries, tree lines and bytes (hex: de ad); n / N repeat'],
  ['filter EXPR', 'apply a display filter (empty clears)'],
  ['col add FIELD', 'add a column showing a filter field (Tab completes); :col del FIELD, :col clear'],
  ['copy summary|field|hex [FILE]', 'copy the frame\'s summary, the tree field\'s value or the bytes as hex'],
  ['save FILE [shown|marked|all]', 'write the packets of the shown (filtered) or marked frames as pcapng'],
  ['view NAME', `show a view: ${VIEWS.join(', ')}`],
  ['help', 'keys and commands'],
  ['quit', 'quit (also :q)'],
];

const WORDS = ['goto', 'mark', 'unmark', 'next-mark', 'prev-mark', 'ref', 'search', 'find', 'filter', 'col', 'copy', 'save', 'view', 'help', 'quit'];

export class CommandError extends Error {}

function frameNumber(t: string, what = 'frame number'): number {
  if (!/^\d+$/.test(t) || Number(t) < 1) throw new CommandError(`${what}: "${t}" is not a frame number (1, 2, …)`);
  return Number(t);
}

/** Parses a command line (without the `:`). */
export function parseCommand(line: string): Command {
  const text = line.trim();
  if (text === '') throw new CommandError('empty command (:help lists them)');
  if (/^\d+$/.test(text)) return { kind: 'goto', frame: frameNumber(text) };
  const sp = text.search(/\s/);
  const word = (sp < 0 ? text : text.slice(0, sp)).toLowerCase();
  const rest = sp < 0 ? '' : text.slice(sp + 1).trim();
  const args = rest === '' ? [] : rest.split(/\s+/);
  switch (word) {
    case 'goto': case 'go': case 'g':
      if (args.length !== 1) throw new CommandError('goto: give one frame number, e.g. :goto 42');
      return { kind: 'goto', frame: frameNumber(args[0]!) };
    case 'mark': case 'm':
      return { kind: 'mark', frames: args.length ? args.map((a) => frameNumber(a)) : null };
    case 'unmark':
      if (args.length === 1 && args[0] === 'all') return { kind: 'unmark', frames: 'all' };
      return { kind: 'unmark', frames: args.length ? args.map((a) => frameNumber(a)) : null };
    case 'next-mark': return { kind: 'markJump', dir: 1 };
    case 'prev-mark': return { kind: 'markJump', dir: -1 };
    case 'ref':
      if (args.length === 0) return { kind: 'ref', frame: null };
      if (args[0] === 'off' || args[0] === 'clear') return { kind: 'ref', frame: 'off' };
      return { kind: 'ref', frame: frameNumber(args[0]!) };
    case 'search': case 'find':
      if (rest === '') throw new CommandError('search: give the text to find');
      return { kind: 'search', text: rest };
    case 'filter': return { kind: 'filter', text: rest };
    case 'col': case 'column': {
      const sub = args[0]?.toLowerCase();
      if (sub === 'add' && args.length === 2) return { kind: 'colAdd', field: args[1]! };
      if ((sub === 'del' || sub === 'rm') && args.length === 2) return { kind: 'colDel', field: args[1]! };
      if (sub === 'clear' && args.length === 1) return { kind: 'colClear' };
      throw new CommandError('col: :col add FIELD, :col del FIELD or :col clear');
    }
    case 'copy': case 'y': {
      const what = (args[0] ?? 'summary').toLowerCase();
      if (what !== 'summary' && what !== 'field' && what !== 'hex') throw new CommandError(`copy: "${what}" is not summary, field or hex`);
      if (args.length > 2) throw new CommandError('copy: :copy summary|field|hex [FILE]');
      return { kind: 'copy', what, file: args[1] ?? null };
    }
    case 'save': case 'w': case 'write': {
      if (args.length === 0 || args.length > 2) throw new CommandError('save: :save FILE [shown|marked|all]');
      const which = (args[1] ?? 'shown').toLowerCase();
      if (which !== 'shown' && which !== 'marked' && which !== 'all') throw new CommandError(`save: "${which}" is not shown, marked or all`);
      return { kind: 'save', file: args[0]!, which };
    }
    case 'view': {
      const v = (args[0] ?? '').toLowerCase();
      if (!(VIEWS as readonly string[]).includes(v)) throw new CommandError(`view: one of ${VIEWS.join(', ')}`);
      return { kind: 'view', view: v };
    }
    case 'help': case 'h': return { kind: 'help' };
    case 'quit': case 'q': return { kind: 'quit' };
    default: throw new CommandError(`unknown command "${word}" (:help lists them)`);
  }
}

/** Tab completion on the command line: command words, then sub-words and field names. */
export function completeCommand(word: string, before: string, fieldNames: (word: string) => string[]): string[] {
  const b = before.trimStart();
  if (b === '') return WORDS.filter((w) => w.startsWith(word));
  if (/^(col|column)\s+$/.test(b)) return ['add', 'del', 'clear'].filter((w) => w.startsWith(word));
  if (/^(col|column)\s+(add|del|rm)\s+$/.test(b)) return fieldNames(word);
  if (/^copy\s+$/.test(b)) return ['summary', 'field', 'hex'].filter((w) => w.startsWith(word));
  if (/^view\s+$/.test(b)) return VIEWS.filter((w) => w.startsWith(word));
  if (/^(save|w|write)\s+\S+\s+$/.test(b)) return ['shown', 'marked', 'all'].filter((w) => w.startsWith(word));
  return [];
}
