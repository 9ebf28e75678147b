// Python's asynchat.async_chat on the native reactor.
//
// Input: each read lands in a slab that is never rewritten, so the records handed to
// collectIncomingData are views, not copies, and stay valid for as long as the user keeps
// them; the InputSplitter finds all the records of a read with one native scan.
// Output: push() only queues (a copy); everything pushed while a batch of events is handled
// is written at the end of the batch with one writev per channel ("cork by default"), and
// writable interest is asked for only while data remains.
import { BufferView } from '../engine/buffer-view';
import { Dispatcher, registerCoreClass, socketMap } from '../asyncore/dispatcher';
import { ENGINE } from '../engine/channel-core';
import type { SocketMap } from '../engine/map-state';
import { registerLibraryInterest } from '../engine/library-interest';
import { asynchatError, isDisconnect, isSystemError } from '../errors';
import { SimpleProducer, WROTE_TO_CLOSE, type Producer } from '../engine/output-queue';
import type { Socket } from '../binding/socket';
import { ChatCore } from './chat-core';
import type { Framer } from './framers';
import { receive } from './receive';
import { findPrefixAtEnd, isBytes, normalizeTerminator, type Terminator } from './terminator';

export { SimpleProducer, findPrefixAtEnd, type Producer, type Terminator };

const MiB = 1024 * 1024;
// One slab per thread receives every channel's reads back to back; a new one is started when
// the rest of the current one cannot take a full read. An old one lives on only while records
// point into it. (One slab per channel cost 256 KiB of address space per connection.)
const SLAB_SIZE = 256 * 1024;
let slab: Buffer = Buffer.allocUnsafe(0);
let slabBytes: ArrayBufferLike = slab.buffer;  // slab's memory (slab starts at its offset 0)
let slabUsed = 0;

/**
 * Python's asynchat.async_chat: a Dispatcher that splits its input into records at a terminator
 * (bytes, a byte count, or none) and queues its output (push, pushWithProducer,
 * closeWhenDone). Override collectIncomingData() and foundTerminator(), as in Python.
 */
