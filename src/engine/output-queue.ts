// The output side of async_chat (push, push_with_producer, close_when_done, discard_buffers and
// simple_producer) as a queue that its owner drains with writev: gather() offers buffers,
// consume(n) takes back what the kernel accepted.
//
// Python's initiate_send sends one slice per writable event and re-slices the head after a
// partial send: quadratic in the bytes queued, and one syscall per push. Here:
// - The queue is a singly linked list of entries: data, producer, close marker. A data entry is
//   a byte range [start, end) of a buffer the queue owns. A partial write moves the head's
//   `start`; nothing is re-sliced or re-joined, so the work is linear in the bytes.
// - Small pushes are copied into a shared block, appended to while it has room, so ten thousand
//   lines make a handful of iovecs. A push of LARGE bytes or more gets its own copy.
// - Producers are pulled when gather() reaches them, and their chunks are linked in just before
//   them, as Python's appendleft does.
// - Entries leave the list as they are consumed: memory follows what is still queued.
//
// Python cuts a push larger than ac_out_buffer_size (64 KiB) into 64 KiB pieces and sends one
// piece per send(). That is only observable as the size of single send calls, so pushes stay
// whole here and gather()'s maxBytes bounds each write instead.
import { BufferView } from './buffer-view';
import { AsynchatError, invalidArgType, nodeArgError, outOfRange } from '../errors';

/** Python's producer: more() returns the next chunk; empty, null or undefined when exhausted. */
export interface Producer {
  more(): Uint8Array | string | null | undefined;
}

export interface GatherResult {
  /** Buffers placed in `out` (out.length is set to this). */
  count: number;
  /** Bytes of out[0] already sent: write out[0] from this offset (writev's firstOffset). */
  firstOffset: number;
  /** Bytes offered, firstOffset excluded. */
  total: number;
  /** The head of the queue is the close marker, with nothing before it: close the channel. */
  closeReached: boolean;
}

export interface OutputQueueOptions {
  /** How strings are encoded (default 'utf8'). */
  encoding?: BufferEncoding;
}

// Pushes of this size or more keep a buffer of their own; smaller ones share blocks.
const LARGE = 16 * 1024;
// Blocks start small (a connection that sends a line per batch holds 1 KiB, from Node's buffer
// pool) and double while a batch keeps filling them, up to BLOCK_MAX.
const BLOCK_MIN = 1024;
const BLOCK_MAX = 64 * 1024;
// A drained queue keeps a block up to this size for its next batch.
const BLOCK_KEEP = 2 * 1024;
// writeTo() lets go of the buffers of a write this big.
const BIG_WRITE = 64 * 1024;

const DATA = 0;
const PRODUCER = 1;
const CLOSE = 2;

class Entry {
  kind: number;
  /**
   * DATA: the bytes, either a shared block or a buffer of this entry's own. Producers and close
   * markers hold EMPTY, never a block: endsAt() relies on it.
   */
  buf: Buffer;
  /** DATA: where this entry began in buf; `view` covers [base, end). */
  base: number;
  /** DATA: the next byte to send. */
  start: number;
  end: number;
  view: Buffer | null;
  producer: Producer | null;
  next: Entry | null = null;

  constructor(kind: number, buf: Buffer, base: number, end: number, producer: Producer | null) {
    this.kind = kind;
    this.buf = buf;
    this.base = base;
    this.start = base;
    this.end = end;
    this.view = base === 0 && end === buf.length ? buf : null;
    this.producer = producer;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Whether e can grow over bytes just copied to block[at]: it holds that block and ends there.
 * Only a data entry can hold a block (see Entry.buf), so the kind needs no check.
 */
function endsAt(e: Entry | null, block: Buffer, at: number): e is Entry {
  return e !== null && e.buf === block && e.end === at;
}

// TypedArray#set, called directly: looked up on a Buffer, V8 makes `set` a generic property load
// at every call (Buffer.prototype holds too many methods for it to keep a fast lookup).
const copyInto = Uint8Array.prototype.set;

const BYTES = 'of type string or an instance of Buffer or Uint8Array';

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw outOfRange(name, `an integer >= ${min}`, value);
}

/** Python's simple_producer: hands out `data` in slices of bufferSize bytes, then empty. */
export class SimpleProducer implements Producer {
  readonly bufferSize: number;
  private data: Buffer;
  private offset = 0;

