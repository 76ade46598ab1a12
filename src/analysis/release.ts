// The ordered releaser: hands frames to output in frame order, each once it
// is final. A request may stay open (its reply, timeout or session not known
// yet) while later frames are already final; those wait behind it. With a
// `render` sink a final frame is turned into its output text at once, so what
// waits is text, not objects (read, live); with `settled` the frames
// themselves wait (tshark-style output, tests). It knows nothing of VVMP:
// whether a frame is still open is the `isOpen` test it is given.

export interface ReleaseSink<T> {
  /** Every frame in order once final (instead of `render`/`emit`). */
  settled?(f: T): void;
  /** Turns a final frame into its output text (called once per frame). */
  render?(f: T): string;
  /** Receives the rendered texts in frame order. */
  emit?(text: string): void;
}

export interface ReleaseOptions {
  /** With `render`: call it in frame order (frames behind an open one are kept whole, not as text). */
  renderInOrder?: boolean;
}

/** Rendered text waiting behind a held frame is joined into pieces of about this size. */
const PIECE = 1 << 16;
/** Released slots at the front of the queue are dropped once there are this many (and they are half of it). */
const COMPACT_AFTER = 4096;

export class OrderedReleaser<T extends object> {
  /** Frames waiting behind an open one: objects, or their output already rendered. */
  private readonly held: (T | string)[] = [];
  private heldHead = 0;
  /** Rendered text of final frames behind the held ones, not yet joined into a piece. */
  private tailText: string[] = [];
  private tailSize = 0;
  /** Position (counted from the start, across compactions) of each held frame object, with `render`. */
  private readonly heldAt = new Map<T, number>();
  private heldBase = 0;
  private readonly renderInOrder: boolean;

  constructor(private readonly sink: ReleaseSink<T>, private readonly isOpen: (f: T) => boolean, opts: ReleaseOptions = {}) {
    if (!sink.settled && !(sink.render && sink.emit)) throw new TypeError('OrderedReleaser needs settled, or render and emit');
    this.renderInOrder = opts.renderInOrder ?? false;
  }

  /** Something waits behind an open frame. */
  get holding(): boolean {
    return this.heldHead < this.held.length;
  }

  /** A frame added now would be kept as an object for a while, not only as its text (its bytes must outlive the reader's chunk). */
  get holdsObjects(): boolean {
    return (!this.sink.render || this.renderInOrder) && this.holding;
  }

  /** The next frame in order (final or still open). */
  add(f: T): void {
    const render = this.sink.render;
    if (render && !this.isOpen(f) && (!this.renderInOrder || !this.holding)) {
      // Final already: output now, or keep only its rendered text while an older frame waits.
      if (!this.holding) {
        this.sink.emit!(render(f));
      } else {
        const text = render(f);
        this.tailText.push(text);
        this.tailSize += text.length;
        // Joined into flat pieces: a string per frame costs several times its length.
        if (this.tailSize >= PIECE) this.flushTail();
      }
      return;
    }
    this.flushTail();
    if (render && !this.renderInOrder) this.heldAt.set(f, this.heldBase + this.held.length);
    this.held.push(f);
    this.drain();
  }

  /** `f`, added while open, is final now (`isOpen(f)` is false): release what no longer waits. */
  settle(f: T): void {
    const at = this.renderInOrder ? undefined : this.heldAt.get(f);
    if (at !== undefined) {
      this.heldAt.delete(f);
      // Final now: if it still waits behind an older frame, keep only its text.
      const i = at - this.heldBase;
      if (i > this.heldHead) this.held[i] = flat(this.sink.render!(f));
    }
    this.drain();
  }

  /** Releases everything from the front that is final. */
  drain(): void {
    const { settled, render, emit } = this.sink;
    while (this.heldHead < this.held.length) {
      const f = this.held[this.heldHead]!;
      if (typeof f === 'string') emit!(f);
      else if (this.isOpen(f)) break;
      else if (render) {
        this.heldAt.delete(f);
        emit!(render(f));
      } else settled!(f);
      this.held[this.heldHead++] = '';
    }
    if (!this.holding && this.tailText.length) {
      emit!(this.tailText.join(''));
      this.tailText = [];
      this.tailSize = 0;
    }
    if (this.heldHead > COMPACT_AFTER && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead);
      this.heldBase += this.heldHead;
      this.heldHead = 0;
    }
  }

  private flushTail(): void {
    if (this.tailText.length === 0) return;
    this.held.push(this.tailText.join(''));
    this.tailText = [];
    this.tailSize = 0;
  }
}

/**
 * A string built by many concatenations is a tree of pieces in V8; reading a
 * character makes it one flat string, which is several times smaller to keep.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
