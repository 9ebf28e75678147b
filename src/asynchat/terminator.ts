// The input side of async_chat: splitting received bytes into records at the terminator, with
// the callbacks Python's async_chat.handle_read makes, in the same order and with the same data,
// but without its flaws: the work is linear in the bytes received, an endless record is
// refused past a limit, and nothing is delivered once the channel is closed.
//
// Python joins what it kept back (a possible partial terminator) with each read and searches
// the joined buffer from its start. Here a read is searched where it lies; only the few bytes
// kept back are joined, and only for the one record that spans the two reads.
//
// Records are found in batches by native.scan (one call, many records). The first records after
// a change of terminator are found one at a time in JavaScript (memchr through Buffer#indexOf),
// so that a protocol which changes the terminator after every record (SMTP's DATA, RESP's byte
// counts) never pays for a look-ahead it throws away; while the terminator stays the same, the
// batch grows with the run of records already delivered, so the look-ahead thrown away when it
// changes is never more than what was just delivered.
import { AsynchatError, asynchatError } from '../errors';
import { BufferView } from '../engine/buffer-view';
import { native } from '../binding/native';

/** A normalized terminator: a non-empty Buffer, a byte count (integer >= 0), or null. */
export type Terminator = Buffer | number | null;

/**
 * What a terminator may be set to: a string (encoded, UTF-8 unless `encoding` is given), bytes
 * (copied), a non-negative integer, or null/undefined. Empty strings and bytes become null:
 * Python treats a falsy terminator as "collect everything".
 */
export function normalizeTerminator(
  t: string | Uint8Array | number | null | undefined,
  encoding?: BufferEncoding,
): Terminator {
  if (t === null || t === undefined) return null;
  if (typeof t === 'string') {
    const b = t.length === 0 ? EMPTY : Buffer.from(t, encoding ?? 'utf8');
    return b.length === 0 ? null : b;
  }
  if (typeof t === 'number') {
    if (Number.isSafeInteger(t) && t >= 0) return t + 0;  // + 0: -0 becomes 0
    throw new AsynchatError(
      'ERR_ASYNCHAT_BAD_TERMINATOR',
      `the number of received bytes must be a non-negative integer, got ${t}`,
    );
  }
  if (t instanceof Uint8Array) return t.length === 0 ? null : Buffer.from(t);
  throw asynchatError(
    'ERR_ASYNCHAT_BAD_TERMINATOR',
    `a terminator must be a string, bytes, a non-negative integer or null, got ${describe(t)}`,
    'TypeError',
  );
}

/**
 * Python's find_prefix_at_end: the length of the longest proper prefix of `needle` that
 * `haystack` ends with (0 if none). Strings are compared as strings when both are strings, and
 * encoded as UTF-8 otherwise. As in Python, an empty needle gives -1.
 */
export function findPrefixAtEnd(haystack: Uint8Array | string, needle: Uint8Array | string): number {
  if (typeof haystack === 'string' && typeof needle === 'string') {
    let l = needle.length - 1;
    while (l > 0 && !haystack.endsWith(needle.slice(0, l))) l--;
    return l;
  }
  const hay = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  const t = typeof needle === 'string' ? Buffer.from(needle) : needle;
  if (t.length === 0) return -1;
  return prefixAtEnd(hay, 0, hay.length, t, failureTable(t));
}

/** The channel side of the splitter: AsyncChat implements it. */
export interface SplitterTarget {
  /** Read afresh after every record; the integer countdown writes it back (as Python's handle_read does to self.terminator). */
  terminator: Terminator;
  collectIncomingData(data: Buffer): void;
  foundTerminator(): void;
  /** true once the channel is closed: deliver nothing more (a fix of a Python flaw) */
  readonly closed: boolean;
}

export interface InputSplitterOptions {
  /**
   * Most bytes collected under a byte terminator before it is found (default 4 MiB); one more
   * and feed() throws ERR_ASYNCHAT_INPUT_TOO_LARGE. Integer and null terminators are not limited.
   */
  maxBuffered?: number;
}

const EMPTY = Buffer.alloc(0);
/** Records found per native scan, at most. */
const BATCH = 1024;
/** Records found one at a time after a change of terminator, before batches start. */
const NATIVE_MIN_RUN = 8;
/**
 * A native call (~150 ns) pays when it finds several records; it is made only when the rest of
 * the read holds this many records of the run's average length (bench/scan-threshold.mjs).
 */