  /** Takes a copy of data (strings as UTF-8): later changes by the caller are not sent. */
  constructor(data: Uint8Array | string, bufferSize = 512) {
    if (typeof data === 'string') this.data = Buffer.from(data, 'utf8');
    else if (data instanceof Uint8Array) this.data = Buffer.from(data);
    else throw invalidArgType('The "data" argument', BYTES, data);
    checkCount('bufferSize', bufferSize, 1);
    this.bufferSize = bufferSize;
  }

  more(): Buffer {
    // Python re-slices the rest on every call (quadratic); an offset does the same in O(1).
    const rest = this.data.length - this.offset;
    if (rest === 0) return EMPTY;
    const n = rest > this.bufferSize ? this.bufferSize : rest;
    const chunk = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    if (this.offset === this.data.length) {
      this.data = EMPTY;
      this.offset = 0;
    }
    return chunk;
  }
}

const simpleMore = SimpleProducer.prototype.more;

// What writeTo() stopped at.
/** Everything queued was written (or only exhausted producers were left). */
export const WROTE_ALL = 0;
/** The kernel took less than offered: the socket's buffer is full until it is writable again. */
export const WROTE_FULL = 1;
/** The close marker is at the head: everything before it is sent; close the channel. */
export const WROTE_TO_CLOSE = 2;
/** The write budget ran out with more queued and the socket not known to be full. */
export const WROTE_BUDGET = 3;
export type WriteOutcome = typeof WROTE_ALL | typeof WROTE_FULL | typeof WROTE_TO_CLOSE | typeof WROTE_BUDGET;

/** What writeTo() writes through: native.writev's contract, without the fd (a channel's transport). */
export interface VectorWriter {
  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number;
}

/** Writes made per writeTo() call at most, so that one channel cannot starve the others. */
const WRITES_PER_CALL = 4;
/**
 * What a DispatcherWithSend (and stopTls's last TLS write) gathers per write at most. AsyncChat
 * gathers by its acOutBufferSize instead, as Python slices by ac_out_buffer_size.
 */
export const WRITE_BYTES = 1 << 20;
export const WRITE_CHUNKS = 64;
// Gathered buffers for writeTo(), shared by every queue of this thread (writev is synchronous).
const scratch: Uint8Array[] = [];
export class OutputQueue {
  private readonly encoding: BufferEncoding;
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private queuedBytes = 0;
  private sent = 0;
  private entries = 0;
  // The block small copies go to, and how much of it is used. An entry can grow in place only
  // if it ends exactly at `fill` of the current block.
  private block: Buffer | null = null;
  // block.buffer and block.byteOffset, for views of it (reading .buffer costs a runtime call).
  private blockMemory: ArrayBufferLike = EMPTY.buffer;
  private blockOffset = 0;
  private fill = 0;
  private nextBlockSize = BLOCK_MIN;
  // Bumped by clear(), so that a gather() whose producer cleared the queue notices.
  private generation = 0;
  private pulling = false;

  constructor(options: OutputQueueOptions = {}) {
    const encoding = options.encoding ?? 'utf8';
    if (!Buffer.isEncoding(encoding)) {
      throw nodeArgError('ERR_UNKNOWN_ENCODING', `Unknown encoding: ${String(encoding)}`);
    }
    this.encoding = encoding;
  }

  /** Queues a copy of data (strings encoded); empty data is ignored, as in Python. */
  push(data: Uint8Array | string): void {
    // The hot path (a reply line pushed while the current block has room), kept small enough
    // to be inlined into the caller: copy, then grow the tail entry over the copy.
    if (data instanceof Uint8Array) {
      const len = data.length;
      const block = this.block;
      const at = this.fill;
      if (block !== null && len <= block.length - at && len !== 0) {
        // For a few bytes such as a CRLF a loop beats TypedArray#set's call (bench/record-path.mjs).
        if (len <= 8) for (let i = 0; i < len; i++) block[at + i] = data[i];
        else copyInto.call(block, data, at);
        // place() for its common case, written out: place() is too big for V8 to inline here,
        // and bench/record-path.mjs shows the call.
        const tail = this.tail;
        if (endsAt(tail, block, at)) {
          this.fill = at + len;
          this.queuedBytes += len;
          tail.end = at + len;
        } else {
          this.place(tail, len);
        }
        return;
      }
    }
    this.pushOther(data);
  }

