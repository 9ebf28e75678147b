// The engine's record of a Dispatcher: its transport, output queue, timers and close state,
// and the hooks the engine calls, kept off the user's object (see engine/channel-core.ts). The
// Dispatcher's Python methods reach it through `this[ENGINE]`; nothing here is a name a
// subclass can collide with.
//
// The close path, in one place:
// - closeOnce(): the connection ended (end of stream, hang-up, a disconnect error, a fatal TLS
//   error via handleError). The first time, handleClose() runs (Python's order); it may keep
//   the channel open to finish its replies (closeWhenDone). Any later time, nothing more can
//   happen on the connection, and the channel closes: handleClose never runs twice, and a
//   channel is never left open with nothing that will close it.
// - closeAtMark(): a closeWhenDone() mark was reached with everything before it sent: the
//   channel closes, after handleClose if it has not run yet (as Python calls it there).
// - closeNow(): close() itself: the transport closes the socket (a TLS close_notify that the
//   socket cannot take yet lingers out of sight: engine/lingering.ts).
import util from 'node:util';
import { EV, native } from '../binding/native';
import type { Address } from '../binding/socket';
import { ChannelCore } from '../engine/channel-core';
import { routeError } from '../engine/dispatch';
import { isLibraryMethod } from '../engine/library-interest';
import { READ_INTEREST, WRITE_INTEREST } from '../engine/interest-bits';
import { WROTE_FULL, type OutputQueue, type WriteOutcome } from '../engine/output-queue';
import { now, type TimerEntry } from '../engine/scheduler';
import { PlainTransport, transportFor, type Transport, type TransportSocket } from '../engine/transport';
import { asynchatError, isDisconnect, isSystemError, systemError } from '../errors';
import type { TlsOwner } from '../tls/tls-transport';
import { ReplayTransport, type ReplayOwner } from '../tls/replay-transport';
import type { AcceptGuard } from './accept-guard';
import { datagramErrorEvent, isDatagramSocket } from './datagram';
import type { AnyDispatcher as Dispatcher, SocketLike } from './dispatcher';
import { PythonTransport, type PythonPathHost } from './python-transport';

const debuglog = util.debuglog('asynchat');

/** The transport of a dispatcher without a socket (not made yet, or closed): every transfer fails with EBADF. */
class NoSocket extends PlainTransport {
  read(): number {
    throw systemError('EBADF', 'recv');
  }

  writev(): number {
    throw systemError('EBADF', 'send');
  }

  recv(): Buffer {
    throw systemError('EBADF', 'recv');
  }

  override close(): void {
    // nothing to close
  }
}

const NO_SOCKET = new NoSocket();

/**
 * Dispatcher.prototype, whose writable(), handleWrite() and handleWriteEvent() are Python's
 * defaults: dispatcher.ts sets it once, when it loads (this file cannot import it back).
 */
export const dispatcherBase: { proto: Dispatcher | null } = { proto: null };

export function formatAddr(addr: Address): string {
  return Array.isArray(addr) && addr.length === 2 ? `${addr[0]}:${addr[1]}` : JSON.stringify(addr);
}

/** A number of seconds >= 0, or null; 0 means none, as null. */
export function checkSeconds(value: unknown, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw asynchatError('ERR_ASYNCHAT_BAD_TIMEOUT', `${name} must be a number of seconds or null, not ${String(value)}`, 'TypeError');
  }
  if (value < 0) throw asynchatError('ERR_ASYNCHAT_BAD_TIMEOUT', `${name} must not be negative (got ${value})`);
  return value === 0 ? null : value;
}

export class DispatcherCore extends ChannelCore implements TlsOwner, ReplayOwner, PythonPathHost {
  declare readonly channel: Dispatcher;
  /** How the channel's bytes move now: its socket, TLS, the cleartext replay. */
  io: Transport = NO_SOCKET;
  /** The socket's own transport, the one TLS and the replay hand back to. */
  socketIo: Transport = NO_SOCKET;
  /** The channel's socket (Dispatcher.socket). */
  socket: SocketLike | null = null;
  /** An AsyncChat's reads and writes through its overridden recv()/send(), else null. */
  python: PythonTransport | null = null;
  /** The output queue (DispatcherWithSend, AsyncChat); null for a plain Dispatcher. */
  out: OutputQueue | null = null;
  /** The socket's buffer was full at the last write: send() only queues until a write event. */
  sendFull = false;
  isClosed = false;
  closeHandled = false;
  /** Over a SOCK_DGRAM socket (see datagram.ts). */
  datagram = false;
  idleTimeout: number | null = null;
  connectTimer: TimerEntry | null = null;
  acceptGuard: AcceptGuard | null = null;

  // ---- the engine's hooks ----

  override get closed(): boolean {
    return this.isClosed;
  }

  override get libraryInterest(): boolean {
    return true;
  }

