// Driving AsyncChat scenarios over real loopback sockets in both run modes: the blocking
// loop() (Python's way: it blocks Node while it runs) and the attached loopAsync(). Peers are
// written on the library itself (a Dispatcher or an AsyncChat in the same map), so that one
// scenario runs unchanged in either mode; a raw Socket outside the map is used where a test
// only writes before the loop runs or reads after it.
import { expect } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { closeAll, loop, loopAsync } from '../../src/asyncore/loop';
import { EV } from '../../src/binding/native';
import { AF_INET, MSG_PEEK, SOL_SOCKET, type Socket } from '../../src/binding/socket';
import { canListFds, diffFds, openFds } from './fds';
import { openReactor, waitReady, withDeadline } from './reactor';
import { connection, recvExactly } from './sockets';

export type Mode = 'blocking' | 'attached';
export const MODES: Mode[] = ['blocking', 'attached'];

/** Log types the channels of these tests keep quiet about (the default handleError logs 'error'). */
export const QUIET: ReadonlySet<string> = new Set(['warning', 'error', 'info']);

/**
 * Runs one map in one mode until a condition holds, with a deadline.
 *
 * Blocking: loop(0.01, false, map, 1) until cond() (checked after every iteration).
 * Attached: loopAsync with an AbortSignal; handlers call poke() after changing what a condition
 * looks at, which ends the wait right after that batch. A slow timer re-checks the condition
 * too, so a handler that forgets to poke costs time, never correctness.
 */
export class Driver {
  private waiting: { cond: () => boolean; ac: AbortController } | null = null;
  /** Raw sockets outside the map, closed by withMap at the end. */
  readonly sockets: Socket[] = [];

  constructor(readonly mode: Mode, readonly map: SocketMap) {}

  /** Keeps a raw socket for closing at the end; returns it. */
  track<T extends Socket>(sock: T): T {
    this.sockets.push(sock);
    return sock;
  }

  poke(): void {
    const w = this.waiting;
    if (w !== null && !w.ac.signal.aborted && w.cond()) queueMicrotask(() => w.ac.abort());
  }

  /** Runs the loop until cond() holds; throws if the map empties first or time runs out. */
  async until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.mode === 'blocking') {
      while (!cond()) {
        if (this.map.size === 0) throw new Error(`the map emptied before: ${what}`);
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
        loop(0.01, false, this.map, 1);
      }
      return;
    }
    if (cond()) return;
    if (this.map.size === 0) throw new Error(`the map is empty, so never: ${what}`);
    const ac = new AbortController();
    this.waiting = { cond, ac };
    const fallback = setInterval(() => {
      if (cond()) ac.abort();
    }, 5);
    try {
      await withDeadline(loopAsync({ map: this.map, signal: ac.signal }), timeoutMs, what);
    } finally {
      clearInterval(fallback);
      ac.abort();
      this.waiting = null;
    }
    if (!cond()) throw new Error(`the map emptied before: ${what}`);
  }

  /** Runs until the map is empty (every channel closed itself). */
  async untilEmpty(what: string, timeoutMs = 5000): Promise<void> {
    await this.until(() => this.map.size === 0, what, timeoutMs);
  }

  /**
   * Runs about `ms` milliseconds more, whatever happens: for asserting that nothing does (a
   * channel that must not be read from stays unread). Not a synchronisation.
   */
  async idle(ms: number): Promise<void> {
    if (this.map.size === 0) return;
    if (this.mode === 'blocking') {
      const end = Date.now() + ms;
      while (Date.now() < end && this.map.size > 0) loop(0.005, false, this.map, 1);
      return;
    }
    await loopAsync({ map: this.map, signal: AbortSignal.timeout(ms) });
  }
}

/**
 * A private map for one scenario: closeAll(map) at the end, whatever happened, and then no fd
 * that the scenario opened may still be open.
 */
export async function withMap(mode: Mode, scenario: (d: Driver) => Promise<void> | void): Promise<void> {
  const before = canListFds ? openFds() : null;
  const map: SocketMap = new Map();
  const driver = new Driver(mode, map);
  try {
    await scenario(driver);
  } finally {
    closeAll(map, true);
    for (const s of driver.sockets) s.close();
  }
  if (before !== null) expect(diffFds(before, openFds()), 'fds left open').toEqual([]);
}

