// The input side of async_chat: received bytes split into records at the terminator, with the
// callbacks Python's async_chat.handle_read makes, in the same order and with the same data,
// but without its flaws: the work is linear in the bytes received, a channel past its input limit
// is refused (refuse(): its owner decides what the limit counts), and nothing is delivered once
// the channel is closed.
//
// Python joins what it kept back (a possible partial terminator) with each read and searches the
// joined buffer from its start. Here a read is searched where it lies; only the few bytes kept
// back are joined, and only for the one record that spans the two reads. Records found ahead by
// a native scan come from the ScanCache; reading is the channel's (ScanCache.receive). While
// the terminator is a Framer, the FrameSplitter has the chunk.
import { BufferView } from '../engine/buffer-view';
import { FrameSplitter } from './frame-splitter';
import { KeptBytes } from './kept-bytes';
import { LONG_TERMINATOR, NATIVE_MAX_OFFSET, NOT_CACHED, ScanCache } from './scan-cache';
import { failureTable, isBytes, isFramer, prefixAtEnd, sameBytes, type Terminator } from './terminator';

/** The channel side of the splitter: AsyncChat implements it. */
export interface SplitterTarget {
  /** Read afresh after every record; the integer countdown writes it back (as Python's handle_read does to self.terminator). */
  terminator: Terminator;
  collectIncomingData(data: Buffer): void;
  foundTerminator(): void;
  /** true once the channel is closed: deliver nothing more (a fix of a Python flaw) */
  readonly closed: boolean;
  /**
   * true while the channel's output is over its high-water mark: the records not yet delivered
   * are held, as unread bytes, until resume() (a peer that pipelines requests and never reads
   * cannot make one read's records fill memory with replies).
   */
  readonly inputPaused?: boolean;
}

const EMPTY = Buffer.alloc(0);

// The splitter's states.
/** Waiting for the next chunk. */
const IDLE = 0;
/** Delivering a chunk: a chunk fed now (from a callback) is queued behind it. */
const FEEDING = 1;
/** Refused (refuse()): every feed throws, until discard(). */
const REFUSED = 2;
type State = typeof IDLE | typeof FEEDING | typeof REFUSED;

/**
 * Splits received chunks into records for a SplitterTarget, as async_chat.handle_read does.
 *
 * Buffers handed to collectIncomingData are views of the chunks given to feed() (which must never
 * be rewritten), or of memory this splitter allocated and never rewrites: users may keep them.
 */
export class InputSplitter {
  /** What native scans found ahead, and when they pay. */
  readonly scans = new ScanCache();

  private state: State = IDLE;
  private readonly kept = new KeptBytes();
  /** What every feed throws while refused. */
  private refusal: Error | null = null;
  /** Bumped by discard(): a record loop that sees it change stops, as Python's does when discard_buffers empties ac_in_buffer. */
  private epoch = 0;
  /** Chunks fed from inside a callback, delivered after the current one. */
  private fedWhileFeeding: Buffer[] | null = null;
  /** Where deliverRun() has delivered up to while it runs, else -1: for split()'s exception handler. */
  private runAt = -1;
  /** Partial terminator at the end of the chunk, set by find() when it returns -1. */
  private tail = 0;
  /** The kept bytes are records held back while the target's input was paused. */
  private held = false;

  private failTerm: Uint8Array | null = null;
  private failTab: Int32Array = new Int32Array(0);
  /** The record loop for framer terminators, made when one is first used. */
  private frames: FrameSplitter | null = null;

  /** Bytes kept back from earlier reads (a possible partial terminator, an unfinished frame). */
  get pending(): number {
    return this.kept.length + (this.frames?.pending ?? 0);
  }

  /** Records are held back, undelivered, since the target's input was paused. */
  get holding(): boolean {
    return this.held;
  }

  /**
   * Delivers the records held back while the target's input was paused (it is not paused any
   * more), as if they had just been read: nothing waits for the fd to become readable again.
   */
  resume(target: SplitterTarget): void {
    if (this.held) this.feed(target, EMPTY);
  }

  /** refuse()d (past the input limit, or a frame refused): every feed throws until discard(). */
  get refused(): boolean {
    return this.state === REFUSED;
  }

  /**
   * The channel is past its input limit: what is kept is dropped, the rest of the chunk being
   * delivered is not, and every feed throws `err` until discard().
   */
  refuse(err: Error): void {
    this.state = REFUSED;
    this.refusal = err;
    this.kept.drop();
    this.frames?.drop();
    this.held = false;
    this.fedWhileFeeding = null;
  }