export class AsyncChat extends Dispatcher {
  /** @internal */
  declare readonly [ENGINE]: ChatCore;
  /** Bytes asked for by each read (Python's ac_in_buffer_size). */
  acInBufferSize = 65536;
  /** Largest write slice (Python's ac_out_buffer_size); writes are gathered up to 16 of these. */
  acOutBufferSize = 65536;
  /** Strings pushed are encoded with this. */
  encoding: BufferEncoding = 'utf8';
  /**
   * Most bytes of input the library holds for this channel while a byte terminator is not found:
   * what keepIncomingData() keeps until getData(), and the bytes kept back across reads (integer
   * and null terminators and framers are not limited: a byte count bounds its record, a framer's
   * own limits bound its frames, and collecting everything is the program's choice). Past it,
   * handleError gets an error with
   * code 'ERR_ASYNCHAT_INPUT_TOO_LARGE' (closing the channel by default), and input is refused
   * until discardInput(). Bytes the program takes in its own collectIncomingData (streaming a
   * message to a file, or into a list of its own, as smtpd does) are not counted: the program
   * bounds its own memory. (Python has no such limit.)
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
  /** The current terminator: a Buffer, a byte count (counting down), null, or a Framer. */
  terminator: Terminator = null;
  /** Collected by keepIncomingData(), joined by getData(). */
  incoming: Buffer[] = [];

  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map ?? socketMap);
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
    // Counted under a byte terminator only: a byte count bounds a record by itself, a framer
    // bounds its frames by its own limits, and null (collect everything) is the program's choice.
    if (isBytes(this.terminator)) {
      const core = this[ENGINE];
      if ((core.incomingBytes += data.length) > this.maxInputBuffered) core.checkInputLimit();
    }
  }

  /** Everything kept since the last call, joined. */
  getData(): Buffer {
    this[ENGINE].incomingBytes = 0;
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

  /**
   * A string or bytes, a non-negative byte count, null (collect everything), or a framer
   * (`framers.resp()`, `framers.lengthPrefixed()`, `framers.netstring()`): then each field of a
   * frame reaches collectIncomingData, even an empty one, and foundTerminator() ends the frame; a
   * malformed or oversized frame reaches handleError (ERR_ASYNCHAT_BAD_FRAME,
   * ERR_ASYNCHAT_FRAME_TOO_LARGE) before any of it is delivered. Any of these may be set at any
   * record or frame boundary, from inside foundTerminator too: the next bytes go to the new one.
   */
  setTerminator(term: string | Uint8Array | number | null | Framer): void {
    if (typeof term === 'string') {
      // Protocols switch back to the same line terminator after every count (RESP, SMTP's
      // DATA): encode it once per channel, not at every switch.
      const last = this[ENGINE].lastTerminator;
      if (term !== last.text || this.encoding !== last.encoding) {
        last.bytes = normalizeTerminator(term, this.encoding);
        last.text = term;
        last.encoding = this.encoding;
      }
      this.terminator = last.bytes;
      return;
    }
    this.terminator = normalizeTerminator(term, this.encoding);
  }

  getTerminator(): Terminator {
    return this.terminator;
  }

  // ---- input ----

  override handleRead(): void {
    const core = this[ENGINE];
    const size = this.acInBufferSize;
    if (slab.length - slabUsed < size) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, size));
      slabBytes = slab.buffer;
      slabUsed = 0;
    }
    let n: number;
    try {
      // One crossing reads and, for a run of short records, finds them too.
      n = receive(core.splitter, core.records, slab, slabUsed, size, this.terminator, slabBytes);
    } catch (err) {
      if (isDisconnect(err)) {
        core.closeOnce(err);
        return;
      }
      // Nothing to read after all (a recv() override raising it, as Python's handle_read allows).
      if (isSystemError(err, 'EAGAIN', 'EWOULDBLOCK')) return;
      this.handleError(err);
      return;
    }
    if (n < 0) return;  // EAGAIN: nothing after all
    if (n === 0) {
      core.readClosed = true;
      core.closeOnce();
      return;
    }
    const at = slabUsed;
    slabUsed += n;
    core.splitter.feed(this, new BufferView(slabBytes, at, n), slabBytes, at);
  }

  // ---- output ----

  push(data: Uint8Array | string): void {
    // The queue was made before a subclass could set `encoding`: other encodings are applied here.
    if (typeof data === 'string' && this.encoding !== 'utf8') data = Buffer.from(data, this.encoding);
    const core = this[ENGINE];
    const out = core.out;
    out.push(data);
    if (this.debug) this.logInfo(`push ${data.length} bytes`);
    if (out.bytes > this.outputHighWater) core.overHighWater();
    core.outputPending();
  }

  /**
   * Queues data without copying it: the caller must not change it until it is sent. For large
   * Buffers that stay the same (a stored value sent to many peers); push() copies, and small
   * data is best pushed with push(), which packs it into shared blocks.
   */
  pushShared(data: Uint8Array): void {
    const core = this[ENGINE];
    const out = core.out;
    out.pushShared(data);
    if (out.bytes > this.outputHighWater) core.overHighWater();
    core.outputPending();
  }

  /** Queues a producer; bytes or a string given instead are queued as they are, as Python does. */
  pushWithProducer(producer: Producer | Uint8Array | string): void {
    if (typeof producer === 'string' || producer instanceof Uint8Array) this.push(producer);
    else {
      this[ENGINE].out.pushProducer(producer);
      this[ENGINE].outputPending();
    }
  }

  /** Close once everything queued so far is sent; what is pushed afterwards is never sent. */
  closeWhenDone(): void {
    this[ENGINE].out.pushClose();
    this[ENGINE].outputPending();
  }

  /** Bytes queued for output and not yet sent (data still inside producers not counted). */
  get outputBuffered(): number {
    return this[ENGINE].out.bytes;
  }

  /**
   * Drops buffered input and collected data only, keeping queued output (replies to earlier
   * requests): what a server calls to go on after ERR_ASYNCHAT_INPUT_TOO_LARGE.
   */
  discardInput(): void {
    const core = this[ENGINE];
    core.splitter.discard();
    this.incoming.length = 0;
    core.incomingBytes = 0;
  }

  /** Drops buffered input, collected data and queued output. */
  discardBuffers(): void {
    const core = this[ENGINE];
    core.splitter.discard();
    this.incoming = [];
    core.incomingBytes = 0;
    core.out.clear();
    this.inputPaused = false;
    core.touch();
  }

  /** Sends what is queued until the socket's buffer is full; closes at a closeWhenDone mark. */
  initiateSend(): void {
    const core = this[ENGINE];
    const out = core.out;
    if (this.connected && !out.empty) {
      const outcome = core.writeOut(out, this.acOutBufferSize * 16, 256, core.records);
      if (outcome < 0) return;
      if (outcome === WROTE_TO_CLOSE) {
        out.clear();
        core.closeAtMark();
        return;
      }
    }
    core.updateOutputFull();
  }

  override handleWrite(): void {
    this.initiateSend();
    const splitter = this[ENGINE].splitter;
    if (!this.inputPaused && splitter.holding) splitter.resume(this);
  }

  /**
   * The peer closed its side (or the connection ended). With replies still queued after an
   * orderly end of stream (a client that half-closes, or closes right after its last request),
   * they are sent first and the channel closes once they are out, as closeWhenDone() does;
   * otherwise it closes now. (Python's default logs a warning, closes, and drops them.)
   */
  override handleClose(): void {
    if (this.closeReason === null && this.connected && !this[ENGINE].out.empty) this.closeWhenDone();
    else this.close();
  }

  /** Python's close(), after one last non-blocking attempt to send what push() corked. */
  override close(): void {
    if (!this.closed && this.connected) this[ENGINE].lastSend();
    super.close();
  }

  override readable(): boolean {
    return !this.inputPaused;
  }

  override writable(): boolean {
    return !this[ENGINE].out.empty || !this.connected;
  }
}

registerLibraryInterest(AsyncChat.prototype, 'readable', 'writable');
registerCoreClass(AsyncChat, ChatCore);

function notImplemented(method: string): Error {
  return asynchatError('ERR_ASYNCHAT_NOT_IMPLEMENTED', `${method} must be implemented by a subclass of AsyncChat`);
}

