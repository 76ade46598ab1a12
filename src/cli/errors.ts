// Exit codes of OUTPUT.md and the errors that map to them.

export const EXIT_OK = 0;
export const EXIT_INPUT = 1;
export const EXIT_USAGE = 2;
/** replay: a reply differed or was missing; fuzz: failures found. */
export const EXIT_FINDINGS = 3;

/** Bad command-line usage (exit 2). */
export class UsageError extends Error {}

/** Something the user named could not be used (exit 1), with a one-line message. */
export class InputError extends Error {}

export function parseIntStrict(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? parseInt(text, 10) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`${what}: "${text}" is not a number from ${min} to ${max}`);
  return v;
}
