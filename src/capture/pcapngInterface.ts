// pcapng interfaces (Interface Description Block) and their timestamps: what the parser needs to
// turn an Enhanced Packet Block's 64-bit time units into seconds and nanoseconds.

/** Where tsFromUnits writes (reused: no pair allocated per packet). */
export interface Stamp {
  sec: number;
  nsec: number;
}

function u32(b: Buffer, p: number, le: boolean): number {
  return le
    ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
    : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function u16(b: Buffer, p: number, le: boolean): number {
  return le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
}

export interface Interface {
  linkType: number;
  /** 0 = no limit. */
  snaplen: number;
  tsDigits: number;
  /** Timestamp units per second, when the limb arithmetic below is exact for it (≤ 2^30); else 0. */
  unitsPerSec: number;
  /** Power-of-ten resolution ≤ 10^-9: nanoseconds per unit. 0 for other resolutions. */
  nsPerUnit: number;
  /** Power-of-two resolution: the exponent (units per second = 2^pow2). -1 for power-of-ten. */
  pow2: number;
  /** Units per second for the BigInt slow path. */
  unitsPerSecBig: bigint;
  /** if_tsoffset: seconds to add to every timestamp. */
  tsOffset: number;
}

export function readInterface(buf: Buffer, p: number, len: number, le: boolean, at: number): Interface | string {
  const linkType = u16(buf, p + 8, le);
  const snaplen = u32(buf, p + 12, le);
  let tsresol = 6;
  let tsOffset = 0;
  // Options: code u16, length u16, value padded to 4; opt_endofopt (0) ends them. A malformed
  // option list is not fatal (we keep what we understood), as in Wireshark.
  let o = p + 16;
  const stop = p + len - 4;
  while (o + 4 <= stop) {
    const code = u16(buf, o, le);
    const olen = u16(buf, o + 2, le);
    if (code === 0) break;
    const v = o + 4;
    if (v + olen > stop) break;
    if (code === 9 && olen >= 1) tsresol = buf[v];
    else if (code === 14 && olen === 8) {
      // if_tsoffset: signed 64-bit seconds
      const hi = le ? buf.readInt32LE(v + 4) : buf.readInt32BE(v);
      const lo = le ? buf.readUInt32LE(v) : buf.readUInt32BE(v + 4);
      tsOffset = hi * 4294967296 + lo;
    }
    o = v + ((olen + 3) & ~3);
  }
  const pow2 = tsresol & 0x80 ? tsresol & 0x7f : -1;
  const exp = tsresol & 0x7f;
  if ((pow2 >= 0 && exp > 63) || (pow2 < 0 && exp > 19)) {
    return `unsupported timestamp resolution (if_tsresol ${tsresol}) in interface description block at byte ${at}`;
  }
  const unitsPerSecBig = pow2 >= 0 ? 1n << BigInt(exp) : 10n ** BigInt(exp);
  const small = pow2 >= 0 ? exp <= 30 : exp <= 9;
  return {
    linkType,
    snaplen,
    tsDigits: pow2 >= 0 ? 9 : Math.min(exp, 9),
    unitsPerSec: small ? Number(unitsPerSecBig) : 0,
    nsPerUnit: pow2 < 0 && exp <= 9 ? 10 ** (9 - exp) : 0,
    pow2,
    unitsPerSecBig,
    tsOffset,
  };
}

/**
 * 64-bit timestamp units (hi:lo) → out.sec, out.nsec, exactly (nanoseconds truncated when the
 * resolution is finer than 1 ns or a power of two). Integer long division in 16-bit limbs,
 * every intermediate below 2^53; BigInt only for resolutions finer than 2^-30 s.
 */
export function tsFromUnits(hi: number, lo: number, iface: Interface, out: Stamp): void {
  const d = iface.unitsPerSec;
  let sec: number;
  let rem: number;
  if (d !== 0) {
    const qh = Math.floor(hi / d);
    const rh = hi - qh * d;
    const t1 = rh * 65536 + (lo >>> 16);
    let q1 = Math.floor(t1 / d);
    let r1 = t1 - q1 * d;
    if (r1 < 0) { q1--; r1 += d; } else if (r1 >= d) { q1++; r1 -= d; }
    const t2 = r1 * 65536 + (lo & 0xffff);
    let q2 = Math.floor(t2 / d);
    let r2 = t2 - q2 * d;
    if (r2 < 0) { q2--; r2 += d; } else if (r2 >= d) { q2++; r2 -= d; }
    sec = qh * 4294967296 + q1 * 65536 + q2;
    rem = r2;
    if (iface.nsPerUnit !== 0) {
      out.nsec = rem * iface.nsPerUnit;
    } else {
      // 2^-e resolution, e ≤ 30: floor(rem · 10^9 / 2^e) = floor(rem · 1953125 · 2^(9-e)), exact.
      out.nsec = Math.floor(rem * 1953125 * 2 ** (9 - iface.pow2));
    }
  } else {
    const units = (BigInt(hi) << 32n) | BigInt(lo);
    const per = iface.unitsPerSecBig;
    sec = Number(units / per);
    out.nsec = Number(((units % per) * 1000000000n) / per);
  }
  out.sec = sec + iface.tsOffset;
}
