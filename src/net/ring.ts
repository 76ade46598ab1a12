// A one-producer, one-consumer byte ring in shared memory, for handing the
// network layers' events from the thread that reads a capture to the thread
// that analyses it (net/threaded.ts). Records are written into fixed slots;
// a full slot is published whole, and the consumer gives a slot back only
// once it is done with every record in it, so views into a slot stay valid
// while its records are handled. The writer blocks with Atomics.wait when
// every slot is in use; the reader waits asynchronously (Atomics.waitAsync),
// so its event loop still hears of the writer's thread. No message per
// record, no copy.

/** Atomics.waitAsync (V8 8.7, Node 16): not in TypeScript's ES2022 library. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** Control words (Int32 indexes). */
const PUBLISHED = 0;
const CONSUMED = 1;
const DONE = 2;
/**
 * 1 while a side waits (WRITER_WAITS: for a slot back; READER_WAITS: for a
 * slot). A side wakes the other only then: Atomics.notify costs a system call
 * and a thread switch, and most of the time nobody waits. Each side sets its
 * flag before it checks the counter it waits on, and the other changes that
 * counter before it checks the flag, so one of them always sees the other.
 */
const WRITER_WAITS = 3;
const READER_WAITS = 4;
const CTRL_WORDS = 8;

export interface RingBuffers {
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  slots: number;
  slotSize: number;
}

export function newRing(slots: number, slotSize: number): RingBuffers {
  return {
    ctrl: new SharedArrayBuffer(4 * (CTRL_WORDS + slots)),
    data: new SharedArrayBuffer(slots * slotSize),
    slots,
    slotSize,
  };
}

/** What both ends see of the ring: its control words and its data. */
class RingEnd {
  protected readonly ctrl: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly buffer: SharedArrayBuffer;

  constructor(protected readonly r: RingBuffers) {
    this.ctrl = new Int32Array(r.ctrl);
    this.bytes = new Uint8Array(r.data);
    this.view = new DataView(r.data);
    this.buffer = r.data;
  }
}

export class RingWriter extends RingEnd {
  /** Where the record being written may start, and the end of the current slot. */
  pos: number;
  private slotEnd: number;
  private slot = 0;

  constructor(r: RingBuffers) {
    super(r);
    this.pos = 0;
    this.slotEnd = r.slotSize;
  }

  /** Room for a record of `n` bytes at `pos` (publishing the current slot if needed); returns `pos`. */
  reserve(n: number): number {
    if (this.pos + n <= this.slotEnd) return this.pos;
    if (n > this.r.slotSize) throw new RangeError(`a ${n}-byte record is larger than a ring slot (${this.r.slotSize} bytes)`);
    this.publish();
    return this.pos;
  }

  /** Hands the current slot to the consumer (waiting while every slot is in use) and starts the next. */
  publish(): void {
    const c = this.ctrl;
    const start = this.slot * this.r.slotSize;
    c[CTRL_WORDS + this.slot] = this.pos - start;
    const published = Atomics.add(c, PUBLISHED, 1) + 1;
    if (Atomics.load(c, READER_WAITS) === 1) Atomics.notify(c, PUBLISHED);
    // All slots written and not given back yet: wait for the consumer.
    for (;;) {
      Atomics.store(c, WRITER_WAITS, 1);
      const consumed = Atomics.load(c, CONSUMED);
      if (published - consumed < this.r.slots) break;
      Atomics.wait(c, CONSUMED, consumed, 1000);
    }
    Atomics.store(c, WRITER_WAITS, 0);
    this.slot = published % this.r.slots;
    this.pos = this.slot * this.r.slotSize;
    this.slotEnd = this.pos + this.r.slotSize;
  }

  /** Publishes what is written and tells the consumer nothing follows. */
  close(): void {
    if (this.pos > this.slot * this.r.slotSize) this.publish();
    Atomics.store(this.ctrl, DONE, 1);
    Atomics.notify(this.ctrl, PUBLISHED);
  }
}

export class RingReader extends RingEnd {
  private consumed = 0;

  /** The next published slot as [start, end) byte offsets, or null when none is waiting. */
  next(): [number, number] | null {
    const c = this.ctrl;
    if (this.consumed >= Atomics.load(c, PUBLISHED)) return null;
    const slot = this.consumed % this.r.slots;
    const start = slot * this.r.slotSize;
    return [start, start + c[CTRL_WORDS + slot]!];
  }

  /** The writer closed and every slot it published was read. */
  get finished(): boolean {
    return Atomics.load(this.ctrl, DONE) === 1 && this.consumed >= Atomics.load(this.ctrl, PUBLISHED);
  }

  /**
   * Resolves when a slot is published or the writer closes (at once if one
   * is waiting). Asynchronous, so the thread's event loop runs meanwhile:
   * it learns that the writer's thread died.
   */
  async wait(): Promise<void> {
    const c = this.ctrl;
    Atomics.store(c, READER_WAITS, 1);
    const published = Atomics.load(c, PUBLISHED);
    if (this.consumed < published || Atomics.load(c, DONE) === 1) {
      Atomics.store(c, READER_WAITS, 0);
      return;
    }
    const w = waitAsync(c, PUBLISHED, published);
    if (w.async) await w.value;
    Atomics.store(c, READER_WAITS, 0);
  }

  /** The slot `next` returned is handled: the writer may reuse it. */
  release(): void {
    this.consumed++;
    Atomics.store(this.ctrl, CONSUMED, this.consumed);
    if (Atomics.load(this.ctrl, WRITER_WAITS) === 1) Atomics.notify(this.ctrl, CONSUMED);
  }
}
