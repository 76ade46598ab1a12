// Display-filter lexer: text → tokens, each with its 1-based column.
//
// Unquoted words cover field names, keywords and bare values alike
// (`vvmp.alloc.qos`, `and`, `RAID5`, `0x7E`, `10.0.0.0/8`, `fe80::1`,
// `1700000000.5`); the parser decides which is which by position. A word
// stops before `..`, so `1..5` is three tokens. `[…]` is one token, a slice.

import { FilterError } from './errors.js';

export type TokenKind =
  | 'word' // field, keyword or bare value
  | 'string' // "quoted", escapes resolved
  | 'op' // == != < <= > >= & ~
  | '!' | '&&' | '||' | '(' | ')' | '{' | '}' | ',' | '..'
  | 'slice' // [ … ] after a field: the text between the brackets
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** Word or operator text as typed; for strings the unescaped value. */
  text: string;
  /** 1-based column of the token's first character. */
  col: number;
}

const WORD_CHAR = /[A-Za-z0-9_.:/\-]/;

const SIMPLE: ReadonlyArray<readonly [string, TokenKind]> = [
  ['==', 'op'], ['!=', 'op'], ['<=', 'op'], ['>=', 'op'], ['&&', '&&'], ['||', '||'], ['..', '..'],
  ['<', 'op'], ['>', 'op'], ['&', 'op'], ['~', 'op'], ['!', '!'],
  ['(', '('], [')', ')'], ['{', '{'], ['}', '}'], [',', ','],
];

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  outer: while (i < n) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const col = i + 1;
    if (ch === '"') {
      const [value, end] = readString(text, i);
      out.push({ kind: 'string', text: value, col });
      i = end;
      continue;
    }
    if (ch === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) throw new FilterError(col, 'missing "]" to close "["');
      out.push({ kind: 'slice', text: text.slice(i + 1, close), col });
      i = close + 1;
      continue;
    }
    if (WORD_CHAR.test(ch) && !(ch === '.' && text[i + 1] === '.')) {
      let j = i;
      while (j < n && WORD_CHAR.test(text[j]!) && !(text[j] === '.' && text[j + 1] === '.')) j++;
      out.push({ kind: 'word', text: text.slice(i, j), col });
      i = j;
      continue;
    }
    for (const [sym, kind] of SIMPLE) {
      if (text.startsWith(sym, i)) {
        out.push({ kind, text: sym, col });
        i += sym.length;
        continue outer;
      }
    }
    if (ch === '=') throw new FilterError(col, 'unexpected "="; use "==" to compare');
    if (ch === '|') throw new FilterError(col, 'unexpected "|"; use "||" for or');
    throw new FilterError(col, `unexpected character ${JSON.stringify(ch)}`);
  }
  out.push({ kind: 'eof', text: '', col: n + 1 });
  return out;
}

const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', '0': '\0' };

/** Reads the string literal whose opening quote is at `start`: its value and the index after it. */
function readString(text: string, start: number): [string, number] {
  let out = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      return [out, i + 1];
    }
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) break;
    if (e === 'x') {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new FilterError(i + 1, '"\\x" needs two hex digits');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
      continue;
    }
    const r = ESCAPES[e];
    if (r === undefined) throw new FilterError(i + 1, `unknown escape "\\${e}" in string`);
    out += r;
    i += 2;
  }
  throw new FilterError(start + 1, 'unterminated string');
}
