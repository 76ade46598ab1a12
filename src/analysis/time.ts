// Capture time as exact integers. Seconds and nanoseconds come from the
// capture; the analysis works in integer nanoseconds relative to the first
// packet (a double holds them exactly for captures spanning up to ~104 days).

export interface Stamp {
  sec: number;
  nsec: number;
  digits: number;
}

export class Clock {
  private baseSec: number | null = null;

  /** Nanoseconds since the first packet's whole second; exact. */
  ns(sec: number, nsec: number): number {
    if (this.baseSec === null) this.baseSec = sec;
    return (sec - this.baseSec) * 1e9 + nsec;
  }

  get base(): number {
    return this.baseSec ?? 0;
  }
}

export function stamp(sec: number, nsec: number, digits: number): Stamp {
  return { sec, nsec, digits };
}

/** Seconds between two stamps as a double (for display). */
export function secondsBetween(a: Stamp, b: Stamp): number {
  return b.sec - a.sec + (b.nsec - a.nsec) / 1e9;
}
