// Where the material beside the project lives: `../shared` next to the project
// root (the spec's reference copy, the wild corpus). Suites that need it skip
// with a printed reason when it is absent (a fresh clone on its own).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** The project's own copy of the spec (VVMP.md, OUTPUT.md, vectors.json). */
export const SPEC = join(ROOT, 'spec');
/** `../shared` beside the project root. */
export const SHARED = join(ROOT, '../shared');
export const SHARED_SPEC = join(SHARED, 'spec');
/** The 830 real captures (counts.tsv and tcpdump/). */
export const WILD = join(SHARED, 'wild');
export const WILD_TCPDUMP = join(WILD, 'tcpdump');
export const haveWild = existsSync(join(WILD, 'counts.tsv')) && existsSync(WILD_TCPDUMP);

const told = new Set<string>();

/** Prints once why `suite` is skipped when the wild corpus is absent; returns whether it is present. */
export function wildOrSkip(suite: string): boolean {
  if (!haveWild && !told.has(suite)) {
    told.add(suite);
    console.warn(`skipped: ${suite}: ${WILD} is absent (the wild capture corpus lives in ../shared/wild beside the project)`);
  }
  return haveWild;
}
