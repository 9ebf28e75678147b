// One server on N threads: each worker_thread has its own socket map, its own reactor and its
// own listener on the same address (SO_REUSEPORT: the kernel spreads the connections), so the
// threads share nothing and never hand a connection to each other.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { socketpair, type Socket } from '../binding/socket';
import { AsynchatError, asynchatError } from '../errors';
import { reusePortOption } from './reuse-port';
import { THREAD_INIT, type ListeningMessage, type ThreadInit, type ThreadMode } from './protocol';

/** What serveThreads() starts: how many threads, where they listen, how they run and stop. */
export interface ServeThreadsOptions {
  /** Threads to run (default os.availableParallelism()). More than one needs reusePortOption(). */
  threads?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: thread 0 binds any free port, the others bind the one it got. */
  port?: number;
  /** How each thread serves its map: loopAsync() (attached, default) or loop() (blocking). */
  mode?: ThreadMode;
  /** Aborting it stops every thread, as close() does. */
  signal?: AbortSignal;
  /**
   * SIGINT and SIGTERM stop every thread (default true; the handlers are removed once they
   * stopped). A second signal while they stop terminates them at once.
   */
  handleSignals?: boolean;
  /** Given to every thread as `thread.data` (structured-cloned). */
  data?: unknown;
  /** Passed to each Worker (e.g. ['--require', hook] to load TypeScript; default process.execArgv). */
  execArgv?: string[];
  /** Appended to each thread's process.argv. */
  argv?: string[];
  /** Milliseconds a thread may take to listen (default 30000) and to stop (default 10000). */
  startTimeout?: number;
  stopTimeout?: number;
}

/** One thread of a ThreadedServer: its index (0 .. threads-1) and its worker threadId. */
export interface ThreadInfo {
  readonly index: number;
  readonly threadId: number;
}

/** A server running on several threads, as serveThreads() resolves it. */
export interface ThreadedServer {
  /** The port every thread listens on. */
  readonly port: number;
  readonly threads: readonly ThreadInfo[];
  /**
   * Settles once every thread has exited: resolves after close(), an abort or a signal (or when
   * every thread's map emptied by itself); rejects with ERR_ASYNCHAT_THREAD_FAILED when a thread
   * failed, after the others were stopped.
   */
  readonly closed: Promise<void>;
  /** Stops every thread (each closes its map: every channel, then its reactor); resolves as closed does. */
  close(): Promise<void>;
}

interface Running {
  info: { index: number; threadId: number };
  worker: Worker;
  /** serveThreads keeps both ends; the thread watches stop[1] and sees EOF when stop[0] closes. */
  stop: [Socket, Socket];
  exited: Promise<void>;
  failure: Error | null;
}

function threadFailed(r: Running, why: string, cause?: unknown): AsynchatError {
  const err = asynchatError('ERR_ASYNCHAT_THREAD_FAILED', `thread ${r.info.index} (threadId ${r.info.threadId}) ${why}`) as AsynchatError;
  return Object.assign(err, { thread: r.info.index, threadId: r.info.threadId, cause });
}

/** Node's way of saying an operation was stopped on purpose (as an aborted fetch or timer). */
function abortError(): Error {
  return Object.assign(new Error('serveThreads() was stopped before every thread listened'), { name: 'AbortError', code: 'ABORT_ERR' });
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  return value;
}

/**
 * Runs `module` (a file path or URL, the worker's script) on N threads. The module calls
 * runThread(start): start() creates the thread's listeners in `thread.map`, each set with
 * setReusePort() before it binds `thread.host`:`thread.port`, and returns the port. Thread 0
 * starts first; the others start once it listens, given the port it bound (so port 0 works).
 * Resolves once every thread listens; rejects (after stopping those that started) with
 * ERR_ASYNCHAT_THREAD_FAILED if one could not, or with an AbortError if it was stopped first
 * (the signal, SIGINT/SIGTERM).
 */