  /**
   * Whether the next read may be scanned ahead for t in the same crossing (ScanCache.receive):
   * not while a chunk is being delivered (its results would be overwritten), nor while bytes
   * are kept back (the first record spans two reads).
   */
  canScanAhead(t: Terminator): t is Buffer {
    return this.state !== FEEDING && isBytes(t) && this.kept.length === 0 && (this.frames?.pending ?? 0) === 0;
  }

  /**
   * Drops kept bytes and resets the limit (Python's discard_buffers). Called from inside a
   * callback, it also drops the rest of the chunk being delivered, as Python does.
   */
  discard(): void {
    this.epoch++;
    this.kept.drop();
    this.held = false;
    this.refusal = null;
    if (this.state === REFUSED) this.state = IDLE;
    this.fedWhileFeeding = null;
    this.frames?.discard();
  }

  /**
   * Feeds one received chunk: calls target.collectIncomingData / foundTerminator exactly as
   * Python's async_chat.handle_read would for the same sequence of reads.
   *
   * A callback's exception propagates, and what was not yet delivered is kept for the next call,
   * as Python keeps it in ac_in_buffer. Once refuse()d it throws the refusal until discard(). Called again from inside a callback, the chunk is
   * delivered after the rest of the current one. `memory` and `offset` are chunk.buffer and
   * chunk.byteOffset, when the caller has them at hand (reading those properties is a runtime
   * call in V8, bench/record-path.mjs measures the difference).
   */
  feed(target: SplitterTarget, chunk: Buffer, memory?: ArrayBufferLike, offset = 0): void {
    if (!Buffer.isBuffer(chunk)) {
      const u8 = chunk as Uint8Array;
      chunk = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
      memory = undefined;
    }
    if (this.state === FEEDING) {
      (this.fedWhileFeeding ??= []).push(chunk);
      return;
    }
    if (target.closed) {
      this.kept.drop();
      this.frames?.drop();
      return;
    }
    if (this.state === REFUSED) throw this.refusal!;
    this.scans.adopt(chunk, memory, offset);
    this.state = FEEDING;
    this.held = false;
    try {
      let next: Buffer | undefined = chunk;
      while (next !== undefined) {
        if (next === chunk) this.feedOne(target, next, memory, offset);
        else this.feedOne(target, next, undefined, 0);
        if (target.closed) {
          this.fedWhileFeeding = null;
          this.kept.drop();
          this.frames?.drop();
          break;
        }
        next = this.fedWhileFeeding?.shift();
      }
    } catch (err) {
      // Chunks fed from a callback are kept too (feedOne kept the rest of its own).
      if (this.fedWhileFeeding !== null && !this.refused && !target.closed) {
        for (const q of this.fedWhileFeeding) this.kept.keep(q, 0, q.length, null);
      }
      throw err;
    } finally {
      this.fedWhileFeeding = null;
      if (this.state === FEEDING) this.state = IDLE;
      this.scans.release();
    }
  }

  private feedOne(target: SplitterTarget, chunk: Buffer, memory: ArrayBufferLike | undefined, offset: number): void {
    const epoch = this.epoch;
    let buf = chunk;
    let pos = 0;
    const kept = this.kept;
    // An unfinished frame of a framer that is no longer the terminator: its bytes are input again.
    if (this.frames !== null && this.frames.pendingFramer !== null && this.frames.pendingFramer !== target.terminator) {
      this.frames.giveBack();
    }
    if (kept.length > 0) {
      const t = target.terminator;
      if (isBytes(t) && kept.partialOf !== null && sameBytes(kept.partialOf, t)) {
        pos = this.acrossReads(target, t, chunk, epoch);
        if (pos < 0) return;
      } else {
        // The terminator changed since the bytes were kept (or they were left by an exception):
        // join, as Python does.
        buf = Buffer.allocUnsafe(kept.length + chunk.length);
        chunk.copy(buf, kept.copyTo(buf, 0));
        kept.drop();
      }
    }
    if (buf === chunk) this.split(target, buf, pos, epoch, memory, offset);
    else this.split(target, buf, pos, epoch, undefined, 0);
  }

