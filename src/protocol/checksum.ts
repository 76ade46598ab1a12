// The 8-bit two's-complement checksum of VVMP.md section 2.

/** Sum of bytes [start, end) modulo 256. */
export function byteSum(buf: Uint8Array, start = 0, end = buf.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += buf[i]!;
  return sum & 0xff;
}

/** The checksum byte that makes the frame's bytes sum to 0, treating byte 31 as 0. */
export function computeChecksum(frame: Uint8Array): number {
  const sum = (byteSum(frame) - (frame.length > 31 ? frame[31]! : 0)) & 0xff;
  return (256 - sum) & 0xff;
}

/** Writes the correct checksum into byte 31 of a whole frame. */
export function fixChecksum(frame: Uint8Array): void {
  frame[31] = computeChecksum(frame);
}
