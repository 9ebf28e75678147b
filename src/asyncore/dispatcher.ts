// Python's asyncore.dispatcher and dispatcher_with_send, method for method, under camelCase
// names. Where Python has a known flaw the fix is noted where it is made.
import util from 'node:util';
import { registerLibraryInterest, registerLibraryMethods } from '../engine/library-interest';
import { ENGINE } from '../engine/channel-core';
import { stateOf, type SocketMap } from '../engine/map-state';
import { isDisconnect, isSystemError, systemError } from '../errors';
import { AcceptGuard } from './accept-guard';
import { compactTraceback } from './traceback';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, Socket, type Address } from '../binding/socket';
import { OutputQueue, WRITE_BYTES, WRITE_CHUNKS, WROTE_FULL } from '../engine/output-queue';
import { readDatagrams } from './datagram';
import { startTlsOn, stopTlsOn, type StartTlsOptions } from '../tls/dispatcher-tls';
import type { TlsContext } from '../tls/context';
import type { TlsInfo } from '../tls/info';
import { DispatcherCore, checkSeconds, dispatcherBase, formatAddr } from './dispatcher-core';
import type { TransportSocket } from '../engine/transport';

/** The global map, fd -> dispatcher, used by loop(), poll() and closeAll() by default. */
export const socketMap: SocketMap = new Map();

/** What a dispatcher needs of its socket: a Socket, or a FileWrapper around a plain fd. */
export interface SocketLike extends TransportSocket {
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

/** A dispatcher of any kind of socket (a Socket, a FileWrapper...): what a function that takes any dispatcher asks for. */
export type AnyDispatcher = Dispatcher<SocketLike>;

const DEFAULT_IGNORE: ReadonlySet<string> = Object.freeze(new Set(['warning'])) as ReadonlySet<string>;
const EMPTY = Buffer.alloc(0);

// Which engine record a class's channels get: a subclass with state of its own in the engine
// (AsyncChat) registers a richer one; the rest inherit their parent's.
const coreClasses = new WeakMap<Function, typeof DispatcherCore>();

/** @internal Gives `cls` and its subclasses channels of the engine record `core`. */
export function registerCoreClass(cls: Function, core: typeof DispatcherCore): void {
  coreClasses.set(cls, core);
}

function coreClassOf(cls: Function): typeof DispatcherCore {
  for (let c: Function | null = cls; c !== null && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const core = coreClasses.get(c);
    if (core !== undefined) return core;
  }
  return DispatcherCore;
}

/**
 * Python's asyncore.dispatcher: a socket in a socket map, and the handlers the loop calls for
 * its events (handleRead, handleWrite, handleAccepted, handleConnect, handleClose,
 * handleError...). Subclass it and override the handlers, as in Python. `S` is the socket's
 * type: a Socket (the default), or a FileWrapper for a FileDispatcher.
 */
export class Dispatcher<S extends SocketLike = Socket> {
  debug = false;
  connected = false;
  accepting = false;
  connecting = false;
  closing = false;
  addr: Address | null = null;
  ignoreLogTypes: ReadonlySet<string> = DEFAULT_IGNORE;
  /** [family, type] given to createSocket, as Python's family_and_type. */
  familyAndType?: [number, number];

  /** The map this channel joins (Python's `_map`): what a server passes on to the channels it accepts. */
  _map: SocketMap;
  /** The socket's fd while the channel has one (Python's `_fileno`). */
  _fileno: number | null = null;
  /** @internal the engine's record of this channel: transport, output, timers, close state */
  readonly [ENGINE]: DispatcherCore;
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

