// createConnection() and createServer(), Python's socket.create_connection() and
// create_server(), and getaddrinfo() under them: the family from the address (IPv4, IPv6
// literals, names), each resolved address tried in turn, the timeout, the source address, the
// options Python's create_server sets, and sockets that a Dispatcher takes as they are.
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { closeAll, loop } from '../../src/asyncore/loop';
import type { SocketMap } from '../../src/engine/map-state';
import { createConnection, createServer, hasDualstackIpv6 } from '../../src/binding/create-socket';
import {
  AF_INET, AF_INET6, AF_UNIX, AI_NUMERICHOST, IPPROTO_IPV6, IPV6_V6ONLY, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR,
  SO_REUSEPORT, Socket, getaddrinfo,
} from '../../src/binding/socket';
import { cleanupPaths, ipv6Available, unixPath } from '../helpers/asyncore';

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  cleanupPaths();
});
function track(s: Socket): Socket {
  open.push(s);
  return s;
}
function portOf(s: Socket): number {
  return (s.getsockname() as [string, number])[1];
}
/** A port nothing listens on (bound, never listening: a connect is refused). */
function refusingPort(): number {
  const s = track(new Socket());
  s.bind(['127.0.0.1', 0]);
  return portOf(s);
}

describe('getaddrinfo', () => {
  it("gives Python's 5-tuples, family from the host", () => {
    expect(getaddrinfo('127.0.0.1', 80, 0, SOCK_STREAM)).toEqual([[AF_INET, SOCK_STREAM, 6, '', ['127.0.0.1', 80]]]);
    if (ipv6Available) {
      expect(getaddrinfo('::1', 'http', 0, SOCK_STREAM)).toEqual([[AF_INET6, SOCK_STREAM, 6, '', ['::1', 80, 0, 0]]]);
    }
    const local = getaddrinfo('localhost', 7, AF_INET, SOCK_STREAM);
    expect(local[0]).toEqual([AF_INET, SOCK_STREAM, 6, '', ['127.0.0.1', 7]]);
  });

  it('a host that does not resolve raises ENOTFOUND, as node:dns does', () => {
    // AI_NUMERICHOST: refused without asking any resolver (all traffic stays on this host)
    expect(() => getaddrinfo('not-an-address', 80, 0, SOCK_STREAM, 0, AI_NUMERICHOST))
      .toThrow(expect.objectContaining({ code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'not-an-address' }));
  });
});

