// IPv4: header checks, trimming to the total length, fragment reassembly.

import { Reassembler, type FragmentDrop } from './fragments.js';
import { IP_HELD, IP_OK, cutBytes, undecoded, type IpOut, type IpResult } from './ip.js';

/** Largest IPv4 datagram payload a reassembled datagram may have. */
export const IPV4_MAX_DATAGRAM = 65535;

export class Ipv4 {
  readonly frags: Reassembler;

  constructor(maxPendingDatagrams: number, onDrop: (why: FragmentDrop, packets: number) => void) {
    this.frags = new Reassembler(maxPendingDatagrams, IPV4_MAX_DATAGRAM, onDrop);
  }

  /**
   * Decodes the IPv4 header at `o` of `d`, a packet whose captured bytes end
   * at `len` (`snapCut` more were on the wire). Returns IP_OK with `out`
   * filled, IP_HELD for a stored fragment, or IP_UNDECODED with `out.reason`.
   */
  decode(d: Buffer, len: number, snapCut: number, o: number, out: IpOut): IpResult {
    if (len - o < 20) return undecoded(out, 'IPv4 header truncated');
    const vihl = d[o]!;
    if (vihl >> 4 !== 4) return undecoded(out, 'IPv4 bad version');
    const hl = (vihl & 15) * 4;
    if (hl < 20) return undecoded(out, 'IPv4 bad header length');
    if (len - o < hl) return undecoded(out, 'IPv4 header truncated');
    const total = (d[o + 2]! << 8) | d[o + 3]!;
    let end: number;
    let missing = 0;
    if (total === 0) {
      end = len; // TCP segmentation offload: the length was never filled in
    } else if (total < hl) {
      return undecoded(out, 'IPv4 bad total length');
    } else if (o + total <= len) {
      end = o + total; // drops link-layer padding
    } else {
      end = len; // cut by the snaplen (or a bad length): hand on what was captured
      missing = cutBytes(o + total, len, snapCut);
    }
    const proto = d[o + 9]!;
    const frag = (d[o + 6]! << 8) | d[o + 7]!;
    const more = (frag & 0x2000) !== 0;
    const off = (frag & 0x1fff) * 8;
    if (!more && off === 0) {
      out.buf = d;
      out.addrAt = o + 12;
      out.addrLen = 4;
      out.start = o + hl;
      out.end = end;
      out.missing = missing;
      out.proto = proto;
      return IP_OK;
    }
    const id = (d[o + 4]! << 8) | d[o + 5]!;
    const key = d.toString('latin1', o + 12, o + 20) + String.fromCharCode(id, proto);
    const whole = this.frags.add(key, d, o + 12, 4, d, o + hl, end, off, more, proto);
    if (!whole) return IP_HELD;
    out.buf = whole;
    out.addrAt = 0;
    out.addrLen = 4;
    out.start = 8;
    out.end = whole.length;
    out.missing = 0;
    out.proto = this.frags.proto;
    return IP_OK;
  }
}
