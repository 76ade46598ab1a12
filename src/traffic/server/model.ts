// The server's vocabulary: statuses and flags by name (values from the field
// table), the session and request shapes every piece of the manager shares.

import type { DecodedFrame } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import { ALLOC_FLAG_BITS, DEFAULT_TIMEOUT_MS, STATUS_BY_NAME, flagMask } from '../../protocol/fields.js';
import type { PeerConfig } from '../config.js';

function st(name: string): number {
  const v = STATUS_BY_NAME.get(name);
  if (v === undefined) throw new Error(`status ${name} missing from the field table`);
  return v;
}
export const OK = st('OK');
export const PENDING = st('PENDING');
export const NO_CAPACITY = st('NO_CAPACITY');
export const NO_MATCH = st('NO_MATCH');
export const UNKNOWN_SESSION = st('UNKNOWN_SESSION');
export const DENIED = st('DENIED');
export const CONFLICT = st('CONFLICT');
export const MALFORMED = st('MALFORMED');
export const BAD_CHECKSUM = st('BAD_CHECKSUM');
export const UNSUPPORTED = st('UNSUPPORTED');
export const TIMEOUT = st('TIMEOUT');
/** Extension (spec/SERVER.md): the whole answer does not fit this exchange; ask over TCP. */
export const TOO_LARGE = st('TOO_LARGE');

// Allocate flag bits, from the field table's names (VVMP.md section 6.1).
export const FLAG_EXCLUSIVE = flagMask(ALLOC_FLAG_BITS, 'EXCLUSIVE');
export const FLAG_MIRROR = flagMask(ALLOC_FLAG_BITS, 'MIRROR');
export const FLAG_BACKUP = flagMask(ALLOC_FLAG_BITS, 'BACKUP');
export const FLAG_WAIT = flagMask(ALLOC_FLAG_BITS, 'WAIT');

export const SUBOP_LOCAL = 0x01;
export const SUBOP_EXPAND = 0x02;
export const SUBOP_ANYWHERE = 0xff;
export const ALL_SANS = 0xffffff;

/** storage_type / access_type "any". */
export const ANY = 0xff;
export { DEFAULT_TIMEOUT_MS };
export const MAX_QOS = 4;

/** Initialize limits and defaults (bytes). */
export const INIT_RULES = {
  stripe_size: { min: 512, max: 16 * 1024 * 1024, dflt: 64 * 1024 },
  cache_line_size: { min: 16, max: 1024 * 1024, dflt: 4096 },
  block_size: { min: 512, max: 1024 * 1024, dflt: 4096 },
} as const;

export type SessionState = 'ALLOCATED' | 'ACTIVE';

export interface InitParams {
  stripe_size: number;
  cache_line_size: number;
  block_size: number;
  include_device_id: number;
  exclude_device_id: number;
}

export interface RemoteRef {
  san_id: number;
  server_id: bigint;
  session_id: number;
}

export interface Session {
  session_id: number;
  client_id: bigint;
  /** 0 for a proxy session. */
  device_id: number;
  storage_type: number;
  access_type: number;
  capacity_kb: number;
  bandwidth_kb: number;
  qos: number;
  flags: number;
  exclusive: boolean;
  /** Allocated with 0x02 or 0xFF: Modify may grow it. */
  expandable: boolean;
  state: SessionState;
  /** Wall-clock ms of the grant. */
  created_ms: number;
  /** Wall-clock ms of the first Initialize (the data path starts). */
  activated_ms: number | null;
  init: InitParams | null;
  /** A grant relayed from a peer SAN: operations are forwarded there. */
  remote: RemoteRef | null;
  /**
   * Network address the session was allocated from; with client_id its owner
   * (another source naming it gets UNKNOWN_SESSION). null: not known (a
   * manager driven without sockets), owned by the client id alone.
   */
  source: string | null;
}

/** An Allocate (or Modify) request's block, typed. */
export interface AllocReq {
  storage_type: number;
  access_type: number;
  capacity_kb: number;
  bandwidth_kb: number;
  qos: number;
  flags: number;
  timeout_ms: number;
}

export interface ManagerCounters {
  requests: number;
  replies: number;
  pushed: number;
  forwards: number;
  announces: number;
  ignored: number;
  byStatus: Map<number, number>;
}

/**
 * Sends a request to a peer manager and resolves with its reply, or null when
 * it did not answer within timeoutMs (refused and reset count as no answer).
 */
export type AskPeer = (peer: PeerConfig, spec: FrameSpec, timeoutMs: number) => Promise<DecodedFrame | null>;

/** Why a request or Announce was refused, for the log (one structured line each). */
export interface Refusal {
  reason: string;
  source: string | null;
  client_id?: bigint;
  detail?: string;
}

export const hex = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
