// Per-session statistics (Statistics 0x0006). The data path starts at
// Initialize: bytes move at half the session bandwidth, 60 % read / 40 %
// written, io_ops = bytes / block size, io_errors one per 10^7 ops —
// deterministic functions of time, so that tests and captures can check them.

import type { StatsRecord } from '../../protocol/access.js';
import { INIT_RULES, type Session } from './model.js';

/** The Statistics block of a local session at wall-clock `now` (ms). */
export function statsBlock(s: Session, now: number): StatsRecord {
  const active = s.activated_ms === null ? 0 : Math.max(0, now - s.activated_ms);
  const bw = s.bandwidth_kb > 0 ? s.bandwidth_kb : 1024;
  // Half the bandwidth on average: bw KB/s = bw × 1.024 bytes per ms.
  const total = Math.floor((active * bw * 1024) / 2000);
  const read = Math.floor((total * 3) / 5);
  const ops = Math.floor(total / (s.init?.block_size || INIT_RULES.block_size.dflt));
  return {
    session_id: s.session_id, reserved: 0, age_ms: Math.min(0xffffffff, Math.max(0, Math.floor(now - s.created_ms))),
    bytes_read: BigInt(read), bytes_written: BigInt(total - read), io_ops: ops % 0x100000000, io_errors: Math.floor(ops / 10_000_000) % 0x100000000,
  };
}
