// Python's asyncore.dispatcher and dispatcher_with_send, method for method, under camelCase
// names. Where Python has a known flaw the fix is noted where it is made.
import util from 'node:util';
import {
  READ_INTEREST, WRITE_INTEREST, registerLibraryInterest, routeError, stateOf, type Channel, type MapEntry,
  type SocketMap,
} from '../engine/map-state';
import { now } from '../engine/scheduler';
import { asynchatError, isDisconnect, isSystemError, systemError } from '../errors';
import { AcceptGuard } from './accept-guard';
import type { TimerEntry } from '../engine/scheduler';
import { compactTraceback } from './traceback';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, Socket, type Address } from '../binding/socket';
import { native } from '../binding/native';
import { OutputQueue, WROTE_FULL, type WriteOutcome } from '../engine/output-queue';
import { datagramErrorEvent, isDatagramSocket, readDatagrams } from './datagram';
import { startTlsOn, stopTlsOn, type StartTlsOptions } from '../tls/dispatcher-tls';
import type { TlsContext } from '../tls/context';
import type { TlsInfo, TlsSession } from '../tls/session';

const debuglog = util.debuglog('asynchat');

/** The global map, fd -> dispatcher, used by loop(), poll() and closeAll() by default. */
export const socketMap: SocketMap = new Map();

/** What a dispatcher needs of its socket: a Socket, or a FileWrapper around a plain fd. */
export interface SocketLike {
  fileno(): number;
  close(): void;
  tryRecvInto(buf: Uint8Array, offset?: number, length?: number): number;
  trySend(data: Uint8Array, offset?: number, length?: number): number;
  recv(bufsize: number): Buffer;
  send(data: Uint8Array | string): number;
  getsockopt(level: number, option: number): number;
  setBlocking?(flag: boolean): void;
  getpeername?(): Address;
  connectEx?(addr: Address): 0 | string;
  listen?(backlog?: number): void;
  bind?(addr: Address): void;
  tryAccept?(): [Socket, Address] | null;
  setsockopt?(level: number, option: number, value: number | boolean | Uint8Array): void;
}

const DEFAULT_IGNORE: ReadonlySet<string> = Object.freeze(new Set(['warning'])) as ReadonlySet<string>;

function formatAddr(addr: Address): string {
  return Array.isArray(addr) && addr.length === 2 ? `${addr[0]}:${addr[1]}` : JSON.stringify(addr);
}

export class Dispatcher implements Channel {
  debug = false;
  connected = false;
  accepting = false;
  connecting = false;
  closing = false;
  addr: Address | null = null;
  socket: SocketLike | null = null;
  ignoreLogTypes: ReadonlySet<string> = DEFAULT_IGNORE;
  /** [family, type] given to createSocket, as Python's family_and_type. */
  familyAndType?: [number, number];

  /** @internal */ _map: SocketMap;
  /** @internal */ _fileno: number | null = null;
  /** @internal */ _entry?: MapEntry;
  /** @internal */ _closed = false;
  /** @internal */ _closeHandled = false;
  /** @internal over a SOCK_DGRAM socket (see datagram.ts) */ _datagram = false;
  /**
   * Why the library called handleClose: the disconnect error (ECONNRESET, EPIPE, a failed
   * connect's error...), or null for an orderly end of stream, a hang-up, or a close asked for.
   */
  closeReason: Error | null = null;
  /**
   * Seconds a connect() may take (null: no limit, the kernel's own, minutes). Past it the
   * connect fails as a refused one does: handleError gets an ETIMEDOUT error (syscall
   * 'connect'), and the default handleError closes the channel.
   */
  connectTimeout: number | null = null;
  /**
   * A listening dispatcher accepts no more than this many connections at a time (null: no
   * limit): the others wait in the kernel's backlog until one of its connections closes.
   */
  maxConnections: number | null = null;
  /** @internal */ _idleTimeout: number | null = null;
  /** @internal */ _connectTimer: TimerEntry | null = null;
  /** @internal */ _acceptGuard: AcceptGuard | null = null;
  /** @internal */ _acceptPaused = false;
  /** @internal the channel's TLS, from startTls() until stopTls() or close() */ _tls: TlsSession | null = null;