const NATIVE_MIN_RECORDS = 8;
/**
 * Longer terminators are found with Buffer#indexOf (Boyer-Moore; a record is at least as long as
 * its terminator, so its per-call setup amortizes) and their partial match at the end of a read
 * by KMP: native.scan's prefix check is quadratic in the terminator's length.
 */
const LONG_TERMINATOR = 64;
/** The run's counters are halved past this. */
const RUN_CAP = 1 << 16;
/** native.scan reports offsets as int32. */
const NATIVE_MAX_OFFSET = 0x7fffffff;
const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;

// native.scan's results, shared by all splitters (4 KiB each would add up over many channels).
// A splitter's cached results are valid while it is still the owner: a splitter fed from inside
// another's callback takes the array over, and the first one scans again.
/** nextCached(): the cached results end where the scan stopped; scan again. */
const NOT_CACHED = -2;
// The last slot is recvScan's count.
const results = new Int32Array(BATCH + 2);
const SCANNED_COUNT = BATCH + 1;
let resultsOwner: InputSplitter | null = null;

/**
 * Splits received chunks into records for a SplitterTarget, as async_chat.handle_read does.
 *
 * Buffers handed to collectIncomingData are views of the chunks given to feed() (which must never
 * be rewritten), or of memory this splitter allocated and never rewrites: users may keep them.
 */
export class InputSplitter {
  /** See InputSplitterOptions.maxBuffered; may be changed at any time. */
  maxBuffered: number;

  // Bytes kept back from earlier reads live in an append-only arena, at [keptStart, arenaUsed).
  // Nothing written there is ever rewritten, so views of it may be handed to the user.
  private arena: Buffer = EMPTY;
  private arenaUsed = 0;
  private keptStart = 0;
  /** The terminator the kept bytes are a proper prefix of; null when they are arbitrary bytes (left by an exception). */
  private keptFor: Uint8Array | null = null;

  /** Bytes collected under a byte terminator since it was last found. */
  private collected = 0;
  private overLimit = false;
  /** Bumped by discard(): a record loop that sees it change stops, as Python's does when discard_buffers empties ac_in_buffer. */
  private epoch = 0;
  private feeding = false;
  /** Chunks fed from inside a callback, delivered after the current one. */
  private queued: Buffer[] | null = null;

  // Results of the last native scan: matches results[cIdx..cCount) of cTerm in cBuf, valid while
  // this splitter owns `results` and the next search starts at cNext; when cCount < cMax there is
  // none after them and cTail is the partial terminator at the end.
  private cBuf: Buffer | null = null;
  private cTerm: Uint8Array | null = null;
  private cNext = -1;
  private cIdx = 0;
  private cCount = 0;
  private cMax = 0;
  private cTail = 0;
  /** Partial terminator at the end, set by find() when it returns -1. */
  private tail = 0;

  // The run of records found with the same terminator (it sizes the look-ahead).
  private runTerm: Uint8Array | null = null;
  private run = 0;
  private runBytes = 0;

  // A chunk read by receive() with its records already found: where it lies, and the scan's
  // terms. feed() of that chunk takes them as its cached results.
  private primedMemory: ArrayBufferLike | null = null;
  private primedOffset = -1;
  private primedTerm: Uint8Array | null = null;
  private primedMax = 0;
  /** Where deliverRun() is in the chunk while it runs, else -1. */
  private runPos = -1;
  /** Bytes the last receive() got (-1: nothing there). */
  private lastRead = 0;

  private failTerm: Uint8Array | null = null;
  private failTab: Int32Array = new Int32Array(0);

  constructor(options: InputSplitterOptions = {}) {
    const max = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    if (typeof max !== 'number' || !(max >= 0)) {
      throw new RangeError(`maxBuffered must be a non-negative number, got ${String(max)}`);
    }
    this.maxBuffered = max;
  }

  /** Bytes kept back from earlier reads (a possible partial terminator). */
  get pending(): number {
    return this.arenaUsed - this.keptStart;
  }

  /**
   * Drops kept bytes and resets the limit counter (Python's discard_buffers). Called from inside
   * a callback, it also drops the rest of the chunk being delivered, as Python does.
   */
  discard(): void {
    this.epoch++;
    this.keptStart = this.arenaUsed;
    this.keptFor = null;
    this.collected = 0;
    this.overLimit = false;
    this.queued = null;
  }

