// The part of Python's socket object that asyncore uses, over the addon's POSIX calls.
// Sockets are always non-blocking at the fd level (setBlocking(true) makes the fd blocking,
// which also blocks Node: use it for tests and tools, not in servers).
//
// Python raises BlockingIOError where a call would block; so do recv, send, accept and
// connect here (code 'EAGAIN' / 'EINPROGRESS'). The try* variants return -1 or null instead,
// without the cost of an exception; the dispatchers use those.
//
// Timeouts (Python's settimeout): setTimeout(seconds) keeps the fd non-blocking, and the
// raising calls (accept, connect, recv*, send*) then wait for the fd up to that long before they
// raise a TimeoutError (code 'ETIMEDOUT'), as Python's do; the try* variants never wait.
import { EV, native, type RawAddress } from './native';
import { asynchatError, systemError, timeoutError } from '../errors';
import { copyOut, readTarget } from './read-buffer';

const C = native.constants;
/** Address family IPv4 (Python's socket.AF_INET). */
export const AF_INET = C.AF_INET;
/** Address family IPv6. */
export const AF_INET6 = C.AF_INET6;
/** Address family Unix-domain sockets (a path as address). */
export const AF_UNIX = C.AF_UNIX;
/** Any address family (getaddrinfo's default). */
export const AF_UNSPEC = C.AF_UNSPEC;
/** getaddrinfo flag: addresses to bind (the wildcard address when host is null). */
export const AI_PASSIVE = C.AI_PASSIVE;
/** getaddrinfo flag: the canonical name of the host in the first result. */
export const AI_CANONNAME = C.AI_CANONNAME;
/** getaddrinfo flag: host must be a numeric address (no name is resolved). */
export const AI_NUMERICHOST = C.AI_NUMERICHOST;
/** Socket type: a byte stream (TCP, or a stream Unix socket). */
export const SOCK_STREAM = C.SOCK_STREAM;
/** Socket type: datagrams. */
export const SOCK_DGRAM = C.SOCK_DGRAM;
/** setsockopt/getsockopt level of the socket itself (the SO_* options). */
export const SOL_SOCKET = C.SOL_SOCKET;
/** Option: bind a listening address again while old connections linger (setReuseAddr sets it). */
export const SO_REUSEADDR = C.SO_REUSEADDR;
/** Option: several sockets bind the same port; undefined where the platform lacks it. */
export const SO_REUSEPORT = C.SO_REUSEPORT;
/** Option (FreeBSD): listeners of one port share its connections, balanced (serveThreads uses it there). */
export const SO_REUSEPORT_LB = C.SO_REUSEPORT_LB;
/** Option (read-only): the pending socket error, cleared by reading it. */
export const SO_ERROR = C.SO_ERROR;
/** Option: what close() does with unsent data (a struct linger buffer). */
export const SO_LINGER = C.SO_LINGER;
/** Option: the kernel receive buffer size. */
export const SO_RCVBUF = C.SO_RCVBUF;
/** Option: the kernel send buffer size. */
export const SO_SNDBUF = C.SO_SNDBUF;
/** Option: TCP keep-alive probes on an idle connection. */
export const SO_KEEPALIVE = C.SO_KEEPALIVE;
/** Option (read-only): the socket type (SOCK_STREAM, SOCK_DGRAM). */
export const SO_TYPE = C.SO_TYPE;
/** Option: out-of-band data arrives inline with normal data. */
export const SO_OOBINLINE = C.SO_OOBINLINE;
/** setsockopt/getsockopt level of TCP (TCP_NODELAY). */
export const IPPROTO_TCP = C.IPPROTO_TCP;
/** setsockopt/getsockopt level of IPv6 (IPV6_V6ONLY). */
export const IPPROTO_IPV6 = C.IPPROTO_IPV6;
/** Option: an AF_INET6 socket takes IPv6 only, no IPv4-mapped addresses. */
export const IPV6_V6ONLY = C.IPV6_V6ONLY;
/** Option: send small segments at once (no Nagle delay). */
export const TCP_NODELAY = C.TCP_NODELAY;
/** shutdown(): no more receiving. */
export const SHUT_RD = C.SHUT_RD;
/** shutdown(): no more sending (the peer reads end of stream). */
export const SHUT_WR = C.SHUT_WR;
/** shutdown(): neither. */
export const SHUT_RDWR = C.SHUT_RDWR;
/** recv/send flag: out-of-band (urgent) data. */
export const MSG_OOB = C.MSG_OOB;
/** recv flag: look at the data without taking it from the queue. */
export const MSG_PEEK = C.MSG_PEEK;
/** The largest listen() backlog the platform accepts. */
export const SOMAXCONN = C.SOMAXCONN;
// Datagram sockets: broadcast, multicast, TOS, and what recvmsg reports.
/** Option: a datagram socket may send to a broadcast address. */
export const SO_BROADCAST = C.SO_BROADCAST;
/** setsockopt/getsockopt level of IPv4 (IP_TOS, IP_MULTICAST_*). */
export const IPPROTO_IP = C.IPPROTO_IP;
/** The UDP protocol number (a socket's proto, or an option level). */
export const IPPROTO_UDP = C.IPPROTO_UDP;
/** Option: the type-of-service (DSCP/ECN) byte of outgoing IPv4 packets. */
export const IP_TOS = C.IP_TOS;
/** Option: the time-to-live of outgoing unicast IPv4 packets. */
export const IP_TTL = C.IP_TTL;
/** Option: the interface (an IPv4 address, packed) multicast datagrams leave by. */
export const IP_MULTICAST_IF = C.IP_MULTICAST_IF;
/** Option: the time-to-live of outgoing IPv4 multicast datagrams. */
export const IP_MULTICAST_TTL = C.IP_MULTICAST_TTL;
/** Option: whether this host receives its own IPv4 multicast datagrams. */
export const IP_MULTICAST_LOOP = C.IP_MULTICAST_LOOP;
/** Option: join an IPv4 multicast group (a struct ip_mreq, packed). */
export const IP_ADD_MEMBERSHIP = C.IP_ADD_MEMBERSHIP;
/** Option: leave an IPv4 multicast group (a struct ip_mreq, packed). */
export const IP_DROP_MEMBERSHIP = C.IP_DROP_MEMBERSHIP;
/** Option: join an IPv6 multicast group (a struct ipv6_mreq, packed). */
export const IPV6_JOIN_GROUP = C.IPV6_JOIN_GROUP;
/** Option: leave an IPv6 multicast group (a struct ipv6_mreq, packed). */
export const IPV6_LEAVE_GROUP = C.IPV6_LEAVE_GROUP;
/** Option: the interface index IPv6 multicast datagrams leave by. */
export const IPV6_MULTICAST_IF = C.IPV6_MULTICAST_IF;
/** Option: the hop limit of outgoing IPv6 multicast datagrams. */
export const IPV6_MULTICAST_HOPS = C.IPV6_MULTICAST_HOPS;
/** Option: whether this host receives its own IPv6 multicast datagrams. */
export const IPV6_MULTICAST_LOOP = C.IPV6_MULTICAST_LOOP;
/** Option: the hop limit of outgoing unicast IPv6 packets. */
export const IPV6_UNICAST_HOPS = C.IPV6_UNICAST_HOPS;
/** recv flag (and recvmsg result flag): the datagram was longer than the buffer. */
export const MSG_TRUNC = C.MSG_TRUNC;
/** recvmsg result flag: ancillary data was cut. */
export const MSG_CTRUNC = C.MSG_CTRUNC;
/** send/recv flag: do not block, whatever the socket's mode. */
export const MSG_DONTWAIT = C.MSG_DONTWAIT;
/** The IPv4 wildcard address, as a number (0.0.0.0). */
export const INADDR_ANY = C.INADDR_ANY;

