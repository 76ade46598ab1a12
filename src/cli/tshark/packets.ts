// What tshark-style output knows of capture packets: a packet is shown with
// the VVMP frames it completes, so the packets that completed frames not
// shown yet are kept (in packet order) until their frames are final; and
// each VVMP frame's packet number, by which tshark names the other frame of
// an exchange (vvmp.response_in / response_to).

import { capturedLength, type Packet } from '../../capture/packet.js';
import type { AnalyzedFrame } from '../../analysis/frame.js';
import { stampOf, type PacketInfo } from '../../output/tshark/packet.js';
import type { Stamp } from '../../output/tshark/time.js';

/**
 * The packets that completed VVMP frames not shown yet, in packet order (the
 * order frames complete and settle in): pushed at the back, taken from the front.
 */
class PacketQueue {
  private items: PacketInfo[] = [];
  private head = 0;

  get lastNumber(): number {
    return this.items.length > this.head ? this.items[this.items.length - 1]!.number : -1;
  }

  push(p: PacketInfo): void {
    this.items.push(p);
  }

  /** Packet `packet`, dropping the older ones; made from the frame's time if it was never noted. */
  take(packet: number, tsSec: number, tsNsec: number, tsDigits: number): PacketInfo {
    while (this.head < this.items.length && this.items[this.head]!.number < packet) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    const p = this.items[this.head];
    if (p && p.number === packet) return p;
    return { number: packet, tsSec, tsNsec, tsDigits, origLen: 0, capLen: 0, linkType: 0, data: null, prev: { sec: tsSec, nsec: tsNsec } };
  }
}

export class PacketBook {
  first: Stamp | null = null;
  private readonly queue = new PacketQueue();
  // The packet being read and the one before it, as numbers (no object per packet).
  private current: Packet | null = null;
  private beforeSec = 0;
  private beforeNsec = 0;
  private lastSec = 0;
  private lastNsec = 0;
  /** Each VVMP frame's packet number (4 bytes a frame). */
  private packetOfFrame = new Int32Array(1 << 16);

  /** `keepData`: keep the bytes of packets that complete frames (-x). */
  constructor(private readonly keepData: boolean) {}

  /** The last packet read. */
  get last(): Stamp | null {
    return this.first && { sec: this.lastSec, nsec: this.lastNsec };
  }

  /** A capture packet is read (before the analysis sees it). */
  packet(p: Packet): void {
    if (!this.first) {
      this.first = stampOf(p);
      this.lastSec = p.tsSec;
      this.lastNsec = p.tsNsec;
    }
    this.current = p;
    this.beforeSec = this.lastSec;
    this.beforeNsec = this.lastNsec;
    this.lastSec = p.tsSec;
    this.lastNsec = p.tsNsec;
  }

  /** The packet of a VVMP frame just made; kept when it is the packet being read. */
  frame(f: AnalyzedFrame): void {
    if (f.number >= this.packetOfFrame.length) {
      const grown = new Int32Array(Math.max(this.packetOfFrame.length * 2, f.number + 1));
      grown.set(this.packetOfFrame);
      this.packetOfFrame = grown;
    }
    this.packetOfFrame[f.number] = f.packet;
    if (this.queue.lastNumber === f.packet) return;
    const p = this.current;
    if (p && p.index === f.packet) {
      this.queue.push({
        number: p.index, tsSec: p.tsSec, tsNsec: p.tsNsec, tsDigits: p.tsDigits, origLen: p.origLen,
        capLen: capturedLength(p), linkType: p.linkType, data: this.keepData ? Uint8Array.from(p.data) : null,
        prev: { sec: this.beforeSec, nsec: this.beforeNsec },
      });
    }
    // Otherwise the frame was completed at the end of input (a cut-off TCP stream) by a packet
    // read earlier: `take` describes it from the frame.
  }

  /** The packet of frames of packet `packet` (numbers: no frame object needed), dropping the older ones. */
  take(packet: number, tsSec: number, tsNsec: number, tsDigits: number): PacketInfo {
    return this.queue.take(packet, tsSec, tsNsec, tsDigits);
  }

  /** The capture packet holding a VVMP frame's last byte. */
  readonly packetOf = (n: number): number | undefined => {
    const t = this.packetOfFrame;
    return n > 0 && n < t.length && t[n] !== 0 ? t[n] : undefined;
  };
}