  constructor(sock?: Socket | null, map?: SocketMap) {
    this._map = map ?? socketMap;
    if (sock) {
      sock.setBlocking(false);
      this.setSocket(sock, map);
      this.connected = true;
      try {
        this.addr = sock.getpeername();
      } catch (err) {
        if (isSystemError(err, 'ENOTCONN', 'EINVAL')) {
          // The socket is not connected yet (or it listens): as in Python, that is fine.
          this.connected = false;
        } else {
          this.delChannel(map);
          throw err;
        }
      }
    }
  }

  toString(): string {
    const status = [this.constructor.name];
    if (this.accepting && this.addr) status.push('listening');
    else if (this.connected) status.push('connected');
    if (this.addr !== null) status.push(formatAddr(this.addr));
    return `<${status.join(' ')} fd=${this._fileno ?? -1}>`;
  }

  [util.inspect.custom](): string {
    return this.toString();
  }

  // ---- the map ----

  addChannel(map?: SocketMap): void {
    const target = map ?? this._map;
    const fd = this._fileno!;
    target.set(fd, this);
    stateOf(target).add(this, fd);
  }

  delChannel(map?: SocketMap): void {
    const target = map ?? this._map;
    const fd = this._fileno;
    if (fd !== null && target.get(fd) === this) target.delete(fd);
    if (this._entry !== undefined) this._entry.owner.remove(this);
    this._fileno = null;
  }

  createSocket(family: number = AF_INET, type: number = SOCK_STREAM): void {
    this.familyAndType = [family, type];
    this.setSocket(new Socket(family, type));
  }

  setSocket(sock: SocketLike, map?: SocketMap): void {
    // A dispatcher given a new socket leaves the map under its old fd first (Python leaves a
    // stale entry behind, which keeps receiving that fd's events).
    if (this._fileno !== null && this._fileno !== sock.fileno()) this.delChannel();
    this.socket = sock;
    this._fileno = sock.fileno();
    this._datagram = isDatagramSocket(sock);
    this._closed = false;
    this._closeHandled = false;
    this.closeReason = null;
    this.addChannel(map);
  }

  setReuseAddr(): void {
    try {
      const sock = this.socket!;
      sock.setsockopt!(SOL_SOCKET, SO_REUSEADDR, sock.getsockopt(SOL_SOCKET, SO_REUSEADDR) | 1);
    } catch (err) {
      if (!isSystemError(err)) throw err;
    }
  }

  // ---- predicates for select() ----

  readable(): boolean {
    return true;
  }

  writable(): boolean {
    return true;
  }

  // ---- time ----

  /**
   * Seconds without an event (data or end of stream read, buffer space after a write) before
   * handleTimeout() is called; null (the default, as Python has none) or 0: never. Setting it
   * starts the idle period anew. Costs one field store per event and one heap entry per
   * channel, looked at once per period.
   */
  get idleTimeout(): number | null {
    return this._idleTimeout;
  }

  set idleTimeout(seconds: number | null) {
    this._idleTimeout = checkSeconds(seconds, 'idleTimeout');
    if (this._entry !== undefined && this._entry.fd >= 0) this._entry.owner.armIdle(this);
  }

  /**
   * idleTimeout passed without an event (pyftpdlib's handle_timeout): close() by default.
   * An override that keeps the channel open starts a new idle period.
   */
  handleTimeout(): void {
    this.close();
  }

  // ---- socket methods ----

  listen(num: number): void {
    this.accepting = true;
    this.socket!.listen!(num);
    this._touch();
  }

  bind(addr: Address): void {
    this.addr = addr;
    this.socket!.bind!(addr);
  }

  connect(address: Address): void {
    this.connected = false;
    this.connecting = true;
    this._touch();
    const err = this.socket!.connectEx!(address);
    if (err === 'EINPROGRESS' || err === 'EALREADY' || err === 'EWOULDBLOCK' || err === 'EAGAIN') {
      this.addr = address;
      this._armConnectTimeout(address);
      return;
    }
    if (err === 0 || err === 'EISCONN') {
      this.addr = address;
      this.handleConnectEvent();
      return;
    }
    throw systemError(err, 'connect', formatAddr(address));
  }

