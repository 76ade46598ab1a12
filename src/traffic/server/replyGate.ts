// Replies that acknowledge a change leave only once the --state journal has
// written that change (so a kill -9 never loses an acknowledged session),
// without blocking the event loop: such a reply is held until the journal's
// `written` count reaches the `appended` count its change made. Replies that
// acknowledge nothing (a Query, a refusal) leave at once, unless an earlier
// reply to the same target is still held: a connection's replies keep their
// order.

export interface JournalProgress {
  /** Records handed to the journal so far. */
  readonly appended: number;
  /** Records the kernel has. */
  readonly written: number;
}

interface Held<T> {
  target: T;
  bytes: Buffer;
  need: number;
}

export class ReplyGate<T> {
  private queue: Held<T>[] = [];
  /** Per target with held replies: how many, and the journal count the last one waits for. */
  private readonly perTarget = new Map<T, { count: number; need: number }>();

  /** `transmit` puts the bytes on the wire; `batch` runs a release's transmissions together (TCP corking). */
  constructor(
    private readonly journal: JournalProgress | null,
    private readonly transmit: (target: T, bytes: Buffer) => void,
    private readonly batch: (targets: ReadonlySet<T>, send: () => void) => void = (_, send) => send(),
  ) {}

  /** Replies waiting for the journal. */
  get held(): number {
    return this.queue.length;
  }

  /** Sends `bytes` to `target` now, or once the journal has written what `acknowledgesChange` says it acknowledges. */
  send(target: T, bytes: Buffer, acknowledgesChange: boolean): void {
    const j = this.journal;
    const mine = this.perTarget.get(target);
    let need = j && acknowledgesChange ? j.appended : 0;
    if (mine) need = Math.max(need, mine.need);
    if (j === null || need <= j.written) {
      this.transmit(target, bytes);
      return;
    }
    this.queue.push({ target, bytes, need });
    if (mine) {
      mine.count++;
      mine.need = need;
    } else this.perTarget.set(target, { count: 1, need });
  }

  /** The journal wrote more: the replies whose changes are written leave, in the order they were made. */
  release(): void {
    if (this.queue.length === 0) return;
    const written = this.journal?.written ?? Infinity;
    const still: Held<T>[] = [];
    const ready: Held<T>[] = [];
    for (const h of this.queue) (h.need <= written ? ready : still).push(h);
    if (ready.length === 0) return;
    this.queue = still;
    const targets = new Set<T>();
    for (const h of ready) {
      targets.add(h.target);
      const mine = this.perTarget.get(h.target)!;
      if (--mine.count === 0) this.perTarget.delete(h.target);
    }
    this.batch(targets, () => {
      for (const h of ready) this.transmit(h.target, h.bytes);
    });
  }
}
