// IP fragment reassembly, shared by IPv4 and IPv6.
//
// Overlaps: the bytes that arrived first win; a later fragment only fills
// what no earlier one covered (exact duplicates add nothing). Memory: only
// uncovered bytes are stored, at most `maxSize` per datagram, and at most
// `maxPending` datagrams wait at once (the oldest is given up).

export type FragmentDrop = 'incomplete' | 'evicted' | 'oversize';

interface Piece {
  off: number;
  data: Buffer;
}

interface Datagram {
  /** Source and destination address bytes, copied from a fragment. */
  addr: Buffer;
  pieces: Piece[];
  /** Covered byte ranges, sorted and merged: [start0, end0, start1, end1, ...]. */
  cov: number[];
  /** Payload length, known once the last fragment (more = false) arrived; -1 before. */
  total: number;
  /** Upper-layer protocol (from the offset-0 fragment when seen). */
  proto: number;
  /** Packets that carried fragments of it (duplicates included). */
  packets: number;
}

export class Reassembler {
  private readonly pending = new Map<string, Datagram>();
  /** Upper-layer protocol of the datagram `add` returned last. */
  proto = 0;

  constructor(
    private readonly maxPending: number,
    private readonly maxSize: number,
    /** Told how many packets a given-up datagram had held. */
    private readonly onDrop: (why: FragmentDrop, packets: number) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Adds the fragment data `buf[s, e)` at payload offset `off` of the datagram
   * `key`. Returns the whole datagram when this completes it: its address
   * bytes (`2 × addrLen`, copied from `addrBuf[addrAt..]`) followed by the
   * payload, with `this.proto` set; else null.
   */
  add(
    key: string, addrBuf: Uint8Array, addrAt: number, addrLen: number,
    buf: Uint8Array, s: number, e: number, off: number, more: boolean, proto: number,
  ): Buffer | null {
    const len = e - s;
    let dg = this.pending.get(key);
    if (off + len > this.maxSize) {
      if (dg) this.pending.delete(key);
      this.onDrop('oversize', (dg ? dg.packets : 0) + 1);
      return null;
    }
    if (!dg) {
      if (this.pending.size >= this.maxPending) {
        const oldest = this.pending.keys().next();
        if (!oldest.done) {
          const old = this.pending.get(oldest.value)!;
          this.pending.delete(oldest.value);
          this.onDrop('evicted', old.packets);
        }
      }
      dg = {
        addr: Buffer.from(addrBuf.subarray(addrAt, addrAt + 2 * addrLen)),
        pieces: [], cov: [], total: -1, proto, packets: 0,
      };
      this.pending.set(key, dg);
    }
    dg.packets++;
    if (off === 0) dg.proto = proto;
    if (!more && dg.total < 0) dg.total = off + len;
    if (len > 0) this.cover(dg, buf, s, off, off + len);
    const cov = dg.cov;
    if (dg.total < 0 || cov.length < 2 || cov[0] !== 0 || cov[1]! < dg.total) return null;
    this.pending.delete(key);
    const alen = dg.addr.length;
    const out = Buffer.alloc(alen + dg.total);
    dg.addr.copy(out, 0);
    for (const p of dg.pieces) {
      if (p.off >= dg.total) continue;
      const n = Math.min(p.data.length, dg.total - p.off);
      p.data.copy(out, alen + p.off, 0, n);
    }
    this.proto = dg.proto;
    return out;
  }

  /** Stores the parts of [a, b) no earlier fragment covered and merges the coverage. */
  private cover(dg: Datagram, buf: Uint8Array, s: number, a: number, b: number): void {
    const cov = dg.cov;
    let at = a;
    for (let i = 0; i < cov.length && at < b; i += 2) {
      const cs = cov[i]!;
      const ce = cov[i + 1]!;
      if (ce <= at) continue;
      if (cs > at) {
        const to = Math.min(cs, b);
        dg.pieces.push({ off: at, data: Buffer.from(buf.subarray(s + (at - a), s + (to - a))) });
      }
      at = Math.max(at, ce);
    }
    if (at < b) dg.pieces.push({ off: at, data: Buffer.from(buf.subarray(s + (at - a), s + (b - a))) });
    // Merge [a, b) into the coverage list.
    const merged: number[] = [];
    let ns = a;
    let ne = b;
    let placed = false;
    for (let i = 0; i < cov.length; i += 2) {
      const cs = cov[i]!;
      const ce = cov[i + 1]!;
      if (ce < ns) {
        merged.push(cs, ce);
      } else if (cs > ne) {
        if (!placed) {
          merged.push(ns, ne);
          placed = true;
        }
        merged.push(cs, ce);
      } else {
        ns = Math.min(ns, cs);
        ne = Math.max(ne, ce);
      }
    }
    if (!placed) merged.push(ns, ne);
    dg.cov = merged;
  }

  /** Gives up every pending datagram (end of capture). */
  end(): void {
    for (const dg of this.pending.values()) this.onDrop('incomplete', dg.packets);
    this.pending.clear();
  }
}
