// Filter errors: one line, `column N: what went wrong`, with a 1-based column
// into the filter text so a filter bar can point at the spot.

export class FilterError extends Error {
  /** 1-based column of the offending character or token. */
  readonly column: number;
  /** The message without its `column N: ` prefix. */
  readonly reason: string;

  constructor(column: number, reason: string) {
    super(`column ${column}: ${reason}`);
    this.name = 'FilterError';
    this.column = column;
    this.reason = reason;
  }
}

/** Levenshtein distance (insert, delete, substitute: cost 1 each). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      cur[j] = Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `word` (case-insensitive), or undefined when none
 * is close enough to be a plausible typo, or when two are equally close
 * (`RAID9`: RAID0 or RAID5?). A candidate whose last dotted
 * component is exactly `word` wins outright, the shortest such one
 * (`opcode` → `vvmp.opcode`, `session_id` → `vvmp.session_id`).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestDist = Infinity;
  let suffix: string | undefined;
  let tie = false;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    if (lc === w) return c;
    if (lc.endsWith('.' + w)) {
      if (suffix === undefined || c.length < suffix.length) suffix = c;
      continue;
    }
    const d = editDistance(w, lc);
    if (d < bestDist) {
      bestDist = d;
      best = c;
      tie = false;
    } else if (d === bestDist) {
      tie = true;
    }
  }
  if (suffix !== undefined) return suffix;
  return bestDist <= limit && !tie ? best : undefined;
}