  /**
   * Reads one chunk from fd into memory[offset, offset + size), with native.recv's contract
   * (bytes read, 0 at end of stream, -1 when nothing was there; errors throw). When feed()
   * would scan the chunk natively anyway (a long run of records with this terminator, nothing
   * kept back from the last read), the records are found in the same crossing, and feed() of
   * that chunk (memory, offset) starts from them. `bytes` is memory.buffer, when the caller has
   * it at hand.
   */
  receive(fd: number, memory: Buffer, offset: number, size: number, t: Terminator, bytes?: ArrayBufferLike): number {
    this.primedMemory = null;
    // (Not while a chunk is being delivered: a read made from one of its callbacks would
    // overwrite the results the delivery is walking.)
    const max = this.feeding || !isBytes(t) || this.arenaUsed > this.keptStart ||
      (this.runTerm !== t && (this.runTerm === null || !sameBytes(this.runTerm, t)))
      ? 0 : this.scanMax(t.length, offset + size);
    // A peer whose last read was too small to scan (one request at a time) gets the plain recv.
    const minBytes = max === 0 ? 0 : this.scanMinBytes();
    if (max === 0 || this.lastRead < minBytes) return (this.lastRead = native.recv(fd, memory, offset, size));
    const term = t as Buffer;  // max > 0: a byte terminator
    const n = this.lastRead = native.recvScan(fd, memory, offset, size, term, results, max, minBytes);
    if (n > 0 && results[SCANNED_COUNT] >= 0) {
      resultsOwner = this;
      this.primedMemory = bytes ?? memory.buffer;
      this.primedOffset = offset;
      this.primedTerm = term;
      this.primedMax = max;
    }
    return n;
  }

  /**
   * Feeds one received chunk: calls target.collectIncomingData / foundTerminator exactly as
   * Python's async_chat.handle_read would for the same sequence of reads.
   *
   * A callback's exception propagates, and what was not yet delivered is kept for the next call,
   * as Python keeps it in ac_in_buffer. Past maxBuffered this throws ERR_ASYNCHAT_INPUT_TOO_LARGE
   * and keeps throwing until discard(). Called again from inside a callback, the chunk is
   * delivered after the rest of the current one. `memory` and `offset` are chunk.buffer and
   * chunk.byteOffset, when the caller has them at hand: reading those properties is not inlined
   * by V8 and costs more than the rest of a short read's bookkeeping.
   */
  feed(target: SplitterTarget, chunk: Buffer, memory?: ArrayBufferLike, offset = 0): void {
    if (!Buffer.isBuffer(chunk)) {
      const u8 = chunk as Uint8Array;
      chunk = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
      memory = undefined;
    }
    if (this.feeding) {
      (this.queued ??= []).push(chunk);
      return;
    }
    if (target.closed) {
      this.dropKept();
      return;
    }
    if (this.overLimit) throw this.limitError();
    if (this.primedMemory !== null) this.adoptScan(chunk, memory, offset);
    this.feeding = true;
    try {
      let next: Buffer | undefined = chunk;
      while (next !== undefined) {
        if (next === chunk) this.feedOne(target, next, memory, offset);
        else this.feedOne(target, next, undefined, 0);
        if (target.closed) {
          this.queued = null;
          this.dropKept();
          break;
        }
        next = this.queued?.shift();
      }
    } catch (err) {
      // Chunks fed from a callback are kept too (feedOne kept the rest of its own).
      if (this.queued !== null && !this.overLimit && !target.closed) {
        for (const q of this.queued) this.keep(q, 0, q.length, null);
      }
      throw err;
    } finally {
      this.queued = null;
      this.feeding = false;
      this.cBuf = null;
    }
  }

  // The chunk receive() scanned is the one fed (same memory, same offset): its results become
  // the cache find() reads at position 0. Anything else, and they are dropped.
  private adoptScan(chunk: Buffer, memory: ArrayBufferLike | undefined, offset: number): void {
    const primed = this.primedMemory === memory && this.primedOffset === offset && resultsOwner === this;
    this.primedMemory = null;
    if (primed) this.cacheScan(chunk, this.primedTerm!, 0, results[SCANNED_COUNT], this.primedMax);
  }

