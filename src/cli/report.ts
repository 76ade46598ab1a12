// One-line reports on stderr.

import { noteText, type CaptureNote } from '../capture/notes.js';

export function warn(message: string): void {
  process.stderr.write(`vvmp: ${message}\n`);
}

/** A capture damaged part-way was read up to the damage: say where (OUTPUT.md exit codes). */
export function reportDamage(file: string, result: { packets: number; damage: string | null }): void {
  if (result.damage) warn(`${file}: ${result.damage}; read ${result.packets} packets before it`);
}

/** What a capture held that could not be decoded: one line per kind, with its count. */
export function reportNotes(file: string, notes: readonly CaptureNote[]): void {
  for (const n of notes) warn(`${file}: ${noteText(n)}`);
}

let brokenPipe: (() => void) | null = null;

/**
 * What to do when stdout's reader goes away (`vvmp live … | head`): a command
 * with files to finish registers its clean stop here; otherwise vvmp exits 0.
 */
export function onBrokenPipe(fn: (() => void) | null): void {
  brokenPipe = fn;
}

export function handleBrokenPipe(): void {
  const fn = brokenPipe;
  brokenPipe = null;
  if (fn) fn();
  else process.exit(0);
}
