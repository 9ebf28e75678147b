// Python's asyncore.loop / poll / close_all, and loopAsync: the same dispatch attached to
// Node's event loop.
import { AsynchatError, ExitNow, isSystemError } from '../errors';
import { stateOf, timeoutMs, type SocketMap } from '../engine/map-state';
import { now } from '../engine/scheduler';
import { resolveBackend } from '../binding/backends';
import { socketMap } from './dispatcher';
import { signalName, stopSignalsReady } from './stop-signals';

/** The options of loop(), the object form of its Python arguments. */
export interface LoopOptions {
  /** Seconds per iteration (Python's timeout); null: no limit. Default 30. */
  timeout?: number | null;
  /** Python's use_poll: the poll(2) backend. */
  usePoll?: boolean;
  /** A backend by name ('epoll', 'kqueue', 'poll'); overrides usePoll. */
  backend?: string;
  /** The socket map to serve; default: the global socketMap. */
  map?: SocketMap;
  /** At most this many iterations; default: until the map is empty. */
  count?: number | null;
}

/**
 * Python's asyncore.loop: runs until the map is empty and no timer of callLater()/callAt() is
 * pending (as pyftpdlib's ioloop), or for `count` iterations. Each wait lasts no longer than
 * the next timer's deadline, and due timers run in this thread after the events. It blocks
 * Node's event loop while it runs (Node's own timers and promises wait), exactly as Python's
 * does; use loopAsync() to serve sockets beside the rest of a Node program.
 *
 * Signals: when a signal arrives for which the program has a listener (`process.on('SIGTERM',
 * ...)`; any signal whose default action ends the process: SIGINT, SIGTERM, SIGHUP, SIGUSR2...,
 * not SIGCHLD or SIGWINCH), loop() returns that signal's name at once, with the channels still
 * in the map, even if it came while a handler ran or before loop() was called; the listener
 * runs when the program returns to Node's event loop. Without a listener the signal does what
 * it always does (SIGINT and SIGTERM end the process). Otherwise returns undefined.
 *
 * It returns rather than throw, where Python raises KeyboardInterrupt: `finally` blocks run
 * either way, but an exception that reaches the top of a script makes Node exit with status 1
 * ("uncaught exception") before the listener the program installed could run, and a return
 * lets the program close its channels (`try { loop() } finally { closeAll() }`) and exit 0.
 */
export function loop(options?: LoopOptions): NodeJS.Signals | undefined;
export function loop(
  timeout?: number | null, usePoll?: boolean, map?: SocketMap | null, count?: number | null,
): NodeJS.Signals | undefined;
export function loop(
  first?: number | null | LoopOptions, usePoll = false, map?: SocketMap | null, count?: number | null,
): NodeJS.Signals | undefined {
  const o: LoopOptions = typeof first === 'object' && first !== null
    ? first
    : { timeout: first === undefined ? 30.0 : first, usePoll, map: map ?? undefined, count };
  const m = o.map ?? socketMap;
  const backend = resolveBackend(o.usePoll ?? false, o.backend);
  const ms = timeoutMs(o.timeout === undefined ? 30.0 : o.timeout);
  const state = stateOf(m);
  stopSignalsReady();
  let n = o.count ?? Infinity;
  let signal = 0;
  while (state.alive && n > 0 && signal === 0) {
    signal = state.iterate(ms, backend);
    n--;
  }
  if (m.size === 0) state.release();
  return signal === 0 ? undefined : signalName(signal);
}

/**
 * One iteration (Python's asyncore.poll with the platform's best backend). Returns the name of
 * a signal the program listens for that ended the wait early (see loop()), else undefined.
 */
export function poll(
  timeout: number | null = 0.0, map: SocketMap = socketMap, backend?: string,
): NodeJS.Signals | undefined {
  const state = stateOf(map);
  if (!state.alive) return undefined;
  stopSignalsReady();
  const signal = state.iterate(timeoutMs(timeout), resolveBackend(false, backend));
  return signal === 0 ? undefined : signalName(signal);
}

/** One iteration on the poll(2) backend (Python's asyncore.poll2); returns as poll() does. */
export function poll2(timeout: number | null = 0.0, map: SocketMap = socketMap): NodeJS.Signals | undefined {
  return poll(timeout, map, 'poll');
}
/** Python's asyncore.poll3 (a poll(2) variant there): the same as poll2 here. */
export const poll3 = poll2;

