// Display-filter compiler: AST → one closure `(frame) => boolean`.
//
// All resolving, literal parsing and type checking happens here, once; the
// closures only read frame values and compare them with prepared constants.
//
// Semantics of a test on a field with several values in a frame (device
// records, ip.addr, tcp.port, expert.code …):
//   ==, <, <=, >, >=, in, contains, matches, &   any value satisfies it
//   !=, not in                                   the field is present and NO value satisfies == / in
// A test on an absent field is false, so `vvmp.alloc.qos != GOLD` matches only
// frames with an Allocate block whose QoS is not GOLD. (`!(x == v)` also
// matches frames without the field.)

import type { AnalyzedFrame } from '../frame.js';
import type { FieldName, Node, SetItem, ValueLit } from './ast.js';
import { FilterError, closest } from './errors.js';
import { closestField } from './suggest.js';
import {
  FILTER_FIELDS,
  type BoolField, type BytesField, type FilterField, type FilterState, type FloatField, type IntConst, type IpField,
  type NarrowUintField, type StringField, type TimeField, type TimeValue, type Visit, type WideUintField,
} from './fields.js';
import { ipNetTest, ipRangeTest, parseIp, parseIpNet } from './ip.js';
import { applySlice, compareTime, parseAbsolute, parseBytes, parseSeconds, parseSlice, type TimeConst } from './values.js';

export type Predicate = (f: AnalyzedFrame) => boolean;

/** What compiling one filter collects besides its predicate. */
export interface CompileContext {
  /** Field names read, in order of first use. */
  used: Set<string>;
  /** The filter's own state (frame.time_delta_displayed reads it; compileFilter updates it). */
  state: FilterState;
  /** The filter reads `state`: it must see frames in order. */
  stateful: boolean;
  /** Things the filter does that may not be what was meant (a bare boolean is a presence test). */
  warnings: string[];
  /** The filter reads the packet's bytes (`frame[…]`, `frame contains`). */
  packets: boolean;
}

type TestNode = Exclude<Node, { kind: 'and' | 'or' | 'not' }>;
type OpNode = Exclude<TestNode, { kind: 'present' }>;
type Num = number | bigint;

/** A test on single values plus whether the result is negated (`!=`, `not in`). */
interface ValueTest<T> {
  pred: (v: T) => boolean;
  negate: boolean;
}

const TYPE_TEXT: Readonly<Record<FilterField['type'], string>> = {
  uint: 'an unsigned integer', float: 'a number', time: 'a time', string: 'a string',
  bool: 'a boolean', ip: 'an IP address', bytes: 'a byte string', proto: 'a protocol block',
};

const MAX_LISTED = 12;

function listNames(names: readonly string[]): string {
  return names.length > MAX_LISTED ? `${names.slice(0, MAX_LISTED).join(', ')}, …` : names.join(', ');
}

function notAValue(field: FilterField, v: ValueLit, names: readonly string[]): FilterError {
  const near = closest(v.text, names);
  const hint = near ? `; did you mean ${near}?` : '';
  return new FilterError(v.col, `${JSON.stringify(v.text)} is not a value of ${field.name} (${listNames(names)})${hint}`);
}

function opText(node: OpNode): string {
  switch (node.kind) {
    case 'compare':
    case 'matches':
      return node.opText;
    case 'contains':
      return 'contains';
    case 'bitand':
      return '&';
    case 'in':
      return node.negated ? 'not in' : 'in';
  }
}

function notApplicable(field: FilterField, node: OpNode): FilterError {
  if (field.type === 'proto') {
    return new FilterError(node.field.col,
      `${field.name} is a protocol block: test it alone ("${field.name}") or compare one of its fields`
      + (field.raw ? `, or its bytes with contains, matches, == or a slice (${field.name}[0:2])` : ''));
  }
  return new FilterError(node.opCol,
    `operator ${JSON.stringify(opText(node))} does not apply to ${field.name} (${TYPE_TEXT[field.type]})`);
}

function mismatch(field: FilterField, v: ValueLit, what: string): FilterError {
  return new FilterError(v.col, `type mismatch: ${field.name} is ${TYPE_TEXT[field.type]}, ${JSON.stringify(v.text)} ${what}`);
}

/** A set's ranges only apply to ordered types. */
function noRanges(field: FilterField, items: readonly SetItem[]): void {
  for (const it of items) {
    if (it.hi) throw new FilterError(it.hi.col, `ranges do not apply to ${field.name} (${TYPE_TEXT[field.type]})`);
  }
}

