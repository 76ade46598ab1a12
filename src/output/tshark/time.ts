// Timestamps as tshark writes them: -t formats of the summary line, and the
// values of frame.time* fields (-T fields, json, ek).

export interface Stamp {
  sec: number;
  nsec: number;
}

export type TimeFormat = 'r' | 'a' | 'ad' | 'd' | 'dd' | 'e' | 'u' | 'ud';
export const TIME_FORMATS: readonly TimeFormat[] = ['r', 'a', 'ad', 'd', 'dd', 'e', 'u', 'ud'];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Nanoseconds to `digits` decimals, truncated as tshark does. */
function fraction(nsec: number, digits: number): string {
  return digits <= 0 ? '' : '.' + pad(nsec, 9).slice(0, Math.min(9, digits));
}

/** `a - b` as signed seconds text with `digits` decimals (exact: integer nanoseconds). */
export function diffText(a: Stamp, b: Stamp, digits: number): string {
  let ns = BigInt(a.sec - b.sec) * 1_000_000_000n + BigInt(a.nsec - b.nsec);
  const neg = ns < 0n;
  if (neg) ns = -ns;
  const whole = ns / 1_000_000_000n;
  return `${neg ? '-' : ''}${whole}${fraction(Number(ns % 1_000_000_000n), digits)}`;
}

export function epochText(t: Stamp, digits: number): string {
  return `${t.sec}${fraction(t.nsec, digits)}`;
}

interface Parts {
  y: number; mo: number; d: number; h: number; mi: number; s: number;
}

function parts(t: Stamp, utc: boolean): Parts {
  const dt = new Date(t.sec * 1000);
  return utc
    ? { y: dt.getUTCFullYear(), mo: dt.getUTCMonth(), d: dt.getUTCDate(), h: dt.getUTCHours(), mi: dt.getUTCMinutes(), s: dt.getUTCSeconds() }
    : { y: dt.getFullYear(), mo: dt.getMonth(), d: dt.getDate(), h: dt.getHours(), mi: dt.getMinutes(), s: dt.getSeconds() };
}

function clock(p: Parts): string {
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

function date(p: Parts): string {
  return `${p.y}-${pad(p.mo + 1)}-${pad(p.d)}`;
}

/** frame.time in -T fields / json: `Nov 24, 2026 21:13:17.219123000 UTC` (UTC; tshark uses the local zone). */
export function frameTimeText(t: Stamp): string {
  const p = parts(t, true);
  return `${MONTHS[p.mo]} ${pad(p.d)}, ${p.y} ${clock(p)}${fraction(t.nsec, 9)} UTC`;
}

/** frame.time in -T ek: ISO 8601 with nanoseconds. */
export function isoTimeText(t: Stamp): string {
  const p = parts(t, true);
  return `${date(p)}T${clock(p)}${fraction(t.nsec, 9)}Z`;
}

export interface TimeContext {
  /** The capture's first packet. */
  first: Stamp;
  /** The packet read before this one (the packet itself for the first). */
  prevCaptured: Stamp;
  /** The packet shown before this one (the packet itself for the first shown). */
  prevDisplayed: Stamp;
}

/** The time column of a summary line in tshark's -t format, with the capture's precision. */
export function formatTime(fmt: TimeFormat, t: Stamp, digits: number, ctx: TimeContext): string {
  switch (fmt) {
    case 'r': return diffText(t, ctx.first, digits);
    case 'd': return diffText(t, ctx.prevCaptured, digits);
    case 'dd': return diffText(t, ctx.prevDisplayed, digits);
    case 'e': return epochText(t, digits);
    case 'a': return clock(parts(t, false)) + fraction(t.nsec, digits);
    case 'ad': { const p = parts(t, false); return `${date(p)} ${clock(p)}${fraction(t.nsec, digits)}`; }
    case 'u': return clock(parts(t, true)) + fraction(t.nsec, digits);
    case 'ud': { const p = parts(t, true); return `${date(p)} ${clock(p)}${fraction(t.nsec, digits)}`; }
  }
}
