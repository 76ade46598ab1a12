// Link layers: where the network-layer header starts and whether it is IPv4 or IPv6.

/** Results of decodeLink (the network-layer offset is left in `out.offset`). */
export const NET_IPV4 = 4;
export const NET_IPV6 = 6;
/** A supported link type carrying something other than IP. */
export const NET_OTHER = 0;
/** A link type this decoder does not know. */
export const NET_UNSUPPORTED = -1;
/** The link header is cut off. */
export const NET_SHORT = -2;

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

export interface LinkOut {
  offset: number;
}

function ethertypeNet(type: number): number {
  return type === ETHERTYPE_IPV4 ? NET_IPV4 : type === ETHERTYPE_IPV6 ? NET_IPV6 : NET_OTHER;
}

function isVlanTpid(type: number): boolean {
  // 802.1Q, 802.1ad, and the pre-standard QinQ TPIDs.
  return type === 0x8100 || type === 0x88a8 || type === 0x9100 || type === 0x9200;
}

/** Ethertype at `at`, then any stacked VLAN tags up to `end`; the payload offset goes to `out`. */
function ethertypeAt(d: Uint8Array, at: number, payload: number, end: number, out: LinkOut): number {
  let type = (d[at]! << 8) | d[at + 1]!;
  let o = payload;
  while (isVlanTpid(type)) {
    if (end - o < 4) return NET_SHORT;
    type = (d[o + 2]! << 8) | d[o + 3]!;
    o += 4;
  }
  if (type <= 1500) {
    // 802.3 length field: only LLC/SNAP with an ethertype can carry IP here.
    if (end - o < 8) return NET_OTHER;
    if (d[o] !== 0xaa || d[o + 1] !== 0xaa || d[o + 2] !== 0x03) return NET_OTHER;
    type = (d[o + 6]! << 8) | d[o + 7]!;
    o += 8;
  }
  out.offset = o;
  return ethertypeNet(type);
}

/** BSD address family values of IPv4 and IPv6 (AF_INET6 differs by OS: 24, 28, 30). */
function afNet(af: number): number {
  if (af === 2) return NET_IPV4;
  if (af === 24 || af === 28 || af === 30) return NET_IPV6;
  return NET_OTHER;
}

function versionNet(d: Uint8Array, at: number): number {
  const v = d[at]! >> 4;
  return v === 4 ? NET_IPV4 : v === 6 ? NET_IPV6 : NET_OTHER;
}

/**
 * Decodes the link header of a packet of link type `linkType` whose bytes
 * are d[s, e) (a range of the reader's chunk). Returns one of NET_IPV4,
 * NET_IPV6 (offset of the IP header in d in `out.offset`), NET_OTHER,
 * NET_UNSUPPORTED or NET_SHORT. Reads bytes only; never throws.
 */
export function decodeLink(linkType: number, d: Uint8Array, s: number, e: number, out: LinkOut): number {
  const len = e - s;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (len < 14) return NET_SHORT;
      return ethertypeAt(d, s + 12, s + 14, e, out);
    case LINKTYPE_LINUX_SLL:
      if (len < 16) return NET_SHORT;
      return ethertypeAt(d, s + 14, s + 16, e, out);
    case LINKTYPE_LINUX_SLL2:
      if (len < 20) return NET_SHORT;
      return ethertypeAt(d, s, s + 20, e, out);
    case LINKTYPE_NULL: {
      if (len < 4) return NET_SHORT;
      // Host byte order of the capturing machine: either endianness.
      const le = (d[s]! | (d[s + 1]! << 8) | (d[s + 2]! << 16) | (d[s + 3]! << 24)) >>> 0;
      const be = ((d[s]! << 24) | (d[s + 1]! << 16) | (d[s + 2]! << 8) | d[s + 3]!) >>> 0;
      out.offset = s + 4;
      return afNet(le <= 0xffff ? le : be);
    }
    case LINKTYPE_LOOP: {
      if (len < 4) return NET_SHORT;
      out.offset = s + 4;
      return afNet(((d[s]! << 24) | (d[s + 1]! << 16) | (d[s + 2]! << 8) | d[s + 3]!) >>> 0);
    }
    case LINKTYPE_RAW:
    case 12:
    case 14:
      if (len < 1) return NET_SHORT;
      out.offset = s;
      return versionNet(d, s);
    case LINKTYPE_IPV4:
      out.offset = s;
      return NET_IPV4;
    case LINKTYPE_IPV6:
      out.offset = s;
      return NET_IPV6;
    default:
      return NET_UNSUPPORTED;
  }
}
