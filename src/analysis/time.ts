// Capture time as exact integers. Seconds and nanoseconds come from the
// capture; the analysis works in integer nanoseconds relative to the first
// packet (a double holds them exactly for captures spanning up to ~104 days).

export interface Stamp {
  sec: number;
  nsec: number;
  digits: number;
}

export function stamp(sec: number, nsec: number, digits: number): Stamp {
  return { sec, nsec, digits };
}

/** Seconds between two stamps as a double (for display). */
export function secondsBetween(a: Stamp, b: Stamp): number {
  return b.sec - a.sec + (b.nsec - a.nsec) / 1e9;
}