  /**
   * [socket, address], or null when no connection is waiting (or it was aborted), or when it
   * cannot be taken now: at maxConnections, or out of fds (EMFILE, ENFILE, ENOBUFS, ENOMEM).
   * Then the listener stops asking for accept events until a connection of its map closes
   * (and, out of fds, for at most a second), instead of spinning on a readable listener.
   */
  accept(): [Socket, Address] | null {
    let guard = this._acceptGuard;
    if (guard === null && this.maxConnections !== null) guard = this._acceptGuard = new AcceptGuard(this);
    if (guard !== null && !guard.admits()) return null;
    let pair: [Socket, Address] | null;
    try {
      pair = this.socket!.tryAccept!();
    } catch (err) {
      if (isSystemError(err, 'EWOULDBLOCK', 'ECONNABORTED', 'EAGAIN')) return null;
      if (isSystemError(err, 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM')) {
        (this._acceptGuard ??= new AcceptGuard(this)).exhausted(err);
        return null;
      }
      throw err;
    }
    if (pair !== null && guard !== null) guard.accepted(pair[0]);
    return pair;
  }

  /** Bytes sent: 0 when the socket's buffer is full, or when the peer is gone (then closed). */
  send(data: Uint8Array | string): number {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const tls = this._tls;
    if (tls !== null && tls.holdsOutput) return 0;  // Python's SSLWantWriteError: nothing taken
    try {
      const n = tls !== null && tls.encrypting ? tls.send(bytes) : this.socket!.trySend(bytes);
      if (n <= 0) return 0;
      this._wrote();
      return n;
    } catch (err) {
      if (isDisconnect(err)) {
        this._handleCloseOnce(err);
        return 0;
      }
      throw err;
    }
  }

  /** Up to bufferSize bytes; an empty Buffer at end of stream or when the peer is gone (then closed). */
  recv(bufferSize: number): Buffer {
    try {
      const data = this._tls !== null ? this._tls.recv(bufferSize) : this.socket!.recv(bufferSize);
      // An empty datagram is not an end of stream (Python closes: see datagram.ts).
      if (data.length === 0 && !this._datagram) this._handleCloseOnce();
      return data;
    } catch (err) {
      if (isDisconnect(err)) {
        this._handleCloseOnce(err);
        return Buffer.alloc(0);
      }
      throw err;
    }
  }

  close(): void {
    this.connected = false;
    this.accepting = false;
    this.connecting = false;
    this._closed = true;
    this._cancelConnectTimeout();
    this._acceptGuard?.stop();
    if (this._tls !== null) {
      this._tls.dispose();
      this._tls = null;
    }
    this.delChannel();
    if (this.socket !== null) {
      try {
        this.socket.close();
      } catch (err) {
        if (!isSystemError(err, 'ENOTCONN', 'EBADF')) throw err;
      }
    }
  }

  // ---- logging ----

  log(message: unknown): void {
    process.stderr.write(`log: ${String(message)}\n`);
  }

  logInfo(message: unknown, type = 'info'): void {
    if (!this.ignoreLogTypes.has(type)) process.stdout.write(`${type}: ${String(message)}\n`);
  }

  // ---- events, as the loop delivers them ----

  handleReadEvent(): void {
    if (this._tls !== null && this._tls.interceptRead()) return;
    if (this._datagram) {
      readDatagrams(this);
    } else if (this.accepting) {
      // accepting sockets are never connected, they "spawn" new sockets that are connected
      this.handleAccept();
    } else if (!this.connected) {
      if (this.connecting) this.handleConnectEvent();
      this.handleRead();
    } else {
      this.handleRead();
    }
  }

  handleConnectEvent(): void {
    const err = this._socketError();
    this._cancelConnectTimeout();
    if (err !== 0) throw systemError(err, 'connect', this.addr ? formatAddr(this.addr) : '');
    this.handleConnect();
    this.connected = true;
    this.connecting = false;
    this._touch();
  }

  handleWriteEvent(): void {
    if (this.accepting) return;  // accepting sockets shouldn't get a write event
    if (!this.connected && this.connecting) this.handleConnectEvent();
    if (this._tls !== null && this._tls.interceptWrite()) return;
    this.handleWrite();
  }

  handleExptEvent(): void {
    // Priority data, or an error condition on the socket: SO_ERROR tells which.
    const err = this._socketError();
    if (err !== 0) this._handleCloseOnce(systemError(err, 'socket'));
    else this.handleExpt();
  }

  handleError(err?: unknown): void {
    const [, type, value, info] = compactTraceback(err);
    let self: string;
    try {
      self = this.toString();
    } catch {
      self = '<toString() failed for a dispatcher>';
    }
    this.logInfo(`uncaptured exception, closing channel ${self} (${type}:${value} ${info})`, 'error');
    this._handleCloseOnce(err);
  }

  handleExpt(): void {
    this.logInfo('unhandled incoming priority event', 'warning');
  }

  handleRead(): void {
    this.logInfo('unhandled read event', 'warning');
  }

  handleWrite(): void {
    this.logInfo('unhandled write event', 'warning');
  }

  handleConnect(): void {
    this.logInfo('unhandled connect event', 'warning');
  }

  handleAccept(): void {
    const pair = this.accept();
    if (pair !== null) this.handleAccepted(pair[0], pair[1]);
  }

  handleAccepted(sock: Socket, addr: Address): void {
    sock.close();
    this.logInfo('unhandled accepted event', 'warning');
  }

  // ---- TLS (Python's ssl wrap/unwrap, non-blocking) ----

  /**
   * Wraps the connection in TLS (Python's wrap_socket with do_handshake_on_connect=False): right
   * after accept or connect, or mid-stream (STARTTLS). Output queued before the call is sent in
   * cleartext first; the handshake is then stepped by the loop, and handleTlsHandshake() runs
   * once it is done. From then on recv/send/push and AsyncChat's records are plaintext.
   */
  startTls(context: TlsContext, options: StartTlsOptions = {}): void {
    startTlsOn(this, context, options);
  }

  /**
   * Sends close_notify, waits for the peer's, and goes back to cleartext (Python's unwrap());
   * handleTlsStopped() then. Data the peer sends before its close_notify still reaches
   * handleRead; cleartext after it is read as cleartext.
   */
  stopTls(): void {
    stopTlsOn(this);
  }

  /** The TLS connection's protocol, cipher, ALPN and peer certificate; null without TLS or before the handshake. */
  tlsInfo(): TlsInfo | null {
    return this._tls !== null && this._tls.handshakeDone ? this._tls.info() : null;
  }

  /** The TLS handshake completed (startTls). */
  handleTlsHandshake(): void {
    // nothing by default
  }

  /** stopTls() completed: the connection is cleartext again. */
  handleTlsStopped(): void {
    // nothing by default
  }

  handleClose(): void {
    this.logInfo('unhandled close event', 'warning');
    this.close();
  }

  /** true once close() ran: no callback reaches this dispatcher any more. */
  get closed(): boolean {
    return this._closed;
  }

  /**
   * Ask readable()/writable() again now. Overridden predicates are asked before every wait
   * (blocking loop) or after every batch (loopAsync); call this when their answer changes
   * because of something else, such as a timer, to have it applied at once.
   */
  updateInterest(): void {
    if (this._entry !== undefined && this._entry.fd >= 0) this._entry.owner.redecide(this);
  }

  // ---- engine hooks ----

  /**
   * @internal Writes an output queue to this dispatcher's fd (OutputQueue.writeTo); -1 when
   * the peer turned out to be gone, and handleClose was called.
   */
  _writeOut(out: OutputQueue, maxBytes: number, maxChunks: number): WriteOutcome | -1 {
    const sent = out.sentBytes;
    try {
      const tls = this._tls;
      if (tls === null) return out.writeTo(this._fileno!, maxBytes, maxChunks);
      if (tls.holdsOutput) return WROTE_FULL;
      return tls.afterWrite(out.writeTo(this._fileno!, maxBytes, maxChunks, tls.encrypting ? tls : undefined), out);
    } catch (err) {
      if (!isDisconnect(err)) throw err;
      this._handleCloseOnce(err);
      return -1;
    } finally {
      if (out.sentBytes !== sent) this._wrote();  // the kernel took some: not idle
    }
  }

  /**
   * @internal Past `limit` bytes queued, the queue is dropped and handleError gets
   * ERR_ASYNCHAT_OUTPUT_TOO_LARGE; the channel is closed even if handleError leaves it open,
   * since nothing else would bound its memory.
   */
  _enforceOutputLimit(out: OutputQueue, limit: number): void {
    const queued = out.bytes;
    if (queued <= limit) return;
    out.clear();
    this.handleError(asynchatError(
      'ERR_ASYNCHAT_OUTPUT_TOO_LARGE', `${queued} bytes queued for output, more than maxOutputBuffered (${limit})`,
    ));
    if (!this._closed) this.close();
  }

  /** @internal an error condition (ERR without HUP): a hang-up for streams, a read for datagrams */
  _errorCondition(flags: number): void {
    if (this._datagram) datagramErrorEvent(this, flags);
    else this._handleCloseOnce();
  }

  /** @internal The queue of output not yet written (cleartext sent before a startTls handshake). */
  _queuedOutput(): OutputQueue | null {
    return null;
  }

  /** @internal Input is buffered above the fd (decrypted TLS): a read event at the next iteration, without waiting. */
  _readAgain(): void {
    if (this._entry !== undefined && this._entry.fd >= 0) this._entry.owner.readAgain(this);
  }

  /** @internal */
  _tlsHandshakeDone(): void {
    this.handleTlsHandshake();
  }

  /**
   * @internal stopTls() completed. drained false: the last read took cleartext past the peer's
   * close_notify, and the session stays this channel's reader until that is read (_tlsReleased).
   */
  _tlsStopped(drained: boolean): void {
    if (drained) this._tls = null;
    this.handleTlsStopped();
  }

  /** @internal */
  _tlsReleased(): void {
    this._tls = null;
  }

  /**
   * @internal The interest the reactor gets, from the channel's own: the layers under it have
   * their say (a listener that stopped accepting reads nothing; TLS asks for what its handshake
   * or its waiting ciphertext needs). One place for both, for library and polled channels alike.
   */
  _adjustInterest(mask: number): number {
    if (this._acceptPaused) mask &= ~READ_INTEREST;
    return this._tls === null ? mask : this._tls.interest(mask);
  }

  /** @internal SO_ERROR by name (0 when none; reading clears it). Plain fds have none. */
  _socketError(): 0 | string {
    return this._fileno === null ? 0 : native.getSocketError(this._fileno);
  }

  /**
   * @internal handleClose at most once, and never after close() (Python can call it twice:
   * end of stream on read, then hang-up; and after the channel closed itself).
   */
  _handleCloseOnce(reason?: unknown): void {
    if (this._closeHandled || this._closed) return;
    this._closeHandled = true;
    if (reason instanceof Error) this.closeReason = reason;
    debuglog('handleClose %s', this);
    this.handleClose();
  }

  /** @internal the connect in progress fails with ETIMEDOUT after connectTimeout seconds. */
  _armConnectTimeout(address: Address): void {
    const seconds = checkSeconds(this.connectTimeout, 'connectTimeout');
    this._cancelConnectTimeout();
    if (seconds === null || seconds === 0 || this._entry === undefined) return;
    const state = this._entry.owner;
    this._connectTimer = state.timers.schedule(now() + seconds, () => {
      this._connectTimer = null;
      if (!this.connecting || this._closed) return;
      const err = systemError('ETIMEDOUT', 'connect', formatAddr(address));
      try {
        // As a refused connect: the error goes to handleError (Python's default closes).
        this.handleError(err);
      } catch (thrown) {
        routeError(this, thrown);
      }
    }, [], false);
  }

  /** @internal */
  _cancelConnectTimeout(): void {
    if (this._connectTimer !== null) {
      this._connectTimer.scheduler.cancel(this._connectTimer);
      this._connectTimer = null;
    }
  }

  /**
   * @internal A write the kernel took: the idle timeout counts from now. (Events re-arm it in
   * dispatch; this covers writes made outside one, from a timer or a promise.)
   */
  _wrote(): void {
    const entry = this._entry;
    if (entry !== undefined && entry.idle !== null && entry.idle.index >= 0) entry.active = now();
  }

  /** @internal a channel of the map left it: a listener paused by EMFILE may accept again. */
  _resumeAccepting(): void {
    this._acceptGuard?.fdFreed();
  }

  /** @internal state changed outside a dispatch: recompute interest before the next wait. */
  _touch(): void {
    if (this._entry !== undefined && this._entry.fd >= 0) this._entry.owner.markDirty(this);
  }

  /**
   * @internal Interest when readable()/writable() are the library's. Python's default
   * writable() is true, which makes an idle connected dispatcher spin the loop (a known
   * flaw); the reactor is asked for write readiness only while it can matter: a connect in
   * progress, or a subclass that handles writes.
   */
  _interest(): number {
    let mask = this.readable() ? READ_INTEREST : 0;
    if (!this.accepting) {
      const wantsWrite = this.writable === Dispatcher.prototype.writable
        ? this.connecting || handlesWrites(this)
        : this.writable();
      if (wantsWrite) mask |= WRITE_INTEREST;
    }
    return this._adjustInterest(mask);
  }
}


/** A number of seconds >= 0, or null; 0 means none, as null. */
function checkSeconds(value: unknown, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw asynchatError('ERR_ASYNCHAT_BAD_TIMEOUT', `${name} must be a number of seconds or null, not ${String(value)}`, 'TypeError');
  }
  if (value < 0) throw asynchatError('ERR_ASYNCHAT_BAD_TIMEOUT', `${name} must not be negative (got ${value})`);
  return value === 0 ? null : value;
}