describe('createConnection', () => {
  it('connects over IPv4 and IPv6 literals, picking the family', () => {
    const srv4 = track(createServer(['127.0.0.1', 0]));
    const c4 = track(createConnection(['127.0.0.1', portOf(srv4)]));
    expect(c4.family).toBe(AF_INET);
    expect(c4.getpeername()).toEqual(['127.0.0.1', portOf(srv4)]);
    if (!ipv6Available) return;
    const srv6 = track(createServer(['::1', 0]));
    const c6 = track(createConnection(['::1', portOf(srv6)]));
    expect(c6.family).toBe(AF_INET6);
    expect((c6.getpeername() as [string, number])[0]).toBe('::1');
  });

  it('resolves a name and tries each address until one connects', () => {
    // localhost may resolve to ::1 first, where nothing listens: refused, then 127.0.0.1.
    const srv = track(createServer(['127.0.0.1', 0]));
    const c = track(createConnection(['localhost', portOf(srv)]));
    expect(c.getpeername()).toEqual(['127.0.0.1', portOf(srv)]);
  });

  it('leaves the socket non-blocking, or with the timeout given, or blocking for null', () => {
    const srv = track(createServer(['127.0.0.1', 0]));
    expect(track(createConnection(['127.0.0.1', portOf(srv)])).getTimeout()).toBe(0);
    expect(track(createConnection(['127.0.0.1', portOf(srv)], { timeout: 2.5 })).getTimeout()).toBe(2.5);
    expect(track(createConnection(['127.0.0.1', portOf(srv)], { timeout: null })).getTimeout()).toBeNull();
    expect(() => createConnection(['127.0.0.1', portOf(srv)], { timeout: -1 }))
      .toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_TIMEOUT' }));
  });

  it('raises the error of the last attempt, or all of them with allErrors', () => {
    const port = refusingPort();
    expect(() => createConnection(['127.0.0.1', port])).toThrow(expect.objectContaining({ code: 'ECONNREFUSED' }));
    let err: unknown;
    try {
      createConnection(['127.0.0.1', port], { allErrors: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors).toEqual([expect.objectContaining({ code: 'ECONNREFUSED' })]);
  });

  it('times out on a listener whose backlog is full (TimeoutError, ETIMEDOUT)', () => {
    const srv = track(createServer(['127.0.0.1', 0], { backlog: 0 }));
    for (let i = 0; i < 8; i++) track(new Socket()).connectEx(srv.getsockname());
    const t0 = performance.now();
    expect(() => createConnection(['127.0.0.1', portOf(srv)], { timeout: 0.2 }))
      .toThrow(expect.objectContaining({ code: 'ETIMEDOUT', name: 'TimeoutError', syscall: 'connect' }));
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(195);
    expect(ms).toBeLessThan(2200);
  });

  it.skipIf(process.platform !== 'linux')('binds the source address first (127.0.0.2: Linux routes all of 127/8 to lo)', () => {
    const srv = track(createServer(['127.0.0.1', 0]));
    const c = track(createConnection(['127.0.0.1', portOf(srv)], { sourceAddress: ['127.0.0.2', 0] }));
    expect((c.getsockname() as [string, number])[0]).toBe('127.0.0.2');
    srv.setTimeout(5);
    const [conn, from] = srv.accept();
    track(conn);
    expect(from).toEqual(c.getsockname());
  });

  it('gives a socket that new Dispatcher(sock) serves', () => {
    const map: SocketMap = new Map();
    const srv = track(createServer(['127.0.0.1', 0]));
    const got: string[] = [];
    class Reader extends Dispatcher {
      override handleRead(): void {
        const data = this.recv(100);
        if (data.length > 0) got.push(data.toString());
      }
      override writable(): boolean {
        return false;
      }
    }
    const d = new Reader(createConnection(['127.0.0.1', portOf(srv)], { timeout: 3 }), map);
    expect(d.connected).toBe(true);
    expect((d.socket as Socket).getTimeout()).toBe(0);  // the Dispatcher made it non-blocking, as Python's does
    srv.setTimeout(5);
    const [conn] = srv.accept();
    track(conn).send('over the wire');
    for (let i = 0; i < 100 && got.length === 0; i++) loop(0.05, false, map, 1);
    expect(got).toEqual(['over the wire']);
    closeAll(map);  // the map's reactor too
  });
});

describe('createServer', () => {
  it("sets what Python's create_server sets: SO_REUSEADDR, and IPV6_V6ONLY for AF_INET6", () => {
    const s = track(createServer(['127.0.0.1', 0]));
    expect(s.family).toBe(AF_INET);
    expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).not.toBe(0);
    expect(s.getTimeout()).toBe(0);
    if (!ipv6Available) return;
    const s6 = track(createServer(['::1', 0]));
    expect(s6.family).toBe(AF_INET6);
    expect(s6.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY)).toBe(1);
  });

  it.skipIf(!ipv6Available || !hasDualstackIpv6())('dualstackIpv6: one AF_INET6 listener takes IPv4 clients too', () => {
    const s = track(createServer(['::', 0], { dualstackIpv6: true }));
    expect(s.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY)).toBe(0);
    const c = track(createConnection(['127.0.0.1', portOf(s)]));
    s.setTimeout(5);
    const [conn, from] = s.accept();
    track(conn);
    expect((from as [string, number])[0]).toBe('::ffff:127.0.0.1');
    expect(c.family).toBe(AF_INET);
  });

  it('refuses dualstackIpv6 without AF_INET6 (ERR_ASYNCHAT_DUALSTACK)', () => {
    expect(() => createServer(['127.0.0.1', 0], { dualstackIpv6: true }))
      .toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_DUALSTACK' }));
  });

  it.skipIf(SO_REUSEPORT === undefined)('reusePort: two listeners on one port', () => {
    const a = track(createServer(['127.0.0.1', 0], { reusePort: true }));
    const b = track(createServer(['127.0.0.1', portOf(a)], { reusePort: true }));
    expect(b.getsockopt(SOL_SOCKET, SO_REUSEPORT!)).not.toBe(0);
    expect(portOf(b)).toBe(portOf(a));
  });

  it('raises the bind error (EADDRINUSE) and leaves no socket open', () => {
    const a = track(createServer(['127.0.0.1', 0]));
    expect(() => createServer(['127.0.0.1', portOf(a)]))
      .toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    // (the fd check of every test file sees the failed socket closed)
  });

  it('takes a path: an AF_UNIX listener', () => {
    const p = unixPath('create-server');
    const s = track(createServer(p));
    expect(s.family).toBe(AF_UNIX);
    const c = track(new Socket(AF_UNIX, SOCK_STREAM));
    expect(c.connectEx(p)).toBe(0);
  });

  it('a Dispatcher serves it as a listener (setSocket, then listen as Python ports do)', () => {
    const map: SocketMap = new Map();
    const accepted: Socket[] = [];
    class Server extends Dispatcher {
      constructor() {
        super(null, map);
        this.setSocket(createServer(['127.0.0.1', 0]));
        this.listen(5);
      }
      override handleAccepted(sock: Socket): void {
        accepted.push(track(sock));
      }
    }
    const server = new Server();
    track(createConnection(['127.0.0.1', portOf(server.socket as Socket)]));
    for (let i = 0; i < 100 && accepted.length === 0; i++) loop(0.05, false, map, 1);
    expect(accepted).toHaveLength(1);
    closeAll(map);
  });
});
