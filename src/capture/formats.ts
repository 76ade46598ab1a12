// The capture file formats' constants and small readers, shared by the push parser (parser.ts):
// magic numbers, pcapng block types, byte-order-aware integer reads, block names for messages.

export const PCAP_US = 0xa1b2c3d4;
export const PCAP_US_SWAPPED = 0xd4c3b2a1;
export const PCAP_NS = 0xa1b23c4d;
export const PCAP_NS_SWAPPED = 0x4d3cb2a1;
export const PCAPNG_SHB = 0x0a0d0d0a;
export const BOM = 0x1a2b3c4d;
export const BOM_SWAPPED = 0x4d3c2b1a;

export const BT_IDB = 1;
export const BT_PB = 2; // obsolete Packet Block
export const BT_SPB = 3;
export const BT_EPB = 6;

/**
 * Where a packet record's data starts, counted from the record's first byte:
 * pcap's 16-byte record header; for pcapng, by block type (simple packet
 * block 12, enhanced and obsolete packet blocks 28), read from the block's
 * first 4 bytes `head` in either byte order (packet block types fit a byte).
 */
export function packetDataOffset(format: 'pcap' | 'pcapng', head: Buffer): number {
  if (format === 'pcap') return 16;
  const type = Math.max(u32(head, 0, true) & 0xff, u32(head, 0, false) & 0xff);
  return type === BT_SPB ? 12 : 28;
}

export function u32(b: Buffer, p: number, le: boolean): number {
  return le
    ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
    : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

export function u16(b: Buffer, p: number, le: boolean): number {
  return le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
}

export function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

export function blockName(type: number): string {
  switch (type) {
    case PCAPNG_SHB: return 'section header block';
    case BT_IDB: return 'interface description block';
    case BT_PB: return 'packet block';
    case BT_SPB: return 'simple packet block';
    case 4: return 'name resolution block';
    case 5: return 'interface statistics block';
    case BT_EPB: return 'enhanced packet block';
    case 0x0a: return 'decryption secrets block';
    default: return `block of type ${hex32(type)}`;
  }
}

/** Rounds up to a multiple of 4 (arithmetic, not bitwise: lengths are unsigned 32-bit). */
export function roundUp4(n: number): number {
  const r = n % 4;
  return r === 0 ? n : n + 4 - r;
}

export function minBlockLength(type: number): number {
  switch (type) {
    case PCAPNG_SHB: return 28;
    case BT_IDB: return 20;
    case BT_PB:
    case BT_EPB: return 32;
    case BT_SPB: return 16;
    default: return 12;
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
