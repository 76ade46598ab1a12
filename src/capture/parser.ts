// One incremental push parser for classic pcap and pcapng.
//
// Feed it chunks as they come (a file read in pieces, a `tcpdump -w -` pipe); it keeps the
// unfinished tail of one chunk and emits whole records. Like node-postgres' pg-protocol parser:
//   - a record lying inside one chunk is emitted as a view (subarray) into that chunk: no copy;
//   - only a record that spans chunks is assembled, in a reusable accumulator buffer.
// Either way `Packet.data` is valid only during the callback, and the Packet object itself is
// one slot refilled for every packet (see packet.ts for who copies what).
//
// Errors: the first 4 bytes decide the format. No recognised magic (or fewer than 4 bytes at
// end()) throws CaptureError: it is not a capture. Once the magic is recognised the input IS a
// capture, and any later problem (cut short, broken block length, impossible packet length, ...)
// only stops the reading: `damage` says what and where (byte offset), and every packet before it
// has been delivered. Nothing after the damage is delivered.
//
// What is read but not decoded as it stands is counted in `notes()` (notes.ts): a bogus pcap
// version, packets longer than their interface's snaplen, and records larger than MAX_RECORD,
// which are skipped without ever being held in memory (memory stays flat whatever the file says).

import { CaptureError } from './errors.js';
import { PacketSlot, type Packet } from './packet.js';
import { readInterface, tsFromUnits, type Interface } from './pcapngInterface.js';
import { MAX_RECORD, type CaptureNote } from './notes.js';
import {
  BOM, BOM_SWAPPED, BT_EPB, BT_IDB, BT_PB, BT_SPB, PCAPNG_SHB, PCAP_NS, PCAP_NS_SWAPPED, PCAP_US, PCAP_US_SWAPPED,
  blockName, hex32, minBlockLength, plural, roundUp4, u16, u32,
} from './formats.js';

/** Largest captured length we believe (Wireshark's and libpcap's largest maximum). */
export const MAX_CAPLEN = 256 * 1024 * 1024;
/** Largest pcapng block we believe: a maximal packet plus generous room for options. */
const MAX_BLOCK = MAX_CAPLEN + 1024 * 1024;

/** A pcapng block larger than this is skipped unread (a MAX_RECORD packet plus room for options). */
const MAX_RECORD_BLOCK = MAX_RECORD + 65536;

/** An accumulator larger than this is dropped once its record is done. */
const ACC_KEEP = 8 * 1024 * 1024;

// Parser states.
const S_MAGIC = 0;
const S_PCAP_HEADER = 1;
const S_PCAP_RECORD = 2;
const S_PCAPNG_BLOCK = 3;
/** Discarding the rest of an oversized record (skipLeft bytes), then back to afterSkip. */
const S_SKIP = 4;

export class CaptureParser {
  /** Detected format; null until the first 4 bytes arrived. */
  format: 'pcap' | 'pcapng' | null = null;
  /** Packets delivered so far. */
  packets = 0;
  /** Why reading stopped early (one line, with the byte offset), or null. */
  damage: string | null = null;

  private state = S_MAGIC;
  private done = false;
  private failure: CaptureError | null = null;
  /** Byte order of the pcap file or of the current pcapng section. */
  private le = true;

  // classic pcap
  private pcapNano = false;
  private pcapLinkType = 0;

  // pcapng
  private ifaces: Interface[] = [];
  private sections = 0;
  private lastSec = 0;
  private lastNsec = 0;
  private lastDigits = 6;
  /** The one Packet handed to `onPacket`, refilled for every packet (see packet.ts: keepers copy). */
  private readonly slot = new PacketSlot();
  /** Scratch result of tsFromUnits (avoids allocating a pair per packet). */
  private readonly t = { sec: 0, nsec: 0 };

  /** Accumulator for a unit (header, record, block) spanning chunks: acc[0..accLen). */
  private acc: Buffer = Buffer.allocUnsafe(0);
  private accLen = 0;
  /** Bytes the unit at the current position needs in total (valid when incomplete). */
  private need = 0;
  /** Stream offset of the first byte not yet consumed (= of acc[0] when accLen > 0). */
  private offset = 0;
  /** Total bytes pushed. */
  private received = 0;

