// Small value helpers of the records: times, ids, the shard hash.

import { hexId } from '../../protocol/codec.js';

/** Integer nanoseconds since the epoch (exceeds 2^53: a bigint). */
export function epochNs(sec: number, nsec: number): bigint {
  return BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}

let isoSec = NaN;
let isoHead = '';

/** ISO-8601 UTC with the capture's sub-second digits: `2024-05-01T12:00:00.123456Z`. */
export function isoTime(sec: number, nsec: number, digits: number): string {
  if (sec !== isoSec) {
    isoSec = sec;
    isoHead = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  if (digits <= 0) return `${isoHead}Z`;
  return `${isoHead}.${String(nsec).padStart(9, '0').slice(0, Math.min(9, digits))}Z`;
}

export function idText(v: bigint | null): string | null {
  return v === null ? null : hexId(v);
}

/**
 * FNV-1a 64 (top bit cleared) of a string's UTF-16 code units (all ASCII here), as an unsigned
 * bigint: the `shard_key` column. Computed in four 16-bit limbs (no bigint
 * arithmetic per character); ClickHouse shards on the column value itself, so
 * any node and any client agree on where a row belongs.
 */
export function shardHash(text: string): bigint {
  // offset basis 0xcbf29ce484222325
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i) & 0xff;
    // × 0x100000001b3: the low part 0x1b3 and 1 << 40 (limb 2, shifted by 8).
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + (h0 << 8);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  // 63 bits: a signed 64-bit column anywhere (Parquet INT64, DuckDB BIGINT, OpenSearch long) holds it too.
  return (BigInt(h3 & 0x7fff) << 48n) | (BigInt(h2) << 32n) | (BigInt(h1) << 16n) | BigInt(h0);
}
