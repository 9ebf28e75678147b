// Python's asynchat.async_chat on the native reactor.
//
// Input: each read lands in a slab that is never rewritten, so the records handed to
// collectIncomingData are views, not copies, and stay valid for as long as the user keeps
// them; the InputSplitter finds all the records of a read with one native scan.
// Output: push() only queues (a copy); everything pushed while a batch of events is handled
// is written at the end of the batch with one writev per channel ("cork by default"), and
// writable interest is asked for only while data remains.
import { BufferView } from '../engine/buffer-view';
import { Dispatcher, socketMap } from '../asyncore/dispatcher';
import type { SocketMap } from '../engine/map-state';
import { registerLibraryInterest } from '../engine/map-state';
import { asynchatError, isDisconnect } from '../errors';
import { OutputQueue, SimpleProducer, WROTE_TO_CLOSE, type Producer } from '../engine/output-queue';
import type { Socket } from '../binding/socket';
import { InputSplitter } from './input-splitter';
import { receive } from './receive';
import { findPrefixAtEnd, normalizeTerminator, type Terminator } from './terminator';

export { SimpleProducer, findPrefixAtEnd, type Producer, type Terminator };

const MiB = 1024 * 1024;
// One slab per thread receives every channel's reads back to back; a new one is started when
// the rest of the current one cannot take a full read. An old one lives on only while records
// point into it. (One slab per channel cost 256 KiB of address space per connection.)
const SLAB_SIZE = 256 * 1024;
let slab: Buffer = Buffer.allocUnsafe(0);
let slabBytes: ArrayBufferLike = slab.buffer;  // slab's memory (slab starts at its offset 0)
let slabUsed = 0;

export class AsyncChat extends Dispatcher {
  /** Bytes asked for by each read (Python's ac_in_buffer_size). */
  acInBufferSize = 65536;
  /** Largest write slice (Python's ac_out_buffer_size); writes are gathered up to 16 of these. */
  acOutBufferSize = 65536;
  /** Strings pushed are encoded with this. */
  encoding: BufferEncoding = 'utf8';
  /**
   * Most bytes collected while a byte terminator has not been found; past it, handleError gets
   * an error with code 'ERR_ASYNCHAT_INPUT_TOO_LARGE' (closing the channel by default).
   */
  maxInputBuffered = 4 * MiB;
  /**
   * Once more than this is queued for output, no further record is delivered (the rest of what
   * was read is held, as unread bytes) and the peer is not read from, until half of it is sent.
   */
  outputHighWater = 4 * MiB;
  /**
   * Most bytes queued for output (producers' data not yet pulled is not counted); past it the
   * queue is dropped and handleError gets an error with code 'ERR_ASYNCHAT_OUTPUT_TOO_LARGE'
   * (closing the channel by default; it is closed anyway if handleError leaves it open).
   */
  maxOutputBuffered = 64 * MiB;
  /** true while output is over outputHighWater: records and reads wait (read-only). */
  inputPaused = false;
  /** The current terminator: a Buffer, a byte count (counting down), or null. */
  terminator: Terminator = null;
  /** Collected by keepIncomingData(), joined by getData(). */
  incoming: Buffer[] = [];

