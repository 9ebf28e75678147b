// Python's socket.create_connection() and socket.create_server(): a connected or a listening
// socket in one call, the address family picked from the address.
import { EV, native } from './native';
import {
  AF_INET, AF_INET6, AF_UNIX, IPPROTO_IPV6, IPV6_V6ONLY, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT,
  Socket, checkTimeout, getaddrinfo, type Address,
} from './socket';
import { asynchatError, systemError } from '../errors';

/** The options of createConnection(), Python's create_connection() arguments. */
export interface CreateConnectionOptions {
  /**
   * Seconds each connection attempt may take before a TimeoutError (code ETIMEDOUT); the
   * socket keeps it as its timeout (setTimeout), as Python's does. null: no limit, and the socket
   * is left blocking. Absent: no limit, and the socket is non-blocking (this library's default;
   * Python's is blocking). 0: a non-blocking connect (raises EINPROGRESS).
   */
  timeout?: number | null;
  /** [host, port] to bind before connecting (Python's source_address). */
  sourceAddress?: [string, number];
  /**
   * When every address failed: an AggregateError of every error (Python's all_errors and its
   * ExceptionGroup), instead of the last one.
   */
  allErrors?: boolean;
}

/**
 * Python's socket.create_connection(): resolves host (getaddrinfo: IPv4 and IPv6, names too; it
 * blocks while a name is resolved, as Python's does), then tries each address in the order the
 * system prefers until one connects, waiting for each connect (see `timeout`). Returns the
 * connected Socket, ready for `new Dispatcher(sock)` or `setSocket(sock)`; raises the last
 * attempt's error (ECONNREFUSED, ETIMEDOUT...) when none connected.
 */
export function createConnection(address: [string, number], options: CreateConnectionOptions = {}): Socket {
  if (!Array.isArray(address) || typeof address[0] !== 'string' || typeof address[1] !== 'number') {
    throw new TypeError('createConnection() needs [host, port]');
  }
  const [host, port] = address;
  if (options.timeout !== undefined) checkTimeout(options.timeout);
  const errors: unknown[] = [];
  for (const [family, type, proto, , sa] of getaddrinfo(host, port, 0, SOCK_STREAM)) {
    let sock: Socket | null = null;
    try {
      sock = new Socket(family, type, proto);
      if (options.timeout !== undefined && options.timeout !== null) sock.setTimeout(options.timeout);
      if (options.sourceAddress !== undefined) sock.bind(options.sourceAddress);
      if (options.timeout === undefined || options.timeout === null) connectWithoutLimit(sock, sa);
      else sock.connect(sa);
      if (options.timeout === null) sock.setTimeout(null);
      return sock;
    } catch (err) {
      sock?.close();
      if (!options.allErrors) errors.length = 0;
      errors.push(err);
    }
  }
  if (errors.length === 0) {
    // (getaddrinfo raises ENOTFOUND itself when the name has no address at all)
    throw Object.assign(new Error(`ENOTFOUND: no IPv4 or IPv6 address for ${host}`), {
      code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host,
    });
  }
  if (options.allErrors) throw new AggregateError(errors, `createConnection() to ${host}:${port} failed`);
  throw errors[0];
}

// A blocking connect, as Python's without a timeout, on the non-blocking fd: a signal cannot
// cut it short (a blocking connect(2) interrupted cannot simply be called again).
function connectWithoutLimit(sock: Socket, sa: Address): void {
  let err = sock.connectEx(sa);
  if (err === 'EINPROGRESS') {
    native.waitFd(sock.fileno(), EV.WRITE, -1);
    err = native.getSocketError(sock.fileno());
  }
  if (err !== 0) throw systemError(err, 'connect', typeof sa === 'string' ? sa : `${sa[0]}:${sa[1]}`);
}

/** The options of createServer(), Python's create_server() arguments. */
export interface CreateServerOptions {
  /**
   * AF_INET, AF_INET6 or AF_UNIX. Default: from the address, AF_UNIX for a path, AF_INET6 for an
   * IPv6 literal ('::1', '::'), else AF_INET (Python's default is always AF_INET).
   */
  family?: number;
  /** listen()'s backlog; default: Socket.listen's (min(128, SOMAXCONN)). */
  backlog?: number;
  /** Sets SO_REUSEPORT before binding (ERR_ASYNCHAT_NO_REUSEPORT where the platform lacks it). */
  reusePort?: boolean;
  /** An AF_INET6 socket that takes IPv4 connections too (IPV6_V6ONLY off); see hasDualstackIpv6(). */
  dualstackIpv6?: boolean;
}

/** Python's socket.has_dualstack_ipv6(): whether an AF_INET6 socket can take IPv4 connections too. */
export function hasDualstackIpv6(): boolean {
  let sock: Socket | null = null;
  try {
    sock = new Socket(AF_INET6, SOCK_STREAM);
    sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0);
    return true;
  } catch {
    return false;
  } finally {
    sock?.close();
  }
}

/**
 * Python's socket.create_server(): a socket bound to `address` ([host, port], or a path for
 * AF_UNIX) and listening, with SO_REUSEADDR set (as Python does on POSIX), SO_REUSEPORT if
 * asked, and for AF_INET6 IPV6_V6ONLY on (off with dualstackIpv6). Non-blocking, as every socket
 * of this library (Python's is blocking: setTimeout() for a blocking accept() with a limit). On
 * any error the socket is closed and the error raised.
 */
export function createServer(address: Address, options: CreateServerOptions = {}): Socket {
  const family = options.family ?? familyOf(address);
  if (options.dualstackIpv6) {
    if (family !== AF_INET6) {
      throw asynchatError('ERR_ASYNCHAT_DUALSTACK', 'dualstackIpv6 needs the AF_INET6 family (an IPv6 address such as "::")');
    }
    if (!hasDualstackIpv6()) throw asynchatError('ERR_ASYNCHAT_DUALSTACK', 'this platform has no dual-stack IPv6 sockets');
  }
  if (options.reusePort && SO_REUSEPORT === undefined) {
    throw asynchatError('ERR_ASYNCHAT_NO_REUSEPORT', `${process.platform} has no SO_REUSEPORT`);
  }
  const sock = new Socket(family, SOCK_STREAM);
  try {
    try {
      sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    } catch {
      // as Python: a socket that refuses it still serves
    }
    if (options.reusePort) sock.setsockopt(SOL_SOCKET, SO_REUSEPORT!, 1);
    if (family === AF_INET6) sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, options.dualstackIpv6 ? 0 : 1);
    sock.bind(address);
    if (options.backlog === undefined) sock.listen();
    else sock.listen(options.backlog);
    return sock;
  } catch (err) {
    sock.close();
    throw err;
  }
}

function familyOf(address: Address): number {
  if (typeof address === 'string') return AF_UNIX;
  return typeof address[0] === 'string' && address[0].includes(':') ? AF_INET6 : AF_INET;
}