function emptyRange(it: SetItem): FilterError {
  return new FilterError(it.lo.col, `empty range ${it.lo.text}..${it.hi!.text}: the low end is above the high end`);
}

/** `v < k` … `v >= k` for numbers, bigints or strings (one place for every value type). */
function orderTest<V extends number | bigint | string>(op: '<' | '<=' | '>' | '>=', k: V): ValueTest<V> {
  switch (op) {
    case '<': return { pred: (v) => v < k, negate: false };
    case '<=': return { pred: (v) => v <= k, negate: false };
    case '>': return { pred: (v) => v > k, negate: false };
    case '>=': return { pred: (v) => v >= k, negate: false };
  }
}

/** Ordering test from a three-way comparison result. */
function ordered(op: '<' | '<=' | '>' | '>='): (c: number) => boolean {
  switch (op) {
    case '<': return (c) => c < 0;
    case '<=': return (c) => c <= 0;
    case '>': return (c) => c > 0;
    case '>=': return (c) => c >= 0;
  }
}

// ---- unsigned integers ----------------------------------------------------------

const INT_RE = /^(0x[0-9a-f]+|0b[01]+|0o[0-7]+|[0-9]+)$/i;

/**
 * An integer literal for `field`: decimal, 0x, 0b, 0o (any size, exact), a
 * value name, or with `bits` a flag name (→ its bit mask).
 */
function intConst(field: NarrowUintField | WideUintField, v: ValueLit, bits: boolean): IntConst {
  const t = v.text;
  if (!v.quoted && INT_RE.test(t)) return { value: BigInt(t.toLowerCase()) };
  const key = t.toLowerCase();
  const named = field.names?.byName.get(key);
  if (named) return named;
  const flag = field.bits?.find((b) => b.name.toLowerCase() === key);
  if (flag) {
    if (bits) return { value: 1n << BigInt(flag.bit) };
    throw new FilterError(v.col,
      `${flag.name} is a flag of ${field.name}: test it with "${field.name} contains ${flag.name}"`);
  }
  if (field.names) throw notAValue(field, v, field.names.list);
  if (field.bits && bits) throw notAValue(field, v, field.bits.map((b) => b.name));
  if (v.quoted) throw mismatch(field, v, 'is a string');
  if (/^(\d+\.\d*|\.\d+)$/.test(t)) throw mismatch(field, v, 'is not an integer');
  throw mismatch(field, v, 'is not a number');
}

function uintTest(field: NarrowUintField | WideUintField, node: OpNode): ValueTest<Num> {
  const wide = field.wide;
  const conv: (b: bigint) => Num = wide ? (b) => b : (b) => Number(b);
  /** `(v & mask)` compared with `want`: all bits (=== want) or any bit (!== 0). */
  const masked = (mask: bigint, want: bigint, any: boolean): ((v: Num) => boolean) => {
    if (wide) {
      return any ? (v) => ((v as bigint) & mask) !== 0n : (v) => ((v as bigint) & mask) === want;
    }
    const m = Number(BigInt.asUintN(32, mask));
    const w = Number(want);
    return any ? (v) => ((v as number) & m) !== 0 : (v) => (((v as number) & m) >>> 0) === w;
  };
  const eq = (c: IntConst): ((v: Num) => boolean) => {
    if (c.mask !== undefined) return masked(c.mask, c.value & c.mask, false);
    const k = conv(c.value);
    return (v) => v === k;
  };
  switch (node.kind) {
    case 'compare': {
      const c = intConst(field, node.value, false);
      if (node.op === '==' || node.op === '!=') return { pred: eq(c), negate: node.op === '!=' };
      const k = conv(c.value);
      switch (node.op) {
        case '<': case '<=': case '>': case '>=': return orderTest(node.op, k);
      }
      break;
    }
    case 'in': {
      const exact = new Set<Num>();
      const tests: ((v: Num) => boolean)[] = [];
      for (const it of node.items) {
        const lo = intConst(field, it.lo, false);
        if (it.hi) {
          const hi = intConst(field, it.hi, false);
          if (lo.value > hi.value) throw emptyRange(it);
          const a = conv(lo.value);
          const b = conv(hi.value);
          tests.push((v) => v >= a && v <= b);
        } else if (lo.mask !== undefined) {
          tests.push(eq(lo));
        } else {
          exact.add(conv(lo.value));
        }
      }
      if (tests.length === 0) return { pred: (v) => exact.has(v), negate: node.negated };
      if (exact.size === 0 && tests.length === 1) return { pred: tests[0]!, negate: node.negated };
      return {
        pred: (v) => {
          if (exact.has(v)) return true;
          for (let i = 0; i < tests.length; i++) if (tests[i]!(v)) return true;
          return false;
        },
        negate: node.negated,
      };
    }
    case 'contains': {
      if (!field.bits) break;
      const c = intConst(field, node.value, true);
      return { pred: masked(c.value, c.value, false), negate: false };
    }
    case 'bitand': {
      const c = intConst(field, node.value, true);
      return { pred: masked(c.value, c.value, true), negate: false };
    }
    case 'matches':
      break;
  }
  throw notApplicable(field, node);
}

