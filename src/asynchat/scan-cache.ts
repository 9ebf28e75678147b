// What a native terminator scan found, kept for the records it found ahead, and the policy that
// decides when a native scan pays.
//
// native.scan finds up to `max` records of one terminator in one call. The records after the
// first are delivered from here, one by one, while the record loop goes on exactly where the
// cache says the next search starts, with the same terminator: that is the one validity rule
// (covers()). Anything else (another chunk, another position, another terminator, or the shared
// results taken by another channel's scan) and the cache is not used.
//
// The first records after a change of terminator are found one at a time in JavaScript, so that
// a protocol which switches terminators after every record (SMTP's DATA, RESP's byte counts)
// never pays for a look-ahead it throws away; while the terminator stays the same, the look-ahead
// grows with the run of records already delivered, so what is thrown away when it changes is
// never more than what was just delivered.
import { native } from '../binding/native';
import { debugAssert } from '../engine/debug-assert';
import { sameBytes } from './terminator';

/** Records found per native scan, at most. */
export const SCAN_BATCH = 1024;
/** Records found one at a time after a change of terminator, before native scans start. */
const NATIVE_MIN_RUN = 8;
/**
 * A native call pays when it finds several records: it is made only when the rest of the read
 * holds this many records of the run's average length (bench/scan-threshold.mjs measures it).
 */
const NATIVE_MIN_RECORDS = 8;
/**
 * Longer terminators are left to Buffer#indexOf (Boyer-Moore; a record is at least as long as
 * its terminator, so its per-call setup amortizes): native.scan's prefix check is quadratic in
 * the terminator's length.
 */
export const LONG_TERMINATOR = 64;
/** The run's counters are halved past this, so that they stay small integers. */
const RUN_CAP = 1 << 16;
/** native.scan reports offsets as int32. */
export const NATIVE_MAX_OFFSET = 0x7fffffff;

/** next(): the results end where the scan stopped at its maximum; scan again. */
export const NOT_CACHED = -2;

// The results of the last native scan, shared by every channel of this thread (4 KiB each would
// add up over many channels); the last slot is recvScan's count. A cache is valid only while
// it is their owner: a scan made for another channel (one fed from inside a callback) takes
// them over, and the first one scans again.
const results = new Int32Array(SCAN_BATCH + 2);
const SCANNED_COUNT = SCAN_BATCH + 1;
/** Where a read's scan (Transport.readScan) writes what it found, for the ScanCache to adopt. */
export const SCAN_RESULTS: Int32Array = results;
let owner: ScanCache | null = null;

export class ScanCache {
  // The shared results hold matches results[idx..count) of `term` in `buf`, and the next search
  // starts at `next`; when count < max, no match follows them and `endTail` bytes at the end of
  // the chunk are a partial terminator.
  private buf: Buffer | null = null;
  private term: Uint8Array | null = null;
  private nextPos = -1;
  private idx = 0;
  private count = 0;
  private max = 0;
  private endTail = 0;

  // The run of records found with the same terminator bytes: it sizes the look-ahead.
  private runTerm: Uint8Array | null = null;
  private run = 0;
  private runBytes = 0;

  // A chunk read by recvScan() with its records already found: where it was read to, and the
  // scan's terms. The feed of that very chunk starts from those results (adopt()).
  private primedMemory: ArrayBufferLike | null = null;
  private primedOffset = -1;
  private primedTerm: Uint8Array | null = null;
  private primedMax = 0;
  /** Bytes the peer's last read brought (-1: nothing was there). */
  private lastRead = 0;

  /** The one validity rule: the cached results go on exactly at buf[pos], for t's bytes. */
  covers(buf: Buffer, pos: number, t: Uint8Array): boolean {
    return owner === this && this.buf === buf && this.nextPos === pos &&
      (this.term === t || sameBytes(this.term!, t));
  }

  /** The shared results are still this cache's (no other channel's scan has overwritten them). */
  owned(): boolean {
    return owner === this;
  }

  /** Records the cache holds beyond the one just delivered, when covers() holds. */
  get ahead(): number {
    return this.count - this.idx;
  }

  /**
   * The next record from pos (where covers() said the search starts): its position, -1 when the
   * scan reached the end of the chunk (tail() is then the partial terminator there), or
   * NOT_CACHED when it stopped at its maximum.
   */
  next(pos: number, m: number): number {
    if (this.idx < this.count) {
      const at = results[this.idx++];
      this.nextPos = at + m;
      this.counted(at + m - pos);
      return at;
    }
    return this.count < this.max ? -1 : NOT_CACHED;
  }

  /** The partial terminator at the end of the chunk, once next() returned -1. */
  tail(): number {
    return this.endTail;
  }

  /**
   * Position of the i-th cached record ahead (0: the next one). For a delivery loop that takes
   * `ahead` records at once and then tells skip() how many it took and where it stopped.
   */
  peek(i: number): number {
    return results[this.idx + i];
  }

  skip(records: number, pos: number, bytes: number): void {
    this.idx += records;
    this.nextPos = pos;
    this.run += records;
    this.runBytes += bytes;
  }

