// Display-filter parser: tokens → AST, by recursive descent.
//
//   filter  := or EOF
//   or      := and (('||' | 'or') and)*
//   and     := unary (('&&' | 'and') unary)*
//   unary   := ('!' | 'not') unary | '(' or ')' | test
//   test    := FIELD
//            | FIELD cmp value            cmp: == != < <= > >= eq ne lt le gt ge
//            | FIELD 'contains' value
//            | FIELD ('matches' | '~') value
//            | FIELD '&' value
//            | FIELD ['not'] 'in' '{' item ((',')? item)* '}'
//   FIELD   := WORD ('[' slice ']')?       vvmp[0:2], frame[-4:] (values.ts)
//   item    := value ('..' value)?
//   value   := WORD | STRING
//
// Precedence, tightest first: `!`/`not`, comparisons, `&&`/`and`, `||`/`or`.

import type { CompareOp, FieldName, Node, SetItem, ValueLit } from './ast.js';
import { FilterError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

const WORD_OPS: Readonly<Record<string, CompareOp>> = {
  eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=',
};
const LOGICAL = new Set(['and', 'or', 'not']);

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of filter';
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  if (t.kind === 'slice') return `"[${t.text}]"`;
  return JSON.stringify(t.text);
}

export function parse(text: string): Node {
  return new Parser(tokenize(text)).parseFilter();
}

class Parser {
  private pos = 0;

  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.pos]!;
  }

  private next(): Token {
    const t = this.toks[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isWord(t: Token, ...words: string[]): boolean {
    return t.kind === 'word' && words.includes(t.text.toLowerCase());
  }

  parseFilter(): Node {
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') {
      if (t.kind === ')') throw new FilterError(t.col, 'unexpected ")" without a matching "("');
      throw new FilterError(t.col, `unexpected ${describe(t)}; expected "&&", "||" or the end of the filter`);
    }
    return node;
  }

  private parseOr(after?: Token): Node {
    const items = [this.parseAnd(after)];
    while (this.peek().kind === '||' || this.isWord(this.peek(), 'or')) {
      const op = this.next();
      items.push(this.parseAnd(op));
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private parseAnd(after?: Token): Node {
    const items = [this.parseUnary(after)];
    while (this.peek().kind === '&&' || this.isWord(this.peek(), 'and')) {
      const op = this.next();
      items.push(this.parseUnary(op));
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  /** `after`: the operator just read, for "missing expression after …". */
  private parseUnary(after?: Token): Node {
    const t = this.peek();
    if (t.kind === '!' || this.isWord(t, 'not')) {
      this.next();
      return { kind: 'not', expr: this.parseUnary(t) };
    }
    if (t.kind === '(') {
      this.next();
      const inner = this.parseOr(t);
      const close = this.peek();
      if (close.kind === ')') {
        this.next();
        return inner;
      }
      if (close.kind === 'eof') throw new FilterError(close.col, `missing ")" to close "(" at column ${t.col}`);
      throw new FilterError(close.col, `unexpected ${describe(close)}; expected ")" to close "(" at column ${t.col}`);
    }
    if (t.kind === 'word' && !LOGICAL.has(t.text.toLowerCase())) return this.parseTest();
    if (after && (t.kind === 'eof' || t.kind === '&&' || t.kind === '||' || t.kind === ')' || this.isWord(t, 'and', 'or'))) {
      throw new FilterError(t.col, `missing expression after ${JSON.stringify(after.text)}`);
    }
    throw new FilterError(t.col, `unexpected ${describe(t)}; expected a field name`);
  }

  private parseTest(): Node {
    const ft = this.next();
    const field: FieldName = { name: ft.text, col: ft.col };
    if (this.peek().kind === 'slice') {
      const st = this.next();
      field.slice = { text: st.text, col: st.col };
    }
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      if (t.text === '&') return { kind: 'bitand', field, opCol: t.col, value: this.parseValue(t) };
      if (t.text === '~') return { kind: 'matches', field, opText: t.text, opCol: t.col, value: this.parseValue(t) };
      return { kind: 'compare', field, op: t.text as CompareOp, opText: t.text, opCol: t.col, value: this.parseValue(t) };
    }
    if (t.kind === 'word') {
      const w = t.text.toLowerCase();
      const cmp = WORD_OPS[w];
      if (cmp) {
        this.next();
        return { kind: 'compare', field, op: cmp, opText: t.text, opCol: t.col, value: this.parseValue(t) };
      }
      if (w === 'contains') {
        this.next();
        return { kind: 'contains', field, opCol: t.col, value: this.parseValue(t) };
      }
      if (w === 'matches') {
        this.next();
        return { kind: 'matches', field, opText: t.text, opCol: t.col, value: this.parseValue(t) };
      }
      if (w === 'in') {
        this.next();
        return { kind: 'in', field, opCol: t.col, items: this.parseSet(t), negated: false };
      }
      if (w === 'not' && this.isWord(this.toks[this.pos + 1]!, 'in')) {
        this.next();
        const inTok = this.next();
        return { kind: 'in', field, opCol: t.col, items: this.parseSet(inTok), negated: true };
      }
    }
    return { kind: 'present', field };
  }

  private isValue(t: Token): boolean {
    return t.kind === 'string' || (t.kind === 'word' && !LOGICAL.has(t.text.toLowerCase()));
  }

  private parseValue(op: Token): ValueLit {
    const t = this.peek();
    if (!this.isValue(t)) throw new FilterError(t.col, `missing value after ${JSON.stringify(op.text)}`);
    this.next();
    return { text: t.text, quoted: t.kind === 'string', col: t.col };
  }

  private parseSet(inTok: Token): SetItem[] {
    const open = this.peek();
    if (open.kind !== '{') {
      if (open.kind === 'eof') throw new FilterError(open.col, `missing "{" after ${JSON.stringify(inTok.text)}`);
      throw new FilterError(open.col, `unexpected ${describe(open)}; expected "{" after ${JSON.stringify(inTok.text)}`);
    }
    this.next();
    const items: SetItem[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        if (items.length === 0) throw new FilterError(open.col, 'empty set "{}"');
        this.next();
        return items;
      }
      if (t.kind === ',' && items.length > 0) {
        this.next();
        continue;
      }
      if (t.kind === 'eof') throw new FilterError(t.col, `missing "}" to close "{" at column ${open.col}`);
      if (!this.isValue(t)) throw new FilterError(t.col, `unexpected ${describe(t)} in set`);
      this.next();
      const lo: ValueLit = { text: t.text, quoted: t.kind === 'string', col: t.col };
      if (this.peek().kind === '..') {
        const dots = this.next();
        items.push({ lo, hi: this.parseValue(dots) });
      } else {
        items.push({ lo });
      }
    }
  }
}
