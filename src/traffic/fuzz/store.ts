// Failure directories: <out>/fNNNN/ with case.json (what to send, how, what
// was expected), verdict.json (oracle, detail, stderr tail, minimisation)
// and exchange.pcapng (the confirming run's frames and replies).

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caseFromJson, caseToJson, type CaseJson, type FuzzCase } from './cases.js';
import type { TranscriptEvent } from './exec.js';
import type { OracleName } from './oracle.js';
import { writeExchangePcapng } from './pcap.js';

export interface VerdictJson {
  oracle: OracleName;
  detail: string;
  strategy: string;
  confirmed: boolean;
  /** Confirmed against a freshly restarted target (--spawn). */
  fresh_target: boolean;
  stderr_tail: string[];
  minimized: { frames_before: number; frames_after: number; changed_bytes_before: number; changed_bytes_after: number; runs: number } | null;
  /** Replies of the confirming run, as hex. */
  replies: string[];
  duplicates: number;
  /** The cause signature this failure is reported under (one directory per bug). */
  signature?: string;
  /** What the signature says, in words: `crash (exit code 70) on vvmp.dst_san`. */
  cause?: string;
}

/** The next free fNNNN number in `out` (never overwrites an earlier run's failures). */
export function nextFailureNumber(out: string): number {
  if (!existsSync(out)) return 1;
  let max = 0;
  for (const e of readdirSync(out)) {
    const m = /^f(\d{4,})$/.exec(e);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

export function failureId(n: number): string {
  return `f${String(n).padStart(4, '0')}`;
}

export interface SaveArgs {
  dir: string;
  c: FuzzCase;
  seed: number;
  target: string;
  timeoutMs: number;
  maxPayload: number;
  verdict: VerdictJson;
  transcript: readonly TranscriptEvent[];
  memoryThresholdMb?: number;
  transport?: string;
  spawn?: string | null;
}

export function saveFailure(a: SaveArgs): void {
  mkdirSync(a.dir, { recursive: true });
  const cj = caseToJson(a.c, {
    seed: a.seed, target: a.target, timeoutMs: a.timeoutMs, maxPayload: a.maxPayload, oracle: a.verdict.oracle,
    memoryThresholdMb: a.memoryThresholdMb, transport: a.transport, spawn: a.spawn,
  });
  writeFileSync(join(a.dir, 'case.json'), JSON.stringify(cj, null, 1) + '\n');
  writeFileSync(join(a.dir, 'verdict.json'), JSON.stringify(a.verdict, null, 1) + '\n');
  writeExchangePcapng(join(a.dir, 'exchange.pcapng'), a.transcript, a.target);
}

export interface LoadedCase {
  c: FuzzCase;
  json: CaseJson;
  verdict: VerdictJson | null;
}

/** Reads a failure directory; throws a one-line error naming what is wrong. */
export function loadCaseDir(dir: string): LoadedCase {
  const path = join(dir, 'case.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file (not a fuzz case directory?)' : (e as Error).message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  let parsed: ReturnType<typeof caseFromJson>;
  try {
    parsed = caseFromJson(raw);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message.replace(/^case\.json: /, '')}`);
  }
  let verdict: VerdictJson | null = null;
  try {
    verdict = JSON.parse(readFileSync(join(dir, 'verdict.json'), 'utf8')) as VerdictJson;
  } catch {
    verdict = null;
  }
  return { c: parsed.c, json: parsed.json, verdict };
}