// ---- floats and time ----------------------------------------------------------

const FLOAT_RE = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function floatConst(field: FloatField, v: ValueLit): number {
  if (v.quoted) throw mismatch(field, v, 'is a string');
  if (FLOAT_RE.test(v.text)) return Number(v.text);
  if (/^0x[0-9a-f]+$/i.test(v.text)) return Number(BigInt(v.text.toLowerCase()));
  throw mismatch(field, v, 'is not a number');
}

function floatTest(field: FloatField, node: OpNode): ValueTest<number> {
  if (node.kind === 'compare') {
    const k = floatConst(field, node.value);
    switch (node.op) {
      case '==': return { pred: (v) => v === k, negate: false };
      case '!=': return { pred: (v) => v === k, negate: true };
      case '<': case '<=': case '>': case '>=': return orderTest(node.op, k);
    }
  }
  if (node.kind === 'in') {
    const ranges = node.items.map((it) => {
      const lo = floatConst(field, it.lo);
      const hi = it.hi ? floatConst(field, it.hi) : lo;
      if (lo > hi) throw emptyRange(it);
      return [lo, hi] as const;
    });
    return {
      pred: (v) => {
        for (let i = 0; i < ranges.length; i++) if (v >= ranges[i]![0] && v <= ranges[i]![1]) return true;
        return false;
      },
      negate: node.negated,
    };
  }
  throw notApplicable(field, node);
}

const TIME_FORMS = 'a date "Dec  2, 2026 13:00:00.5" or "2026-12-02 13:00:00.5" (UTC), or epoch seconds';

function timeConst(field: TimeField, v: ValueLit): TimeConst {
  const c = field.relative ? parseSeconds(v.text) : parseAbsolute(v.text);
  if (c) return c;
  throw new FilterError(v.col, field.relative
    ? `type mismatch: ${field.name} is a time in seconds, ${JSON.stringify(v.text)} is not a number of seconds`
    : `${JSON.stringify(v.text)} is not a valid time for ${field.name} (${TIME_FORMS})`);
}

function compileTime(field: TimeField, node: OpNode, ctx: CompileContext): Predicate {
  if (field.stateful) ctx.stateful = true;
  const get = field.get;
  const st = ctx.state;
  const t: TimeValue = { sec: 0, nsec: 0 };
  if (node.kind === 'compare') {
    const c = timeConst(field, node.value);
    if (node.op === '==') return (f) => get(f, t, st) && compareTime(t, c) === 0;
    if (node.op === '!=') return (f) => get(f, t, st) && compareTime(t, c) !== 0;
    const test = ordered(node.op);
    return (f) => get(f, t, st) && test(compareTime(t, c));
  }
  if (node.kind === 'in') {
    const ranges = node.items.map((it) => {
      const lo = timeConst(field, it.lo);
      const hi = it.hi ? timeConst(field, it.hi) : lo;
      return [lo, hi] as const;
    });
    const inSet = (): boolean => {
      for (let i = 0; i < ranges.length; i++) if (compareTime(t, ranges[i]![0]) >= 0 && compareTime(t, ranges[i]![1]) <= 0) return true;
      return false;
    };
    return node.negated ? (f) => get(f, t, st) && !inSet() : (f) => get(f, t, st) && inSet();
  }
  throw notApplicable(field, node);
}

// ---- byte strings ---------------------------------------------------------------

function bytesConst(field: FilterField, v: ValueLit): Buffer {
  if (v.quoted) return Buffer.from(v.text, 'latin1');
  const b = parseBytes(v.text);
  if (b) return b;
  throw new FilterError(v.col,
    `type mismatch: ${field.name} is a byte string, ${JSON.stringify(v.text)} is not bytes (01:02:03, 0x0102 or "text")`);
}