function handlesWrites(d: Dispatcher): boolean {
  return d.handleWrite !== Dispatcher.prototype.handleWrite ||
    d.handleWriteEvent !== Dispatcher.prototype.handleWriteEvent;
}

registerLibraryInterest(Dispatcher.prototype, 'readable', 'writable');

/**
 * Python's dispatcher_with_send: send() queues and starts sending at once. The queue is a list
 * of chunks sent with writev, so output is linear in bytes (Python re-slices one buffer).
 */
export class DispatcherWithSend extends Dispatcher {
  /**
   * Most bytes queued and not yet sent; past it the queue is dropped and handleError gets an
   * error with code 'ERR_ASYNCHAT_OUTPUT_TOO_LARGE' (the channel is closed).
   */
  maxOutputBuffered = 64 * 1024 * 1024;
  /** @internal */ _out = new OutputQueue();
  // The last write was partial: the socket's buffer is full until the next write event, so
  // send() only queues (Python makes one failing send syscall per call while it is full).
  private sendBufferFull = false;

  /** @internal */
  override _queuedOutput(): OutputQueue {
    return this._out;
  }

  /** What is queued and not yet sent (a copy, for inspection). */
  get outBuffer(): Buffer {
    const chunks: Uint8Array[] = [];
    const result = this._out.gather(chunks, Number.MAX_SAFE_INTEGER, 1 << 30);
    return Buffer.concat(chunks.slice(0, result.count)).subarray(result.firstOffset);
  }

  /** Sends what the queue holds until the socket's buffer is full (4 MiB at most per call). */
  initiateSend(): void {
    if (!this.connected || this.socket === null) return;
    const outcome = this._writeOut(this._out, 1 << 20, 64);
    if (outcome < 0) return;
    this.sendBufferFull = outcome === WROTE_FULL;
    this._touch();
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  override writable(): boolean {
    return !this.connected || !this._out.empty;
  }

  override send(data: Uint8Array | string): number {
    if (this.debug) this.logInfo(`sending ${util.inspect(data)}`);
    this._out.push(data);
    if (this._out.bytes > this.maxOutputBuffered) {
      this._enforceOutputLimit(this._out, this.maxOutputBuffered);
      return 0;
    }
    if (!this.sendBufferFull) this.initiateSend();
    return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  }
}

registerLibraryInterest(DispatcherWithSend.prototype, 'writable');
