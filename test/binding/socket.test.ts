// The native socket layer over real sockets: TCP on IPv4 and IPv6 loopback, AF_UNIX path and
// abstract sockets, socketpair and pipes. Every wait is a wait on the native reactor with a
// deadline.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { native, EV } from '../../src/binding/native';
import { defaultBackend } from '../../src/binding/backends';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IPPROTO_TCP,
  MSG_PEEK,
  SHUT_WR,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SO_LINGER,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  Socket,
  TCP_NODELAY,
  pipe,
  socketpair,
  type Address,
} from '../../src/binding/socket';
import { isSystemError, type SystemError } from '../../src/errors';
import { openReactor, waitReady, type Harness } from '../helpers/reactor';
import { acceptOne, connection, finishConnect, listen, recvExactly, unusedPort } from '../helpers/sockets';

const backend = defaultBackend();
const NONBLOCK = 1;
const CLOEXEC = 2;

/** Runs fn, expects it to throw a system error with `code`, and checks the error's shape. */
function expectSystemError(fn: () => unknown, code: string | string[], syscall?: string): SystemError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${String(code)} error`).toBeInstanceOf(Error);
  const err = caught as SystemError;
  expect(isSystemError(err)).toBe(true);
  expect(Array.isArray(code) ? code : [code]).toContain(err.code);
  expectWellFormed(err);
  if (syscall) expect(err.syscall).toBe(syscall);
  return err;
}

function expectWellFormed(err: SystemError): void {
  const errno = (os.constants.errno as Record<string, number>)[err.code];
  expect(errno, `os.constants.errno has ${err.code}`).toBeTypeOf('number');
  expect(err.errno).toBe(-errno);
  expect(typeof err.syscall).toBe('string');
  expect(err.syscall.length).toBeGreaterThan(0);
  expect(err.message).toContain(err.code);
  expect(err.message).toContain(err.syscall);
  expect(err.message).not.toMatch(/unknown/i);
  // a readable explanation besides the code: "ECONNREFUSED: connection refused, connect"
  expect(err.message.replace(err.code, '').replace(err.syscall, '')).toMatch(/[a-z]{4,}/);
}

function int32Pair(a: number, b: number): Buffer {
  return Buffer.from(new Int32Array([a, b]).buffer);
}

function readInt32Pair(buf: Buffer): [number, number] {
  return os.endianness() === 'LE'
    ? [buf.readInt32LE(0), buf.readInt32LE(4)]
    : [buf.readInt32BE(0), buf.readInt32BE(4)];
}

/** SO_LINGER {on, 0} then close: the kernel sends RST instead of FIN. */
function resetAndClose(sock: Socket): void {
  sock.setsockopt(SOL_SOCKET, SO_LINGER, int32Pair(1, 0));
  sock.close();
}

function ipv6Loopback(): string | null {
  let s: Socket | undefined;
  try {
    s = new Socket(AF_INET6, SOCK_STREAM);
    s.bind(['::1', 0, 0, 0]);
    return null;
  } catch (err) {
    return `IPv6 loopback (::1) is unavailable here: ${(err as Error).message}`;
  } finally {
    s?.close();
  }
}

describe(`sockets over real connections (${backend})`, () => {
  let h: Harness;
  const open: Socket[] = [];
  const fds: number[] = [];
  let tmp: string;
  let noIpv6: string | null;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'asynchat-socket-'));
    noIpv6 = ipv6Loopback();
  });
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeAll(() => {
    h = openReactor();
  });
  afterAll(() => h.close());
  afterEach(() => {
    for (const s of open.splice(0)) {
      h.reactor.remove(s.fileno());
      s.close();
    }
    for (const fd of fds.splice(0)) {
      h.reactor.remove(fd);
      native.close(fd);
    }
  });

  /** Sends `text` one way and checks it arrives whole. */
  function roundTrip(from: Socket, to: Socket, text: string): void {
    expect(from.send(text)).toBe(Buffer.byteLength(text));
    expect(recvExactly(h, to, Buffer.byteLength(text)).toString()).toBe(text);
  }

  describe('TCP over IPv4 loopback', () => {
    it('connects without blocking, accepts, and names both ends as [host, port]', () => {
      const server = listen(AF_INET, ['127.0.0.1', 0], open);
      const [host, port] = server.getsockname() as [string, number];
      expect(host).toBe('127.0.0.1');
      expect(port).toBeGreaterThan(0);

      const client = new Socket(AF_INET, SOCK_STREAM);
      open.push(client);
      const result = client.connectEx(['127.0.0.1', port]);
      expect([0, 'EINPROGRESS']).toContain(result);
      finishConnect(h, client, result);

      // nothing waiting yet on a fresh listener would be EAGAIN; here one connection is
      const [conn, from] = acceptOne(h, server, open);
      expect(conn).toBeInstanceOf(Socket);
      expect(from).toEqual(client.getsockname());
      expect(from).toEqual(['127.0.0.1', expect.any(Number)]);
      expect((from as [string, number]).length).toBe(2);
      expect(client.getpeername()).toEqual(['127.0.0.1', port]);
      expect(conn.getsockname()).toEqual(['127.0.0.1', port]);
      expect(conn.getpeername()).toEqual(from);

      roundTrip(client, conn, 'hello server');
      roundTrip(conn, client, 'hello client');

      // a second accept finds nothing: EAGAIN, or null from tryAccept
      expect(server.tryAccept()).toBeNull();
      expectSystemError(() => server.accept(), 'EAGAIN', 'accept');
    });

    it('resolves "localhost" to the loopback address', () => {
      const server = listen(AF_INET, ['localhost', 0], open);
      expect((server.getsockname() as [string, number])[0]).toBe('127.0.0.1');
    });

    it('recv, recvInto, tryRecvInto and MSG_PEEK', () => {
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], open);

      // nothing there yet: -1 from the try variant, EAGAIN from Python's recv
      expect(conn.tryRecvInto(Buffer.alloc(16))).toBe(-1);
      const eagain = expectSystemError(() => conn.recv(16), 'EAGAIN', 'recv');
      expect(eagain.errno).toBe(-os.constants.errno.EAGAIN);
      expectSystemError(() => conn.recvInto(Buffer.alloc(4)), 'EAGAIN', 'recv');

      client.send(Buffer.from('abcdefghij'));
      waitReady(h, conn.fileno(), EV.READ);
      const peeked = Buffer.alloc(3);
      expect(conn.tryRecvInto(peeked, 0, 3, MSG_PEEK)).toBe(3);
      expect(peeked.toString()).toBe('abc');

      const got = conn.recv(4);
      expect(got).toBeInstanceOf(Buffer);
      expect(got.toString()).toBe('abcd');

      const into = Buffer.alloc(8, '.');
      expect(conn.recvInto(into, 2)).toBe(2);
      expect(into.toString()).toBe('ef......');

      expect(conn.tryRecvInto(into, 4, 4)).toBe(4);
      expect(into.toString()).toBe('ef..ghij');
      expect(conn.tryRecvInto(into)).toBe(-1);

      // bounds are checked, not trusted
      expect(() => conn.tryRecvInto(into, 9)).toThrow(RangeError);
      expect(() => conn.tryRecvInto(into, 4, 5)).toThrow(RangeError);
    });

    it('writev gathers buffers, honouring the first buffer\'s offset', () => {
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], open);
      const parts = [Buffer.from('XXhead-'), Buffer.from('body-'), new Uint8Array(Buffer.from('tail'))];
      const n = native.writev(client.fileno(), parts, 2);
      expect(n).toBe('head-body-tail'.length);
      expect(recvExactly(h, conn, n).toString()).toBe('head-body-tail');
      expect(native.writev(client.fileno(), [])).toBe(0);
      expect(() => native.writev(client.fileno(), [Buffer.from('ab')], 3)).toThrow(RangeError);
      // A lone buffer may be given without an array, with the same offset rule.
      expect(native.writev(client.fileno(), Buffer.from('XXsolo'), 2)).toBe(4);
      expect(recvExactly(h, conn, 4).toString()).toBe('solo');
      expect(() => native.writev(client.fileno(), Buffer.from('ab'), 3)).toThrow(RangeError);
      expect(() => native.writev(client.fileno(), 'text' as unknown as Uint8Array)).toThrow(TypeError);
      expect(() => native.writev(client.fileno(), [new Int32Array(2) as unknown as Uint8Array])).toThrow(TypeError);
    });

    it('shutdown(SHUT_WR) half-closes: the peer reads EOF and can still answer', () => {
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], open);
      roundTrip(client, conn, 'last words');
      client.shutdown(SHUT_WR);
      expect(waitReady(h, conn.fileno(), EV.READ) & EV.READ).toBe(EV.READ);
      expect(conn.recv(16).length).toBe(0); // EOF
      expect(conn.recvInto(Buffer.alloc(4))).toBe(0); // and again
      roundTrip(conn, client, 'reply after EOF');
      // the client cannot send any more
      expectSystemError(() => client.send('x'), 'EPIPE', 'send');
    });

    it('close() twice is a no-op, and a closed Socket says EBADF', () => {
      const s = new Socket(AF_INET, SOCK_STREAM);
      const fd = s.fileno();
      expect(fd).toBeGreaterThanOrEqual(0);
      s.close();
      expect(s.fileno()).toBe(-1);
      expect(() => s.close()).not.toThrow();
      expectSystemError(() => s.send('x'), 'EBADF', 'send');
      expectSystemError(() => s.getsockname(), 'EBADF', 'getsockname');
      // the fd really is closed: the native close of that number fails (unless reused)
      const reused = new Socket(AF_INET, SOCK_STREAM);
      open.push(reused);
      if (reused.fileno() !== fd) expectSystemError(() => native.close(fd), 'EBADF', 'close');
    });

    it('every fd is non-blocking and close-on-exec; setBlocking flips O_NONBLOCK', () => {
      const { server, client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], open);
      for (const s of [server, client, conn]) expect(native.fdFlags(s.fileno())).toBe(NONBLOCK | CLOEXEC);
      const [a, b] = socketpair();
      open.push(a, b);
      expect(native.fdFlags(a.fileno())).toBe(NONBLOCK | CLOEXEC);
      expect(native.fdFlags(b.fileno())).toBe(NONBLOCK | CLOEXEC);
      const [r, w] = pipe();
      fds.push(r, w);
      expect(native.fdFlags(r)).toBe(NONBLOCK | CLOEXEC);
      expect(native.fdFlags(w)).toBe(NONBLOCK | CLOEXEC);
      const copy = native.dup(r);
      fds.push(copy);
      expect(native.fdFlags(copy) & CLOEXEC).toBe(CLOEXEC);

      expect(conn.getBlocking()).toBe(false);
      conn.setBlocking(true);
      expect(native.fdFlags(conn.fileno())).toBe(CLOEXEC);
      expect(conn.getBlocking()).toBe(true);
      // a blocking recv with data already there returns at once
      client.send('now');
      expect(conn.recv(3).toString()).toBe('now');
      conn.setBlocking(false);
      expect(native.fdFlags(conn.fileno())).toBe(NONBLOCK | CLOEXEC);
    });
  });

  describe('TCP over IPv6 loopback', () => {
    it('connects and names both ends as [host, port, flowinfo, scopeId]', (ctx) => {
      if (noIpv6) ctx.skip(noIpv6);
      const server = listen(AF_INET6, ['::1', 0, 0, 0], open);
      const [host, port, flowinfo, scopeId] = server.getsockname() as [string, number, number, number];
      expect([host, flowinfo, scopeId]).toEqual(['::1', 0, 0]);
      const client = new Socket(AF_INET6, SOCK_STREAM);
      open.push(client);
      const result = client.connectEx(['::1', port]); // a 2-tuple is enough, as in Python
      finishConnect(h, client, result);
      const [conn, from] = acceptOne(h, server, open);
      expect(from).toEqual(['::1', expect.any(Number), 0, 0]);
      expect(from).toEqual(client.getsockname());
      expect(client.getpeername()).toEqual(['::1', port, 0, 0]);
      expect(conn.getpeername()).toEqual(from);
      roundTrip(client, conn, 'over six');
      roundTrip(conn, client, 'and back');
    });

    it('refuses a connection to a closed port with ECONNREFUSED', (ctx) => {
      if (noIpv6) ctx.skip(noIpv6);
      const client = new Socket(AF_INET6, SOCK_STREAM);
      open.push(client);
      const result = client.connectEx(['::1', unusedPort(AF_INET6, '::1')]);
      expect(connectOutcome(client, result)).toBe('ECONNREFUSED');
    });
  });

  describe('AF_UNIX', () => {
    it('path sockets: the server is named by its path, the client is unnamed', () => {
      const file = path.join(tmp, 'echo.sock');
      const server = listen(AF_UNIX, file, open);
      expect(server.getsockname()).toBe(file);
      const client = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(client);
      finishConnect(h, client, client.connectEx(file));
      const [conn, from] = acceptOne(h, server, open);
      expect(from).toBe('');
      expect(client.getsockname()).toBe('');
      expect(client.getpeername()).toBe(file);
      expect(conn.getsockname()).toBe(file);
      expect(native.fdFlags(conn.fileno())).toBe(NONBLOCK | CLOEXEC);
      roundTrip(client, conn, 'through the file system');
      roundTrip(conn, client, 'and back');
    });

    it('connecting to a path nobody listens on gives ENOENT / ECONNREFUSED by name', () => {
      const client = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(client);
      expect(client.connectEx(path.join(tmp, 'nobody.sock'))).toBe('ENOENT');
      const file = path.join(tmp, 'stale.sock');
      const stale = new Socket(AF_UNIX, SOCK_STREAM);
      stale.bind(file);
      stale.close(); // the file stays, nobody listens
      const again = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(again);
      expect(again.connectEx(file)).toBe('ECONNREFUSED');
      expectSystemError(() => again.connect(file), 'ECONNREFUSED', 'connect');
      // binding over the existing file is EADDRINUSE, as in Python
      const third = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(third);
      expectSystemError(() => third.bind(file), 'EADDRINUSE', 'bind');
    });

    it('rejects a path longer than sun_path with ENAMETOOLONG; the longest one fits', () => {
      const s = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(s);
      expectSystemError(() => s.bind(path.join(tmp, 'x'.repeat(200))), 'ENAMETOOLONG');
      // sun_path is 108 bytes on Linux (104 on macOS): the path plus its NUL must fit
      const room = process.platform === 'linux' ? 107 : 103;
      const longest = path.join(tmp, 'y'.repeat(room - tmp.length - 1));
      expect(longest.length).toBe(room);
      s.bind(longest);
      expect(s.getsockname()).toBe(longest);
      const t = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(t);
      expectSystemError(() => t.bind(`${longest}z`), 'ENAMETOOLONG');
    });

    it.skipIf(process.platform !== 'linux')('abstract names may fill sun_path; "" autobinds to an abstract name', () => {
      const full = `\0${'a'.repeat(107)}`;
      const s = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(s);
      s.bind(full);
      expect(s.getsockname()).toBe(full);
      const t = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(t);
      expectSystemError(() => t.bind(`${full}b`), 'ENAMETOOLONG');
      // Python: sock.bind('') on Linux gets an abstract name from the kernel
      const auto = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(auto);
      auto.bind('');
      expect(auto.getsockname()).toMatch(/^\0[0-9a-f]{5}$/);
    });

    it.skipIf(process.platform !== 'linux')('abstract sockets ("\\0name") keep their leading NUL', () => {
      const name = `\0asynchat-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const server = listen(AF_UNIX, name, open);
      expect(server.getsockname()).toBe(name);
      const client = new Socket(AF_UNIX, SOCK_STREAM);
      open.push(client);
      finishConnect(h, client, client.connectEx(name));
      const [conn, from] = acceptOne(h, server, open);
      expect(from).toBe('');
      expect(client.getpeername()).toBe(name);
      roundTrip(client, conn, 'no file at all');
      expect(fs.existsSync(name.slice(1))).toBe(false);
    });

    it('socketpair: connected both ways, half-close gives EOF', () => {
      const [a, b] = socketpair();
      open.push(a, b);
      expect(a.family).toBe(AF_UNIX);
      expect(a.getsockopt(SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
      roundTrip(a, b, 'ping');
      roundTrip(b, a, 'pong');
      const n = native.writev(a.fileno(), [Buffer.from('one '), Buffer.from('two')]);
      expect(recvExactly(h, b, n).toString()).toBe('one two');
      a.shutdown(SHUT_WR);
      waitReady(h, b.fileno(), EV.READ);
      expect(b.recv(8).length).toBe(0);
      roundTrip(b, a, 'still open this way');
    });
  });

  describe('pipes', () => {
    it('read/write/writev, EAGAIN as -1, EOF as 0, EPIPE once the reader is gone', () => {
      const [r, w] = pipe();
      fds.push(r, w);
      const buf = Buffer.alloc(32);
      expect(native.read(r, buf)).toBe(-1);
      expect(native.write(w, Buffer.from('through a pipe'))).toBe(14);
      expect(waitReady(h, r, EV.READ) & EV.READ).toBe(EV.READ);
      expect(native.read(r, buf, 0, 7)).toBe(7);
      expect(buf.subarray(0, 7).toString()).toBe('through');
      expect(native.read(r, buf, 7)).toBe(7);
      expect(buf.subarray(0, 14).toString()).toBe('through a pipe');
      // writev falls back to writev(2) for fds that are not sockets
      expect(native.writev(w, [Buffer.from('ab'), Buffer.from('cd')])).toBe(4);
      expect(native.writev(w, Buffer.from('ef'))).toBe(2);
      expect(native.read(r, buf)).toBe(6);
      expect(buf.subarray(0, 6).toString()).toBe('abcdef');
      expect(native.getSocketError(r)).toBe(0); // not a socket: no pending error
      expect(waitReady(h, w, EV.WRITE) & EV.WRITE).toBe(EV.WRITE);

      // writer gone: EOF
      const [r2, w2] = pipe();
      fds.push(r2);
      native.close(w2);
      expect(waitReady(h, r2, EV.READ) & (EV.READ | EV.HUP)).not.toBe(0);
      expect(native.read(r2, buf)).toBe(0);

      // reader gone: EPIPE (Node ignores SIGPIPE, so the process lives on)
      fds.splice(fds.indexOf(r), 1);
      h.reactor.remove(r);
      native.close(r);
      expectSystemError(() => native.write(w, Buffer.from('x')), 'EPIPE', 'write');
      expectSystemError(() => native.writev(w, [Buffer.from('x')]), 'EPIPE', 'writev');
    });

    it('fills up: write returns -1 when the pipe is full, WRITE readiness returns once drained', () => {
      const [r, w] = pipe();
      fds.push(r, w);
      const chunk = Buffer.alloc(65536, 1);
      let total = 0;
      for (;;) {
        const n = native.write(w, chunk);
        if (n < 0) break;
        total += n;
        expect(total).toBeLessThan(64 << 20); // a pipe is not unbounded
      }
      expect(total).toBeGreaterThan(0);
      const sink = Buffer.alloc(65536);
      let drained = 0;
      while (drained < total) {
        const n = native.read(r, sink);
        expect(n).toBeGreaterThan(0);
        drained += n;
      }
      expect(waitReady(h, w, EV.WRITE) & EV.WRITE).toBe(EV.WRITE);
    });
  });

  /** Follows a non-blocking connect to its end: 0 or the errno name. */
  function connectOutcome(client: Socket, result: 0 | string): 0 | string {
    if (result !== 'EINPROGRESS') return result;
    const bits = waitReady(h, client.fileno(), EV.WRITE);
    expect(bits & (EV.WRITE | EV.ERR | EV.HUP)).not.toBe(0);
    return native.getSocketError(client.fileno());
  }

  describe('errors', () => {
    it('a connect to a closed port is ECONNREFUSED, by name', () => {
      const port = unusedPort(AF_INET, '127.0.0.1');
      const client = new Socket(AF_INET, SOCK_STREAM);
      open.push(client);
      const result = client.connectEx(['127.0.0.1', port]);
      expect(['EINPROGRESS', 'ECONNREFUSED']).toContain(result);
      expect(connectOutcome(client, result)).toBe('ECONNREFUSED');
      // SO_ERROR was cleared by reading it
      expect(native.getSocketError(client.fileno())).toBe(0);

      // Python's connect() raises; the error looks like Node's own
      const again = new Socket(AF_INET, SOCK_STREAM);
      open.push(again);
      const err = expectSystemError(() => again.connect(['127.0.0.1', port]), ['EINPROGRESS', 'ECONNREFUSED'], 'connect');
      expect(err.message).toContain(`127.0.0.1:${port}`);
    });

    it('a pending connect is EINPROGRESS, by name and with a readable message', () => {
      const server = listen(AF_INET, ['127.0.0.1', 0], open);
      const client = new Socket(AF_INET, SOCK_STREAM);
      open.push(client);
      let err: SystemError | undefined;
      try {
        client.connect(server.getsockname());
      } catch (e) {
        err = e as SystemError;
      }
      // loopback may complete at once (no error); if not, the error is EINPROGRESS
      if (err) {
        expect(err.code).toBe('EINPROGRESS');
        expectWellFormed(err);
        expect(err.errno).toBe(-os.constants.errno.EINPROGRESS);
        expect(err.message).toMatch(/in progress/i);
      }
      finishConnect(h, client, err ? 'EINPROGRESS' : 0);
    });

    it('a second bind on the same port is EADDRINUSE', () => {
      const first = listen(AF_INET, ['127.0.0.1', 0], open);
      const [, port] = first.getsockname() as [string, number];
      const second = new Socket(AF_INET, SOCK_STREAM);
      open.push(second);
      const err = expectSystemError(() => second.bind(['127.0.0.1', port]), 'EADDRINUSE', 'bind');
      expect(err.errno).toBe(-os.constants.errno.EADDRINUSE);
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.message).toMatch(/address already in use/i);
    });

    it('calls on the wrong kind of socket throw named errors', () => {
      const s = new Socket(AF_INET, SOCK_STREAM);
      open.push(s);
      expectSystemError(() => s.getpeername(), 'ENOTCONN', 'getpeername');
      expectSystemError(() => s.accept(), 'EINVAL', 'accept'); // not listening
      expectSystemError(() => s.shutdown(SHUT_WR), 'ENOTCONN', 'shutdown');
      const [r, w] = pipe();
      fds.push(r, w);
      expectSystemError(() => native.getsockopt(r, SOL_SOCKET, SO_TYPE), 'ENOTSOCK', 'getsockopt');
      expectSystemError(() => native.recv(r, Buffer.alloc(1)), 'ENOTSOCK', 'recv');
      expect(() => s.bind(['127.0.0.1', 70000])).toThrow(RangeError);
      expect(() => native.socket(-1, SOCK_STREAM)).toThrow(expect.objectContaining({ syscall: 'socket' }));
    });

    it('a peer that resets shows as ECONNRESET on recv, then EPIPE on send; no crash', () => {
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], open);
      roundTrip(client, conn, 'before the reset');
      resetAndClose(conn);
      const bits = waitReady(h, client.fileno(), EV.READ);
      expect(bits & (EV.READ | EV.ERR | EV.HUP)).not.toBe(0);
      expectSystemError(() => client.recv(16), 'ECONNRESET', 'recv');
      for (let i = 0; i < 5; i++) {
        expectSystemError(() => client.send('after the reset'), ['EPIPE', 'ECONNRESET'], 'send');
      }
      expectSystemError(() => native.writev(client.fileno(), [Buffer.from('x')]), ['EPIPE', 'ECONNRESET'], 'writev');
      expect(process.pid).toBeGreaterThan(0); // still here
    });

    it('a send to a reset peer is ECONNRESET or EPIPE, however many times', () => {
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], open);
      resetAndClose(conn);
      waitReady(h, client.fileno(), EV.READ);
      for (let i = 0; i < 5; i++) {
        expectSystemError(() => client.send(Buffer.alloc(1024)), ['ECONNRESET', 'EPIPE'], 'send');
      }
      // Linux reports the reset once (to the first send); a read then finds the stream ended
      let got: Buffer | undefined;
      let code: string | undefined;
      try {
        got = client.recv(16);
      } catch (err) {
        code = (err as SystemError).code;
      }
      if (got) expect(got.length).toBe(0);
      else expect(['ECONNRESET', 'EPIPE']).toContain(code);
    });

    it('sends after a reset or a closed peer never raise SIGPIPE (checked in a child process)', () => {
      const fixture = path.join(__dirname, '..', 'fixtures', 'sigpipe.mjs');
      const child = spawnSync(process.execPath, [fixture], {
        encoding: 'utf8',
        timeout: 15_000,
        env: { ...process.env, ASYNCHAT_BACKEND: backend },
      });
      expect(child.error).toBeUndefined();
      expect(child.signal, child.stderr).toBeNull();
      expect(child.status, child.stderr).toBe(0);
      const report = JSON.parse(child.stdout.trim().split('\n').pop()!);
      // the fixture's control (a write to a pipe nobody reads) raises exactly one SIGPIPE;
      // the sockets raise none
      expect(report.signals).toBe(1);
      expect(report.socketErrors.length).toBeGreaterThan(0);
      for (const code of report.socketErrors) expect(['EPIPE', 'ECONNRESET']).toContain(code);
      expect(report.pipeError).toBe('EPIPE');
    });
  });

  describe('socket options', () => {
    it('SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, SO_TYPE', () => {
      const s = new Socket(AF_INET, SOCK_STREAM);
      open.push(s);
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
      expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).not.toBe(0);
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 0);
      expect(s.getsockopt(SOL_SOCKET, SO_REUSEADDR)).toBe(0);
      s.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536);
      expect(s.getsockopt(SOL_SOCKET, SO_RCVBUF)).toBeGreaterThanOrEqual(65536); // Linux doubles it
      s.setsockopt(SOL_SOCKET, SO_SNDBUF, 32768);
      expect(s.getsockopt(SOL_SOCKET, SO_SNDBUF)).toBeGreaterThanOrEqual(32768);
      expect(s.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
      s.setsockopt(IPPROTO_TCP, TCP_NODELAY, true);
      expect(s.getsockopt(IPPROTO_TCP, TCP_NODELAY)).not.toBe(0);
      s.setsockopt(IPPROTO_TCP, TCP_NODELAY, false);
      expect(s.getsockopt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
      expect(s.getsockopt(SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
      expectSystemError(() => s.setsockopt(SOL_SOCKET, 0x7fff, 1), ['ENOPROTOOPT', 'EINVAL'], 'setsockopt');
    });

    it('SO_LINGER as a buffer of two ints, read back with a buffer length', () => {
      const s = new Socket(AF_INET, SOCK_STREAM);
      open.push(s);
      expect(readInt32Pair(s.getsockopt(SOL_SOCKET, SO_LINGER, 8))).toEqual([0, 0]);
      s.setsockopt(SOL_SOCKET, SO_LINGER, int32Pair(1, 5));
      const got = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
      expect(got).toBeInstanceOf(Buffer);
      expect(got.length).toBe(8);
      expect(readInt32Pair(got)).toEqual([1, 5]);
      expect(() => s.getsockopt(SOL_SOCKET, SO_LINGER, 4096)).toThrow(RangeError);
    });

    it.skipIf(SO_REUSEPORT === undefined)('SO_REUSEPORT lets two listeners share a port', () => {
      const a = new Socket(AF_INET, SOCK_STREAM);
      const b = new Socket(AF_INET, SOCK_STREAM);
      open.push(a, b);
      a.setsockopt(SOL_SOCKET, SO_REUSEPORT!, 1);
      b.setsockopt(SOL_SOCKET, SO_REUSEPORT!, 1);
      expect(a.getsockopt(SOL_SOCKET, SO_REUSEPORT!)).not.toBe(0);
      a.bind(['127.0.0.1', 0]);
      a.listen();
      const addr = a.getsockname();
      b.bind(addr);
      b.listen();
      expect(b.getsockname()).toEqual(addr);
    });

    it('SO_ERROR: 0 on a healthy socket, the errno after a refused connect', () => {
      const { client } = connection(h, AF_INET, ['127.0.0.1', 0], open);
      expect(client.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0);
      const refused = new Socket(AF_INET, SOCK_STREAM);
      open.push(refused);
      const result = refused.connectEx(['127.0.0.1', unusedPort(AF_INET, '127.0.0.1')]);
      if (result === 'EINPROGRESS') {
        waitReady(h, refused.fileno(), EV.WRITE);
        expect(refused.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(os.constants.errno.ECONNREFUSED);
        expect(refused.getsockopt(SOL_SOCKET, SO_ERROR)).toBe(0); // read once, cleared
      } else {
        expect(result).toBe('ECONNREFUSED');
      }
    });
  });

  it('an address of the wrong shape is a TypeError', () => {
    const s = new Socket(AF_INET, SOCK_STREAM);
    open.push(s);
    expect(() => s.bind('/tmp/x' as unknown as Address)).toThrow(TypeError);
    expect(() => s.bind(['127.0.0.1'] as unknown as Address)).toThrow(TypeError);
    const u = new Socket(AF_UNIX, SOCK_STREAM);
    open.push(u);
    expect(() => u.bind(['127.0.0.1', 0])).toThrow(TypeError);
  });
});