function bytesTest(field: FilterField, node: OpNode): ValueTest<Buffer> {
  switch (node.kind) {
    case 'compare': {
      const k = bytesConst(field, node.value);
      if (node.op === '==' || node.op === '!=') return { pred: (v) => v.equals(k), negate: node.op === '!=' };
      const test = ordered(node.op);
      return { pred: (v) => test(Buffer.compare(v, k)), negate: false };
    }
    case 'in': {
      noRanges(field, node.items);
      const ks = node.items.map((it) => bytesConst(field, it.lo));
      return { pred: (v) => ks.some((k) => v.equals(k)), negate: node.negated };
    }
    case 'contains': {
      const k = bytesConst(field, node.value);
      return { pred: (v) => v.indexOf(k) >= 0, negate: false };
    }
    case 'matches': {
      const re = regex(node);
      return { pred: (v) => re.test(v.toString('latin1')), negate: false };
    }
    case 'bitand':
      break;
  }
  throw notApplicable(field, node);
}

function regex(node: Extract<OpNode, { kind: 'matches' }>): RegExp {
  try {
    return new RegExp(node.value.text, 'i');
  } catch (e) {
    const why = (e as Error).message.replace(/^.*: /, '');
    throw new FilterError(node.value.col, `invalid regular expression ${JSON.stringify(node.value.text)}: ${why}`);
  }
}

// ---- strings, booleans, addresses -----------------------------------------------

function stringValue(field: StringField, v: ValueLit): string {
  if (field.names) {
    const key = v.text.toLowerCase();
    const name = field.names.find((n) => n.toLowerCase() === key);
    if (name === undefined) throw notAValue(field, v, field.names);
    return name;
  }
  return field.canon ? field.canon(v.text) : v.text;
}

function stringTest(field: StringField, node: OpNode): ValueTest<string> {
  switch (node.kind) {
    case 'compare': {
      if (node.op === '==' || node.op === '!=') {
        const k = stringValue(field, node.value);
        return { pred: (v) => v === k, negate: node.op === '!=' };
      }
      const k = node.value.text;
      switch (node.op) {
        case '<': case '<=': case '>': case '>=': return orderTest(node.op, k);
      }
      break;
    }
    case 'in': {
      noRanges(field, node.items);
      const set = new Set(node.items.map((it) => stringValue(field, it.lo)));
      return { pred: (v) => set.has(v), negate: node.negated };
    }
    case 'contains': {
      const k = node.value.text;
      return { pred: (v) => v.includes(k), negate: false };
    }
    case 'matches': {
      const re = regex(node);
      return { pred: (v) => re.test(v), negate: false };
    }
    case 'bitand':
      break;
  }
  throw notApplicable(field, node);
}

function boolConst(field: BoolField, v: ValueLit): boolean {
  switch (v.text.toLowerCase()) {
    case 'true': case '1': return true;
    case 'false': case '0': return false;
  }
  throw notAValue(field, v, ['true', 'false']);
}

function boolTest(field: BoolField, node: OpNode): ValueTest<boolean> {
  if (node.kind === 'compare' && (node.op === '==' || node.op === '!=')) {
    const k = boolConst(field, node.value);
    return { pred: (v) => v === k, negate: node.op === '!=' };
  }
  if (node.kind === 'in') {
    noRanges(field, node.items);
    const ks = node.items.map((it) => boolConst(field, it.lo));
    return { pred: (v) => ks.includes(v), negate: node.negated };
  }
  throw notApplicable(field, node);
}

const IP_FORMS = 'a.b.c.d, a.b.c.d/n, an IPv6 address or IPv6/n';

function ipTestOf(v: ValueLit): (t: string) => boolean {
  const net = parseIpNet(v.text);
  if (!net) throw new FilterError(v.col, `${JSON.stringify(v.text)} is not an IP address or network (${IP_FORMS})`);
  return ipNetTest(net);
}

function ipTest(field: IpField, node: OpNode): ValueTest<string> {
  if (node.kind === 'compare' && (node.op === '==' || node.op === '!=')) {
    return { pred: ipTestOf(node.value), negate: node.op === '!=' };
  }
  if (node.kind === 'in') {
    const tests = node.items.map((it) => {
      if (!it.hi) return ipTestOf(it.lo);
      const lo = parseIp(it.lo.text);
      const hi = parseIp(it.hi.text);
      if (!lo) throw new FilterError(it.lo.col, `${JSON.stringify(it.lo.text)} is not an IP address`);
      if (!hi) throw new FilterError(it.hi.col, `${JSON.stringify(it.hi.text)} is not an IP address`);
      if (lo.family !== hi.family) throw new FilterError(it.hi.col, 'a range cannot mix IPv4 and IPv6');
      if (lo.n > hi.n) throw emptyRange(it);
      return ipRangeTest(lo, hi);
    });
    return {
      pred: (t) => {
        for (let i = 0; i < tests.length; i++) if (tests[i]!(t)) return true;
        return false;
      },
      negate: node.negated,
    };
  }
  throw notApplicable(field, node);
}

