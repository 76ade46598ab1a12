// Expert findings (VVMP.md section 8): data, not log lines. Each code has one
// severity; analyzers attach findings to frames or segments and never stop.

export type Severity = 'error' | 'warning' | 'note';

/**
 * Groups as Wireshark's expert info has them (PI_CHECKSUM, PI_MALFORMED…):
 * what kind of trouble a finding is, so consumers select by group instead of
 * keeping their own lists of codes.
 */
export type ExpertGroup = 'checksum' | 'malformed' | 'protocol' | 'undecoded' | 'response' | 'sequence' | 'reassemble';
/** Who raises it: the decoder from the frame's bytes alone, the exchange/session analysis, or TCP reassembly. */
export type ExpertScope = 'frame' | 'exchange' | 'segment';

export interface ExpertDef {
  readonly severity: Severity;
  readonly group: ExpertGroup;
  readonly scope: ExpertScope;
  /** A receiver must refuse the frame (MALFORMED, BAD_CHECKSUM or UNSUPPORTED, VVMP.md section 5). */
  readonly refused: boolean;
}

function def(severity: Severity, group: ExpertGroup, scope: ExpertScope, refused = false): ExpertDef {
  return { severity, group, scope, refused };
}

/** Every expert code, declared once. */
export const EXPERT = {
  checksum_bad: def('error', 'checksum', 'frame', true),
  frame_short: def('error', 'malformed', 'frame', true),
  frame_truncated: def('error', 'malformed', 'frame', true),
  udp_trailing: def('error', 'malformed', 'frame'),
  payload_size: def('error', 'malformed', 'frame', true),
  status_error: def('error', 'response', 'frame'),
  timeout: def('error', 'sequence', 'exchange'),
  tcp_desync: def('error', 'reassemble', 'segment'),
  opcode_unknown: def('warning', 'undecoded', 'frame', true),
  subop_invalid: def('warning', 'protocol', 'frame', true),
  reserved_nonzero: def('warning', 'protocol', 'frame'),
  reply_unmatched: def('warning', 'sequence', 'exchange'),
  txid_duplicate: def('warning', 'sequence', 'exchange'),
  session_unknown: def('warning', 'sequence', 'exchange'),
  boot_teardown: def('warning', 'sequence', 'exchange'),
  tcp_gap: def('warning', 'sequence', 'segment'),
  tcp_retransmission: def('note', 'sequence', 'segment'),
  status_pending: def('note', 'response', 'frame'),
} as const satisfies Record<string, ExpertDef>;

/** Severity of each code (VVMP.md section 8). */
export const EXPERT_CODES = Object.fromEntries(
  Object.entries(EXPERT).map(([code, d]) => [code, d.severity]),
) as { readonly [C in keyof typeof EXPERT]: (typeof EXPERT)[C]['severity'] };

export type ExpertCode = keyof typeof EXPERT;

export interface Finding {
  code: ExpertCode;
  severity: Severity;
  message: string;
}

export function finding(code: ExpertCode, message: string): Finding {
  return { code, severity: EXPERT_CODES[code], message };
}

const SEVERITY_RANK: Record<Severity, number> = { note: 1, warning: 2, error: 3 };

/** 0 none, 1 note, 2 warning, 3 error: the worst finding's rank, for colouring and sorting. */
export function worstSeverity(findings: readonly Finding[]): number {
  let worst = 0;
  for (const f of findings) worst = Math.max(worst, SEVERITY_RANK[f.severity]);
  return worst;
}

export function severityRank(s: Severity): number {
  return SEVERITY_RANK[s];
}

/** The codes whose declaration satisfies `test`, as a set (e.g. every code a receiver must refuse). */
export function expertCodesWhere(test: (d: ExpertDef) => boolean): ReadonlySet<ExpertCode> {
  return new Set((Object.keys(EXPERT) as ExpertCode[]).filter((c) => test(EXPERT[c])));
}

export function isExpertCode(s: string): s is ExpertCode {
  return Object.prototype.hasOwnProperty.call(EXPERT_CODES, s);
}
