// Cuts one direction of a TCP stream into VVMP frames (32 + 4 × length bytes):
// the StreamConsumer the decoder gives TCP reassembly (net/reassembly.ts), and,
// through `FrameStream`, the framer of any VVMP byte stream (client, server, fuzzer).
//
// It is fed the direction's bytes in sequence order (`data`), told where bytes
// are missing (`missing`: cut by the snaplen, or lost by the capture), and
// flushed when the stream ends. Modes:
//   FRAMING  frame boundaries known: cut frames back to back
//   SKIP     inside the rest of a frame whose bytes are missing; then FRAMING
//   RESYNC   boundary unknown: scan for the next plausible header
//   PROBE    heuristic mode, undecided: is the first data a VVMP header?
//   DESYNC   a frame over the receiver limit: nothing more is framed
//   REJECTED heuristic mode: not VVMP

import type { Packet } from '../capture/packet.js';
import { Header } from '../protocol/access.js';
import { frameSizeAt } from '../protocol/decode.js';
import { HEADER_SIZE } from '../protocol/fields.js';
import { PLAUSIBLE_NEED_MORE, PLAUSIBLE_NO, PLAUSIBLE_YES, headerFits, plausibleAt } from './plausible.js';
import type { ConsumerFactory, ConsumerHost, StreamConsumer } from './reassembly.js';

// Framer modes (see the top of this file).
const MODE_FRAMING: number = 1;
const MODE_SKIP: number = 2;
const MODE_RESYNC: number = 3;
const MODE_PROBE: number = 4;
const MODE_DESYNC: number = 5;
const MODE_REJECTED: number = 6;

/** Why the frame boundary is unknown (the text of a `skipped` report). */
export const WHY_START = 'the capture starts mid-connection';
export const WHY_GAP = 'bytes before them were not captured';
export const WHY_CUT = 'the snaplen cut a frame header';
export const WHY_PROBE = 'the connection was found to be VVMP mid-stream';
export const WHY_DESYNC = 'they follow a tcp_desync frame';

const EMPTY = Buffer.alloc(0);

/** The TCP reassembler's consumer that cuts VVMP frames (`maxPayload`: the receiver limit). */
export function vvmpFramers(maxPayload: number): ConsumerFactory {
  return (host) => new Framer(host, maxPayload, MODE_PROBE);
}

export class Framer implements StreamConsumer {
  private mode: number;
  /** Largest frame accepted: 32 + maxPayload. */
  private readonly maxFrame: number;
  /** Header bytes of the current frame while fewer than 32 are held. */
  private hdr: Buffer | null = null;
  /** The current frame, allocated once its size is known. */
  private cur: Buffer = EMPTY;
  /** Bytes of the current frame held. */
  private have = 0;
  /** Declared size of the current frame, -1 while its header is incomplete. */
  private size = -1;
  /** SKIP: bytes left to skip. */
  private skip = 0;
  /** RESYNC/PROBE: bytes not yet judged (a copy). */
  private sbuf: Buffer | null = null;
  private slen = 0;
  /** Packet number holding the current partial frame's first byte (for export of whole frames). */
  private first = 0;
  /** Captured bytes given up without a frame since the last report, and why the boundary was unknown. */
  private skippedBytes = 0;
  private why = WHY_START;

  constructor(
    private readonly host: ConsumerHost,
    private readonly maxPayload: number,
    mode: number,
  ) {
    this.mode = mode;
    this.maxFrame = HEADER_SIZE + maxPayload;
  }

  /** Bytes held that are not yet emitted (a partial frame or unjudged bytes). */
  get pending(): number {
    return this.have + this.slen;
  }

  get undecided(): boolean {
    return this.mode === MODE_PROBE;
  }

  get refused(): boolean {
    return this.mode === MODE_REJECTED;
  }

  /** Nothing more is framed (a frame over the receiver limit). */
  get desynced(): boolean {
    return this.mode === MODE_DESYNC;
  }

