import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/analysis/filter/ast.js';
import { tokenize } from '../../src/analysis/filter/lexer.js';
import { parse } from '../../src/analysis/filter/parser.js';

/** The tree as a compact S-expression: (or a (and b c)), (not a), (== f v). */
function sx(n: Node): string {
  switch (n.kind) {
    case 'and':
    case 'or':
      return `(${n.kind} ${n.items.map(sx).join(' ')})`;
    case 'not':
      return `(not ${sx(n.expr)})`;
    case 'present':
      return n.field.name;
    case 'compare':
      return `(${n.op} ${n.field.name} ${n.value.quoted ? JSON.stringify(n.value.text) : n.value.text})`;
    case 'contains':
    case 'matches':
    case 'bitand':
      return `(${n.kind} ${n.field.name} ${n.value.text})`;
    case 'in':
      return `(${n.negated ? 'not-in' : 'in'} ${n.field.name} ${n.items.map((i) => (i.hi ? `${i.lo.text}..${i.hi.text}` : i.lo.text)).join(' ')})`;
  }
}

describe('lexer', () => {
  it('keeps addresses, hex, floats and names as single words', () => {
    const words = (s: string) => tokenize(s).filter((t) => t.kind === 'word').map((t) => t.text);
    expect(words('ip.addr == 10.0.0.0/8')).toEqual(['ip.addr', '10.0.0.0/8']);
    expect(words('ip.addr == fe80::1:2')).toEqual(['ip.addr', 'fe80::1:2']);
    expect(words('ip.addr == ::1')).toEqual(['ip.addr', '::1']);
    expect(words('frame.time>=1700000000.5')).toEqual(['frame.time', '1700000000.5']);
    expect(words('vvmp.status==0x7E')).toEqual(['vvmp.status', '0x7E']);
  });

  it('splits ranges at ..', () => {
    expect(tokenize('{1..5}').map((t) => t.kind)).toEqual(['{', 'word', '..', 'word', '}', 'eof']);
    expect(tokenize('{RAID0..RAID5}').map((t) => t.text)).toEqual(['{', 'RAID0', '..', 'RAID5', '}', '']);
  });

  it('gives 1-based columns and unescapes strings', () => {
    const toks = tokenize('  a == "x\\"y\\n\\x41"');
    expect(toks.map((t) => t.col)).toEqual([3, 5, 8, 20]);
    expect(toks[2]).toEqual({ kind: 'string', text: 'x"y\nA', col: 8 });
  });

  it('recognises every operator', () => {
    expect(tokenize('== != < <= > >= && || ! & ~ ( ) { } , ..').map((t) => t.text)).toEqual(
      ['==', '!=', '<', '<=', '>', '>=', '&&', '||', '!', '&', '~', '(', ')', '{', '}', ',', '..', '']);
  });
});

describe('parser precedence', () => {
  it.each([
    ['a || b && c', '(or a (and b c))'],
    ['a && b || c', '(or (and a b) c)'],
    ['a or b and c', '(or a (and b c))'],
    ['a || b and c', '(or a (and b c))'],
    ['!a && b', '(and (not a) b)'],
    ['not a and b', '(and (not a) b)'],
    ['not (a or b)', '(not (or a b))'],
    ['!a == 1', '(not (== a 1))'],
    ['! ! a', '(not (not a))'],
    ['a && b && c', '(and a b c)'],
    ['a || b || c && d', '(or a b (and c d))'],
    ['(a || b) && c', '(and (or a b) c)'],
    ['a == 1 && b != "x" || c contains y', '(or (and (== a 1) (!= b "x")) (contains c y))'],
    ['a eq 1 and b ne 2 or c lt 3 or d le 4 or e gt 5 or f ge 6',
      '(or (and (== a 1) (!= b 2)) (< c 3) (<= d 4) (> e 5) (>= f 6))'],
    ['a in {1 2..3, x}', '(in a 1 2..3 x)'],
    ['a not in {1}', '(not-in a 1)'],
    ['a matches "^x" || a ~ y', '(or (matches a ^x) (matches a y))'],
    ['a & 0x4', '(bitand a 0x4)'],
    ['a AND b OR NOT c', '(or (and a b) (not c))'],
  ])('%s', (text, want) => expect(sx(parse(text))).toBe(want));

  it('records columns of fields, operators and values', () => {
    const n = parse('x && vvmp.opcode == Allocate');
    expect(n.kind).toBe('and');
    const cmp = (n as { items: Node[] }).items[1]!;
    expect(cmp).toMatchObject({ kind: 'compare', field: { name: 'vvmp.opcode', col: 6 }, opCol: 18, value: { text: 'Allocate', col: 21 } });
  });
});
