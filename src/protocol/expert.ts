// Expert findings (VVMP.md section 8): data, not log lines. Each code has one
// severity; analyzers attach findings to frames or segments and never stop.

export type Severity = 'error' | 'warning' | 'note';

export const EXPERT_CODES = {
  checksum_bad: 'error',
  frame_short: 'error',
  frame_truncated: 'error',
  udp_trailing: 'error',
  payload_size: 'error',
  status_error: 'error',
  timeout: 'error',
  tcp_desync: 'error',
  opcode_unknown: 'warning',
  subop_invalid: 'warning',
  reserved_nonzero: 'warning',
  reply_unmatched: 'warning',
  txid_duplicate: 'warning',
  session_unknown: 'warning',
  boot_teardown: 'warning',
  tcp_gap: 'warning',
  tcp_retransmission: 'note',
  status_pending: 'note',
} as const satisfies Record<string, Severity>;

export type ExpertCode = keyof typeof EXPERT_CODES;

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

export function isExpertCode(s: string): s is ExpertCode {
  return Object.prototype.hasOwnProperty.call(EXPERT_CODES, s);
}