// ---- the tree -----------------------------------------------------------------

function apply<T>(some: Visit<T>, present: Predicate, t: ValueTest<T>): Predicate {
  const { pred, negate } = t;
  return negate ? (f) => present(f) && !some(f, pred) : (f) => some(f, pred);
}

function resolve(ref: FieldName): FilterField {
  const field = FILTER_FIELDS.get(ref.name);
  if (!field) {
    const near = closestField(ref.name, FILTER_FIELDS.keys());
    throw new FilterError(ref.col, `unknown field ${JSON.stringify(ref.name)}${near ? `; did you mean ${near}?` : ''}`);
  }
  if (!ref.slice) return field;
  const sl = ref.slice;
  const slice = parseSlice(sl.text);
  if (!slice) {
    throw new FilterError(sl.col, `"[${sl.text}]" is not a slice (i:j start and length, i-j, i, :j, i:; lists with ",")`);
  }
  const raw = field.raw;
  if (!raw) throw new FilterError(sl.col, `${field.name} has no bytes to slice (${TYPE_TEXT[field.type]} the analysis derives)`);
  const some: Visit<Buffer> = (f, p) => raw(f, (b) => {
    const s = applySlice(b, slice);
    return s !== null && p(s);
  });
  const sliced: BytesField = { name: `${field.name}[${sl.text}]`, type: 'bytes', help: field.help, some, present: (f) => some(f, yes) };
  return sliced;
}

const yes = (): boolean => true;

function compileTest(node: TestNode, ctx: CompileContext): Predicate {
  const field = resolve(node.field);
  ctx.used.add(node.field.name);
  if (field.name === 'frame' && (node.field.slice !== undefined || node.kind !== 'present')) ctx.packets = true;
  if (node.kind === 'present') {
    if (field.type === 'bool') {
      ctx.warnings.push(`"${field.name}" alone tests that the field is present, as in Wireshark, not that it is true; ` +
        `write "${field.name} == 1" for true`);
    }
    if (field.type === 'time') {
      const get = field.get;
      const t: TimeValue = { sec: 0, nsec: 0 };
      if (field.stateful) ctx.stateful = true;
      return (f) => get(f, t, ctx.state);
    }
    return field.present;
  }
  switch (field.type) {
    case 'uint': {
      const some: Visit<Num> = field.some;
      return apply(some, field.present, uintTest(field, node));
    }
    case 'float': return apply(field.some, field.present, floatTest(field, node));
    case 'time': return compileTime(field, node, ctx);
    case 'string': return apply(field.some, field.present, stringTest(field, node));
    case 'bool': return apply(field.some, field.present, boolTest(field, node));
    case 'ip': return apply(field.some, field.present, ipTest(field, node));
    case 'bytes': return apply(field.some, field.present, bytesTest(field, node));
    case 'proto':
      if (field.raw) return apply(field.raw, field.present, bytesTest(field, node));
      throw notApplicable(field, node);
  }
}

/** Compiles a parsed filter; `ctx` collects the field names it reads, its state and warnings. */
export function compileNode(node: Node, ctx: CompileContext): Predicate {
  switch (node.kind) {
    case 'and': {
      const ps = node.items.map((n) => compileNode(n, ctx));
      if (ps.length === 2) {
        const [a, b] = ps as [Predicate, Predicate];
        return (f) => a(f) && b(f);
      }
      return (f) => {
        for (let i = 0; i < ps.length; i++) if (!ps[i]!(f)) return false;
        return true;
      };
    }
    case 'or': {
      const ps = node.items.map((n) => compileNode(n, ctx));
      if (ps.length === 2) {
        const [a, b] = ps as [Predicate, Predicate];
        return (f) => a(f) || b(f);
      }
      return (f) => {
        for (let i = 0; i < ps.length; i++) if (ps[i]!(f)) return true;
        return false;
      };
    }
    case 'not': {
      const p = compileNode(node.expr, ctx);
      return (f) => !p(f);
    }
    default:
      return compileTest(node, ctx);
  }
}