// What the last recvfrom returned: [count, message flags] (shared: calls never overlap).
const recvInfo = new Int32Array(2);

/**
 * A socket address as Python spells it: `[host, port]` for IPv4, `[host, port]` or
 * `[host, port, flowinfo, scopeId]` for IPv6, a path for AF_UNIX.
 */
export type Address = string | [string, number] | [string, number, number, number];

/** What getsockname/getpeername/accept give back, as Python does. */
export function addressFromRaw(raw: RawAddress): Address {
  if (raw[0] === AF_UNIX) return raw[1];
  if (raw[0] === AF_INET6) return [raw[1], raw[2]!, raw[3] ?? 0, raw[4] ?? 0];
  return [raw[1], raw[2]!];
}

/** Throws a TypeError unless addr has the shape `family` needs. */
function checkAddress(family: number, addr: Address): void {
  if (family === AF_UNIX) {
    if (typeof addr !== 'string') throw new TypeError('AF_UNIX address must be a path string');
  } else if (!Array.isArray(addr) || typeof addr[0] !== 'string' || typeof addr[1] !== 'number') {
    throw new TypeError(`${family === AF_INET6 ? 'AF_INET6' : 'AF_INET'} address must be [host, port]`);
  }
}

function addressArgs(family: number, addr: Address): [string, number?, number?, number?] {
  checkAddress(family, addr);
  if (typeof addr === 'string') return [addr];
  return family === AF_INET6 ? [addr[0], addr[1], addr[2] ?? 0, addr[3] ?? 0] : [addr[0], addr[1]];
}

