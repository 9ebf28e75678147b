// The thread side of serveThreads(): a worker module calls runThread(start), start() creates
// the thread's listeners in the thread's own map, and runThread() serves that map until told to
// stop. On any failure the map is closed first, so no fd outlives the thread.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { AF_UNIX, SOCK_STREAM, Socket } from '../binding/socket';
import { Dispatcher, socketMap } from '../asyncore/dispatcher';
import { closeAll, loop, loopAsync } from '../asyncore/loop';
import type { SocketMap } from '../engine/map-state';
import { asynchatError } from '../errors';
import { THREAD_INIT, type ListeningMessage, type ThreadInit, type ThreadMode } from './protocol';

/** What runThread()'s start function gets: this thread's index, map, address and data. */
export interface ThreadContext {
  /** 0 .. threads-1, in the order serveThreads() started them. */
  readonly index: number;
  readonly threads: number;
  /** Node's threadId of this worker (what errors name too). */
  readonly threadId: number;
  readonly host: string;
  /**
   * The port to bind. Thread 0 gets the port asked for (0: any free port); the others get the
   * port thread 0 actually bound, so with port 0 every thread still shares one port.
   */
  readonly port: number;
  readonly mode: ThreadMode;
  /**
   * The map this thread serves: the thread's own global socketMap (every worker has its own
   * copy of the module, so a dispatcher made without a map lands here too).
   */
  readonly map: SocketMap;
  /** serveThreads()' `data`, structured-cloned into this thread. */
  readonly data: unknown;
}

/**
 * Creates the thread's listeners (each with setReusePort() before it binds) in `thread.map`,
 * and returns the port they listen on.
 */
export type ThreadStart = (thread: ThreadContext) => number | Promise<number>;

/** Whether this code runs in a thread that serveThreads() started. */
export function isServedThread(): boolean {
  return parentPort !== null && typeof workerData === 'object' && workerData !== null && THREAD_INIT in workerData;
}

// The stop channel: readable (EOF) when serveThreads() closes its end. It never closes the fd
// itself: serveThreads() does, after the thread exited, whether or not it ever got here.
class StopWatcher extends Dispatcher {
  constructor(sock: Socket, private readonly served: SocketMap) {
    super(sock, served);
  }

  override writable(): boolean {
    return false;
  }

  override handleRead(): void {
    closeAll(this.served, true);
  }

  override handleClose(): void {
    closeAll(this.served, true);
  }
}

/** A Socket whose close() lets go of the fd without closing it (its owner is elsewhere). */
class BorrowedSocket extends Socket {
  override close(): void {
    this.detach();
  }
}

/**
 * Runs this thread of serveThreads(): start(thread), then the map served in the mode asked
 * for until serveThreads() stops it (then the thread exits with code 0). An error from
 * start() or escaping the loop closes every channel of the map and ends the thread with that
 * error, which serveThreads() reports with the thread's index and threadId.
 */
export function runThread(start: ThreadStart): void {
  if (!isServedThread()) {
    throw asynchatError('ERR_ASYNCHAT_NOT_A_THREAD', 'runThread() runs in a thread started by serveThreads()');
  }
  const init = (workerData as Record<string, ThreadInit>)[THREAD_INIT];
  const map = socketMap;
  const fail = (err: unknown): void => {
    process.off('uncaughtException', fail);
    closeAll(map, true);
    // Thrown again outside any handler, it ends the thread as an uncaught error would: the
    // worker's 'error' event carries it to serveThreads().
    setImmediate(() => {
      throw err;
    });
  };
  // attached mode: a timer or promise callback of the server may throw outside the loop.
  process.on('uncaughtException', fail);
  void (async () => {
    new StopWatcher(new BorrowedSocket(AF_UNIX, SOCK_STREAM, 0, init.stopFd), map);
    const thread: ThreadContext = {
      index: init.index, threads: init.threads, threadId, host: init.host, port: init.port,
      mode: init.mode, map, data: init.data,
    };
    const port = await start(thread);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new TypeError(`the start function of a thread must return the port it listens on, not ${String(port)}`);
    }
    const listening: ListeningMessage = { type: 'asynchat:listening', port };
    parentPort!.postMessage(listening);
    if (init.mode === 'blocking') loop({ map, timeout: 30 });
    else await loopAsync({ map });
    process.off('uncaughtException', fail);
  })().catch(fail);
}
