// The engine's record of an AsyncChat: besides a dispatcher's, the record splitter, the output
// queue and the end-of-batch work (corked output written once per batch, held records resumed
// once output drains), kept off the user's object.
import { DispatcherCore } from '../asyncore/dispatcher-core';
import { AsynchatError } from '../errors';
import { OutputQueue } from '../engine/output-queue';
import { InputSplitter } from './input-splitter';
import type { Terminator } from './terminator';
import type { AsyncChat } from './async-chat';

export class ChatCore extends DispatcherCore {
  declare readonly channel: AsyncChat;
  declare out: OutputQueue;
  readonly splitter = new InputSplitter();
  /** Bytes keepIncomingData() added since getData(): an upper bound of what `incoming` holds. */
  incomingBytes = 0;
  /** The last string terminator and its bytes: protocols switch back to the same one after every count. */
  readonly lastTerminator: { text: string | null; encoding: BufferEncoding | null; bytes: Terminator } = {
    text: null, encoding: null, bytes: null,
  };

  constructor(channel: AsyncChat) {
    super(channel);
    // Strings a subclass pushes in another encoding are encoded by push() itself.
    this.out = new OutputQueue({ encoding: 'utf8' });
  }

  protected override get usesRecordPath(): boolean {
    return true;
  }

  /** The end of a batch: write what was pushed during it, then deliver records held while output was over its mark. */
  override beforeWait(): void {
    const chat = this.channel;
    if (chat.connected && !this.out.empty) chat.initiateSend();
    if (!chat.inputPaused && this.splitter.holding && !this.isClosed) this.splitter.resume(chat);
  }

  /**
   * keepIncomingData() went past maxInputBuffered by its count: what the library really holds
   * (`incoming`, which a program may also empty by hand, and the bytes kept back across reads)
   * decides. Past it, input is refused until discardInput(), and the error goes to handleError.
   */
  checkInputLimit(): void {
    const chat = this.channel;
    let held = this.splitter.pending;
    for (const piece of chat.incoming) held += piece.length;
    this.incomingBytes = held;
    if (held <= chat.maxInputBuffered) return;
    const err = new AsynchatError(
      'ERR_ASYNCHAT_INPUT_TOO_LARGE',
      `more than ${chat.maxInputBuffered} bytes of input held without the terminator (maxInputBuffered)`,
    );
    this.splitter.refuse(err);
    throw err;
  }

  /**
   * close()'s one last non-blocking attempt to send what is queued (up to a close mark). Not
   * initiateSend(): a peer found gone there, or a mark reached, would run the close path
   * (handleClose, then close() again, which would try again: a recursion until the stack
   * overflowed, and a TLS connection and its fd left open). The channel is closing anyway.
   */
  lastSend(): void {
    const out = this.out;
    const writer = this.records;
    if (out.empty || writer.holdsOutput) return;
    try {
      out.writeTo(writer, this.channel.acOutBufferSize * 16, 256);
    } catch {
      // the peer is gone: nothing more can reach it
    }
  }

  // Whether the peer is read from is decided after a send attempt (initiateSend), not at
  // push time: output pushed during a batch is written at its end, and a fast peer takes it.
  // Only the first push of a batch marks the channel (the check is inlined: once per push).
  outputPending(): void {
    if (!this.dirty) this.touch();
  }

  updateOutputFull(): void {
    const chat = this.channel;
    const bytes = this.out.bytes;
    if (chat.inputPaused) {
      if (bytes <= chat.outputHighWater / 2) chat.inputPaused = false;
    } else if (bytes > chat.outputHighWater) {
      chat.inputPaused = true;
    }
  }

  // Output passed the high-water mark with a push: hold the records still to come (the peer
  // may pipeline thousands of requests in one read), and past the hard limit give up.
  overHighWater(): void {
    this.channel.inputPaused = true;
    this.enforceOutputLimit(this.out, this.channel.maxOutputBuffered);
  }
}