function describe(addr: Address): string {
  return typeof addr === 'string' ? addr : `${addr[0]}:${addr[1]}`;
}

/** @internal Python's settimeout() argument, checked: null (blocking), 0 (non-blocking) or seconds > 0. */
export function checkTimeout(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw asynchatError('ERR_ASYNCHAT_BAD_TIMEOUT', `a socket timeout must be a number of seconds or null, not ${String(value)}`, 'TypeError');
  }
  if (value < 0 || value === Infinity) {
    throw asynchatError('ERR_ASYNCHAT_BAD_TIMEOUT', `a socket timeout must be >= 0 and finite (got ${value})`);
  }
  return value;
}

function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  throw new TypeError('data must be a Buffer, Uint8Array or string');
}

// Output the engine corks (pushed during a batch, written at its end) must go out before this
// thread blocks on a socket: a handler that pushes a reply and then waits for the peer to act on
// it (test_ftplib's cmd_pasv pushes its 227 reply, then blocks in accept()) would otherwise wait
// for a reply that was never sent. The engine registers what writes it (the binding cannot
// import the engine).
let beforeBlocking: () => void = () => {};

/** @internal Registers what runs before a socket call may block (the engine's corked output). */
export function onBeforeBlocking(write: () => void): void {
  beforeBlocking = write;
}

/** A non-blocking socket on a file descriptor, with Python's socket methods (what dispatchers hold). */
export class Socket {
  readonly family: number;
  readonly type: number;
  private fd: number;
  /** @internal successful receives so far (the datagram dispatcher's read loop counts them) */
  _received = 0;
  /** @internal the last receive found nothing waiting (EAGAIN) */
  _drained = false;
  /** @internal told once when close() closes the fd (a listener counting its connections) */
  _onClose: (() => void) | null = null;
  // Python's timeout: null blocking, 0 non-blocking, > 0 seconds; undefined: what the fd says
  // (a wrapped fd), read when first asked.
  private timeout: number | null | undefined;