  beginAtStart(): void {
    this.mode = MODE_FRAMING;
  }

  beginMidStream(): void {
    this.resync();
  }

  restart(): void {
    this.resync(WHY_PROBE);
  }

  /** Feeds in-order bytes `buf[s, e)`; frames completed are attributed to `pkt`. */
  data(buf: Buffer, s: number, e: number, pkt: Packet): void {
    while (s < e) {
      switch (this.mode) {
        case MODE_FRAMING:
          this.frameData(buf, s, e, pkt);
          return;
        case MODE_SKIP: {
          const take = Math.min(this.skip, e - s);
          s += take;
          this.skip -= take;
          if (this.skip === 0) this.mode = MODE_FRAMING;
          break;
        }
        case MODE_RESYNC:
          s = this.resyncData(buf, s, e, pkt);
          break;
        case MODE_PROBE:
          s = this.probeData(buf, s, e, pkt);
          break;
        case MODE_DESYNC:
          // Nothing more is framed here: the bytes are counted, and reported at the stream's end.
          this.skippedBytes += e - s;
          return;
        default: // REJECTED: not VVMP
          return;
      }
    }
  }

  /**
   * `n` bytes of the stream are missing here. `gap` false: cut by the snaplen
   * from a captured segment, so the frame they cut is emitted with its present
   * bytes. `gap` true: lost by the capture, and the frame they cut is dropped.
   * Either way framing continues at the cut frame's declared end when its
   * header was present, else at the next plausible header.
   */
  missing(n: number, gap: boolean, pkt: Packet): void {
    if (n <= 0) return;
    const why = gap ? WHY_GAP : WHY_CUT;
    switch (this.mode) {
      case MODE_FRAMING: {
        if (this.have === 0) {
          this.resync(why);
          return;
        }
        if (this.size < 0) {
          if (!gap) this.host.frame(Buffer.from(this.hdr!.subarray(0, this.have)), pkt, false, this.first);
          else this.host.dropped(this.have, -1);
          this.resetFrame();
          this.resync(why);
          return;
        }
        if (!gap) this.host.frame(this.cur.subarray(0, this.have), pkt, false, this.first);
        else this.host.dropped(this.have, this.size);
        const rest = this.size - this.have;
        this.resetFrame();
        if (rest > n) {
          this.skip = rest - n;
          this.mode = MODE_SKIP;
        } else if (rest === n) {
          this.mode = MODE_FRAMING;
        } else {
          this.resync(why);
        }
        return;
      }
      case MODE_SKIP:
        if (this.skip > n) {
          this.skip -= n;
        } else {
          if (this.skip === n) this.mode = MODE_FRAMING;
          else this.resync(why);
          this.skip = 0;
        }
        return;
      case MODE_RESYNC:
        // No candidate can be checked across the hole: decide with what is held.
        if (this.slen > 0) {
          this.rescan(pkt, true);
          if (this.mode === MODE_FRAMING) {
            this.missing(n, gap, pkt);
            return;
          }
        }
        this.reportSkipped(pkt);
        this.resync(why);
        return;
      case MODE_PROBE: {
        // The first frame cannot be checked whole: judge its header alone.
        const b = this.sbuf;
        const l = this.slen;
        this.sbuf = null;
        this.slen = 0;
        if (b && l >= HEADER_SIZE && headerFits(b, 0, Header.get.opcode(b, 0), this.maxPayload)) {
          this.mode = MODE_FRAMING;
          this.host.decide(true, pkt);
          this.data(b, 0, l, pkt);
          this.missing(n, gap, pkt);
        } else {
          this.mode = MODE_REJECTED;
          this.host.decide(false, pkt);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The stream ended: a partial frame is emitted with what is present (short or truncated). */
  end(pkt: Packet): void {
    if (this.mode === MODE_RESYNC && this.slen > 0) this.rescan(pkt, true);
    if (this.mode === MODE_FRAMING && this.have > 0) {
      const data = this.size < 0 ? Buffer.from(this.hdr!.subarray(0, this.have)) : this.cur.subarray(0, this.have);
      this.resetFrame();
      this.host.frame(data, pkt, false, this.first);
    }
    this.reportSkipped(pkt);
  }

  /** Reports the bytes given up since the last report (one `skipped` per run). */
  private reportSkipped(pkt: Packet): void {
    const n = this.skippedBytes;
    if (n === 0) return;
    this.skippedBytes = 0;
    const why = this.mode === MODE_DESYNC ? WHY_DESYNC : this.why;
    this.host.skipped(n, pkt, `${n} captured bytes skipped: no VVMP frame starts in them (${why})`);
  }

  /**
   * Heuristic mode found VVMP (in this direction or the other): leave PROBE.
   * `trusted`: the bytes held start the direction's stream (its SYN was seen),
   * so framing starts at them; otherwise scan them for a header.
   */
  accept(trusted: boolean, pkt: Packet): void {
    if (this.mode !== MODE_PROBE) return;
    const b = this.sbuf;
    const l = this.slen;
    this.sbuf = null;
    this.slen = 0;
    if (trusted) this.mode = MODE_FRAMING;
    else this.resync(WHY_PROBE);
    if (b && l > 0) this.data(b, 0, l, pkt);
  }

  private resetFrame(): void {
    this.cur = EMPTY;
    this.have = 0;
    this.size = -1;
  }

  private frameData(buf: Buffer, s: number, e: number, pkt: Packet): void {
    const host = this.host;
    while (s < e) {
      if (this.have === 0) {
        const avail = e - s;
        if (avail >= HEADER_SIZE) {
          const size = frameSizeAt(buf, s)!;
          if (size > this.maxFrame) {
            this.mode = MODE_DESYNC;
            this.skippedBytes += e - s - HEADER_SIZE;
            host.frame(buf.subarray(s, s + HEADER_SIZE), pkt, true, pkt.index);
            return;
          }
          if (avail >= size) {
            host.frame(buf.subarray(s, s + size), pkt, false, pkt.index);
            s += size;
            continue;
          }
          const cur = Buffer.allocUnsafeSlow(size);
          buf.copy(cur, 0, s, e);
          this.cur = cur;
          this.size = size;
          this.have = avail;
          this.first = pkt.index;
          return;
        }
        const hdr = (this.hdr ??= Buffer.allocUnsafeSlow(HEADER_SIZE));
        buf.copy(hdr, 0, s, e);
        this.size = -1;
        this.have = avail;
        this.first = pkt.index;
        return;
      }
      if (this.size < 0) {
        const hdr = this.hdr!;
        const take = Math.min(HEADER_SIZE - this.have, e - s);
        buf.copy(hdr, this.have, s, s + take);
        this.have += take;
        s += take;
        if (this.have < HEADER_SIZE) return;
        const size = frameSizeAt(hdr, 0)!;
        if (size > this.maxFrame) {
          this.resetFrame();
          this.mode = MODE_DESYNC;
          this.skippedBytes += e - s;
          host.frame(Buffer.from(hdr), pkt, true, this.first);
          return;
        }
        const cur = Buffer.allocUnsafeSlow(size);
        hdr.copy(cur, 0, 0, HEADER_SIZE);
        this.cur = cur;
        this.size = size;
      } else {
        const take = Math.min(this.size - this.have, e - s);
        buf.copy(this.cur, this.have, s, s + take);
        this.have += take;
        s += take;
      }
      if (this.have === this.size) {
        const done = this.cur;
        this.resetFrame();
        host.frame(done, pkt, false, this.first);
      }
    }
  }

  /**
   * Where framing can resume in `b[from, to)`: the first candidate header
   * that is confirmed, or -1. A candidate must pass the strict check (whole
   * frame present, good checksum, right payload size) and be confirmed: its
   * frame ends exactly at `to`, or the next header passes the strict check
   * too. A candidate whose next header is not all there yet is confirmed only
   * when `final` (no more bytes will come before a hole or the end);
   * otherwise `this.keep` is set to the first position worth rescanning once
   * more bytes arrive (-1: none).
   */
  private scan(b: Buffer, from: number, to: number, final: boolean): number {
    const maxPayload = this.maxPayload;
    let keep = -1;
    for (let p = from; p < to; p++) {
      let v = plausibleAt(b, p, to - p, maxPayload, true);
      // Right after the discontinuity a frame with a bad checksum is still a
      // frame (the decoder reports checksum_bad): taken once confirmed.
      let badSum = false;
      if (v === PLAUSIBLE_NO && p === from && this.atStart) {
        v = plausibleAt(b, p, to - p, maxPayload, true, true);
        badSum = v === PLAUSIBLE_YES;
      }
      if (v === PLAUSIBLE_NO) continue;
      if (v === PLAUSIBLE_NEED_MORE) {
        if (keep < 0) keep = p;
        continue;
      }
      const next = p + frameSizeAt(b, p)!;
      if (next === to || (p === from && this.atStart && !badSum)) return p;
      const w = plausibleAt(b, next, to - next, maxPayload, true);
      if (w === PLAUSIBLE_YES) return p;
      if (w === PLAUSIBLE_NEED_MORE) {
        if (final) return p;
        if (keep < 0) keep = p;
      }
    }
    this.keep = keep;
    return -1;
  }

  private keep = -1;
  /**
   * The held bytes (or, with none held, the next byte fed) are the first after
   * the discontinuity that started RESYNC. Writers align segments with frames
   * more often than not, so a frame that passes the strict check right there
   * is taken without waiting for the next header to confirm it.
   */
  private atStart = false;

  /** Frame boundary unknown from here on (`why`): scan for the next plausible header. */
  private resync(why: string = WHY_START): void {
    this.skippedBytes += this.slen;
    this.why = why;
    this.mode = MODE_RESYNC;
    this.atStart = true;
    this.sbuf = null;
    this.slen = 0;
  }

  /**
   * RESYNC: scans for where framing resumes (see `scan`); returns where to go
   * on in `buf` (FRAMING from there) or `e` when all was taken. Bytes from
   * the first position worth rescanning are kept (a copy) for the next call.
   */
  private resyncData(buf: Buffer, s: number, e: number, pkt: Packet): number {
    if (this.slen === 0) {
      const p = this.scan(buf, s, e, false);
      if (p >= 0) {
        this.skippedBytes += p - s;
        this.reportSkipped(pkt);
        this.mode = MODE_FRAMING;
        return p;
      }
      this.skippedBytes += (this.keep >= 0 ? this.keep : e) - s;
      if (this.keep >= 0) this.append(buf, this.keep, e);
      if (this.keep !== s) this.atStart = false;
      return e;
    }
    this.append(buf, s, e);
    this.rescan(pkt, false);
    return e;
  }

  /** Scans the held bytes again; `final`: no more bytes follow them. */
  private rescan(pkt: Packet, final: boolean): void {
    const b = this.sbuf!;
    const l = this.slen;
    const p = this.scan(b, 0, l, final);
    if (p >= 0) {
      this.sbuf = null;
      this.slen = 0;
      this.skippedBytes += p;
      this.reportSkipped(pkt);
      this.mode = MODE_FRAMING;
      this.data(b, p, l, pkt);
      return;
    }
    if (this.keep < 0 || final) {
      this.skippedBytes += l;
      this.sbuf = null;
      this.slen = 0;
      this.atStart = false;
    } else if (this.keep > 0) {
      this.skippedBytes += this.keep;
      b.copy(b, 0, this.keep, l);
      this.slen = l - this.keep;
      this.atStart = false;
    }
  }

  /** Heuristic: judges the direction's first bytes. */
  private probeData(buf: Buffer, s: number, e: number, pkt: Packet): number {
    let b: Buffer = buf;
    let at = s;
    let avail = e - s;
    if (this.slen > 0) {
      this.append(buf, s, e);
      b = this.sbuf!;
      at = 0;
      avail = this.slen;
    }
    const v = plausibleAt(b, at, avail, this.maxPayload);
    if (v === PLAUSIBLE_NEED_MORE) {
      if (this.slen === 0) this.append(buf, s, e);
      return e;
    }
    this.sbuf = null;
    this.slen = 0;
    if (v === PLAUSIBLE_NO) {
      this.mode = MODE_REJECTED;
      this.host.decide(false, pkt);
      return e;
    }
    this.mode = MODE_FRAMING;
    this.host.decide(true, pkt);
    if (b === buf) return s; // go on framing in place
    this.data(b, 0, avail, pkt);
    return e;
  }

  /** Appends `buf[s, e)` to the scan buffer (a copy). */
  private append(buf: Buffer, s: number, e: number): void {
    const n = e - s;
    const need = this.slen + n;
    let sb = this.sbuf;
    if (!sb || sb.length < need) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, sb ? sb.length * 2 : 256));
      if (sb) sb.copy(grown, 0, 0, this.slen);
      sb = grown;
      this.sbuf = sb;
    }
    buf.copy(sb, this.slen, s, e);
    this.slen = need;
  }
}

/** What `FrameStream` tells its user. */
export interface FrameStreamOptions {
  /** Largest payload accepted, in bytes (the receiver limit). */
  maxPayload: number;
  /** One whole frame: a view into the pushed chunk when it lies in one, else a buffer of its own. */
  onFrame: (frame: Buffer) => void;
  /** A header whose length is over the limit (VVMP.md section 1): the stream cannot be framed any more and stops. */
  onOversize?: (header: Buffer, frameSize: number) => void;
  /** `end()` came inside a frame: the bytes present of it (a copy). */
  onPartial?: (bytes: Buffer) => void;
}

/** No capture packet: a FrameStream reads a socket, not a capture. */
const NO_PACKET: Packet = {
  index: 0, tsSec: 0, tsNsec: 0, tsDigits: 6, linkType: 0, data: EMPTY, origLen: 0, interfaceId: 0, fileOffset: 0,
};

/**
 * The Framer on a plain byte stream whose first byte starts a frame (a TCP
 * socket): push chunks in order, get whole frames. A frame inside one chunk
 * is handed on as a view (no copy); one spanning chunks is gathered in a
 * buffer of exactly its size, so a slow drip costs O(frame size).
 */
export class FrameStream {
  private readonly framer: Framer;
  private stopped = false;
  private ending = false;
  /** Frames handed on so far. */
  frames = 0;