  /**
   * The record loop of handle_read over buf[pos..], with nothing kept back. The terminator is
   * read afresh for every record. `pos` moves exactly when Python's ac_in_buffer is sliced, so
   * that an exception leaves the same bytes undelivered.
   */
  private split(
    target: SplitterTarget, buf: Buffer, pos: number, epoch: number, memory: ArrayBufferLike | undefined, offset: number,
  ): void {
    const end = buf.length;
    // Records are made with BufferView from these (buf.subarray costs more than twice as much).
    const ab = memory ?? buf.buffer;
    const base = memory === undefined ? buf.byteOffset : offset;
    try {
      while (pos < end) {
        if (target.closed || this.epoch !== epoch) return;
        if (target.inputPaused === true) {
          this.frames?.giveBack();  // an unfinished frame's bytes come first
          this.kept.keep(buf, pos, end, null);
          this.held = true;
          return;
        }
        const t = target.terminator;
        if (typeof t === 'number' || t === null || t === undefined) {
          this.scans.endRun();
          const have = end - pos;
          if (!t) {
            target.collectIncomingData(new BufferView(ab, base + pos, end - pos));
            pos = end;
          } else if (have < t) {
            target.collectIncomingData(new BufferView(ab, base + pos, end - pos));
            pos = end;
            target.terminator = t - have;
          } else {
            target.collectIncomingData(new BufferView(ab, base + pos, t));
            pos += t;
            target.terminator = 0;
            if (target.closed) return;
            target.foundTerminator();
          }
          continue;
        }
        if (isFramer(t)) {
          this.scans.endRun();
          const from = pos;
          pos = end;  // the FrameSplitter keeps what a callback's exception leaves undelivered itself
          this.frames ??= new FrameSplitter(this.kept, (err) => this.refuse(err));
          const at = this.frames.feed(target, t, buf, from, end, ab, base);
          if (at < 0) return;
          pos = at;
          continue;
        }
        const m = t.length;
        if (m === 0) {
          target.collectIncomingData(new BufferView(ab, base + pos, end - pos));
          pos = end;
          continue;
        }
        const at = this.find(buf, pos, end, t);
        if (at >= 0) {
          if (at > pos) {
            target.collectIncomingData(new BufferView(ab, base + pos, at - pos));
            if (target.closed) return;
          }
          pos = at + m;
          target.foundTerminator();
          // The rest of the records the same native scan found.
          if (this.scans.ahead > 0 && this.scans.covers(buf, pos, t)) {
            this.runAt = pos;
            pos = this.deliverRun(target, t, ab, base, pos, epoch);
            this.runAt = -1;
            if (pos < 0) return;
          }
          continue;
        }
        const q = this.tail;
        if (end - pos !== q) {
          target.collectIncomingData(new BufferView(ab, base + pos, end - q - pos));
          if (target.closed || this.epoch !== epoch) return;
        }
        if (q > 0) this.kept.keep(buf, end - q, end, t);
        return;
      }
    } catch (err) {
      if (this.runAt >= 0) {
        pos = this.runAt;
        this.runAt = -1;
      }
      if (!this.refused && this.epoch === epoch && !target.closed) this.kept.keep(buf, pos, end, null);
      throw err;
    }
  }

  /**
   * The records one native scan found after pos, delivered without find()'s bookkeeping while
   * nothing that scan depended on changes: the same terminator object, an open channel, no
   * discard(), and the results not taken by another channel's scan. Returns where the record
   * loop goes on, or -1 once the channel is closed. It is a method of its own so that V8
   * inlines the callbacks here, where they are called in a tight loop (bench/record-path.mjs
   * shows the difference at depth 16 and 64).
   */
  private deliverRun(target: SplitterTarget, t: Uint8Array, ab: ArrayBufferLike, base: number, pos: number, epoch: number): number {
    const m = t.length;
    const scans = this.scans;
    const count = scans.ahead;
    const from = pos;
    let i = 0;
    // (The cache is brought up to date after the loop: a callback cannot reach it, since a
    // chunk fed from one is queued, and an exception drops the cache.)
    while (
      i < count && target.terminator === t && this.epoch === epoch && !target.closed && target.inputPaused !== true &&
      scans.owned()
    ) {
      const next = scans.peek(i++);
      if (next > pos) {
        target.collectIncomingData(new BufferView(ab, base + pos, next - pos));
        if (target.closed) return -1;
      }
      this.runAt = pos = next + m;
      target.foundTerminator();
    }
    scans.skip(i, pos, pos - from);
    return pos;
  }