  /** `new Socket(family, type, proto)` makes a socket; `fileno` wraps an existing fd instead. */
  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0, fileno?: number) {
    this.family = family;
    this.type = type;
    this.fd = fileno ?? native.socket(family, type, proto);
    this.timeout = fileno === undefined ? 0 : undefined;  // the addon makes every fd non-blocking
  }

  fileno(): number {
    return this.fd;
  }

  /** A call on a blocking socket (setTimeout(null)) may block: what is corked goes out first. */
  private mayBlock(): void {
    if (this.timeout === null) beforeBlocking();
  }

  private open(syscall: string): number {
    if (this.fd < 0) throw systemError('EBADF', syscall);
    return this.fd;
  }

  bind(addr: Address): void {
    native.bind(this.open('bind'), this.family, ...addressArgs(this.family, addr));
  }

  listen(backlog = Math.min(128, SOMAXCONN)): void {
    native.listen(this.open('listen'), Math.max(0, backlog));
  }

  /**
   * Python's accept(): raises EAGAIN when no connection is waiting, or with a timeout
   * (setTimeout), waits up to that long for one and then raises a TimeoutError. The new socket
   * is non-blocking (timeout 0) whatever the listener's timeout.
   */
  accept(): [Socket, Address] {
    let deadline = 0;
    for (;;) {
      const pair = this.tryAccept();
      if (pair !== null) return pair;
      deadline = this.waitReady(EV.READ, 'accept', deadline);
    }
  }

  /** accept() that returns null instead of raising when no connection is waiting. */
  tryAccept(): [Socket, Address] | null {
    this.mayBlock();
    const got = native.accept(this.open('accept'));
    if (got === null) return null;
    return [new Socket(this.family, this.type, 0, got[0]), addressFromRaw(got[1])];
  }

  /**
   * Python's connect(): raises on any error, EINPROGRESS included (non-blocking socket). With a
   * timeout (setTimeout), waits up to that long for the connection, then raises a TimeoutError.
   */
  connect(addr: Address): void {
    const err = this.connectWithin(addr);
    if (err === null) throw timeoutError('connect', this.timeout!, describe(addr));
    if (err !== 0) throw systemError(err, 'connect', describe(addr));
  }

  /**
   * Python's connect_ex(): 0, or the errno name ('EINPROGRESS', 'ECONNREFUSED', ...). With a
   * timeout, waits for the outcome: 'EAGAIN' when it did not come in time (as Python's does).
   */
  connectEx(addr: Address): 0 | string {
    return this.connectWithin(addr) ?? 'EAGAIN';
  }

  // connect, waiting for the outcome in timeout mode: null when it did not come in time.
  private connectWithin(addr: Address): 0 | string | null {
    this.mayBlock();
    const err = native.connect(this.open('connect'), this.family, ...addressArgs(this.family, addr));
    if (err !== 'EINPROGRESS' || !this.timed()) return err;
    beforeBlocking();
    if (native.waitFd(this.fd, EV.WRITE, this.timeout! * 1000) === 0) return null;
    return native.getSocketError(this.fd);
  }

  recv(bufsize: number, flags = 0): Buffer {
    const buf = readTarget(bufsize);
    const n = this.recvInto(buf, bufsize, flags);
    return copyOut(buf, n);
  }

  /** Reads into buf (at most nbytes, 0 meaning all of it); returns the count, 0 at EOF. */
  recvInto(buf: Uint8Array, nbytes = 0, flags = 0): number {
    let deadline = 0;
    for (;;) {
      const n = this.tryRecvInto(buf, 0, nbytes || buf.length, flags);
      if (n >= 0) return n;
      deadline = this.waitReady(EV.READ, 'recv', deadline);
    }
  }

  /** recvInto that returns -1 instead of raising when nothing is there. */
  tryRecvInto(buf: Uint8Array, offset = 0, length = buf.length - offset, flags = 0): number {
    this.mayBlock();
    const n = native.recv(this.open('recv'), buf, offset, length, flags);
    this._drained = n < 0;
    if (n >= 0) this._received++;
    return n;
  }

  /**
   * Python's recvfrom(): one datagram, truncated to bufsize as the kernel truncates it, and its
   * sender's address (null when the sender has none: an unnamed AF_UNIX socket, a socketpair).
   * Raises EAGAIN when nothing is waiting.
   */
  recvfrom(bufsize: number, flags = 0): [Buffer, Address | null] {
    let deadline = 0;
    for (;;) {
      const got = this.tryRecvfrom(bufsize, flags);
      if (got !== null) return got;
      deadline = this.waitReady(EV.READ, 'recvfrom', deadline);
    }
  }

  /** recvfrom() that returns null instead of raising when nothing is waiting. */
  tryRecvfrom(bufsize: number, flags = 0): [Buffer, Address | null] | null {
    const buf = readTarget(bufsize);
    const addr = this.tryRecvfromInto(buf, 0, bufsize, flags);
    if (addr === -1) return null;
    return [copyOut(buf, Math.min(recvInfo[0], bufsize)), addr];
  }

  /**
   * Python's recvfrom_into(): [count, address]. The count is what the kernel returned: with
   * MSG_TRUNC in flags, Linux gives the datagram's full length even when buf held less.
   */
  recvfromInto(buf: Uint8Array, nbytes = 0, flags = 0): [number, Address | null] {
    let deadline = 0;
    for (;;) {
      const addr = this.tryRecvfromInto(buf, 0, nbytes || buf.length, flags);
      if (addr !== -1) return [recvInfo[0], addr];
      deadline = this.waitReady(EV.READ, 'recvfrom', deadline);
    }
  }

  /**
   * Python's recvmsg() without ancillary data: [data, [], msgFlags, address]. msgFlags has
   * MSG_TRUNC when the datagram was longer than bufsize (the rest of it is discarded).
   */
  recvmsg(bufsize: number, ancbufsize = 0, flags = 0): [Buffer, [], number, Address | null] {
    if (ancbufsize !== 0) {
      throw asynchatError('ERR_ASYNCHAT_NOT_IMPLEMENTED', 'recvmsg: ancillary data is not supported (ancbufsize must be 0)');
    }
    const [data, addr] = this.recvfrom(bufsize, flags);
    return [data, [], recvInfo[1], addr];
  }

  /**
   * recvfrom into buf[offset, offset + length): the sender's address (null: none), or -1 when
   * nothing is waiting. The count and the message flags are in lastRecv().
   */
  tryRecvfromInto(buf: Uint8Array, offset = 0, length = buf.length - offset, flags = 0): Address | null | -1 {
    this.mayBlock();
    const addr = native.recvfrom(this.open('recvfrom'), buf, offset, length, flags, recvInfo);
    if (addr === -1) {
      this._drained = true;
      return -1;
    }
    this._drained = false;
    this._received++;
    return addr;
  }

  /** [count, message flags] of the last recvfrom-family call on any socket of this thread. */
  static lastRecv(): [number, number] {
    return [recvInfo[0], recvInfo[1]];
  }

  /** Python's sendto(data, address) and sendto(data, flags, address). Raises EAGAIN when full. */
  sendto(data: Uint8Array | string, address: Address): number;
  sendto(data: Uint8Array | string, flags: number, address: Address): number;
  sendto(data: Uint8Array | string, flagsOrAddress: number | Address, address?: Address): number {
    const withFlags = typeof flagsOrAddress === 'number';
    const to = withFlags ? address : flagsOrAddress;
    if (to === undefined) throw new TypeError('sendto needs an address');
    const bytes = toBytes(data);
    let deadline = 0;
    for (;;) {
      const n = this.trySendto(bytes, to, withFlags ? flagsOrAddress : 0);
      if (n >= 0) return n;
      deadline = this.waitReady(EV.WRITE, 'sendto', deadline, describe(to));
    }
  }

  /** sendto that returns -1 instead of raising when the send buffer is full. */
  trySendto(data: Uint8Array, address: Address, flags = 0, offset = 0, length = data.length - offset): number {
    this.mayBlock();
    const fd = this.open('sendto');
    checkAddress(this.family, address);
    // Arguments spelled out, not spread from an array: sendto runs once per datagram.
    if (typeof address === 'string') return native.sendto(fd, data, offset, length, flags, this.family, address);
    return native.sendto(fd, data, offset, length, flags, this.family, address[0], address[1], address[2] ?? 0, address[3] ?? 0);
  }

  send(data: Uint8Array | string, flags = 0): number {
    const bytes = toBytes(data);
    let deadline = 0;
    for (;;) {
      const n = this.trySend(bytes, 0, undefined, flags);
      if (n >= 0) return n;
      deadline = this.waitReady(EV.WRITE, 'send', deadline);
    }
  }

  /** send that returns -1 instead of raising when the send buffer is full. */
  trySend(data: Uint8Array, offset = 0, length = data.length - offset, flags = 0): number {
    this.mayBlock();
    return native.send(this.open('send'), data, offset, length, flags);
  }

  shutdown(how: number): void {
    native.shutdown(this.open('shutdown'), how);
  }

  /** Closes the fd; closing twice is a no-op, as in Python. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    native.close(fd);
    if (this._onClose !== null) {
      const onClose = this._onClose;
      this._onClose = null;
      onClose();
    }
  }

  /** Gives up the fd without closing it. */
  detach(): number {
    const fd = this.fd;
    this.fd = -1;
    return fd;
  }

  setsockopt(level: number, option: number, value: number | boolean | Uint8Array): void {
    native.setsockopt(this.open('setsockopt'), level, option, value);
  }

  getsockopt(level: number, option: number): number;
  getsockopt(level: number, option: number, buflen: number): Buffer;
  getsockopt(level: number, option: number, buflen = 0): number | Buffer {
    return native.getsockopt(this.open('getsockopt'), level, option, buflen);
  }

  getsockname(): Address {
    return addressFromRaw(native.getsockname(this.open('getsockname')));
  }

  getpeername(): Address {
    return addressFromRaw(native.getpeername(this.open('getpeername')));
  }

  /** Python's setblocking(): setTimeout(null) when true, setTimeout(0) when false. */
  setBlocking(flag: boolean): void {
    native.setBlocking(this.open('fcntl'), flag);
    this.timeout = flag ? null : 0;
  }

  /** Python's getblocking(): false only in non-blocking mode (timeout 0). */
  getBlocking(): boolean {
    return this.getTimeout() !== 0;
  }

  /**
   * Python's settimeout(): null makes the socket blocking (the fd too: that blocks Node), 0
   * non-blocking (the default here, where Python's default is blocking), and seconds > 0 make
   * accept, connect, recv* and send* wait up to that long before they raise a TimeoutError
   * (code 'ETIMEDOUT'). Seconds, as Python's; not net.Socket's setTimeout (an idle timer, in ms).
   */
  setTimeout(seconds: number | null): void {
    const timeout = checkTimeout(seconds);
    native.setBlocking(this.open('fcntl'), timeout === null);
    this.timeout = timeout;
  }

  /** Python's gettimeout(): null (blocking), 0 (non-blocking), or the timeout in seconds. */
  getTimeout(): number | null {
    if (this.timeout === undefined) this.timeout = (native.fdFlags(this.open('fcntl')) & 1) === 0 ? null : 0;
    return this.timeout;
  }

  private timed(): boolean {
    return this.timeout !== undefined && this.timeout !== null && this.timeout > 0;
  }

  /**
   * A call would block: raises EAGAIN, or in timeout mode waits for the fd (deadline 0: the
   * first wait, which sets it) and returns the deadline to retry with; raises a TimeoutError
   * once it passed, as Python's timeout applies to the whole call, not to each retry.
   */
  private waitReady(mask: number, syscall: string, deadline: number, detail?: string): number {
    if (!this.timed()) throw systemError('EAGAIN', syscall, detail);
    const at = deadline || performance.now() + this.timeout! * 1000;
    const left = at - performance.now();
    if (left > 0) beforeBlocking();
    if (left <= 0 || native.waitFd(this.open(syscall), mask, left) === 0) throw timeoutError(syscall, this.timeout!, detail);
    return at;
  }

  toString(): string {
    return `<Socket fd=${this.fd} family=${this.family} type=${this.type}>`;
  }
}

