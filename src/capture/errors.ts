// A capture that cannot be read at all: missing, unreadable, a directory, empty, or not a capture
// format we know. (A recognised capture that is damaged later on is NOT an error: the reader keeps
// the packets before the damage and reports it in `damage`.) The CLI maps this to exit status 1.

export class CaptureError extends Error {
  constructor(
    /** The file name (or stream label) the problem is about. */
    public readonly path: string,
    /** One-line human reason, without the path. */
    public readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'CaptureError';
  }
}

/**
 * A live capture that cannot start or had to stop: no such interface, no permission, a bad
 * capture filter, a backend that is missing or died. One line; the CLI maps it to exit status 1.
 */
export class LiveCaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}
