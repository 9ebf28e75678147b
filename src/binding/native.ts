// The typed loader for the C++ addon. ESM cannot import a .node file, so it is loaded through
// createRequire; ASYNCHAT_ADDON names another build (cmake-js, AddressSanitizer) to load.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { asynchatError } from '../errors';

/** Address as the addon returns it: [family, host, port, flowinfo, scopeId] or [family, path]. */
export type RawAddress = [number, string, number?, number?, number?];

export interface NativeReactor {
  readonly name: string;
  readonly fd: number;
  /** Records the wanted interest (READ | WRITE | PRI); the kernel sees it at the next wait. */
  setInterest(fd: number, mask: number): void;
  getInterest(fd: number): number;
  /** Forgets fd at once (call before closing it). */
  remove(fd: number): void;
  /** Blocks up to timeoutMs (negative: no limit); returns how many (fd, bits) pairs it wrote. */
  wait(timeoutMs: number): number;
  /** Lets Node's loop watch the reactor; onBatch(count) runs once per batch of events. */
  attach(onBatch: (count: number) => void): void;
  detach(): void;
  close(): void;
}

export interface NativeStats {
  wakeups: number;
  waits: number;
  events: number;
  crossings: number;
  interestSyscalls: number;
  reads: number;
  writes: number;
  accepts: number;
  scans: number;
  reactors: number;
}

export interface NativeConstants {
  AF_INET: number;
  AF_INET6: number;
  AF_UNIX: number;
  SOCK_STREAM: number;
  SOCK_DGRAM: number;
  SOL_SOCKET: number;
  SO_REUSEADDR: number;
  SO_REUSEPORT?: number;
  SO_REUSEPORT_LB?: number;
  SO_ERROR: number;
  SO_LINGER: number;
  SO_RCVBUF: number;
  SO_SNDBUF: number;
  SO_KEEPALIVE: number;
  SO_TYPE: number;
  SO_OOBINLINE: number;
  IPPROTO_TCP: number;
  IPPROTO_IPV6: number;
  IPV6_V6ONLY: number;
  TCP_NODELAY: number;
  SHUT_RD: number;
  SHUT_WR: number;
  SHUT_RDWR: number;
  MSG_OOB: number;
  MSG_PEEK: number;
  SOMAXCONN: number;
  SIZEOF_INT: number;
}

export interface NativeAddon {
  Reactor: new (backend: string, events: Int32Array) => NativeReactor;
  stats(): NativeStats;
  resetStats(): void;
  defaultBackend: string;
  /** Backends compiled in, best first, comma-separated. */
  backends: string;
  events: { READ: number; WRITE: number; PRI: number; HUP: number; ERR: number; NVAL: number };
  constants: NativeConstants;

  socket(family: number, type: number, proto?: number): number;
  socketpair(family?: number, type?: number): [number, number];
  pipe(): [number, number];
  bind(fd: number, family: number, host: string, port?: number, flowinfo?: number, scopeId?: number): void;
  listen(fd: number, backlog: number): void;
  /** 0, or the errno name ("EINPROGRESS", "ECONNREFUSED", ...), as Python's connect_ex. */
  connect(fd: number, family: number, host: string, port?: number, flowinfo?: number, scopeId?: number): 0 | string;
  /** null when no connection is waiting. */
  accept(fd: number): [number, RawAddress] | null;
  getsockname(fd: number): RawAddress;
  getpeername(fd: number): RawAddress;
  /** Bytes read, 0 at end of stream, -1 when it would block. */
  recv(fd: number, buf: Uint8Array, offset?: number, length?: number, flags?: number): number;
  /** Bytes sent, -1 when it would block. */
  send(fd: number, buf: Uint8Array, offset?: number, length?: number, flags?: number): number;
  /** A lone buffer may be given as it is (no array). */
  writev(fd: number, bufs: Uint8Array[] | Uint8Array, firstOffset?: number): number;
  read(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  write(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  shutdown(fd: number, how: number): void;
  close(fd: number): void;
  setsockopt(fd: number, level: number, option: number, value: number | boolean | Uint8Array): void;
  getsockopt(fd: number, level: number, option: number, buflen?: number): number | Buffer;
  /** 0, or the name of the pending socket error (reading it clears it). */
  getSocketError(fd: number): 0 | string;
  setBlocking(fd: number, blocking: boolean): void;
  /** bit 1: non-blocking, bit 2: close-on-exec */
  fdFlags(fd: number): number;
  dup(fd: number): number;
  /** Terminator search; see native/scan.cc. */
  scan(buf: Uint8Array, start: number, end: number, terminator: Uint8Array, out: Int32Array, max: number): number;
  /**
   * recv(fd, buf, offset, size), then, when at least minBytes arrived, scan() of what arrived
   * (positions relative to offset; the count in out's last slot, -1 when no scan was made).
   */
  recvScan(
    fd: number, buf: Uint8Array, offset: number, size: number, terminator: Uint8Array, out: Int32Array, max: number,
    minBytes: number,
  ): number;
}

function findAddon(): string {
  const override = process.env.ASYNCHAT_ADDON;
  if (override) return path.resolve(override);
  // This file is src/binding/ (tests) or dist/cjs/binding/ (the package): two or three levels
  // below the package root.
  for (const up of [path.join('..', '..'), path.join('..', '..', '..')]) {
    for (const kind of ['Release', 'Debug']) {
      const candidate = path.resolve(__dirname, up, 'build', kind, 'asynchat.node');
      if (existsSync(candidate)) return candidate;
    }
  }
  throw asynchatError(
    'ERR_ASYNCHAT_NO_ADDON', 'asynchat: the native addon is not built; run `npm install` (or `npm run build:native`)',
  );
}

export const addonPath = findAddon();
export const native: NativeAddon = createRequire(__filename)(addonPath);
export const EV = native.events;