  constructor(sock?: S | null, map?: SocketMap) {
    this._map = map ?? socketMap;
    this[ENGINE] = new (coreClassOf(new.target))(this as unknown as Dispatcher<SocketLike>);
    if (sock) {
      sock.setBlocking?.(false);
      this.setSocket(sock, map);
      this.connected = true;
      try {
        this.addr = sock.getpeername?.() ?? null;
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

  /** The channel's socket (Python's `socket`): assigning it makes the channel's bytes go through it. */
  get socket(): S | null {
    return this[ENGINE].socket as S | null;
  }

  set socket(sock: S | null) {
    this[ENGINE].useSocket(sock);
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
    const core = this[ENGINE];
    core.owner?.remove(core);
    this._fileno = null;
  }

  createSocket(family: number = AF_INET, type: number = SOCK_STREAM): void {
    this.familyAndType = [family, type];
    this.setSocket(new Socket(family, type) as unknown as S);
  }

  setSocket(sock: S, map?: SocketMap): void {
    // A dispatcher given a new socket leaves the map under its old fd first (Python leaves a
    // stale entry behind, which keeps receiving that fd's events).
    if (this._fileno !== null && this._fileno !== sock.fileno()) this.delChannel();
    this._fileno = sock.fileno();
    this[ENGINE].attach(sock);
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
    return this[ENGINE].idleTimeout;
  }

  set idleTimeout(seconds: number | null) {
    const core = this[ENGINE];
    core.idleTimeout = checkSeconds(seconds, 'idleTimeout');
    if (core.joined) core.owner!.armIdle(core);
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
    this[ENGINE].touch();
  }

  bind(addr: Address): void {
    this.addr = addr;
    this.socket!.bind!(addr);
  }

  connect(address: Address): void {
    this.connected = false;
    this.connecting = true;
    this[ENGINE].touch();
    const err = this.socket!.connectEx!(address);
    if (err === 'EINPROGRESS' || err === 'EALREADY' || err === 'EWOULDBLOCK' || err === 'EAGAIN') {
      this.addr = address;
      this[ENGINE].armConnectTimeout(address);
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
    const core = this[ENGINE];
    let guard = core.acceptGuard;
    if (guard === null && this.maxConnections !== null) guard = core.acceptGuard = new AcceptGuard(this as unknown as AnyDispatcher, core);
    if (guard !== null && !guard.admits()) return null;
    let pair: [Socket, Address] | null;
    try {
      pair = this.socket!.tryAccept!();
    } catch (err) {
      if (isSystemError(err, 'EWOULDBLOCK', 'ECONNABORTED', 'EAGAIN')) return null;
      if (isSystemError(err, 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM')) {
        (core.acceptGuard ??= new AcceptGuard(this as unknown as AnyDispatcher, core)).exhausted(err);
        return null;
      }
      throw err;
    }
    if (pair !== null && guard !== null) guard.accepted(pair[0]);
    return pair;
  }

  /** Bytes sent: 0 when the socket's buffer is full, or when the peer is gone (then closed). */
  send(data: Uint8Array | string): number {
    const core = this[ENGINE];
    try {
      const n = core.io.send(typeof data === 'string' ? Buffer.from(data) : data);
      if (n > 0) core.wrote();
      return n;
    } catch (err) {
      if (isDisconnect(err)) {
        core.closeOnce(err);
        return 0;
      }
      throw err;
    }
  }

  /** Up to bufferSize bytes; an empty Buffer at end of stream or when the peer is gone (then closed). */
  recv(bufferSize: number): Buffer {
    const core = this[ENGINE];
    try {
      const data = core.io.recv(bufferSize);
      // An empty datagram is not an end of stream (Python closes: see datagram.ts).
      if (data.length === 0 && !core.datagram) {
        core.readClosed = true;
        core.closeOnce();
      }
      return data;
    } catch (err) {
      if (isDisconnect(err)) {
        core.closeOnce(err);
        return EMPTY;
      }
      throw err;
    }
  }

  /**
   * Closes the socket and leaves the map; no callback reaches the channel afterwards. Over TLS
   * the close_notify goes first, and if the socket cannot take it now it is written after the
   * channel is gone (within a bounded time), never dropped.
   */
  close(): void {
    this[ENGINE].closeNow();
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
    const core = this[ENGINE];
    // The transport may use the event itself (a TLS handshake or unwrap step).
    if (core.io.claimsReadEvent()) return;
    if (core.datagram) {
      readDatagrams(this as unknown as AnyDispatcher);
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
    const core = this[ENGINE];
    const err = core.socketError();
    core.cancelConnectTimeout();
    if (err !== 0) throw systemError(err, 'connect', this.addr ? formatAddr(this.addr) : '');
    this.handleConnect();
    this.connected = true;
    this.connecting = false;
    core.touch();
  }

  handleWriteEvent(): void {
    if (this.accepting) return;  // accepting sockets shouldn't get a write event
    if (!this.connected && this.connecting) this.handleConnectEvent();
    if (this[ENGINE].io.claimsWriteEvent()) return;
    this.handleWrite();
  }

  handleExptEvent(): void {
    // Priority data, or an error condition on the socket: SO_ERROR tells which.
    const core = this[ENGINE];
    const err = core.socketError();
    if (err !== 0) core.closeOnce(systemError(err, 'socket'));
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
    this[ENGINE].closeOnce(err);
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
    startTlsOn(this as unknown as AnyDispatcher, context, options);
  }

  /**
   * Sends close_notify, waits for the peer's, and goes back to cleartext (Python's unwrap());
   * handleTlsStopped() then. Data the peer sends before its close_notify still reaches
   * handleRead; cleartext after it is read as cleartext.
   */
  stopTls(): void {
    stopTlsOn(this as unknown as AnyDispatcher);
  }

  /** The TLS connection's protocol, cipher, ALPN and peer certificate; null without TLS or before the handshake. */
  tlsInfo(): TlsInfo | null {
    return this[ENGINE].io.tlsInfo();
  }

  /**
   * Whether the connection is wrapped in TLS: true from startTls() until stopTls() completes or
   * the channel closes, during the handshake and the unwrap too (Python's
   * `isinstance(self.socket, ssl.SSLSocket)`).
   */
  get tlsActive(): boolean {
    return this[ENGINE].io.tls;
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
    return this[ENGINE].isClosed;
  }

  /**
   * Ask readable()/writable() again now. Overridden predicates are asked before every wait
   * (blocking loop) or after every batch (loopAsync); call this when their answer changes
   * because of something else, such as a timer, to have it applied at once.
   */
  updateInterest(): void {
    const core = this[ENGINE];
    if (core.joined) core.owner!.redecide(core);
  }
}

dispatcherBase.proto = Dispatcher.prototype;
registerLibraryInterest(Dispatcher.prototype, 'readable', 'writable');
// Assigning recv or send on a channel (instrumenting it, as Python code does) re-decides
// whether an AsyncChat's records go through them.
registerLibraryMethods(Dispatcher.prototype, ['recv', 'send'], (ch) => (ch as unknown as AnyDispatcher)[ENGINE].choosePath());

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

  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map);
    this[ENGINE].out = new OutputQueue();
  }

  /** Bytes queued and not yet sent. */
  get outputBuffered(): number {
    return this[ENGINE].out!.bytes;
  }

  /** What is queued and not yet sent (a copy, for inspection: Python's out_buffer). */
  get outBuffer(): Buffer {
    const out = this[ENGINE].out!;
    const chunks: Uint8Array[] = [];
    const result = out.gather(chunks, Number.MAX_SAFE_INTEGER, 1 << 30);
    return Buffer.concat(chunks.slice(0, result.count)).subarray(result.firstOffset);
  }

  /** Sends what the queue holds until the socket's buffer is full (WRITE_BYTES at most per write). */
  initiateSend(): void {
    if (!this.connected || this.socket === null) return;
    const core = this[ENGINE];
    // Python's dispatcher_with_send writes with dispatcher.send, never a subclass's send().
    const outcome = core.writeOut(core.out!, WRITE_BYTES, WRITE_CHUNKS);
    if (outcome < 0) return;
    core.sendFull = outcome === WROTE_FULL;
    core.touch();
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  override writable(): boolean {
    return !this.connected || !this[ENGINE].out!.empty;
  }

  override send(data: Uint8Array | string): number {
    if (this.debug) this.logInfo(`sending ${util.inspect(data)}`);
    const core = this[ENGINE];
    const out = core.out!;
    out.push(data);
    if (out.bytes > this.maxOutputBuffered) {
      core.enforceOutputLimit(out, this.maxOutputBuffered);
      return 0;
    }
    // The last write was partial: the socket's buffer is full until the next write event, so
    // send() only queues (Python makes one failing send syscall per call while it is full).
    if (!core.sendFull) this.initiateSend();
    return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  }
}

registerLibraryInterest(DispatcherWithSend.prototype, 'writable');
registerLibraryMethods(DispatcherWithSend.prototype, ['send'], (ch) => (ch as unknown as AnyDispatcher)[ENGINE].choosePath());
