// Python's asyncore.loop / poll / close_all, and loopAsync: the same dispatch attached to
// Node's event loop.
import { AsynchatError, ExitNow, isSystemError } from '../errors';
import { stateOf, timeoutMs, type SocketMap } from '../engine/map-state';
import { resolveBackend } from '../binding/backends';
import { socketMap } from './dispatcher';

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
 * Python's asyncore.loop: runs until the map is empty, or for `count` iterations. It blocks
 * Node's event loop while it runs (timers and promises wait), exactly as Python's does; use
 * loopAsync() to serve sockets beside the rest of a Node program.
 */
export function loop(options?: LoopOptions): void;
export function loop(timeout?: number | null, usePoll?: boolean, map?: SocketMap | null, count?: number | null): void;
export function loop(
  first?: number | null | LoopOptions, usePoll = false, map?: SocketMap | null, count?: number | null,
): void {
  const o: LoopOptions = typeof first === 'object' && first !== null
    ? first
    : { timeout: first === undefined ? 30.0 : first, usePoll, map: map ?? undefined, count };
  const m = o.map ?? socketMap;
  const backend = resolveBackend(o.usePoll ?? false, o.backend);
  const ms = timeoutMs(o.timeout === undefined ? 30.0 : o.timeout);
  const state = stateOf(m);
  let n = o.count ?? Infinity;
  while (m.size > 0 && n > 0) {
    state.iterate(ms, backend);
    n--;
  }
  if (m.size === 0) state.release();
}

/** One iteration (Python's asyncore.poll with the platform's best backend). */
export function poll(timeout: number | null = 0.0, map: SocketMap = socketMap, backend?: string): void {
  if (map.size === 0) return;
  stateOf(map).iterate(timeoutMs(timeout), resolveBackend(false, backend));
}

/** One iteration on the poll(2) backend (Python's asyncore.poll2). */
export function poll2(timeout: number | null = 0.0, map: SocketMap = socketMap): void {
  poll(timeout, map, 'poll');
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
 * Resolves when the map is empty or the signal aborts; rejects with ExitNow (or an error from
 * a handler's handleError) when one escapes dispatch.
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
    if (map.size === 0 || signal?.aborted) {
      resolve();
      return;
    }
    const reactor = state.ensureReactor(resolveBackend(options.usePoll ?? false, options.backend));
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      reactor.detach();
      state.attachment = null;
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
        if (map.size === 0) finish();
      },
    };
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
        if (map.size === 0) finish();
      });
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
      if (map.size === 0) finish();
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