  /** Records to look for in one native scan ending at `end`, or 0 while one would not pay. */
  private scanMax(m: number, end: number): number {
    const run = this.run;
    if (run < NATIVE_MIN_RUN || m > LONG_TERMINATOR || end > NATIVE_MAX_OFFSET) return 0;
    return run < BATCH ? run : BATCH;
  }

  /** The fewest bytes a native scan pays for: NATIVE_MIN_RECORDS records of the run's average length. */
  private scanMinBytes(): number {
    return Math.ceil((NATIVE_MIN_RECORDS * this.runBytes) / this.run);
  }

  /** `count` records of t found from buf[pos] by a native scan for at most `max` are in `results`. */
  private cacheScan(buf: Buffer, t: Uint8Array, pos: number, count: number, max: number): void {
    resultsOwner = this;
    this.cBuf = buf;
    this.cTerm = t;
    this.cNext = pos;
    this.cIdx = 0;
    this.cCount = count;
    this.cMax = max;
    this.cTail = count < max ? results[count] : 0;
  }

  /**
   * The next record from the cached results (pos is where the search starts: cNext), or -1 with
   * this.tail set when the scan reached the end of the chunk, or NOT_CACHED when it stopped at
   * its maximum: scan again.
   */
  private nextCached(pos: number, m: number): number {
    if (this.cIdx < this.cCount) {
      const at = results[this.cIdx++];
      this.cNext = at + m;
      this.run++;
      this.runBytes += at + m - pos;
      return at;
    }
    if (this.cCount < this.cMax) {
      this.tail = this.cTail;
      return -1;
    }
    return NOT_CACHED;
  }

