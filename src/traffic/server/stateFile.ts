// The --state file: read and written whole, atomically (temp file + rename).

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ManagerState } from './persistence.js';

/** Reads a state file; throws a one-line error naming it. Missing file → null. */
export function readStateFile(path: string): ManagerState | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a readable state file (${(e as Error).message.split('\n')[0]})`);
  }
  const s = raw as ManagerState;
  if (typeof raw !== 'object' || raw === null || s.version !== 1 || !Array.isArray(s.sessions)) {
    throw new Error(`${path}: not a vvmp state file (version 1 expected)`);
  }
  return s;
}

/** Writes a state file atomically: a temp file beside it, then rename. */
export function writeStateFile(path: string, state: ManagerState): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 1) + '\n');
  renameSync(tmp, path);
}
