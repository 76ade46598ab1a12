// One line of text being edited (the filter bar, the `:` command line):
// emacs/readline keys, a cursor, and Tab completion of the word before the
// cursor from a list of candidates. Blessed-free.

export type EditResult = 'apply' | 'cancel' | 'edited' | null;

/** Characters a completed word is made of (filter field names, command words). */
const WORD = /[A-Za-z0-9_.]+$/;

export class LineEditor {
  text = '';
  pos = 0;
  /** Candidates offered by the last Tab when it could not complete alone (shown by the owner). */
  offered: string[] = [];

  set(text: string): void {
    this.text = text;
    this.pos = text.length;
    this.offered = [];
  }

  /** One key; 'edited' when the text changed, null when the key means nothing here. */
  key(name: string, ch: string | undefined, ctrl: boolean, complete?: (word: string, before: string) => readonly string[]): EditResult {
    const t = this.text;
    const was = t;
    if (name !== 'tab') this.offered = [];
    switch (name) {
      case 'enter': return 'apply';
      case 'escape': return 'cancel';
      case 'tab':
        if (complete) this.complete(complete);
        break;
      case 'backspace':
        if (this.pos > 0) {
          this.text = t.slice(0, this.pos - 1) + t.slice(this.pos);
          this.pos--;
        }
        break;
      case 'delete': case 'C-d': this.text = t.slice(0, this.pos) + t.slice(this.pos + 1); break;
      case 'left': case 'C-b': this.pos = Math.max(0, this.pos - 1); break;
      case 'right': case 'C-f': this.pos = Math.min(t.length, this.pos + 1); break;
      case 'home': case 'C-a': this.pos = 0; break;
      case 'end': case 'C-e': this.pos = t.length; break;
      case 'C-u': this.text = t.slice(this.pos); this.pos = 0; break;
      case 'C-k': this.text = t.slice(0, this.pos); break;
      case 'C-w': {
        const before = t.slice(0, this.pos).replace(/\S+\s*$/, '');
        this.text = before + t.slice(this.pos);
        this.pos = before.length;
        break;
      }
      default:
        if (ch && !ctrl && ch.length === 1 && ch >= ' ' && ch !== '\x7f') {
          this.text = t.slice(0, this.pos) + ch + t.slice(this.pos);
          this.pos++;
        } else return null;
    }
    return this.text !== was ? 'edited' : null;
  }

  /**
   * Completes the word before the cursor: a single candidate is inserted
   * whole (with a space after it), several extend to their common prefix and
   * are offered.
   */
  private complete(complete: (word: string, before: string) => readonly string[]): void {
    const head = this.text.slice(0, this.pos);
    const word = WORD.exec(head)?.[0] ?? '';
    const before = head.slice(0, head.length - word.length);
    const found = complete(word, before).filter((c) => c.startsWith(word));
    if (found.length === 0) {
      this.offered = [];
      return;
    }
    let ins: string;
    if (found.length === 1) {
      // A whole word gets a space after it; a dotted prefix (`vvmp.alloc.`) waits for more.
      ins = found[0]!.endsWith('.') ? found[0]! : found[0]! + ' ';
      this.offered = [];
    } else {
      ins = commonPrefix(found);
      this.offered = [...found];
    }
    this.text = before + ins + this.text.slice(this.pos);
    this.pos = before.length + ins.length;
  }
}

export function commonPrefix(words: readonly string[]): string {
  let p = words[0] ?? '';
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}