  /**
   * Queues data by reference when it is large (LARGE bytes or more), else copies it as push()
   * does: the caller must leave it unchanged until it is sent.
   */
  pushShared(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw invalidArgType('The "data" argument', BYTES, data);
    if (data.length === 0) return;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    this.insertBytes(this.tail, buf, true);
  }

  // push() for strings, a full block, large data, and what is not data at all.
  private pushOther(data: Uint8Array | string): void {
    if (typeof data === 'string') {
      if (data.length !== 0) this.insertString(this.tail, data);
    } else if (data instanceof Uint8Array) {
      if (data.length !== 0) this.insertBytes(this.tail, data, false);
    } else {
      throw invalidArgType('The "data" argument', BYTES, data);
    }
  }

  /** Queues a producer; its more() is first called when gather() reaches it. */
  pushProducer(producer: Producer): void {
    if (producer === null || typeof producer !== 'object' && typeof producer !== 'function' ||
        typeof producer.more !== 'function') {
      throw nodeArgError('ERR_INVALID_ARG_TYPE', 'The "producer" argument must be an object with a more() method');
    }
    this.link(this.tail, new Entry(PRODUCER, EMPTY, 0, 0, producer));
  }

  /** close_when_done: once everything before it is sent, gather() reports closeReached. */
  pushClose(): void {
    this.link(this.tail, new Entry(CLOSE, EMPTY, 0, 0, null));
  }

  /** Bytes queued and not yet sent, not counting what producers have not handed out yet. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Bytes consumed (written) since the queue was made: a change tells that a write happened. */
  get sentBytes(): number {
    return this.sent;
  }

  /** Nothing queued at all: no data, no producer, no close marker. */
  get empty(): boolean {
    return this.head === null;
  }

  /**
   * Fills `out` with buffers ready to send (at most maxBytes in total and maxChunks entries) and
   * sets out.length to the count; write out[0] from firstOffset, e.g.
   * `native.writev(fd, out, r.firstOffset)`, then call consume() with what was written, and
   * gather() again before the next write. Bytes offered stay as they are until consume() takes
   * them (a drained queue writes its block again).
   * Besides its result, it allocates only a slice for a buffer offered in part and a view for
   * a block entry that grew.
   *
   * Producers met on the way are pulled (more(), repeatedly, until the budget is filled or the
   * producer is exhausted) as Python's initiate_send does, except that Python pulls one chunk
   * per send and this pulls as much as one write can take. A producer is never pulled before
   * everything in front of it has been offered, nor at all once a close marker precedes it.
   * Called from inside a producer's more(), gather() offers nothing.
   */
  gather(out: Uint8Array[], maxBytes: number, maxChunks: number): GatherResult {
    checkCount('maxBytes', maxBytes, 0);
    checkCount('maxChunks', maxChunks, 0);
    if (this.pulling) {
      out.length = 0;
      return { count: 0, firstOffset: 0, total: 0, closeReached: false };
    }
    this.pullProducers(maxBytes, maxChunks);

    let count = 0;
    let total = 0;
    let firstOffset = 0;
    // Only the head can be partly sent, so only out[0] needs an offset.
    for (let e = this.head; e !== null && e.kind === DATA && count < maxChunks && total < maxBytes; e = e.next) {
      const take = Math.min(e.end - e.start, maxBytes - total);
      if (e.start + take === e.end) {
        let view = e.view;
        if (view === null || view.length !== e.end - e.base) {
          view = e.view = e.buf === this.block
            ? new BufferView(this.blockMemory, this.blockOffset + e.base, e.end - e.base)
            : e.buf.subarray(e.base, e.end);
        }
        out[count] = view;
        if (count === 0) firstOffset = e.start - e.base;
      } else {
        out[count] = e.buf.subarray(e.start, e.start + take);
      }
      count++;
      total += take;
    }
    // Writing an array's length is a runtime call: only when it changes.
    if (out.length !== count) out.length = count;
    const closeReached = count === 0 && this.head !== null && this.head.kind === CLOSE;
    return { count, firstOffset, total, closeReached };
  }