  private readonly splitter: InputSplitter;
  private readonly out: OutputQueue;
  private lastTerminatorString: string | null = null;
  private lastTerminatorEncoding: BufferEncoding | null = null;
  private lastTerminatorBytes: Terminator = null;

  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map ?? socketMap);
    this.splitter = new InputSplitter({ maxBuffered: this.maxInputBuffered });
    this.out = new OutputQueue({ encoding: this.encoding });
  }

  // ---- to override ----

  collectIncomingData(data: Buffer): void {
    void data;
    throw notImplemented('collectIncomingData');
  }

  foundTerminator(): void {
    throw notImplemented('foundTerminator');
  }

  // ---- collecting helpers (Python's _collect_incoming_data / _get_data) ----

  /** Keeps data for getData(); assign it as collectIncomingData to just collect. */
  keepIncomingData(data: Buffer): void {
    this.incoming.push(data);
  }

  /** Everything kept since the last call, joined. */
  getData(): Buffer {
    const incoming = this.incoming;
    // pop() keeps the array's capacity for the next record; `length = 0` would free it (and
    // is a runtime call): the common single-piece record allocates nothing here.
    if (incoming.length === 1) return incoming.pop()!;
    const data = Buffer.concat(incoming);
    incoming.length = 0;
    return data;
  }

  /** Python's name for keepIncomingData. */
  _collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  /** Python's name for getData. */
  _getData(): Buffer {
    return this.getData();
  }

  // ---- terminator ----

  /** A string or bytes, a non-negative byte count, or null (collect everything). */
  setTerminator(term: string | Uint8Array | number | null): void {
    if (typeof term === 'string') {
      // Protocols switch back to the same line terminator after every count (RESP, SMTP's
      // DATA): encode it once per channel, not at every switch.
      if (term !== this.lastTerminatorString || this.encoding !== this.lastTerminatorEncoding) {
        this.lastTerminatorBytes = normalizeTerminator(term, this.encoding);
        this.lastTerminatorString = term;
        this.lastTerminatorEncoding = this.encoding;
      }
      this.terminator = this.lastTerminatorBytes;
      return;
    }
    this.terminator = normalizeTerminator(term, this.encoding);
  }

  getTerminator(): Terminator {
    return this.terminator;
  }

  // ---- input ----

  override handleRead(): void {
    const size = this.acInBufferSize;
    if (slab.length - slabUsed < size) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, size));
      slabBytes = slab.buffer;
      slabUsed = 0;
    }
    let n: number;
    try {
      // One crossing reads and, for a run of short records, finds them too.
      n = receive(this.splitter, this._fileno!, slab, slabUsed, size, this.terminator, slabBytes, this._tls ?? undefined);
    } catch (err) {
      if (isDisconnect(err)) {
        this._handleCloseOnce(err);
        return;
      }
      this.handleError(err);
      return;
    }
    if (n < 0) return;  // EAGAIN: nothing after all
    if (n === 0) {
      this._handleCloseOnce();
      return;
    }
    const at = slabUsed;
    slabUsed += n;
    this.splitter.maxBuffered = this.maxInputBuffered;
    this.splitter.feed(this, new BufferView(slabBytes, at, n), slabBytes, at);
  }

  // ---- output ----

  push(data: Uint8Array | string): void {
    // The queue was made before a subclass could set `encoding`: other encodings are applied here.
    if (typeof data === 'string' && this.encoding !== 'utf8') data = Buffer.from(data, this.encoding);
    const out = this.out;
    out.push(data);
    if (this.debug) this.logInfo(`push ${data.length} bytes`);
    if (out.bytes > this.outputHighWater) this.overHighWater();
    this.outputPending();
  }

  /**
   * Queues data without copying it: the caller must not change it until it is sent. For large
   * Buffers that stay the same (a stored value sent to many peers); push() copies, and small
   * data is best pushed with push(), which packs it into shared blocks.
   */
  pushShared(data: Uint8Array): void {
    const out = this.out;
    out.pushShared(data);
    if (out.bytes > this.outputHighWater) this.overHighWater();
    this.outputPending();
  }

  /** Queues a producer; bytes or a string given instead are queued as they are, as Python does. */
  pushWithProducer(producer: Producer | Uint8Array | string): void {
    if (typeof producer === 'string' || producer instanceof Uint8Array) this.push(producer);
    else {
      this.out.pushProducer(producer);
      this.outputPending();
    }
  }

  /** Close once everything queued so far is sent; what is pushed afterwards is never sent. */
  closeWhenDone(): void {
    this.out.pushClose();
    this.outputPending();
  }

  /** @internal */
  override _queuedOutput(): OutputQueue {
    return this.out;
  }

  /** Bytes queued for output and not yet sent (data still inside producers not counted). */
  get outputBuffered(): number {
    return this.out.bytes;
  }

  /**
   * Drops buffered input and collected data only, keeping queued output (replies to earlier
   * requests): what a server calls to go on after ERR_ASYNCHAT_INPUT_TOO_LARGE.
   */
  discardInput(): void {
    this.splitter.discard();
    this.incoming.length = 0;
  }

  /** Drops buffered input, collected data and queued output. */
  discardBuffers(): void {
    this.splitter.discard();
    this.incoming = [];
    this.out.clear();
    this.inputPaused = false;
    this._touch();
  }

  /** Sends what is queued until the socket's buffer is full; closes at a closeWhenDone mark. */
  initiateSend(): void {
    if (this.connected && !this.out.empty) {
      const outcome = this._writeOut(this.out, this.acOutBufferSize * 16, 256);
      if (outcome < 0) return;
      if (outcome === WROTE_TO_CLOSE) {
        this.out.clear();
        this._handleCloseOnce();
        return;
      }
    }
    this.updateOutputFull();
  }

  override handleWrite(): void {
    this.initiateSend();
    if (!this.inputPaused && this.splitter.holding) this.splitter.resume(this);
  }

  override handleClose(): void {
    this.close();
  }

  /** Python's close(), after one last non-blocking attempt to send what push() corked. */
  override close(): void {
    if (!this._closed && this.connected && !this.out.empty) {
      try {
        this.initiateSend();
      } catch {
        // the socket is going away anyway
      }
    }
    super.close();
  }

  override readable(): boolean {
    return !this.inputPaused;
  }

  override writable(): boolean {
    return !this.out.empty || !this.connected;
  }

  /** @internal end of batch: write what was pushed during it */
  _beforeWait(): void {
    if (this.connected && !this.out.empty) this.initiateSend();
    if (!this.inputPaused && this.splitter.holding && !this._closed) this.splitter.resume(this);
  }

  // Whether the peer is read from is decided after a send attempt (initiateSend), not at
  // push time: output pushed during a batch is written at its end, and a fast peer takes it.
  // Only the first push of a batch marks the channel (the check is inlined: once per push).
  private outputPending(): void {
    const entry = this._entry;
    if (entry !== undefined && !entry.dirty) this._touch();
  }

  private updateOutputFull(): void {
    const bytes = this.out.bytes;
    if (this.inputPaused) {
      if (bytes <= this.outputHighWater / 2) this.inputPaused = false;
    } else if (bytes > this.outputHighWater) {
      this.inputPaused = true;
    }
  }

  // Output passed the high-water mark with a push: hold the records still to come (the peer
  // may pipeline thousands of requests in one read), and past the hard limit give up.
  private overHighWater(): void {
    this.inputPaused = true;
    this._enforceOutputLimit(this.out, this.maxOutputBuffered);
  }
}

registerLibraryInterest(AsyncChat.prototype, 'readable', 'writable');

function notImplemented(method: string): Error {
  return asynchatError('ERR_ASYNCHAT_NOT_IMPLEMENTED', `${method} must be implemented by a subclass of AsyncChat`);
}

