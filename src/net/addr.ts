// Address text: dotted IPv4, RFC 5952 IPv6.

/** Dotted-quad text of the 4 bytes at `at`. */
export function ipv4Text(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * RFC 5952 text of the 16 bytes at `at`: lower-case hex, no leading zeros,
 * the longest run (the first on a tie) of two or more zero groups as `::`,
 * and IPv4-mapped addresses (::ffff:0:0/96) in mixed notation (section 5).
 */
export function ipv6Text(b: Uint8Array, at: number): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4Text(b, at + 12)}`;
  }
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((v) => v.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** Address text of `len` (4 or 16) bytes at `at`. */
export function ipText(b: Uint8Array, at: number, len: number): string {
  return len === 4 ? ipv4Text(b, at) : ipv6Text(b, at);
}