  /** n bytes of what gather() offered were written; n may stop inside a buffer. */
  consume(n: number): void {
    checkCount('n', n, 0);
    if (this.pulling) {
      throw new AsynchatError('ERR_ASYNCHAT_REENTRANT', 'consume() called from inside a producer\'s more()');
    }
    // Check first, so that a bad n leaves the queue as it was.
    let left = n;
    for (let e = this.head; left > 0; e = e.next) {
      if (e === null || e.kind !== DATA) throw outOfRange('n', 'at most the bytes gathered', n);
      left -= e.end - e.start;
    }
    this.queuedBytes -= n;
    this.sent += n;
    left = n;
    let h = this.head;
    while (left > 0) {
      const e = h!;
      const rest = e.end - e.start;
      if (left < rest) {
        e.start += left;
        break;
      }
      left -= rest;
      h = e.next;
      this.entries--;
    }
    this.head = h;
    if (h === null) {
      this.tail = null;
      this.drained();
    }
  }

  /**
   * The output drain of every channel: writes what is queued through `writer` (the channel's
   * transport: the socket's writev, or TLS encrypting), gathering at most maxBytes and
   * maxChunks per write, until the queue is empty, the writer takes less than offered, the
   * close marker is reached, or WRITES_PER_CALL writes were made. An error from the writer is
   * thrown with nothing consumed.
   */
  writeTo(writer: VectorWriter, maxBytes: number, maxChunks: number): WriteOutcome {
    for (let writes = 0; writes < WRITES_PER_CALL; writes++) {
      if (this.head === null) return WROTE_ALL;
      const got = this.gather(scratch, maxBytes, maxChunks);
      if (got.count === 0) return got.closeReached ? WROTE_TO_CLOSE : WROTE_ALL;
      let n: number;
      try {
        // A lone buffer (the usual write: small pushes share one block) goes without an array,
        // which spares the native side walking one.
        n = writer.writev(got.count === 1 ? scratch[0] : scratch, got.firstOffset);
      } finally {
        // Let go of big buffers once written; small views of the kept block are overwritten
        // by the next gather anyway (and truncating the array is a runtime call).
        if (got.total >= BIG_WRITE) scratch.length = 0;
      }
      if (n <= 0) return WROTE_FULL;
      this.consume(n);
      if (n < got.total) return WROTE_FULL;
    }
    return this.head === null ? WROTE_ALL : WROTE_BUDGET;
  }

  /** discard_buffers for the output side: drops data, producers and close markers. */
  clear(): void {
    this.head = this.tail = null;
    this.queuedBytes = 0;
    this.entries = 0;
    this.generation++;
    this.drained();
  }

  /** @internal For tests and diagnostics: what the queue holds on to. */
  _internals(): { entries: number; blockBytes: number } {
    return { entries: this.entries, blockBytes: this.block === null ? 0 : this.block.length };
  }

  // Walks the data ready in front and pulls producers it meets while the budget allows. Pulled
  // chunks go in right before their producer; an exhausted producer is unlinked.
  private pullProducers(maxBytes: number, maxChunks: number): void {
    let bytes = 0;
    let chunks = 0;
    let prev: Entry | null = null;
    let e = this.head;
    const generation = this.generation;
    while (e !== null && bytes < maxBytes && chunks < maxChunks) {
      if (e.kind === DATA) {
        bytes += e.end - e.start;
        chunks++;
        prev = e;
        e = e.next;
        continue;
      }
      if (e.kind === CLOSE) return;
      const producer = e.producer!;
      let chunk: ReturnType<Producer['more']>;
      this.pulling = true;
      try {
        chunk = producer.more();
      } finally {
        this.pulling = false;
      }
      // The producer cleared the queue (discard_buffers): its chunk goes with it.
      if (this.generation !== generation) return;
      if (chunk === null || chunk === undefined || chunk.length === 0) {
        if (typeof chunk !== 'string' && chunk != null && !(chunk instanceof Uint8Array)) {
          throw invalidArgType('The value returned by more()', BYTES, chunk);
        }
        // Exhausted: unlink it.
        const next = e.next;
        if (prev === null) this.head = next;
        else prev.next = next;
        if (this.tail === e) this.tail = prev;
        this.entries--;
        if (this.head === null) this.drained();
        e = next;
        continue;
      }
      const before = this.queuedBytes;
      const entriesBefore = this.entries;
      let last: Entry | null;
      if (typeof chunk === 'string') last = this.insertString(prev, chunk);
      else if (chunk instanceof Uint8Array) {
        // A producer may hand out the same buffer again, refilled: copy, unless it is ours.
        last = this.insertBytes(prev, chunk, producer.more === simpleMore && producer instanceof SimpleProducer);
      } else throw invalidArgType('The value returned by more()', BYTES, chunk);
      bytes += this.queuedBytes - before;
      chunks += this.entries - entriesBefore;
      prev = last;
    }
  }