  private feedOne(target: SplitterTarget, chunk: Buffer, memory: ArrayBufferLike | undefined, offset: number): void {
    const epoch = this.epoch;
    let buf = chunk;
    let pos = 0;
    if (this.arenaUsed > this.keptStart) {
      const t = target.terminator;
      if (isBytes(t) && this.keptFor !== null && sameBytes(this.keptFor, t)) {
        pos = this.acrossReads(target, t, chunk, epoch);
        if (pos < 0) return;
      } else {
        // The terminator changed since the bytes were kept (or they were left by an exception):
        // join, as Python does.
        buf = Buffer.allocUnsafe(this.pending + chunk.length);
        this.arena.copy(buf, 0, this.keptStart, this.arenaUsed);
        chunk.copy(buf, this.pending);
        this.keptStart = this.arenaUsed;
        this.keptFor = null;
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
        const t = target.terminator;
        if (typeof t === 'number' || t === null || t === undefined) {
          this.run = 0;
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
            this.collected = 0;
            target.foundTerminator();
          }
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
            this.admit(at - pos);
            target.collectIncomingData(new BufferView(ab, base + pos, at - pos));
            this.collected += at - pos;
            if (target.closed) return;
          }
          pos = at + m;
          this.collected = 0;
          target.foundTerminator();
          // The rest of the records the same native scan found.
          if (this.cIdx < this.cCount && this.cBuf === buf && this.cNext === pos && this.cTerm === t && resultsOwner === this) {
            this.runPos = pos;
            pos = this.deliverRun(target, t, ab, base, pos, epoch);
            this.runPos = -1;
            if (pos < 0) return;
          }
          continue;
        }
        const q = this.tail;
        if (end - pos !== q) {
          this.admit(end - pos - q);
          target.collectIncomingData(new BufferView(ab, base + pos, end - q - pos));
          this.collected += end - pos - q;
          if (target.closed || this.epoch !== epoch) return;
        }
        if (q > 0) this.keep(buf, end - q, end, t);
        return;
      }
    } catch (err) {
      if (this.runPos >= 0) {
        pos = this.runPos;  // where deliverRun() was
        this.runPos = -1;
      }
      if (!this.overLimit && this.epoch === epoch && !target.closed) this.keep(buf, pos, end, null);
      throw err;
    }
  }

  /**
   * The records one native scan found after pos, delivered by a loop without find()'s
   * bookkeeping while nothing that scan depended on changes: the same terminator object, an
   * open channel, no discard(), and the results not taken by another splitter (fed from a
   * callback). Returns where the record loop goes on, or -1 once the channel is closed. A
   * function of its own so that V8 inlines the callbacks here, where they are called.
   * this.runPos follows pos, for split()'s handler if a callback throws.
   */
  private deliverRun(target: SplitterTarget, t: Uint8Array, ab: ArrayBufferLike, base: number, pos: number, epoch: number): number {
    const m = t.length;
    const count = this.cCount;
    let idx = this.cIdx;
    const first = idx;
    const from = pos;
    // (cIdx and cNext are brought up to date after the loop: a callback cannot reach them,
    // since a chunk fed from one is queued, and an exception drops the cache.)
    while (idx < count && target.terminator === t && resultsOwner === this && this.epoch === epoch && !target.closed) {
      const next = results[idx++];
      if (next > pos) {
        if (next - pos > this.maxBuffered) this.admit(next - pos);  // collected is 0 here
        target.collectIncomingData(new BufferView(ab, base + pos, next - pos));
        if (target.closed) return -1;
      }
      this.runPos = pos = next + m;
      target.foundTerminator();
    }
    this.cIdx = idx;
    this.cNext = pos;
    this.run += idx - first;
    this.runBytes += pos - from;
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
    const m = t.length;
    const fail = this.failureOf(t);
    const p = this.pending;
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
          this.admit(i);
          target.collectIncomingData(this.arena.subarray(this.keptStart, this.keptStart + i));
          this.collected += i;
          if (target.closed) return this.dropKept();
        }
        this.keptStart = this.arenaUsed;
        this.keptFor = null;
        restFrom = k;
        this.collected = 0;
        target.foundTerminator();
        return k;
      }
      if (s > k) {
        // The whole chunk goes on matching the terminator: the last s bytes are kept.
        const n = p + end - s;
        if (n > 0) {
          this.admit(n);
          target.collectIncomingData(this.arena.subarray(this.keptStart, this.keptStart + n));
          this.collected += n;
          if (target.closed) return this.dropKept();
          if (this.epoch !== epoch) return -1;
          this.keptStart += n;
        }
        this.keep(chunk, 0, end, t);
        return -1;
      }
      // No terminator starts in the kept bytes, nor before chunk[k - s]; the first record is
      // the kept bytes joined with the chunk up to the first terminator in it.
      const at = this.find(chunk, k - s, end, t);
      const q = at >= 0 ? 0 : this.tail;
      const upTo = at >= 0 ? at : end - q;
      const first = Buffer.allocUnsafe(p + upTo);
      this.arena.copy(first, 0, this.keptStart, this.arenaUsed);
      chunk.copy(first, p, 0, upTo);
      this.admit(first.length);
      target.collectIncomingData(first);
      this.collected += first.length;
      if (target.closed) return this.dropKept();
      this.keptStart = this.arenaUsed;
      this.keptFor = null;
      if (at >= 0) {
        restFrom = at + m;
        this.collected = 0;
        target.foundTerminator();
        return at + m;
      }
      if (q > 0 && this.epoch === epoch) this.keep(chunk, end - q, end, t);
      return -1;
    } catch (err) {
      if (!this.overLimit && this.epoch === epoch && !target.closed) {
        if (restFrom >= 0) this.keptStart = this.arenaUsed;
        this.keep(chunk, restFrom < 0 ? 0 : restFrom, end, null);
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
    if (this.runTerm !== t) {
      if (this.runTerm === null || !sameBytes(this.runTerm, t)) {
        this.run = 0;
        this.runBytes = 0;
      }
      this.runTerm = t;
    }
    // Only their ratio and a threshold matter: halving keeps both small integers (a counter
    // that outgrew V8's small integers would change the field's representation mid-run).
    if (this.run >= RUN_CAP) {
      this.run >>>= 1;
      this.runBytes = Math.floor(this.runBytes / 2);
    }
    if (
      this.cBuf === buf && this.cNext === pos && resultsOwner === this &&
      (this.cTerm === t || sameBytes(this.cTerm!, t))
    ) {
      this.cTerm = t;
      const at = this.nextCached(pos, m);
      if (at !== NOT_CACHED) return at;
    }
    const max = this.scanMax(m, end);
    if (max > 0 && end - pos >= this.scanMinBytes()) {
      this.cacheScan(buf, t, pos, native.scan(buf, pos, end, t, results, max), max);
      return this.nextCached(pos, m);  // max > 0: never NOT_CACHED here
    }
    const at = m === 1 ? buf.indexOf(t[0], pos) : m > LONG_TERMINATOR ? buf.indexOf(t, pos) : this.search(buf, pos, end, t);
    if (at >= 0) {
      this.run++;
      this.runBytes += at + m - pos;
      return at;
    }
    this.tail = m === 1 ? 0 : prefixAtEnd(buf, pos, end, t, m > 16 ? this.failureOf(t) : null);
    return -1;
  }

  /**
   * One short multi-byte terminator: memchr on its first byte (Buffer#indexOf with a number),
   * then the rest compared here. Candidates that fail cost "badness", bytes skipped earn it back
   * (as V8's string search does); past a limit memmem (native.scan, linear) takes the rest.
   * Buffer#indexOf with a Buffer needle is slower on both counts: ~50 ns a call, and ~5 ns a byte
   * over runs of the first byte ("\r\r\r..." for "\r\n").
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
      if (badness > 0 && end <= NATIVE_MAX_OFFSET) {
        this.cBuf = null;  // the cached results are overwritten
        return native.scan(buf, p, end, t, results, 1) === 1 ? results[0] : -1;
      }
    }
    return -1;
  }

  /** Appends buf[from, to) to the kept bytes. */
  private keep(buf: Uint8Array, from: number, to: number, keptFor: Uint8Array | null): void {
    const n = to - from;
    this.keptFor = keptFor;
    if (n === 0) return;
    if (this.arenaUsed + n > this.arena.length) {
      // A new arena; the old one is left as it is, for the views handed out of it.
      const live = this.arenaUsed - this.keptStart;
      const next = Buffer.allocUnsafe(Math.max(64, 2 * (live + n)));
      this.arena.copy(next, 0, this.keptStart, this.arenaUsed);
      this.arena = next;
      this.keptStart = 0;
      this.arenaUsed = live;
    }
    this.arena.set(buf.subarray(from, to), this.arenaUsed);
    this.arenaUsed += n;
  }

  private dropKept(): -1 {
    this.keptStart = this.arenaUsed;
    this.keptFor = null;
    return -1;
  }

  private admit(n: number): void {
    if (this.collected + n > this.maxBuffered) {
      this.overLimit = true;
      this.dropKept();
      this.queued = null;
      throw this.limitError();
    }
  }

  private limitError(): AsynchatError {
    return new AsynchatError(
      'ERR_ASYNCHAT_INPUT_TOO_LARGE',
      `more than ${this.maxBuffered} bytes received without the terminator`,
    );
  }

  private failureOf(t: Uint8Array): Int32Array {
    if (this.failTerm !== t && (this.failTerm === null || !sameBytes(this.failTerm, t))) {
      this.failTab = failureTable(t);
    }
    this.failTerm = t;
    return this.failTab;
  }
}

