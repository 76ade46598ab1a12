// V8's garbage collector lets the old generation grow to several times what
// survives a full collection (it favours throughput). The analysis keeps
// little alive (finished sessions and flows live in typed columns) but
// promotes a steady stream of medium-lived objects (sessions, TCP
// connections, slow exchanges), so over a long capture the heap drifted to
// several times its live size: `stats` on 10 M frames peaked at 375 MB
// without this and at ~235 MB with it, in the same time (bench/run.ts).
// Only the growth step changes, not a limit: a capture that truly needs more
// memory still gets it. V8 reads the flag at each full collection, so
// setting it when a command starts is enough.
//
// The streaming commands set it (stats, read, live: read on 1 M frames
// 460 → 283 MB for 5.1 → 6.1 s). Commands that keep a big live set by design
// do not: replay holds its whole plan and ran 25 % slower with it (50,000
// exchanges 1.1 → 1.35 s) for 10 MB less.

import { setFlagsFromString } from 'node:v8';

/** Next heap limit = 120 % of what survived the last full collection (process-wide, workers too). */
export const HEAP_GROWING_PERCENT = 20;

export function tuneHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