export async function serveThreads(module: string | URL, options: ServeThreadsOptions = {}): Promise<ThreadedServer> {
  const count = positiveInteger('threads', options.threads ?? os.availableParallelism());
  if (count > 1) reusePortOption();  // ERR_ASYNCHAT_NO_REUSEPORT before any thread starts
  const mode = options.mode ?? 'attached';
  if (mode !== 'attached' && mode !== 'blocking') throw new TypeError(`mode is attached or blocking, not ${String(mode)}`);
  const startTimeout = options.startTimeout ?? 30_000;
  const stopTimeout = options.stopTimeout ?? 10_000;
  const host = options.host ?? '127.0.0.1';
  const running: Running[] = [];
  let stopping = false;
  let firstFailure: Error | null = null;
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const closed = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const r of running) {
      r.stop[0].close();
      const timer = setTimeout(() => {
        r.failure ??= threadFailed(r, `did not stop within ${stopTimeout} ms and was terminated`);
        firstFailure ??= r.failure;
        void r.worker.terminate();
      }, stopTimeout);
      timer.unref();
      void r.exited.then(() => clearTimeout(timer));
    }
  };
  const onSignal = (): void => {
    if (!stopping) stopAll();
    else for (const r of running) void r.worker.terminate();
  };
  const onAbort = (): void => stopAll();
  if (options.handleSignals ?? true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const spawn = (index: number, port: number): Running => {
    const stop = socketpair();
    const init: ThreadInit = { index, threads: count, host, port, mode, stopFd: stop[1].fileno(), data: options.data };
    let worker: Worker;
    try {
      worker = new Worker(module, {
        workerData: { [THREAD_INIT]: init },
        execArgv: options.execArgv,
        argv: options.argv,
      });
    } catch (err) {
      // e.g. execArgv Node does not allow in a worker: no thread, so nothing else holds these
      stop[0].close();
      stop[1].close();
      throw err;
    }
    const r: Running = { info: { index, threadId: worker.threadId }, worker, stop, exited: Promise.resolve(), failure: null };
    worker.on('error', (err) => {
      r.failure ??= threadFailed(r, `failed: ${err instanceof Error ? err.message : String(err)}`, err);
    });
    r.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        if (code !== 0) r.failure ??= threadFailed(r, `exited with code ${code}`);
        // The thread is gone: nothing watches the stop channel any more.
        stop[0].close();
        stop[1].close();
        if (r.failure !== null) {
          firstFailure ??= r.failure;
          stopAll();  // one thread down: the server is down, the others stop too
        }
        resolve();
      });
    });
    running.push(r);
    return r;
  };

  const listening = (r: Running): Promise<number> => new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      r.failure ??= threadFailed(r, `did not listen within ${startTimeout} ms`);
      stopAll();
    }, startTimeout);
    r.worker.on('message', (m: ListeningMessage) => {
      if (m?.type !== 'asynchat:listening') return;
      clearTimeout(timer);
      resolve(m.port);
    });
    void r.exited.then(() => {
      clearTimeout(timer);
      reject(r.failure ?? (stopping ? abortError() : threadFailed(r, 'exited before it listened')));
    });
  });

  const allExited = async (): Promise<void> => {
    // threads started while others exited are waited for too
    for (let n = 0; n < running.length; n = running.length) await Promise.all(running.slice(n).map((r) => r.exited));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    options.signal?.removeEventListener('abort', onAbort);
    if (firstFailure !== null) settle.reject(firstFailure);
    else settle.resolve();
  };

  let port: number;
  try {
    if (options.signal?.aborted) stopAll();
    if (stopping) throw abortError();
    port = await listening(spawn(0, options.port ?? 0));
    const rest: Running[] = [];
    for (let i = 1; i < count && !stopping; i++) rest.push(spawn(i, port));
    await Promise.all(rest.map(listening));
  } catch (err) {
    stopAll();
    void allExited();
    closed.catch(() => {});  // the caller gets the error from here, not from `closed` too
    await closed.catch(() => {});
    throw firstFailure ?? err;
  }
  void allExited();
  return {
    port,
    threads: running.map((r) => r.info),
    closed,
    close(): Promise<void> {
      stopAll();
      return closed;
    },
  };
}