  /**
   * Interest when readable()/writable() are the library's. Python's default writable() is true,
   * which makes an idle connected dispatcher spin the loop (a known flaw); the reactor is asked
   * for write readiness only while it can matter: a connect in progress, or a subclass that
   * handles writes.
   */
  override interest(): number {
    const d = this.channel;
    let mask = d.readable() ? READ_INTEREST : 0;
    if (!d.accepting) {
      const wantsWrite = d.writable === dispatcherBase.proto!.writable
        ? d.connecting || this.handlesWrites()
        : d.writable();
      if (wantsWrite) mask |= WRITE_INTEREST;
    }
    return this.adjustInterest(mask);
  }

  private handlesWrites(): boolean {
    const d = this.channel;
    const base = dispatcherBase.proto!;
    return d.handleWrite !== base.handleWrite || d.handleWriteEvent !== base.handleWriteEvent;
  }

  /**
   * The interest the reactor gets, from the channel's own: the layers under it have their say
   * (a listener that stopped accepting and a stream whose end was read read nothing; TLS asks
   * for what its handshake or its waiting ciphertext needs). For library and polled channels alike.
   */
  override adjustInterest(mask: number): number {
    if (this.acceptPaused || this.readClosed) mask &= ~READ_INTEREST;
    return this.io.interest(mask);
  }

  /** An error condition (ERR without HUP): a hang-up for streams, a read for datagrams. */
  override errorCondition(flags: number): void {
    if (this.datagram) datagramErrorEvent(this.channel, flags);
    else this.hangUp(flags);
  }

  /**
   * A hang-up: the socket's pending error (a reset) is the close reason, as a read would have
   * said. A channel that was not reading (its reads held, or TLS flushing) learns of a reset only
   * from the event.
   */
  override hangUp(flags: number): void {
    let reason: Error | undefined;
    if (flags & EV.ERR) {
      const code = this.socketError();
      if (code !== 0) reason = systemError(code, 'socket');
    }
    if (reason === undefined) {
      // The kqueue backend reports a peer's half-close as a hang-up once nothing is left in the
      // socket (EV_EOF on the read filter), though that peer still reads and its last bytes may
      // still wait above the fd. Input buffered there (the replay of cleartext read
      // past a close_notify, TLS plaintext, a recv() override's surplus) is delivered first by
      // the made-up reads, and the end of the stream read after it.
      if (this.joined && this.owner!.readsAbove(this)) return;
      // When the end was read and handleClose chose to finish the replies queued
      // (closeWhenDone), their writes tell whether the peer is gone (EPIPE closes the channel).
      if (this.readClosed && this.closeHandled && this.out !== null && !this.out.empty) return;
    }
    this.closeOnce(reason);
  }

  override resumeAccepting(): void {
    this.acceptGuard?.fdFreed();
  }

  // ---- the socket ----

  /**
   * `socket` was assigned (setSocket, or by hand as Python code does): the channel's bytes go
   * through it from now on, unless a layer above it (TLS) is in between.
   */
  useSocket(sock: SocketLike | null): void {
    if (sock === this.socket) return;
    const plain = sock === null ? NO_SOCKET : transportFor(sock as TransportSocket);
    if (this.io === this.socketIo) this.io = plain;
    this.socketIo = plain;
    this.socket = sock;
    this.datagram = sock !== null && isDatagramSocket(sock);
  }

  /** The channel takes a socket: its transport, and a fresh close state. */
  attach(sock: SocketLike): void {
    this.socket = null;
    this.io = this.socketIo = NO_SOCKET;
    this.useSocket(sock);
    this.isClosed = false;
    this.closeHandled = false;
    this.readClosed = false;
    this.sendFull = false;
    this.choosePath();
  }

  /** Switches the channel's transport (startTls, the unwrap's end, the replay's end): one assignment. */
  setIo(io: Transport): void {
    this.io = io;
    this.touch();
  }

  /**
   * An AsyncChat reads and writes through its own recv()/send() when a subclass overrides them
   * (or a function was assigned to them): decided when the channel is made and whenever one is
   * assigned, never per read.
   */
  choosePath(): void {
    const d = this.channel;
    const throughRecv = !isLibraryMethod(d.recv);
    const throughSend = !isLibraryMethod(d.send);
    this.python = this.out !== null && this.usesRecordPath && (throughRecv || throughSend)
      ? new PythonTransport(d as unknown as ConstructorParameters<typeof PythonTransport>[0], this, throughRecv, throughSend)
      : null;
  }

  /** The channel reads records and writes its queue through the record path (an AsyncChat). */
  protected get usesRecordPath(): boolean {
    return false;
  }

  /** What an AsyncChat's record path reads and writes through. */
  get records(): Transport {
    return this.python ?? this.io;
  }

