// IPv6: header checks, extension headers, fragment reassembly.

import { Reassembler, type FragmentDrop } from './fragments.js';
import { IP_HELD, IP_OK, cutBytes, undecoded, type IpOut, type IpResult } from './ip.js';

export const IPV6_MAX_DATAGRAM = 65535;

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AH = 51;
const DEST_OPTS = 60;
const MOBILITY = 135;
const HIP = 139;
const SHIM6 = 140;

export class Ipv6 {
  readonly frags: Reassembler;

  constructor(maxPendingDatagrams: number, onDrop: (why: FragmentDrop, packets: number) => void) {
    this.frags = new Reassembler(maxPendingDatagrams, IPV6_MAX_DATAGRAM, onDrop);
  }

  /** As Ipv4.decode, for the IPv6 header at `o` of `d`. */
  decode(d: Buffer, len: number, snapCut: number, o: number, out: IpOut): IpResult {
    if (len - o < 40) return undecoded(out, 'IPv6 header truncated');
    if (d[o]! >> 4 !== 6) return undecoded(out, 'IPv6 bad version');
    const plen = (d[o + 4]! << 8) | d[o + 5]!;
    const start = o + 40;
    let end: number;
    let missing = 0;
    if (plen === 0) {
      end = len; // jumbogram or segmentation offload
    } else if (start + plen <= len) {
      end = start + plen;
    } else {
      end = len;
      missing = cutBytes(start + plen, len, snapCut);
    }
    return this.walk(d, o + 8, d[o + 6]!, start, end, missing, out, false);
  }

  /** Skips extension headers from `at` (next header `nh`) up to the transport header. */
  private walk(
    d: Buffer, addrAt: number, nh: number, at: number, end: number, missing: number,
    out: IpOut, reassembled: boolean,
  ): IpResult {
    for (;;) {
      switch (nh) {
        case HOP_BY_HOP:
        case ROUTING:
        case DEST_OPTS:
        case MOBILITY:
        case HIP:
        case SHIM6: {
          if (end - at < 8) return undecoded(out, 'IPv6 extension header truncated');
          const next = d[at]!;
          at += (d[at + 1]! + 1) * 8;
          nh = next;
          break;
        }
        case AH: {
          if (end - at < 8) return undecoded(out, 'IPv6 extension header truncated');
          const next = d[at]!;
          at += (d[at + 1]! + 2) * 4;
          nh = next;
          break;
        }
        case FRAGMENT: {
          if (end - at < 8) return undecoded(out, 'IPv6 extension header truncated');
          const next = d[at]!;
          const field = (d[at + 2]! << 8) | d[at + 3]!;
          const off = field & 0xfff8;
          const more = (field & 1) !== 0;
          if (off === 0 && !more) {
            at += 8; // atomic fragment
            nh = next;
            break;
          }
          if (reassembled) return undecoded(out, 'IPv6 nested fragment');
          const key = d.toString('latin1', addrAt, addrAt + 32) + d.toString('latin1', at + 4, at + 8);
          const whole = this.frags.add(key, d, addrAt, 16, d, at + 8, end, off, more, next);
          if (!whole) return IP_HELD;
          d = whole;
          addrAt = 0;
          at = 32;
          end = whole.length;
          missing = 0;
          nh = this.frags.proto;
          reassembled = true;
          break;
        }
        default:
          if (at > end) return undecoded(out, 'IPv6 extension header truncated');
          out.buf = d;
          out.addrAt = addrAt;
          out.addrLen = 16;
          out.start = at;
          out.end = end;
          out.missing = missing;
          out.proto = nh;
          return IP_OK;
      }
      if (at > end) return undecoded(out, 'IPv6 extension header truncated');
    }
  }
}