  constructor(private readonly opts: FrameStreamOptions) {
    const host: ConsumerHost = {
      frame: (data, _packet, desync) => this.frame(data, desync),
      decide: () => undefined,
      skipped: () => undefined,
      dropped: () => undefined,
    };
    this.framer = new Framer(host, opts.maxPayload, MODE_FRAMING);
  }

  /** Bytes of an incomplete frame held back. */
  get buffered(): number {
    return this.stopped ? 0 : this.framer.pending;
  }

  /** True once an oversize header stopped the stream (or `stop()` was called). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Drops what is held and ignores all further input. */
  stop(): void {
    this.stopped = true;
  }

  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.framer.data(chunk, 0, chunk.length, NO_PACKET);
  }

  /** No more bytes: a partial frame goes to `onPartial`. */
  end(): void {
    if (this.stopped) return;
    this.ending = true;
    this.framer.end(NO_PACKET);
    this.stopped = true;
  }

  private frame(data: Buffer, desync: boolean): void {
    if (this.stopped) return;
    if (desync) {
      this.stopped = true;
      this.opts.onOversize?.(data, frameSizeAt(data, 0)!);
      return;
    }
    if (this.ending) {
      this.opts.onPartial?.(Buffer.from(data));
      return;
    }
    this.frames++;
    this.opts.onFrame(data);
  }
}