/**
 * A connected TCP pair on 127.0.0.1, made synchronously (bounded waits on a reactor of its own):
 * [client, server side]. The listening socket is closed before this returns.
 */
export function tcpPair(): [Socket, Socket] {
  const h = openReactor(8);
  const track: Socket[] = [];
  try {
    const c = connection(h, AF_INET, ['127.0.0.1', 0], track);
    c.server.close();
    return [c.client, c.conn];
  } catch (err) {
    for (const s of track) s.close();
    throw err;
  } finally {
    h.close();
  }
}

/**
 * Checks that exactly n unread bytes wait on `sock` (waiting, bounded, for them to arrive): a
 * test that needs "everything in ONE read" writes first, then checks this, then runs the loop.
 */
export function expectQueued(sock: Socket, n: number, timeoutMs = 2000): void {
  const buf = Buffer.alloc(n + 1);
  const h = openReactor(4);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = sock.tryRecvInto(buf, 0, n + 1, MSG_PEEK);
      if (got >= n) {
        expect(got, 'bytes waiting').toBe(n);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${got} of ${n} bytes arrived`);
      waitReady(h, sock.fileno(), EV.READ, left);
    }
  } finally {
    h.close();
  }
}

/** Reads exactly n bytes from a raw socket, bounded (throws at EOF or past the deadline). */
export function readAll(sock: Socket, n: number, timeoutMs = 2000): Buffer {
  const h = openReactor(4);
  try {
    return recvExactly(h, sock, n, timeoutMs);
  } finally {
    h.close();
  }
}

/** A listening Dispatcher on 127.0.0.1 that hands each accepted socket to `onAccept`. */
export class Listener extends Dispatcher {
  override ignoreLogTypes = QUIET;

  constructor(map: SocketMap, private readonly onAccept: (sock: Socket) => void, backlog = 8) {
    super(null, map);
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(backlog);
  }

  get port(): number {
    return ((this.socket as Socket).getsockname() as [string, number])[1];
  }

  override handleAccepted(sock: Socket): void {
    this.onAccept(sock);
  }
}

/** An AsyncChat of '\n'-ended lines: line() gets each one, without its terminator. */
export abstract class LineChat extends AsyncChat {
  override ignoreLogTypes = QUIET;

  constructor(sock: Socket | undefined, map: SocketMap) {
    super(sock, map);
    this.setTerminator('\n');
  }

  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    this.line(this.getData().toString());
  }

  abstract line(text: string): void;
}

/**
 * Sends `chunks` one send() each, in order. A chunk is started only when gate() allows it (the
 * rest of a chunk the kernel took in part goes without asking); onChunk runs after each whole
 * chunk. Reads nothing.
 */
export class ChunkSender extends Dispatcher {
  override ignoreLogTypes = QUIET;
  sentChunks = 0;
  sentBytes = 0;
  private offset = 0;

  constructor(
    sock: Socket,
    map: SocketMap,
    private readonly chunks: Buffer[],
    private readonly gate: () => boolean = () => true,
    private readonly onChunk: () => void = () => {},
  ) {
    super(sock, map);
  }

  get done(): boolean {
    return this.sentChunks === this.chunks.length;
  }

  override readable(): boolean {
    return false;
  }

  override writable(): boolean {
    return !this.done && (this.offset > 0 || this.gate());
  }

  override handleWrite(): void {
    const chunk = this.chunks[this.sentChunks];
    const n = this.send(chunk.subarray(this.offset));
    this.offset += n;
    this.sentBytes += n;
    if (this.offset === chunk.length) {
      this.offset = 0;
      this.sentChunks++;
      this.onChunk();
    }
  }

  override handleClose(): void {
    this.close();
  }
}

/** getsockopt/setsockopt helpers for the socket buffer sizes. */
export function setBuffers(sock: Socket, option: number, bytes: number): void {
  sock.setsockopt(SOL_SOCKET, option, bytes);
}

export { prng } from './prng';

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
