// Literal values of the byte and time types, and byte slices, as Wireshark
// writes them:
//
//   bytes   01:02:03  01-02-03  01.02.03  010203  0x0102  "text\x80"   (one byte: 80, 0x80)
//   slices  [i:j] (start i, length j)  [i-j] (i to j inclusive)  [i]  [:j]  [i:]  [i:j,k,…]
//           (a negative start counts from the end)
//   times   "Dec  2, 2026 13:00:00[.frac]"  "2026-12-02 13:00:00[.frac]"  "2026-12-02T13:00:00Z"
//           "2026-12-02"  (optional " UTC" / "Z"), epoch seconds 1700000000.5; relative: -1.5, 0.002
//
// Date strings are read as UTC (Wireshark 4.0 reads them in the local time
// zone unless they end in UTC or Z): a filter selects the same frames on any
// machine.

import type { TimeValue } from './fieldTypes.js';

// ---- bytes -----------------------------------------------------------------

const SEPARATED = /^[0-9a-f]{1,2}(?:([:.-])[0-9a-f]{1,2})(?:\1[0-9a-f]{1,2})*$/i;
const PAIRS = /^(?:[0-9a-f]{2})+$/i;

/** A byte string typed unquoted, or null when `text` is not one. */
export function parseBytes(text: string): Buffer | null {
  let hex: string;
  if (SEPARATED.test(text)) hex = text.split(/[:.-]/).map((p) => p.padStart(2, '0')).join('');
  else if (PAIRS.test(text)) hex = text;
  else if (/^[0-9a-f]$/i.test(text)) hex = '0' + text;
  else if (/^0x[0-9a-f]+$/i.test(text)) hex = text.slice(2).length % 2 ? '0' + text.slice(2) : text.slice(2);
  else return null;
  return Buffer.from(hex, 'hex');
}

// ---- slices ----------------------------------------------------------------

/** One range of a slice: start (negative: from the end), and length (null: to the end; negative end for i-j). */
interface Range {
  start: number;
  len: number | null;
  /** `i-j`: inclusive end (negative: from the end) instead of a length. */
  end?: number;
}

export type Slice = readonly Range[];

/** Parses the text between `[` and `]`; null when it is not a slice. */
export function parseSlice(text: string): Slice | null {
  const ranges: Range[] = [];
  for (const raw of text.split(',')) {
    const t = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(-?\d+)$/.exec(t))) ranges.push({ start: Number(m[1]), len: 1 });
    else if ((m = /^(-?\d+)?:(\d+)?$/.exec(t)) && (m[1] !== undefined || m[2] !== undefined)) {
      ranges.push({ start: m[1] === undefined ? 0 : Number(m[1]), len: m[2] === undefined ? null : Number(m[2]) });
    } else if ((m = /^(-?\d+)-(-?\d+)$/.exec(t))) ranges.push({ start: Number(m[1]), len: null, end: Number(m[2]) });
    else return null;
  }
  return ranges.length ? ranges : null;
}

/** The slice of `b`, or null when a range falls outside it (Wireshark: no value). */
export function applySlice(b: Buffer, slice: Slice): Buffer | null {
  const n = b.length;
  let parts: Buffer[] | null = null;
  let one: Buffer | null = null;
  for (const r of slice) {
    const start = r.start < 0 ? n + r.start : r.start;
    if (start < 0 || start >= n) return null;
    let len: number;
    if (r.end !== undefined) {
      const end = r.end < 0 ? n + r.end : r.end;
      if (end < start || end >= n) return null;
      len = end - start + 1;
    } else len = r.len === null ? n - start : r.len;
    if (len <= 0 || start + len > n) return null;
    const part = b.subarray(start, start + len);
    if (one === null && parts === null) one = part;
    else (parts ??= [one!]).push(part);
  }
  return parts ? Buffer.concat(parts) : one;
}

// ---- times -----------------------------------------------------------------

/** A time constant: (sec, nsec) truncated to whole nanoseconds; `finer`: the value typed is above that. */
export interface TimeConst extends TimeValue {
  finer: boolean;
}

const NS = 1_000_000_000n;

/** `int.frac` seconds (sign allowed) → TimeConst, exact. */
function seconds(sign: string, int: string, frac: string): TimeConst {
  const digits = frac.length;
  const scale = 10n ** BigInt(Math.max(digits, 9));
  let units = BigInt(int || '0') * scale + BigInt((frac.padEnd(9, '0')) || '0');
  if (sign === '-') units = -units;
  const per = scale / NS; // units per nanosecond
  let ns = units / per;
  let rest = units % per;
  if (rest < 0n) {
    ns -= 1n;
    rest += per;
  }
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS;
  }
  return { sec: Number(sec), nsec: Number(nsec), finer: rest !== 0n };
}

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Seconds, possibly negative (relative times, epoch seconds). */
export function parseSeconds(text: string): TimeConst | null {
  const m = NUMBER.exec(text.trim());
  if (!m || (m[2] === '' && !m[3])) return null;
  return seconds(m[1]!, m[2]!, m[3] ?? '');
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const FULL_MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september',
  'october', 'november', 'december'];

const WIRESHARK_DATE = /^([a-z]+)\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:\s*(?:utc|z))?$/i;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?)?(?:\s*(?:utc|z))?$/i;

function utc(y: number, mon: number, d: number, h: number, mi: number, s: number, frac: string): TimeConst | null {
  if (mon < 0 || mon > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = Date.UTC(y, mon, d, h, mi, s);
  if (ms < 0) return null;
  const back = new Date(ms);
  if (back.getUTCDate() !== d) return null; // Feb 30
  return seconds('', String(ms / 1000), frac);
}

/** An absolute time: a date string (UTC) or epoch seconds; null when it is neither. */
export function parseAbsolute(text: string): TimeConst | null {
  const t = text.trim();
  let m = WIRESHARK_DATE.exec(t);
  if (m) {
    const name = m[1]!.toLowerCase();
    const mon = name.length === 3 ? MONTHS.indexOf(name) : FULL_MONTHS.indexOf(name);
    return utc(Number(m[3]), mon, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]), m[7] ?? '');
  }
  m = ISO_DATE.exec(t);
  if (m) {
    return utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), m[7] ?? '');
  }
  const c = parseSeconds(t);
  return c && c.sec >= 0 ? c : null;
}


/** Three-way comparison of two times, `c` possibly finer than a nanosecond. */
export function compareTime(v: TimeValue, c: TimeConst): number {
  if (v.sec !== c.sec) return v.sec - c.sec;
  if (v.nsec !== c.nsec) return v.nsec - c.nsec;
  return c.finer ? -1 : 0;
}
