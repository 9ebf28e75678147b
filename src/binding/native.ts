// The typed loader for the C++ addon. ESM cannot import a .node file, so it is loaded through
// createRequire; find-addon.ts decides which build (ASYNCHAT_ADDON, build/, prebuilds/).
import { createRequire } from 'node:module';
import { findAddon } from './find-addon';
import type { Address } from './socket';

/** Address as the addon returns it: [family, host, port, flowinfo, scopeId] or [family, path]. */
export type RawAddress = [number, string, number?, number?, number?];

/** One native reactor (a backend instance): interest per fd, wait, and attachment to Node's loop. */
export interface NativeReactor {
  readonly name: string;
  readonly fd: number;
  /** Records the wanted interest (READ | WRITE | PRI); the kernel sees it at the next wait. */
  setInterest(fd: number, mask: number): void;
  getInterest(fd: number): number;
  /** Forgets fd at once (call before closing it). */
  remove(fd: number): void;
  /**
   * Blocks up to timeoutMs (negative: no limit); returns how many (fd, bits) pairs it wrote, or
   * minus the number of a watched signal (watchSignals) that arrived before or during the wait.
   */
  wait(timeoutMs: number): number;
  /** Lets Node's loop watch the reactor; onBatch(count) runs once per batch of events. */
  attach(onBatch: (count: number) => void): void;
  detach(): void;
  close(): void;
}

/** Counters of what the reactor did, from stats(): docs/performance.md lists them. */
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
  /** TLS connections (OpenSSL SSL objects) alive: 0 once every TLS channel is closed. */
  tlsConnections: number;
}

/** An SSL_CTX (native/tls_context.cc). */
export type NativeTlsContext = object;

/** One TLS connection over an fd, memory BIOs (native/tls_connection.cc). */
export interface NativeTlsConnection {
  /** 0 when done, else WANT_READ | WANT_WRITE bits (2, 4). */
  handshake(): number;
  /** Plaintext bytes, 0 after the peer's close_notify, -1 nothing yet. */
  read(buf: Uint8Array, offset: number, length: number): number;
  /** read(), then recvScan()'s scan of what arrived. */
  readScan(
    buf: Uint8Array, offset: number, size: number, terminator: Uint8Array, out: Int32Array, max: number, minBytes: number,
  ): number;
  /** Plaintext bytes taken (encrypted and sent as far as the kernel took them), -1 when ciphertext still waits. */
  writev(bufs: Uint8Array[] | Uint8Array, firstOffset?: number): number;
  /** Ciphertext bytes still waiting for the fd. */
  flush(): number;
  /**
   * 0 when done, else WANT_READ | WANT_WRITE bits, or PLAIN_PENDING (1): plaintext sent before
   * the peer's close_notify waits to be read (read/readScan) before the next step.
   */
  shutdown(wait: boolean): number;
  /** After the peer's close_notify: the bytes read past it (cleartext), emptied from the connection. */
  cleartextAfter(): Buffer;
  info(): Record<string, unknown>;
  free(): void;
  // A connection made with fd -1 carries its ciphertext in memory (tests): the peer's is fed
  // in, this end's is taken out; the output holds `capacity` bytes before a send would block.
  feedCipher(data: Uint8Array): void;
  /** The peer closed its side: reads find the end of stream once what was fed is read. */
  endCipher(): void;
  /** The next transfers fail with this errno (positive: os.constants.errno.ECONNRESET). */
  failCipher(errno: number): void;
  takeCipher(): Buffer;
  setCipherCapacity(bytes: number): void;
}

/** The platform's socket constants as the addon was compiled (what the AF_*, SO_*, ... exports are). */
export interface NativeConstants {
  AF_INET: number;
  AF_INET6: number;
  AF_UNIX: number;
  AF_UNSPEC: number;
  AI_PASSIVE: number;
  AI_CANONNAME: number;
  AI_NUMERICHOST: number;
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
  SO_BROADCAST: number;
  IPPROTO_IP: number;
  IPPROTO_UDP: number;
  IP_TOS: number;
  IP_TTL: number;
  IP_MULTICAST_IF: number;
  IP_MULTICAST_TTL: number;
  IP_MULTICAST_LOOP: number;
  IP_ADD_MEMBERSHIP: number;
  IP_DROP_MEMBERSHIP: number;
  IPV6_JOIN_GROUP: number;
  IPV6_LEAVE_GROUP: number;
  IPV6_MULTICAST_IF: number;
  IPV6_MULTICAST_HOPS: number;
  IPV6_MULTICAST_LOOP: number;
  IPV6_UNICAST_HOPS: number;
  MSG_TRUNC: number;
  MSG_CTRUNC: number;
  MSG_DONTWAIT: number;
  INADDR_ANY: number;
}

