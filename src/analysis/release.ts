// The ordered releaser: hands frames to output in frame order, each once it
// is final. A request may stay open (its reply, timeout or session not known
// yet) while later frames are already final; those wait behind it. With a
// `render` sink a final frame is written out at once: into the output when
// nothing waits, else into the held bytes (a byte arena the sink gives), so
// what waits is bytes in a few large buffers, not objects or a string per
// frame (read, live); with `settled` the frames themselves wait (tshark-style
// output, tests). It knows nothing of VVMP: whether a frame is still open is
// the `isOpen` test it is given; nor of what the bytes say.

/** Output waiting behind an open frame, as byte ranges the releaser refers to by handle (a small integer). */
export interface HeldBytes {
  /**
   * Keeps what `render` wrote into the held bytes since the last call as a
   * range and returns its handle: range `after` itself (made longer) when
   * the new bytes directly follow it, else a new one.
   */
  keep(after: number): number;
  /** Writes range `h` to the output (in the order called) and forgets it. */
  release(h: number): void;
}

export interface ReleaseSink<T> {
  /** Every frame in order once final (instead of `render`). */
  settled?(f: T): void;
  /**
   * Writes a final frame's output (called once per frame): into the output
   * itself, or with `held` into the held bytes, to be released in order later.
   */
  render?(f: T, held: boolean): void;
  /** Where output waits (with `render`). */
  held?: HeldBytes;
}

export interface ReleaseOptions {
  /** With `render`: call it in frame order (frames behind an open one are kept whole, not as bytes). */
  renderInOrder?: boolean;
}

/** Released slots at the front of the queue are dropped once there are this many (and they are half of it). */
const COMPACT_AFTER = 4096;
/** No range (a handle is never negative). */
const NONE = -1;

export class OrderedReleaser<T extends object> {
  /** What waits behind an open frame, in frame order: frame objects, or handles of held byte ranges (numbers). */
  private readonly held: (T | number)[] = [];
  private heldHead = 0;
  /** Handle of the range at the back of `held` (final frames' output joins it while it is last), or NONE. */
  private tail = NONE;
  /** Position (counted from the start, across compactions) of each held frame object, with `render`. */
  private readonly heldAt = new Map<T, number>();
  private heldBase = 0;
  private readonly renderInOrder: boolean;

  constructor(private readonly sink: ReleaseSink<T>, private readonly isOpen: (f: T) => boolean, opts: ReleaseOptions = {}) {
    if (!sink.settled && !(sink.render && sink.held)) throw new TypeError('OrderedReleaser needs settled, or render and held');
    this.renderInOrder = opts.renderInOrder ?? false;
  }

  /** Something waits behind an open frame. */
  get holding(): boolean {
    return this.heldHead < this.held.length;
  }

  /** A frame added now would be kept as an object for a while, not only as its output (its bytes must outlive the reader's chunk). */
  get holdsObjects(): boolean {
    return (!this.sink.render || this.renderInOrder) && this.holding;
  }

  /** The next frame in order (final or still open). */
  add(f: T): void {
    const render = this.sink.render;
    if (render && !this.isOpen(f) && (!this.renderInOrder || !this.holding)) {
      // Final already: output now, or keep only its bytes while an older frame waits.
      if (!this.holding) {
        render(f, false);
      } else {
        render(f, true);
        const h = this.sink.held!.keep(this.tail);
        if (h !== this.tail) {
          this.held.push(h);
          this.tail = h;
        }
      }
      return;
    }
    this.tail = NONE;
    if (render && !this.renderInOrder) this.heldAt.set(f, this.heldBase + this.held.length);
    this.held.push(f);
    this.drain();
  }

  /** `f`, added while open, is final now (`isOpen(f)` is false): release what no longer waits. */
  settle(f: T): void {
    const at = this.renderInOrder ? undefined : this.heldAt.get(f);
    if (at !== undefined) {
      this.heldAt.delete(f);
      // Final now: if it still waits behind an older frame, keep only its bytes.
      const i = at - this.heldBase;
      if (i > this.heldHead) {
        this.sink.render!(f, true);
        this.held[i] = this.sink.held!.keep(NONE);
      }
    }
    this.drain();
  }

  /** Releases everything from the front that is final. */
  drain(): void {
    const { settled, render, held } = this.sink;
    while (this.heldHead < this.held.length) {
      const f = this.held[this.heldHead]!;
      if (typeof f === 'number') {
        if (f === this.tail) this.tail = NONE;
        held!.release(f);
      } else if (this.isOpen(f)) break;
      else if (render) {
        this.heldAt.delete(f);
        render(f, false);
      } else settled!(f);
      this.held[this.heldHead++] = NONE;
    }
    if (this.heldHead > COMPACT_AFTER && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead);
      this.heldBase += this.heldHead;
      this.heldHead = 0;
    }
  }
}