function isBytes(t: Terminator | undefined): t is Buffer {
  return t !== null && typeof t === 'object' && t.length > 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (n > 32) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** KMP: f[i] is the length of the longest proper border of t[0..i]. */
function failureTable(t: Uint8Array): Int32Array {
  const f = new Int32Array(t.length);
  let k = 0;
  for (let i = 1; i < t.length; i++) {
    while (k > 0 && t[i] !== t[k]) k = f[k - 1];
    if (t[i] === t[k]) k++;
    f[i] = k;
  }
  return f;
}

/**
 * The longest l < t.length, l <= end - start, with buf[end - l, end) == t[0, l). Short
 * terminators are compared directly; long ones walk KMP over the last t.length - 1 bytes, which
 * keeps the work linear in the terminator's length.
 */
function prefixAtEnd(buf: Uint8Array, start: number, end: number, t: Uint8Array, fail: Int32Array | null): number {
  const m = t.length;
  const l = Math.min(m - 1, end - start);
  if (l <= 0) return 0;
  if (fail === null) {
    for (let n = l; n > 0; n--) {
      const base = end - n;
      let j = 0;
      while (j < n && buf[base + j] === t[j]) j++;
      if (j === n) return n;
    }
    return 0;
  }
  let s = 0;
  for (let i = end - l; i < end; i++) {
    const c = buf[i];
    while (s > 0 && t[s] !== c) s = fail[s - 1];
    if (t[s] === c) s++;
    if (s === m) s = fail[m - 1];
  }
  return s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
