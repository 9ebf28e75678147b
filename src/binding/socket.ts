// The part of Python's socket object that asyncore uses, over the addon's POSIX calls.
// Sockets are always non-blocking at the fd level (setBlocking(true) makes the fd blocking,
// which also blocks Node: use it for tests and tools, not in servers).
//
// Python raises BlockingIOError where a call would block; so do recv, send, accept and
// connect here (code 'EAGAIN' / 'EINPROGRESS'). The try* variants return -1 or null instead,
// without the cost of an exception; the dispatchers use those.
import { native, type RawAddress } from './native';
import { systemError } from '../errors';
import { copyOut, readTarget } from './read-buffer';

const C = native.constants;
export const AF_INET = C.AF_INET;
export const AF_INET6 = C.AF_INET6;
export const AF_UNIX = C.AF_UNIX;
export const SOCK_STREAM = C.SOCK_STREAM;
export const SOCK_DGRAM = C.SOCK_DGRAM;
export const SOL_SOCKET = C.SOL_SOCKET;
export const SO_REUSEADDR = C.SO_REUSEADDR;
export const SO_REUSEPORT = C.SO_REUSEPORT;
export const SO_REUSEPORT_LB = C.SO_REUSEPORT_LB;
export const SO_ERROR = C.SO_ERROR;
export const SO_LINGER = C.SO_LINGER;
export const SO_RCVBUF = C.SO_RCVBUF;
export const SO_SNDBUF = C.SO_SNDBUF;
export const SO_KEEPALIVE = C.SO_KEEPALIVE;
export const SO_TYPE = C.SO_TYPE;
export const SO_OOBINLINE = C.SO_OOBINLINE;
export const IPPROTO_TCP = C.IPPROTO_TCP;
export const IPPROTO_IPV6 = C.IPPROTO_IPV6;
export const IPV6_V6ONLY = C.IPV6_V6ONLY;
export const TCP_NODELAY = C.TCP_NODELAY;
export const SHUT_RD = C.SHUT_RD;
export const SHUT_WR = C.SHUT_WR;
export const SHUT_RDWR = C.SHUT_RDWR;
export const MSG_OOB = C.MSG_OOB;
export const MSG_PEEK = C.MSG_PEEK;
export const SOMAXCONN = C.SOMAXCONN;

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

function addressArgs(family: number, addr: Address): [string, number?, number?, number?] {
  if (family === AF_UNIX) {
    if (typeof addr !== 'string') throw new TypeError('AF_UNIX address must be a path string');
    return [addr];
  }
  if (!Array.isArray(addr) || typeof addr[0] !== 'string' || typeof addr[1] !== 'number') {
    throw new TypeError(`${family === AF_INET6 ? 'AF_INET6' : 'AF_INET'} address must be [host, port]`);
  }
  return family === AF_INET6 ? [addr[0], addr[1], addr[2] ?? 0, addr[3] ?? 0] : [addr[0], addr[1]];
}

function describe(addr: Address): string {
  return typeof addr === 'string' ? addr : `${addr[0]}:${addr[1]}`;
}

function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  throw new TypeError('data must be a Buffer, Uint8Array or string');
}

export class Socket {
  readonly family: number;
  readonly type: number;
  private fd: number;

  /** `new Socket(family, type, proto)` makes a socket; `fileno` wraps an existing fd instead. */
  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0, fileno?: number) {
    this.family = family;
    this.type = type;
    this.fd = fileno ?? native.socket(family, type, proto);
  }

  fileno(): number {
    return this.fd;
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

  /** Python's accept(): raises EAGAIN when no connection is waiting. */
  accept(): [Socket, Address] {
    const pair = this.tryAccept();
    if (pair === null) throw systemError('EAGAIN', 'accept');
    return pair;
  }

  /** accept() that returns null instead of raising when no connection is waiting. */
  tryAccept(): [Socket, Address] | null {
    const got = native.accept(this.open('accept'));
    if (got === null) return null;
    return [new Socket(this.family, this.type, 0, got[0]), addressFromRaw(got[1])];
  }

  /** Python's connect(): raises on any error, EINPROGRESS included (non-blocking socket). */
  connect(addr: Address): void {
    const err = this.connectEx(addr);
    if (err !== 0) throw systemError(err, 'connect', describe(addr));
  }

  /** Python's connect_ex(): 0, or the errno name ('EINPROGRESS', 'ECONNREFUSED', ...). */
  connectEx(addr: Address): 0 | string {
    return native.connect(this.open('connect'), this.family, ...addressArgs(this.family, addr));
  }

  recv(bufsize: number, flags = 0): Buffer {
    const buf = readTarget(bufsize);
    const n = this.recvInto(buf, bufsize, flags);
    return copyOut(buf, n);
  }

  /** Reads into buf (at most nbytes, 0 meaning all of it); returns the count, 0 at EOF. */
  recvInto(buf: Uint8Array, nbytes = 0, flags = 0): number {
    const n = this.tryRecvInto(buf, 0, nbytes || buf.length, flags);
    if (n < 0) throw systemError('EAGAIN', 'recv');
    return n;
  }

  /** recvInto that returns -1 instead of raising when nothing is there. */
  tryRecvInto(buf: Uint8Array, offset = 0, length = buf.length - offset, flags = 0): number {
    return native.recv(this.open('recv'), buf, offset, length, flags);
  }

  send(data: Uint8Array | string, flags = 0): number {
    const n = this.trySend(toBytes(data), 0, undefined, flags);
    if (n < 0) throw systemError('EAGAIN', 'send');
    return n;
  }

  /** send that returns -1 instead of raising when the send buffer is full. */
  trySend(data: Uint8Array, offset = 0, length = data.length - offset, flags = 0): number {
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

  setBlocking(flag: boolean): void {
    native.setBlocking(this.open('fcntl'), flag);
  }

  getBlocking(): boolean {
    return (native.fdFlags(this.open('fcntl')) & 1) === 0;
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

/** A non-blocking, close-on-exec pipe: [readFd, writeFd]. */
export function pipe(): [number, number] {
  return native.pipe();
}