/** The framers' constants (native/framer.h, native/parse_frames.cc): the io array's layout, and why a frame was refused. */
export interface NativeFraming {
  /** config[0] of each framer */
  kinds: { resp: number; lengthPrefixed: number; netstring: number };
  /**
   * Indexes in the io array: the parser's state (phase .. part), a call's range (pos, end,
   * maxFrames) and result (count), the framer's config from `config` on (`configWords` of them);
   * `ioLength` is io's length.
   */
  slots: {
    phase: number; at: number; argsLeft: number; length: number; scanned: number; status: number; stop: number;
    need: number; partial: number; reason: number; offset: number; detail: number; part: number; pos: number;
    end: number; maxFrames: number; count: number; config: number; configWords: number; ioLength: number;
  };
  /** io[slots.status] after a call */
  status: { end: number; full: number; more: number; bad: number; tooLarge: number };
  /** By reason: what was expected, or the option whose limit was passed. */
  reasons: string[];
  /** By part: where in the frame ("bulk header"). */
  parts: string[];
}

/** The C++ addon's exports: the reactor class, the POSIX socket calls, the terminator scan, stats. */
export interface NativeAddon {
  Reactor: new (backend: string, events: Int32Array) => NativeReactor;
  stats(): NativeStats;
  resetStats(): void;
  /** The signals that end a blocking wait (this thread's; see native/signal_watch.h): exactly these. */
  watchSignals(signums: number[]): void;
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
  /**
   * One datagram: the sender's address in Python's shape (a path, [host, port] or [host, port,
   * flowinfo, scopeId]; null: none), or -1 when nothing waits; out[0] is the count recvmsg
   * returned, out[1] the message flags (MSG_TRUNC).
   */
  recvfrom(fd: number, buf: Uint8Array, offset: number, length: number, flags: number, out: Int32Array): Address | null | -1;
  /** Bytes sent, -1 when it would block. */
  sendto(
    fd: number, buf: Uint8Array, offset: number, length: number, flags: number, family: number, host: string,
    port?: number, flowinfo?: number, scopeId?: number,
  ): number;
  /** Whether a datagram (or a pending socket error) waits to be read. */
  pending(fd: number): boolean;
  inetPton(family: number, text: string): Buffer;
  inetNtop(family: number, packed: Uint8Array): string;
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
  /** Python's socket.getaddrinfo: [family, type, proto, canonname, raw address] per result. */
  getaddrinfo(
    host: string | null, port: number | string | null, family?: number, type?: number, proto?: number, flags?: number,
  ): Array<[number, number, number, string, RawAddress]>;
  /** poll(2) on one fd: the ready bits (READ | WRITE, HUP | ERR | NVAL), or 0 once timeoutMs passed. */
  waitFd(fd: number, mask: number, timeoutMs: number): number;
  TlsContext: new (options: Record<string, unknown>) => NativeTlsContext;
  TlsConnection: new (
    context: NativeTlsContext, fd: number, serverSide: boolean, hostname: string | null, status: Int32Array,
  ) => NativeTlsConnection;
  /** OpenSSL's version string, null in a build without TLS. */
  tlsVersion: string | null;
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
  /** Registers the arrays parseFrames() uses in this environment (once: src/asynchat/frame-splitter.ts). */
  framingArrays(io: Float64Array, results: Int32Array): void;
  /**
   * Frames and their fields in buf[io pos, io end), for the framer whose config is in io; see
   * native/framer.h. io's count says how many int32 of results hold complete frames, its status
   * how the call ended.
   */
  parseFrames(buf: Uint8Array): void;
  framing: NativeFraming;
}

/** The path of the addon file this process loaded (a build from source, a prebuild, or ASYNCHAT_ADDON). */
export const addonPath = findAddon();
/** The C++ addon itself: the reactor, the socket calls and the terminator scan that the classes use. */
export const native: NativeAddon = createRequire(__filename)(addonPath);
export const EV = native.events;