/** The options of loopAsync(): the map, the backend, an AbortSignal and the re-check interval. */
export interface LoopAsyncOptions {
  /** The socket map to serve; default: the global socketMap. */
  map?: SocketMap;
  /** Python's use_poll: the poll(2) backend. */
  usePoll?: boolean;
  /** A backend by name ('epoll', 'kqueue', 'poll'); overrides usePoll. */
  backend?: string;
  /** Resolves the promise (leaving the dispatchers in the map) when aborted. */
  signal?: AbortSignal;
  /**
   * Seconds between two asks of readable()/writable() overridden by a subclass when no event
   * comes (they are also asked after every batch and every change). Default 1.
   */
  timeout?: number;
}

/**
 * Serves the map from Node's own event loop: the reactor's fd is watched by libuv, and each
 * batch of events is dispatched as loop() would, while timers, promises and other I/O go on.
 * The map's timers (callLater/callAt, idle and connect timeouts) run from one Node timer set
 * for the earliest deadline. Resolves when the map is empty and no timer of the user's is
 * pending, or when the signal aborts; rejects with ExitNow (or an error from a handler's
 * handleError) when one escapes dispatch or a timer.
 */
export function loopAsync(options: LoopAsyncOptions = {}): Promise<void> {
  const map = options.map ?? socketMap;
  const state = stateOf(map);
  const signal = options.signal;
  return new Promise<void>((resolve, reject) => {
    if (state.attachment !== null) {
      // Checked before anything is touched: failing later would detach the running one.
      reject(new AsynchatError('ERR_ASYNCHAT_LOOP_RUNNING', 'this map is already served by loopAsync()'));
      return;
    }
    if (!state.alive || signal?.aborted) {
      resolve();
      return;
    }
    const reactor = state.ensureReactor(resolveBackend(options.usePoll ?? false, options.backend));
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    // One Node timer for the earliest deadline; a later deadline never needs it moved (it
    // fires, runs nothing due, and is set again), an earlier one does (onEarlier).
    let wake: NodeJS.Timeout | undefined;
    let wakeAt = Infinity;
    const timers = state.timers;
    const armWake = (): void => {
      const next = timers.next();
      if (next >= wakeAt - 0.0005) {
        if (wake !== undefined) {
          if (timers.alive > 0) wake.ref();
          else wake.unref();
        }
        return;
      }
      if (wake !== undefined) clearTimeout(wake);
      wakeAt = next;
      wake = setTimeout(onWake, Math.max(0, Math.ceil((next - now()) * 1000)));
      // The reactor keeps the process alive while the map has channels; only the user's own
      // timers must keep it alive on their own.
      if (timers.alive === 0) wake.unref();
    };
    const onWake = (): void => {
      wake = undefined;
      wakeAt = Infinity;
      try {
        state.runTimers();
      } catch (err) {
        finish(err);
        return;
      }
      if (!state.alive) finish();
      else armWake();
    };
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      reactor.detach();
      state.attachment = null;
      timers.onEarlier = null;
      if (wake !== undefined) clearTimeout(wake);
      if (timer !== undefined) clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      if (map.size === 0) state.release();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish();
    signal?.addEventListener('abort', onAbort, { once: true });
    state.attachment = {
      fail: finish,
      checkEmpty: () => {
        if (!state.alive) finish();
      },
    };
    timers.onEarlier = armWake;
    armWake();
    try {
      state.resync();
      state.flush();
      reactor.attach((count: number) => {
        try {
          state.dispatch(count);
        } catch (err) {
          finish(err);
          return;
        }
        if (!state.alive) finish();
      });
      state.queueAgain();
    } catch (err) {
      finish(err);
      return;
    }
    const every = Math.max(1, Math.round((options.timeout ?? 1) * 1000));
    timer = setInterval(() => {
      try {
        state.resync();
        state.flush();
      } catch (err) {
        finish(err);
      }
      if (!state.alive) finish();
    }, every);
    timer.unref();
  });
}

/**
 * Python's asyncore.close_all: close() every channel of the map (a snapshot), ignoring EBADF,
 * re-raising other errors unless ignoreAll; then the map is cleared.
 */
export function closeAll(map: SocketMap = socketMap, ignoreAll = false): void {
  for (const ch of [...map.values()]) {
    try {
      ch.close();
    } catch (err) {
      if (err instanceof ExitNow) throw err;
      if (isSystemError(err, 'EBADF')) continue;
      if (!ignoreAll) throw err;
    }
  }
  map.clear();
  const state = stateOf(map);
  state.resync();
  state.release();
}
