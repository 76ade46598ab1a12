// The one table of conversations (Wireshark's tcp.stream / udp.stream source):
// every UDP address/port pair and TCP connection tuple seen, on any port, gets
// one index, from 0 in order of first appearance, kept for the whole capture.
// TCP connections, UDP flows and the analysis' flow columns are all keyed by
// it. Lookups hash the address and port bytes where they lie in the packet:
// no key string, no object per packet. Keys sit in typed arrays (10 words a
// conversation), off the V8 heap.

export const CONV_UDP = 0;
export const CONV_TCP = 1;

/** Words per key: transport and address length, 4 per address (IPv4 uses the first), the two ports. */
const KEY_WORDS = 10;
const FREE = -1;

/** The last round of the key hash: the ports, then a final avalanche. */
function mix(h: number, ports: number): number {
  h = Math.imul(h ^ ports, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function word(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export class Conversations {
  /** Open addressing, linear probing: conversation index or FREE. */
  private slots = new Int32Array(1 << 12).fill(FREE);
  private keys = new Uint32Array(KEY_WORDS * 1024);
  private hashes = new Int32Array(1024);
  /** tcp.stream / udp.stream of each conversation (TCP may renumber on port reuse). */
  private streams = new Int32Array(1024);
  private readonly nextStream = [0, 0];
  private n = 0;
  /** Scratch: the packet's source and destination address words. */
  private readonly src = new Uint32Array(4);
  private readonly dst = new Uint32Array(4);

  /** After `lookup`: 0 when the packet's source is the conversation's first endpoint, else 1. */
  dir = 0;
  /** After `lookup`: the conversation was first seen in this packet. */
  created = false;

  get size(): number {
    return this.n;
  }

  /** Stream number (tcp.stream / udp.stream) of conversation `id`. */
  stream(id: number): number {
    return this.streams[id]!;
  }

  /** A new TCP connection on a tuple used before: Wireshark gives it the next tcp.stream. */
  renumber(id: number): number {
    const t = this.keys[id * KEY_WORDS]! & 0xff;
    return (this.streams[id] = this.nextStream[t]!++);
  }

  /**
   * The conversation of a packet from (`b[addrAt..]`, `sport`) to
   * (`b[addrAt + addrLen..]`, `dport`), made if new; sets `dir` and `created`.
   */
  lookup(transport: number, b: Uint8Array, addrAt: number, addrLen: number, sport: number, dport: number): number {
    if (addrLen === 4) return this.lookup4(transport, word(b, addrAt), word(b, addrAt + 4), sport, dport);
    const s = this.src;
    const d = this.dst;
    for (let i = 0; i < 4; i++) {
      s[i] = word(b, addrAt + 4 * i);
      d[i] = word(b, addrAt + 16 + 4 * i);
    }
    // Endpoints in order (address bytes, then port): both directions share one key.
    let order = 0;
    for (let i = 0; i < 4 && order === 0; i++) order = s[i] === d[i] ? 0 : s[i]! < d[i]! ? -1 : 1;
    if (order === 0) order = sport < dport ? -1 : sport > dport ? 1 : 0;
    const dir = order <= 0 ? 0 : 1;
    const lo = dir === 0 ? s : d;
    const hi = dir === 0 ? d : s;
    const ports = dir === 0 ? ((sport << 16) | dport) >>> 0 : ((dport << 16) | sport) >>> 0;
    const head = transport | (16 << 8);
    let h = Math.imul(head ^ 0x811c9dc5, 0x01000193);
    for (let i = 0; i < 4; i++) h = Math.imul(h ^ lo[i]!, 0x9e3779b1) ^ (h >>> 15);
    for (let i = 0; i < 4; i++) h = Math.imul(h ^ hi[i]!, 0x85ebca6b) ^ (h >>> 13);
    h = mix(h, ports);
    this.dir = dir;
    const slots = this.slots;
    const mask = slots.length - 1;
    const keys = this.keys;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const id = slots[at]!;
      if (id === FREE) break;
      if (this.hashes[id] !== h) continue;
      const k = id * KEY_WORDS;
      if (keys[k] === head && keys[k + 9] === ports
        && keys[k + 1] === lo[0] && keys[k + 2] === lo[1] && keys[k + 3] === lo[2] && keys[k + 4] === lo[3]
        && keys[k + 5] === hi[0] && keys[k + 6] === hi[1] && keys[k + 7] === hi[2] && keys[k + 8] === hi[3]) {
        this.created = false;
        return id;
      }
    }
    return this.add(h, transport, head, lo[0]!, lo[1]!, lo[2]!, lo[3]!, hi[0]!, hi[1]!, hi[2]!, hi[3]!, ports);
  }

  /** IPv4, the common case: the two address words in locals, no loops. */
  private lookup4(transport: number, s: number, d: number, sport: number, dport: number): number {
    const dir = s < d || (s === d && sport <= dport) ? 0 : 1;
    const lo = dir === 0 ? s : d;
    const hi = dir === 0 ? d : s;
    const ports = dir === 0 ? ((sport << 16) | dport) >>> 0 : ((dport << 16) | sport) >>> 0;
    const head = transport | (4 << 8);
    let h = Math.imul(head ^ 0x811c9dc5, 0x01000193);
    h = Math.imul(h ^ lo, 0x9e3779b1) ^ (h >>> 15);
    h = Math.imul(h ^ hi, 0x85ebca6b) ^ (h >>> 13);
    h = mix(h, ports);
    this.dir = dir;
    const slots = this.slots;
    const mask = slots.length - 1;
    const keys = this.keys;
    const hashes = this.hashes;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const id = slots[at]!;
      if (id === FREE) break;
      if (hashes[id] !== h) continue;
      const k = id * KEY_WORDS;
      if (keys[k + 1] === lo && keys[k + 5] === hi && keys[k + 9] === ports && keys[k] === head) {
        this.created = false;
        return id;
      }
    }
    return this.add(h, transport, head, lo, 0, 0, 0, hi, 0, 0, 0, ports);
  }

  private add(
    h: number, transport: number, head: number,
    l0: number, l1: number, l2: number, l3: number, h0: number, h1: number, h2: number, h3: number, ports: number,
  ): number {
    const id = this.n++;
    if (id === this.hashes.length) this.growColumns();
    const k = id * KEY_WORDS;
    const keys = this.keys;
    keys[k] = head;
    keys[k + 1] = l0;
    keys[k + 2] = l1;
    keys[k + 3] = l2;
    keys[k + 4] = l3;
    keys[k + 5] = h0;
    keys[k + 6] = h1;
    keys[k + 7] = h2;
    keys[k + 8] = h3;
    keys[k + 9] = ports;
    this.hashes[id] = h;
    if (this.n * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(id, h);
    this.streams[id] = this.nextStream[transport]!++;
    this.created = true;
    return id;
  }

  private place(id: number, h: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let at = h & mask;
    while (slots[at] !== FREE) at = (at + 1) & mask;
    slots[at] = id;
  }

  private rehash(capacity: number): void {
    this.slots = new Int32Array(capacity).fill(FREE);
    for (let id = 0; id < this.n; id++) this.place(id, this.hashes[id]!);
  }

  private growColumns(): void {
    const rows = this.hashes.length * 2;
    const keys = new Uint32Array(rows * KEY_WORDS);
    keys.set(this.keys);
    this.keys = keys;
    const hashes = new Int32Array(rows);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const streams = new Int32Array(rows);
    streams.set(this.streams);
    this.streams = streams;
  }
}