  /** Scans buf[pos, end) natively for up to max records of t, and caches what it found. */
  scan(buf: Buffer, pos: number, end: number, t: Uint8Array, max: number): void {
    this.fill(buf, t, pos, native.scan(buf, pos, end, t, results, max), max);
  }

  /**
   * The first t in buf[pos, end) by a native scan for one record (memmem): for a search that
   * JavaScript found too costly. Overwrites the shared results, so no cache holds any more.
   */
  scanOne(buf: Buffer, pos: number, end: number, t: Uint8Array): number {
    owner = this;
    this.buf = null;
    return native.scan(buf, pos, end, t, results, 1) === 1 ? results[0] : -1;
  }

  /** The chunk the feed is done with: its results are of no more use. */
  release(): void {
    this.buf = null;
  }

  // ---- the policy: when a native scan pays ----

  /**
   * A record of t is being looked for: a terminator of other bytes than the run's ends the run.
   * Call before scanMax() and before counting a record found.
   */
  follow(t: Uint8Array): void {
    if (this.runTerm !== t) {
      if (this.runTerm === null || !sameBytes(this.runTerm, t)) this.endRun();
      this.runTerm = t;
    }
    // Only the counters' ratio and a threshold matter: halving keeps both small integers (a
    // counter that outgrew V8's small integers would change the field's representation).
    if (this.run >= RUN_CAP) {
      this.run >>>= 1;
      this.runBytes = Math.floor(this.runBytes / 2);
    }
  }

  /** A record that was not found by t (an integer or null terminator) ends the run. */
  endRun(): void {
    this.run = 0;
    this.runBytes = 0;
  }

  /** A record of `bytes` bytes (terminator included) was found one at a time. */
  counted(bytes: number): void {
    this.run++;
    this.runBytes += bytes;
  }

  /**
   * Records to look for in one native scan of buf[pos, end) for a terminator of m bytes, or 0
   * while one would not pay.
   */
  scanMax(m: number, pos: number, end: number): number {
    const max = this.lookAhead(m, end);
    return max > 0 && end - pos >= this.minScanBytes() ? max : 0;
  }

  private lookAhead(m: number, end: number): number {
    const run = this.run;
    if (run < NATIVE_MIN_RUN || m > LONG_TERMINATOR || end > NATIVE_MAX_OFFSET) return 0;
    return run < SCAN_BATCH ? run : SCAN_BATCH;
  }

  /** The fewest bytes a native scan pays for: NATIVE_MIN_RECORDS records of the run's average length. */
  private minScanBytes(): number {
    return Math.ceil((NATIVE_MIN_RECORDS * this.runBytes) / this.run);
  }

  // ---- a read and its scan in one crossing ----

  /**
   * Records to look for in the read about to be made for a run of t (reading to `end`), or 0
   * when the read should not be scanned: the run says a scan would not pay, or the peer's last
   * read was too small to scan (one request at a time). The read's scan then needs minBytes().
   */
  planRead(t: Uint8Array, end: number): number {
    this.primedMemory = null;
    if (this.runTerm === null || (this.runTerm !== t && !sameBytes(this.runTerm, t))) return 0;
    const max = this.lookAhead(t.length, end);
    return max > 0 && this.lastRead >= this.minScanBytes() ? max : 0;
  }

  /** The fewest bytes a read's scan pays for (after planRead() returned more than 0). */
  readScanMin(): number {
    return this.minScanBytes();
  }

  /** A read was made without a scan: n as the transport returned it (bytes, 0, -1). */
  noteRead(n: number): number {
    this.primedMemory = null;
    return (this.lastRead = n);
  }

  /**
   * A read was made with its scan (SCAN_RESULTS) for up to max records of t, into memory at
   * offset: the feed of that chunk starts from what it found (adopt()).
   */
  noteScannedRead(n: number, memory: ArrayBufferLike, offset: number, t: Uint8Array, max: number): number {
    this.lastRead = n;
    if (n > 0 && results[SCANNED_COUNT] >= 0) {
      owner = this;
      this.primedMemory = memory;
      this.primedOffset = offset;
      this.primedTerm = t;
      this.primedMax = max;
    }
    return n;
  }

  /**
   * A chunk is being fed: when it is the one receive() scanned (same memory, same offset), its
   * results become the cache at position 0; any other chunk, and they are dropped.
   */
  adopt(chunk: Buffer, memory: ArrayBufferLike | undefined, offset: number): void {
    if (this.primedMemory === null) return;
    const read = this.primedMemory === memory && this.primedOffset === offset;
    // Nothing runs between a read and the feed of its chunk: no other channel's scan can have
    // taken the shared results in between.
    debugAssert(!read || owner === this, 'the results of a read\'s scan are still its channel\'s when its chunk is fed');
    this.primedMemory = null;
    if (read && owner === this) this.fill(chunk, this.primedTerm!, 0, results[SCANNED_COUNT], this.primedMax);
  }

  private fill(buf: Buffer, t: Uint8Array, pos: number, count: number, max: number): void {
    owner = this;
    this.buf = buf;
    this.term = t;
    this.nextPos = pos;
    this.idx = 0;
    this.count = count;
    this.max = max;
    this.endTail = count < max ? results[count] : 0;
  }
}