/** A connected pair of sockets (AF_UNIX by default), as Python's socket.socketpair(). */
export function socketpair(family: number = AF_UNIX, type: number = SOCK_STREAM): [Socket, Socket] {
  const [a, b] = native.socketpair(family, type);
  return [new Socket(family, type, 0, a), new Socket(family, type, 0, b)];
}

/** Python's socket.inet_pton(family, text): the packed address (4 or 16 bytes). */
export function inetPton(family: number, text: string): Buffer {
  return native.inetPton(family, text);
}

/** Python's socket.inet_ntop(family, packed). */
export function inetNtop(family: number, packed: Uint8Array): string {
  return native.inetNtop(family, packed);
}

/** Python's socket.inet_aton(text) for dotted IPv4 addresses (what ip_mreq is built from). */
export function inetAton(text: string): Buffer {
  return native.inetPton(AF_INET, text);
}

/** A non-blocking, close-on-exec pipe: [readFd, writeFd]. */
export function pipe(): [number, number] {
  return native.pipe();
}

/** One result of getaddrinfo(): Python's (family, type, proto, canonname, sockaddr). */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, address: Address];

/**
 * Python's socket.getaddrinfo(host, port, family, type, proto, flags): the addresses to try for
 * a host, in the order the system prefers (IPv4 and IPv6 only). It blocks while a name is
 * resolved, as Python's does (use node:dns for a lookup that does not). A name with no address
 * raises an error with code ENOTFOUND, as Node's dns module does (Python: socket.gaierror).
 */
export function getaddrinfo(
  host: string | null, port: number | string | null, family = 0, type = 0, proto = 0, flags = 0,
): AddrInfo[] {
  return native.getaddrinfo(host, port, family, type, proto, flags)
    .map(([f, t, p, canon, raw]) => [f, t, p, canon, addressFromRaw(raw)]);
}