  // Links `entry` after `prev` (null: at the head).
  private link(prev: Entry | null, entry: Entry): void {
    if (prev === null) {
      entry.next = this.head;
      this.head = entry;
    } else {
      entry.next = prev.next;
      prev.next = entry;
    }
    if (this.tail === prev) this.tail = entry;
    this.entries++;
  }

  // n bytes were just written at this.fill: grow `prev` over them if it ends there, else link a
  // new entry for them after prev. Returns the entry holding them.
  private place(prev: Entry | null, n: number): Entry {
    const block = this.block!;
    const at = this.fill;
    this.fill = at + n;
    this.queuedBytes += n;
    if (endsAt(prev, block, at)) {
      prev.end = at + n;
      return prev;
    }
    const entry = new Entry(DATA, block, at, at + n, null);
    this.link(prev, entry);
    return entry;
  }

  private newBlock(need: number): void {
    let size = this.nextBlockSize;
    while (size < need) size *= 2;
    const block = this.block = Buffer.allocUnsafe(size);
    this.blockMemory = block.buffer;
    this.blockOffset = block.byteOffset;
    this.fill = 0;
    this.nextBlockSize = Math.min(BLOCK_MAX, size * 2);
  }

  // Nothing is queued. A small block is kept and written again from its start (a connection
  // that answers every batch would otherwise allocate a block per batch): nothing it held is
  // referenced any more, since gather()'s callers are done with what they were offered once
  // they consume() it. A bigger block is let go (a burst is forgotten) and the next batch
  // starts with half its size.
  private drained(): void {
    const block = this.block;
    if (block === null) return;
    this.fill = 0;
    if (block.length > BLOCK_KEEP) {
      this.nextBlockSize = Math.max(BLOCK_MIN, block.length >> 1);
      this.block = null;
      this.blockMemory = EMPTY.buffer;  // nor its memory, through the cached ArrayBuffer
    }
  }

  // Copies src (non-empty) into the queue after `prev`; returns the last entry holding it.
  private insertBytes(prev: Entry | null, src: Uint8Array, owned: boolean): Entry {
    const len = src.length;
    if (len >= LARGE) {
      const own = owned && Buffer.isBuffer(src) ? src : Buffer.from(src);
      const entry = new Entry(DATA, own, 0, len, null);
      this.link(prev, entry);
      this.queuedBytes += len;
      return entry;
    }
    let done = 0;
    if (this.block !== null && this.fill < this.block.length) {
      const room = this.block.length - this.fill;
      if (len <= room) {
        this.block.set(src, this.fill);
        return this.place(prev, len);
      }
      // Fill the block to the brim, the rest goes to the next one.
      this.block.set(src.subarray(0, room), this.fill);
      prev = this.place(prev, room);
      done = room;
    }
    this.newBlock(len - done);
    this.block!.set(done === 0 ? src : src.subarray(done), 0);
    return this.place(prev, len - done);
  }

  // Encodes str (non-empty) into the queue after `prev`; returns the last entry holding it, or
  // prev when it encoded to nothing.
  private insertString(prev: Entry | null, str: string): Entry | null {
    let room = this.block === null ? 0 : this.block.length - this.fill;
    // No encoding makes more than 3 bytes of one UTF-16 code unit: when that fits, encode
    // straight into the block without measuring first (the common case of a short line).
    if (str.length * 3 <= room) {
      const n = this.block!.write(str, this.fill, room, this.encoding);
      return n === 0 ? prev : this.place(prev, n);
    }
    // Exact for utf8, latin1, ascii, ucs2; an upper bound for base64 and hex.
    const estimate = Buffer.byteLength(str, this.encoding);
    if (estimate === 0) return prev;
    if (estimate >= LARGE || estimate > room && room > 0) {
      // Large, or straddling two blocks: encode once, then keep or copy across.
      const own = Buffer.from(str, this.encoding);
      return own.length === 0 ? prev : this.insertBytes(prev, own, true);
    }
    if (estimate > room) {
      this.newBlock(estimate);
      room = this.block!.length;
    }
    const n = this.block!.write(str, this.fill, room, this.encoding);
    return n === 0 ? prev : this.place(prev, n);
  }
}