  // What was read but not decoded as it stands (notes()).
  private pcapVersion: string | null = null;
  private oversizePackets = 0;
  private oversizePacketBytes = 0;
  private oversizeBlocks = 0;
  private oversizeBlockBytes = 0;
  private overSnaplen = 0;
  private skipLeft = 0;
  private afterSkip = S_PCAP_RECORD;

  constructor(
    private readonly onPacket: (p: Packet) => void,
    private readonly source = '<stream>',
  ) {}

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.done) return;
    const len = chunk.length;
    if (len === 0) return;
    this.received += len;
    let pos = 0;

    // Finish the unit that began in an earlier chunk, copying only the bytes it still needs.
    while (this.accLen > 0) {
      const want = this.need - this.accLen;
      const take = Math.min(want, len - pos);
      this.ensureAcc(this.accLen + take);
      chunk.copy(this.acc, this.accLen, pos, pos + take);
      this.accLen += take;
      pos += take;
      if (take < want) return; // chunk used up, unit still incomplete
      const used = this.parseUnits(this.acc, 0, this.accLen, this.offset);
      if (this.done) return;
      if (used > 0) {
        if (used < this.accLen) this.acc.copyWithin(0, used, this.accLen);
        this.accLen -= used;
        this.offset += used;
      } else if (this.need <= this.accLen) {
        // Cannot happen: an incomplete unit always needs more than it has.
        this.setDamage(`internal parser error at byte ${this.offset}`);
        return;
      }
    }

    // Do not hold on to a huge accumulator after a huge record.
    if (this.acc.length > ACC_KEEP) this.acc = Buffer.allocUnsafe(0);

    // The common case: parse in place, records are views into `chunk`.
    const base = this.offset - pos;
    const used = this.parseUnits(chunk, pos, len, base);
    if (this.done) return;
    const rest = len - used;
    this.offset = base + used;
    if (rest > 0) {
      this.ensureAcc(rest);
      chunk.copy(this.acc, 0, used, len);
      this.accLen = rest;
    }
  }

  /** No more input. Throws CaptureError if this never looked like a capture. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.done) return;
    this.done = true;
    if (this.state === S_MAGIC) {
      const n = this.received;
      this.failure = new CaptureError(
        this.source,
        n === 0 ? 'empty file, not a capture' : `not a capture file (only ${plural(n, 'byte')})`,
      );
      throw this.failure;
    }
    if (this.accLen > 0) this.damage = this.cutMessage();
    else if (this.state === S_SKIP && this.skipLeft > 0) {
      this.damage = `cut off in an oversized record being skipped at byte ${this.offset} (${this.skipLeft} bytes missing)`;
    }
    this.acc = Buffer.allocUnsafe(0);
  }

  /** What could not be decoded as it stands, one entry per kind (empty for a clean capture). */
  notes(): CaptureNote[] {
    const out: CaptureNote[] = [];
    if (this.pcapVersion !== null) out.push({ kind: 'pcap_version', detail: this.pcapVersion, count: this.packets, bytes: 0 });
    if (this.oversizePackets) {
      out.push({ kind: 'oversize_packet', detail: String(MAX_RECORD), count: this.oversizePackets, bytes: this.oversizePacketBytes });
    }
    if (this.oversizeBlocks) {
      out.push({ kind: 'oversize_block', detail: String(MAX_RECORD_BLOCK), count: this.oversizeBlocks, bytes: this.oversizeBlockBytes });
    }
    if (this.overSnaplen) out.push({ kind: 'over_snaplen', detail: '', count: this.overSnaplen, bytes: 0 });
    return out;
  }

  /**
   * Consumes a record of `total` bytes at p without keeping it; when it runs past `end` the
   * rest is discarded as it arrives (S_SKIP). Returns the position after what was consumed.
   */
  private skip(p: number, end: number, total: number, then: number): number {
    if (end - p >= total) return p + total;
    this.skipLeft = total - (end - p);
    this.afterSkip = then;
    this.state = S_SKIP;
    return end;
  }

  private ensureAcc(size: number): void {
    if (size <= this.acc.length) return;
    const next = Buffer.allocUnsafe(Math.max(size, this.acc.length * 2, 65536));
    this.acc.copy(next, 0, 0, this.accLen);
    this.acc = next;
  }

  private setDamage(reason: string): void {
    this.damage = reason;
    this.done = true;
    this.accLen = 0;
  }

  /**
   * Parse whole units in buf[pos..end); `base` is the stream offset of buf[0].
   * Returns the position after the last whole unit. On an incomplete unit sets `need`;
   * on damage sets `done`.
   */
  private parseUnits(buf: Buffer, pos: number, end: number, base: number): number {
    let p = pos;
    for (;;) {
      const avail = end - p;
      switch (this.state) {
        case S_PCAP_RECORD: {
          // Hot loop: classic pcap records.
          const le = this.le;
          const nano = this.pcapNano;
          const linkType = this.pcapLinkType;
          const tsDigits = nano ? 9 : 6;
          const onPacket = this.onPacket;
          for (;;) {
            const left = end - p;
            if (left < 16) {
              this.need = 16;
              return p;
            }
            const caplen = u32(buf, p + 8, le);
            if (caplen > MAX_CAPLEN) {
              this.setDamage(
                `impossible captured length ${caplen} in packet ${this.packets + 1} at byte ${base + p} ` +
                  `(maximum ${MAX_CAPLEN})`,
              );
              return p;
            }
            const total = 16 + caplen;
            if (caplen > MAX_RECORD) {
              this.oversizePackets++;
              this.oversizePacketBytes += caplen;
              if (left < total) return this.skip(p, end, total, S_PCAP_RECORD);
              p += total;
              continue;
            }
            if (left < total) {
              this.need = total;
              return p;
            }
            let sec = u32(buf, p, le);
            let frac = u32(buf, p + 4, le);
            let nsec: number;
            if (nano) {
              if (frac >= 1e9) {
                sec += Math.floor(frac / 1e9);
                frac %= 1e9;
              }
              nsec = frac;
            } else {
              if (frac >= 1e6) {
                sec += Math.floor(frac / 1e6);
                frac %= 1e6;
              }
              nsec = frac * 1000;
            }
            const pkt = this.slot;
            pkt.index = ++this.packets;
            pkt.tsSec = sec;
            pkt.tsNsec = nsec;
            pkt.tsDigits = tsDigits;
            pkt.linkType = linkType;
            pkt.fill(buf, p + 16, p + total);
            pkt.origLen = u32(buf, p + 12, le);
            pkt.interfaceId = 0;
            pkt.fileOffset = base + p;
            p += total;
            onPacket(pkt);
          }
        }

        case S_PCAPNG_BLOCK: {
          const q = this.parseBlock(buf, p, end, base);
          if (q === p) return p; // incomplete or damaged
          p = q;
          break;
        }

        case S_SKIP: {
          const take = Math.min(this.skipLeft, avail);
          this.skipLeft -= take;
          p += take;
          if (this.skipLeft > 0) return p;
          this.state = this.afterSkip;
          break;
        }

        case S_MAGIC: {
          if (avail < 4) {
            this.need = 4;
            return p;
          }
          const magic = buf.readUInt32BE(p);
          if (magic === PCAPNG_SHB) {
            this.format = 'pcapng';
            this.state = S_PCAPNG_BLOCK;
          } else if (magic === PCAP_US || magic === PCAP_NS) {
            this.format = 'pcap';
            this.le = false;
            this.pcapNano = magic === PCAP_NS;
            this.state = S_PCAP_HEADER;
          } else if (magic === PCAP_US_SWAPPED || magic === PCAP_NS_SWAPPED) {
            this.format = 'pcap';
            this.le = true;
            this.pcapNano = magic === PCAP_NS_SWAPPED;
            this.state = S_PCAP_HEADER;
          } else {
            this.done = true;
            this.failure = new CaptureError(this.source, `not a capture file (unknown magic ${hex32(magic)})`);
            throw this.failure;
          }
          break;
        }

        case S_PCAP_HEADER: {
          if (avail < 24) {
            this.need = 24;
            return p;
          }
          // thiszone, sigfigs, snaplen (p+16): not needed to read records. The version is: a file
          // that says it is not 2.x is read as 2.4 and said so (notes()).
          const major = u16(buf, p + 4, this.le);
          const minor = u16(buf, p + 6, this.le);
          if (major !== 2) this.pcapVersion = `${major}.${minor}`;
          // Link type: the low 16 bits (libpcap's LT_LINKTYPE); the upper bits carry the FCS
          // length and flags, and are set in real files (tcpdump's own test captures).
          this.pcapLinkType = u32(buf, p + 20, this.le) & 0xffff;
          this.state = S_PCAP_RECORD;
          p += 24;
          break;
        }

        default:
          this.setDamage(`internal parser error at byte ${base + p}`);
          return p;
      }
    }
  }

  /** Parse one pcapng block at p; returns p + block length, or p when incomplete or damaged. */
  private parseBlock(buf: Buffer, p: number, end: number, base: number): number {
    const avail = end - p;
    if (avail < 8) {
      this.need = 8;
      return p;
    }
    const at = base + p;
    const type0 = buf.readUInt32BE(p);
    let le = this.le;
    if (type0 === PCAPNG_SHB) {
      // The section's byte order comes from its byte-order magic.
      if (avail < 12) {
        this.need = 12;
        return p;
      }
      const bom = buf.readUInt32BE(p + 8);
      if (bom === BOM) le = false;
      else if (bom === BOM_SWAPPED) le = true;
      else {
        this.setDamage(`bad byte-order magic ${hex32(bom)} in section header block at byte ${at}`);
        return p;
      }
    } else if (this.sections === 0) {
      // Only possible for a stream whose first block is not an SHB (cannot happen: magic check).
      this.setDamage(`pcapng data without a section header at byte ${at}`);
      return p;
    }
    const type = type0 === PCAPNG_SHB ? PCAPNG_SHB : u32(buf, p, le);
    const stated = u32(buf, p + 4, le);
    if (stated < 12) {
      this.setDamage(`bad block length ${stated} in ${this.describeBlock(type)} at byte ${at} (must be at least 12)`);
      return p;
    }
    // A length that is not a multiple of 4 is rounded up, as Wireshark does (the block is
    // padded on disk); the trailing copy may carry either form.
    const len = roundUp4(stated);
    if (len > MAX_BLOCK) {
      this.setDamage(`impossible block length ${stated} in ${this.describeBlock(type)} at byte ${at} (maximum ${MAX_BLOCK})`);
      return p;
    }
    if (len > MAX_RECORD_BLOCK && type !== PCAPNG_SHB) {
      if (type === BT_EPB || type === BT_PB || type === BT_SPB) {
        this.oversizePackets++;
        this.oversizePacketBytes += len;
      } else {
        this.oversizeBlocks++;
        this.oversizeBlockBytes += len;
      }
      return this.skip(p, end, len, S_PCAPNG_BLOCK);
    }
    if (avail < len) {
      this.need = len;
      return p;
    }
    const trailer = u32(buf, p + len - 4, le);
    if (trailer !== stated && roundUp4(trailer) !== len) {
      this.setDamage(
        `block length mismatch in ${this.describeBlock(type)} at byte ${at} (header says ${stated}, trailer says ${trailer})`,
      );
      return p;
    }
    const min = minBlockLength(type);
    if (len < min) {
      this.setDamage(`${this.describeBlock(type)} at byte ${at} too short (${len} bytes, needs at least ${min})`);
      return p;
    }

    switch (type) {
      case PCAPNG_SHB: {
        const major = u16(buf, p + 12, le);
        const minor = u16(buf, p + 14, le);
        if (major !== 1) {
          this.setDamage(`unsupported pcapng version ${major}.${minor} in section header block at byte ${at}`);
          return p;
        }
        this.le = le;
        this.sections++;
        this.ifaces = [];
        break;
      }

      case BT_IDB: {
        const iface = readInterface(buf, p, len, le, at);
        if (typeof iface === 'string') {
          this.setDamage(iface);
          return p;
        }
        this.ifaces.push(iface);
        break;
      }

      case BT_EPB:
      case BT_PB: {
        const ifId = type === BT_EPB ? u32(buf, p + 8, le) : u16(buf, p + 8, le);
        const caplen = u32(buf, p + 20, le);
        const index = this.packets + 1;
        if (ifId >= this.ifaces.length) {
          this.setDamage(
            `packet ${index} at byte ${at} refers to interface ${ifId}, but the section has ` +
              `${plural(this.ifaces.length, 'interface')}`,
          );
          return p;
        }
        if (28 + caplen + 4 > len) {
          this.setDamage(
            `packet ${index} at byte ${at}: captured length ${caplen} does not fit in its ${len}-byte block`,
          );
          return p;
        }
        const iface = this.ifaces[ifId];
        if (iface.snaplen !== 0 && caplen > iface.snaplen) this.overSnaplen++;
        tsFromUnits(u32(buf, p + 12, le), u32(buf, p + 16, le), iface, this.t);
        this.emit(iface.tsDigits, iface.linkType, buf, p + 28, p + 28 + caplen, u32(buf, p + 24, le), ifId, at);
        break;
      }

      case BT_SPB: {
        if (this.ifaces.length === 0) {
          this.setDamage(`simple packet block at byte ${at} before any interface description block in its section`);
          return p;
        }
        const iface = this.ifaces[0];
        const origLen = u32(buf, p + 8, le);
        let caplen = Math.min(origLen, len - 16);
        if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
        // No timestamp in an SPB: it takes the previous packet's time (OUTPUT.md convention 9).
        this.t.sec = this.lastSec;
        this.t.nsec = this.lastNsec;
        const digits = this.packets === 0 ? iface.tsDigits : this.lastDigits;
        this.emit(digits, iface.linkType, buf, p + 12, p + 12 + caplen, origLen, 0, at);
        break;
      }

      default:
        // NRB, ISB, DSB, custom and unknown blocks: nothing we need.
        break;
    }
    return p + len;
  }

  private emit(
    tsDigits: number,
    linkType: number,
    buf: Buffer,
    start: number,
    stop: number,
    origLen: number,
    interfaceId: number,
    fileOffset: number,
  ): void {
    const pkt = this.slot;
    pkt.index = ++this.packets;
    pkt.tsSec = this.t.sec;
    pkt.tsNsec = this.t.nsec;
    pkt.tsDigits = tsDigits;
    pkt.linkType = linkType;
    pkt.fill(buf, start, stop);
    pkt.origLen = origLen;
    pkt.interfaceId = interfaceId;
    pkt.fileOffset = fileOffset;
    this.lastSec = pkt.tsSec;
    this.lastNsec = pkt.tsNsec;
    this.lastDigits = tsDigits;
    this.onPacket(pkt);
  }

  private describeBlock(type: number): string {
    if (type === BT_EPB || type === BT_PB || type === BT_SPB) return `${blockName(type)} (packet ${this.packets + 1})`;
    return blockName(type);
  }

  /** Reason for input that ended inside a unit (acc holds its first accLen bytes). */
  private cutMessage(): string {
    const at = this.offset;
    const have = this.accLen;
    const need = this.need;
    switch (this.state) {
      case S_PCAP_HEADER:
        return `cut off in the file header at byte ${at} (header needs 24 bytes, ${have} present)`;
      case S_PCAP_RECORD:
        return have < 16
          ? `cut off in the header of packet ${this.packets + 1} at byte ${at} (record header needs 16 bytes, ${have} present)`
          : `cut off in packet ${this.packets + 1} at byte ${at} (record needs ${need} bytes, ${have} present)`;
      default: {
        const b = this.acc;
        if (have < 8 || (have < 12 && b.readUInt32BE(0) === PCAPNG_SHB)) {
          return `cut off in a block header at byte ${at} (block header needs ${need} bytes, ${have} present)`;
        }
        const type = b.readUInt32BE(0) === PCAPNG_SHB ? PCAPNG_SHB : u32(b, 0, this.le);
        return `cut off in ${this.describeBlock(type)} at byte ${at} (block needs ${need} bytes, ${have} present)`;
      }
    }
  }
}