  /** SO_ERROR by name (0 when none; reading clears it). Plain fds have none. */
  socketError(): 0 | string {
    const fd = this.channel._fileno;
    return fd === null ? 0 : native.getSocketError(fd);
  }

  // ---- output ----

  /** Writes an output queue; -1 when the peer turned out to be gone (and the close was handled). */
  writeOut(out: OutputQueue, maxBytes: number, maxChunks: number, writer: Transport = this.io): WriteOutcome | -1 {
    const sent = out.sentBytes;
    try {
      if (writer.holdsOutput) return WROTE_FULL;
      return writer.afterWrite(out.writeTo(writer, maxBytes, maxChunks), out);
    } catch (err) {
      if (!isDisconnect(err)) throw err;
      this.closeOnce(err);
      return -1;
    } finally {
      if (out.sentBytes !== sent) this.wrote();  // the kernel took some: not idle
    }
  }

  /**
   * Past `limit` bytes queued, the queue is dropped and handleError gets
   * ERR_ASYNCHAT_OUTPUT_TOO_LARGE; the channel is closed even if handleError leaves it open,
   * since nothing else would bound its memory.
   */
  enforceOutputLimit(out: OutputQueue, limit: number): void {
    const queued = out.bytes;
    if (queued <= limit) return;
    out.clear();
    this.channel.handleError(asynchatError(
      'ERR_ASYNCHAT_OUTPUT_TOO_LARGE', `${queued} bytes queued for output, more than maxOutputBuffered (${limit})`,
    ));
    if (!this.isClosed) this.closeNow();
  }

  // ---- the close path ----

  override closeOnce(reason?: unknown): void {
    if (this.isClosed) return;
    if (this.closeHandled) {
      this.end();
      return;
    }
    this.closeHandled = true;
    if (reason instanceof Error) this.channel.closeReason = reason;
    debuglog('handleClose %s', this.channel);
    this.channel.handleClose();
  }

  /** A closeWhenDone() mark was reached: everything before it is sent. */
  closeAtMark(): void {
    if (!this.closeHandled) this.closeOnce();
    if (!this.isClosed) this.end();
  }

  /** The connection is over and handleClose has had its say: close, whatever an override of close() does. */
  private end(): void {
    this.channel.close();
    if (!this.isClosed) this.closeNow();
  }

  /** close() itself. */
  closeNow(): void {
    const d = this.channel;
    d.connected = false;
    d.accepting = false;
    d.connecting = false;
    const lingering = this.owner?.lingering ?? null;
    this.isClosed = true;
    this.cancelConnectTimeout();
    this.acceptGuard?.stop();
    const io = this.io;
    this.io = this.socketIo = NO_SOCKET;
    this.python = null;
    d.delChannel();
    const sock = this.socket;
    if (sock === null) return;
    try {
      io.close(sock as TransportSocket, lingering);
    } catch (err) {
      if (!isSystemError(err, 'ENOTCONN', 'EBADF')) throw err;
    }
  }

  // ---- TLS and the replay (TlsOwner, ReplayOwner) ----

  touch(): void {
    if (this.joined) this.owner!.markDirty(this);
  }

  readAgain(): void {
    if (this.joined) this.owner!.readAgain(this);
  }

  queuedOutput(): OutputQueue | null {
    return this.out;
  }

  handshakeDone(): void {
    this.channel.handleTlsHandshake();
  }

  unwrapped(rest: Buffer | null): void {
    this.setIo(rest === null ? this.socketIo : new ReplayTransport(rest, this.socketIo, this));
    this.channel.handleTlsStopped();
  }

  replayed(next: Transport): void {
    this.setIo(next);
  }

  // ---- time ----

  /**
   * A write the kernel took: the idle timeout counts from now. (Events re-arm it in dispatch;
   * this covers writes made outside one, from a timer or a promise.)
   */
  wrote(): void {
    if (this.idle !== null && this.idle.index >= 0) this.active = now();
  }

  /** The connect in progress fails with ETIMEDOUT after connectTimeout seconds. */
  armConnectTimeout(address: Address): void {
    const d = this.channel;
    const seconds = checkSeconds(d.connectTimeout, 'connectTimeout');
    this.cancelConnectTimeout();
    if (seconds === null || seconds === 0 || !this.joined) return;
    this.connectTimer = this.owner!.timers.schedule(now() + seconds, () => {
      this.connectTimer = null;
      if (!d.connecting || this.isClosed) return;
      const err = systemError('ETIMEDOUT', 'connect', formatAddr(address));
      try {
        // As a refused connect: the error goes to handleError (Python's default closes).
        d.handleError(err);
      } catch (thrown) {
        routeError(d, thrown);
      }
    }, [], false);
  }

  cancelConnectTimeout(): void {
    if (this.connectTimer !== null) {
      this.connectTimer.scheduler.cancel(this.connectTimer);
      this.connectTimer = null;
    }
  }
}
