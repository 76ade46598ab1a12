// "Did you mean …?" for misspelt field names: token- and abbreviation-aware.
//
// A field name is dotted components, each of `_`-separated tokens
// (`vvmp.alloc.capacity_kb`). A query matches a name when its components
// line up with the name's in order (the name may have more: `vvmp.alloc.exclusive`
// → `vvmp.alloc.flags.exclusive`), and within each component its letters
// cover the tokens in order, each token by its whole, a prefix (`trans`,
// `cap`), its initial, a usual abbreviation (`tx` transaction, `src`
// source, `cksum` checksum), or its letters in order from the first (`strm`);
// a trailing token may be left out (`capacity` → `capacity_kb`). A component
// that does not cover its tokens costs its Damerau-Levenshtein distance (typos:
// `opcdoe`). The cheapest name wins; plain edit distance on the whole name
// is the fallback.

import { editDistance } from './errors.js';

/** Usual abbreviations of a token (both ways: `src` → source, `source` → src). */
const ABBREVIATIONS: Readonly<Record<string, readonly string[]>> = {
  transaction: ['tx', 'txn', 'xact', 'trx', 'xid'],
  identifier: ['id'],
  id: ['ident', 'identifier', 'num', 'no'],
  source: ['src', 's'],
  src: ['source'],
  destination: ['dst', 'dest', 'd'],
  dst: ['destination', 'dest'],
  checksum: ['cksum', 'csum', 'chksum', 'sum', 'crc'],
  length: ['len'],
  len: ['length'],
  opcode: ['op', 'operation', 'cmd', 'command', 'code'],
  response: ['resp', 'rsp', 'reply', 'answer'],
  request: ['req', 'rq'],
  reply: ['resp', 'response', 'rsp', 'answer'],
  status: ['stat', 'rc', 'result', 'error', 'err'],
  session: ['sess', 'sid'],
  capacity: ['cap', 'size'],
  bandwidth: ['bw'],
  device: ['dev'],
  devices: ['dev', 'devs'],
  alloc: ['allocate', 'allocation'],
  init: ['initialize', 'initialise', 'initialization'],
  stats: ['statistics', 'stat'],
  sessref: ['session', 'ref'],
  number: ['num', 'no', 'nr'],
  time: ['ts', 'timestamp', 'latency', 'rtt'],
  relative: ['rel'],
  delta: ['diff', 'dt'],
  displayed: ['disp', 'shown'],
  stream: ['conv', 'conversation', 'flow'],
  port: ['prt'],
  address: ['addr'],
  addr: ['address'],
  flags: ['flag', 'flg'],
  reserved: ['rsvd', 'resv'],
  severity: ['sev', 'level'],
  message: ['msg'],
  timeout: ['tmo', 'to'],
  bytes: ['byte'],
  kb: ['kib', 'k'],
  ms: ['msec', 'millis'],
  server: ['srv', 'svr', 'mgr', 'manager'],
  client: ['cli', 'clnt'],
  exclusive: ['excl', 'x'],
};

/** Optimal string alignment distance: Levenshtein with adjacent transpositions at cost 1. */
function osaDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  const d: number[][] = Array.from({ length: n + 1 }, (_, i) => Array.from({ length: m + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[n]![m]!;
}

/** `piece` is `token`'s letters in order, starting with its first. */
function subsequence(piece: string, token: string): boolean {
  if (piece[0] !== token[0]) return false;
  let j = 0;
  for (let i = 0; i < token.length && j < piece.length; i++) if (token[i] === piece[j]) j++;
  return j === piece.length;
}

/** Cost of `piece` standing for `token`, or Infinity. */
function pieceCost(piece: string, token: string): number {
  if (piece === token) return 0;
  if (ABBREVIATIONS[token]?.includes(piece)) return 0.25;
  if (token.startsWith(piece)) return piece.length === 1 ? 0.75 : 0.25;
  if (piece.length >= 2 && subsequence(piece, token)) return 0.5;
  return Infinity;
}

/** Cost of query component `q` covering the tokens of component `c` in order, or Infinity. */
function tokenCost(q: string, c: string): number {
  if (q === c) return 0;
  const s = q.replace(/_/g, '');
  const tokens = c.split('_').filter((t) => t !== '');
  const memo = new Map<number, number>();
  const cover = (i: number, j: number): number => {
    if (i === s.length) return j === tokens.length ? 0 : (tokens.length - j) * 0.5; // trailing tokens left out
    if (j === tokens.length) return Infinity;
    const key = i * 64 + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let best = j < tokens.length - 1 ? 1 + cover(i, j + 1) : Infinity; // a token left out (not the last)
    for (let k = i + 1; k <= s.length; k++) {
      const pc = pieceCost(s.slice(i, k), tokens[j]!);
      if (pc < Infinity) best = Math.min(best, pc + cover(k, j + 1));
    }
    memo.set(key, best);
    return best;
  };
  return cover(0, 0);
}

/** Cost of query component `q` standing for name component `c`: tokens, else typos. */
function componentCost(q: string, c: string): number {
  const t = tokenCost(q, c);
  if (t < Infinity) return t;
  const d = osaDistance(q, c);
  return d <= Math.max(1, Math.floor(Math.max(q.length, c.length) / 3)) ? d : Infinity;
}

/** Cost of the query's components lining up with the name's, in order; the last with the last. */
function nameCost(q: readonly string[], c: readonly string[]): number {
  if (q.length > c.length) return Infinity;
  // dp over (i query components used, j name components used); extra name components cost 1 each.
  const memo = new Map<number, number>();
  const go = (i: number, j: number): number => {
    if (i === q.length) return j === c.length ? 0 : Infinity;
    if (c.length - j < q.length - i) return Infinity;
    const key = i * 64 + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const lastQ = i === q.length - 1;
    let best = Infinity;
    // Match q[i] with c[j] (the last query component only with the last name component).
    if (!lastQ || j === c.length - 1) best = componentCost(q[i]!, c[j]!) + go(i + 1, j + 1);
    // Or skip a name component (not the last).
    if (j < c.length - 1) best = Math.min(best, 1 + go(i, j + 1));
    memo.set(key, best);
    return best;
  };
  return go(0, 0);
}

/**
 * The field name closest to `word`, or undefined when none is plausible or
 * two are equally good. A name ending in `.word` wins outright, the
 * shortest (`opcode` → `vvmp.opcode`, `session_id` → `vvmp.session_id`).
 */
export function closestField(word: string, names: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const q = w.split('.');
  let suffix: string | undefined;
  let best: string | undefined;
  let bestCost = Infinity;
  let tie = false;
  for (const name of names) {
    const lc = name.toLowerCase();
    if (lc === w) return name;
    if (lc.endsWith('.' + w)) {
      if (suffix === undefined || name.length < suffix.length) suffix = name;
      continue;
    }
    let cost = nameCost(q, lc.split('.'));
    const whole = editDistance(w, lc);
    if (whole <= Math.max(2, Math.floor(w.length / 3))) cost = Math.min(cost, whole);
    if (cost === Infinity) continue;
    if (best === undefined || cost < bestCost || (cost === bestCost && name.length < best.length)) {
      best = name;
      bestCost = cost;
      tie = false;
    } else if (cost === bestCost && name.length === best.length) {
      tie = true;
    }
  }
  if (suffix !== undefined) return suffix;
  return tie ? undefined : best;
}