  /**
   * The first records of a read when bytes were kept back from the last one: those bytes are
   * t[0..p), a partial terminator. A KMP walk over the first bytes of the chunk finds a
   * terminator that starts inside them; it stops once the partial match lies wholly inside the
   * chunk, and then the chunk is searched like any other. Returns where the record loop goes on
   * in the chunk, or -1 when the chunk is used up.
   */
  private acrossReads(target: SplitterTarget, t: Uint8Array, chunk: Buffer, epoch: number): number {
    const kept = this.kept;
    const m = t.length;
    const fail = this.failureOf(t);
    const p = kept.length;
    const end = chunk.length;
    let s = p;
    let k = 0;
    while (k < end && s > k) {
      const c = chunk[k++];
      while (s > 0 && t[s] !== c) s = fail[s - 1];
      if (t[s] === c) s++;
      if (s === m) break;
    }
    let restFrom = -1;  // for an exception: -1, the kept bytes and all the chunk remain
    try {
      if (s === m) {
        // A terminator starting at kept byte i.
        const i = p + k - m;
        if (i > 0) {
          target.collectIncomingData(kept.view(i));
          if (target.closed) return this.dropKept();
        }
        kept.drop();
        restFrom = k;
        target.foundTerminator();
        return k;
      }
      if (s > k) {
        // The whole chunk goes on matching the terminator: the last s bytes are kept.
        const n = p + end - s;
        if (n > 0) {
          target.collectIncomingData(kept.view(n));
          if (target.closed) return this.dropKept();
          if (this.epoch !== epoch) return -1;
          kept.take(n);
        }
        kept.keep(chunk, 0, end, t);
        return -1;
      }
      // No terminator starts in the kept bytes, nor before chunk[k - s]; the first record is
      // the kept bytes joined with the chunk up to the first terminator in it.
      const at = this.find(chunk, k - s, end, t);
      const q = at >= 0 ? 0 : this.tail;
      const upTo = at >= 0 ? at : end - q;
      const first = Buffer.allocUnsafe(p + upTo);
      kept.copyTo(first, 0);
      chunk.copy(first, p, 0, upTo);
      target.collectIncomingData(first);
      if (target.closed) return this.dropKept();
      kept.drop();
      if (at >= 0) {
        restFrom = at + m;
        target.foundTerminator();
        return at + m;
      }
      if (q > 0 && this.epoch === epoch) kept.keep(chunk, end - q, end, t);
      return -1;
    } catch (err) {
      if (!this.refused && this.epoch === epoch && !target.closed) {
        if (restFrom >= 0) kept.drop();
        kept.keep(chunk, restFrom < 0 ? 0 : restFrom, end, null);
      }
      throw err;
    }
  }

  /**
   * The first occurrence of t in buf at or after pos (Python's find), or -1 with this.tail set
   * to the length of the partial terminator buf ends with.
   */
  private find(buf: Buffer, pos: number, end: number, t: Uint8Array): number {
    const m = t.length;
    const scans = this.scans;
    scans.follow(t);
    if (scans.covers(buf, pos, t)) {
      const at = scans.next(pos, m);
      if (at !== NOT_CACHED) {
        if (at < 0) this.tail = scans.tail();
        return at;
      }
    }
    const max = scans.scanMax(m, pos, end);
    if (max > 0) {
      scans.scan(buf, pos, end, t, max);
      const at = scans.next(pos, m);  // max > 0: never NOT_CACHED here
      if (at < 0) this.tail = scans.tail();
      return at;
    }
    const at = m === 1 ? buf.indexOf(t[0], pos) : m > LONG_TERMINATOR ? buf.indexOf(t, pos) : this.search(buf, pos, end, t);
    if (at >= 0) {
      scans.counted(at + m - pos);
      return at;
    }
    this.tail = m === 1 ? 0 : prefixAtEnd(buf, pos, end, t, m > 16 ? this.failureOf(t) : null);
    return -1;
  }

  /**
   * One short multi-byte terminator: memchr on its first byte (Buffer#indexOf with a number),
   * then the rest compared here. Candidates that fail cost "badness", bytes skipped earn it back
   * (as V8's string search does); past a limit memmem (a native scan, linear) takes the rest.
   * Buffer#indexOf with a Buffer needle is slower on both counts: a costlier call, and a slow
   * walk over runs of the first byte ("\r\r\r..." for "\r\n").
   */
  private search(buf: Buffer, pos: number, end: number, t: Uint8Array): number {
    const m = t.length;
    const first = t[0];
    const last = end - m;
    let p = pos;
    let badness = -256;
    while (p <= last) {
      const c = buf.indexOf(first, p);
      if (c < 0 || c > last) return -1;
      let j = 1;
      while (j < m && buf[c + j] === t[j]) j++;
      if (j === m) return c;
      badness += 16 + j - (c - p);
      p = c + 1;
      if (badness > 0 && end <= NATIVE_MAX_OFFSET) return this.scans.scanOne(buf, p, end, t);
    }
    return -1;
  }

  private dropKept(): -1 {
    this.kept.drop();
    return -1;
  }

  private failureOf(t: Uint8Array): Int32Array {
    if (this.failTerm !== t && (this.failTerm === null || !sameBytes(this.failTerm, t))) {
      this.failTab = failureTable(t);
    }
    this.failTerm = t;
    return this.failTab;
  }
}
