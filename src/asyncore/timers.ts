// Timers that run inside a socket map's loop, in both run modes: asyncio's call_later/call_at
// and pyftpdlib's ioloop.call_later, on the map's own scheduler (src/engine/scheduler.ts).
import { logTimerError, stateOf, type SocketMap, type TimerErrorHandler } from '../engine/map-state';
import { now, type TimerEntry } from '../engine/scheduler';
import { asynchatError } from '../errors';
import { socketMap } from './dispatcher';

export { now };

/** Where a timer goes: its delay (callLater) or deadline (callAt), and its map. */
export interface TimerOptions {
  /** Default: the global socketMap. */
  map?: SocketMap;
}

/** A pending call: cancel() it, or reset() it to run later. */
export class TimerHandle {
  /** @internal */
  constructor(private readonly entry: TimerEntry, private readonly map: SocketMap, private delay: number) {}

  /** The deadline, on now()'s clock. */
  get when(): number {
    return this.entry.when;
  }

  /** Whether it is still to run (not run yet, not cancelled). */
  get pending(): boolean {
    return this.entry.index >= 0;
  }

  /**
   * The timer no longer keeps loop()/loopAsync() running on its own (as Node's unref): they
   * return once the map is empty even if it is pending. For timeouts that belong to channels.
   */
  unref(): this {
    this.entry.scheduler.setKeepsAlive(this.entry, false);
    const state = stateOf(this.map);
    if (!state.alive) queueMicrotask(() => state.attachment?.checkEmpty());
    return this;
  }

  /** Undoes unref(). */
  ref(): this {
    this.entry.scheduler.setKeepsAlive(this.entry, true);
    return this;
  }

  /** Cancels the call; false when it already ran or was cancelled. */
  cancel(): boolean {
    const cancelled = this.entry.scheduler.cancel(this.entry);
    const state = stateOf(this.map);
    if (cancelled && !state.alive) queueMicrotask(() => state.attachment?.checkEmpty());
    return cancelled;
  }

  /**
   * Runs the call `seconds` from now instead (default: the delay it was made with), whether it
   * is pending, already ran, or was cancelled, as pyftpdlib's reset().
   */
  reset(seconds: number = this.delay): void {
    checkSeconds(seconds, 'seconds');
    this.delay = seconds;
    this.entry.scheduler.reschedule(this.entry, now() + seconds);
  }
}

function checkSeconds(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw asynchatError('ERR_ASYNCHAT_BAD_TIMER', `${name} must be a number of seconds, not ${String(value)}`, 'TypeError');
  }
}

function checkCallback(fn: unknown): asserts fn is (...args: unknown[]) => void {
  if (typeof fn !== 'function') {
    throw asynchatError('ERR_ASYNCHAT_BAD_TIMER', `the callback must be a function, not ${typeof fn}`, 'TypeError');
  }
}

function split(first: number | (TimerOptions & { seconds?: number; when?: number }), key: 'seconds' | 'when'): [number, SocketMap] {
  if (typeof first === 'object' && first !== null) {
    const value = first[key];
    checkSeconds(value, key);
    return [value, first.map ?? socketMap];
  }
  checkSeconds(first, key);
  return [first, socketMap];
}

/**
 * Calls fn(...args) from the loop serving the map, `seconds` from now (a negative or zero
 * delay: at the next iteration). `callLater(5, fn)` uses the global socketMap;
 * `callLater({ seconds: 5, map }, fn)` another map. A pending timer keeps loop() and
 * loopAsync() running, even with an empty map.
 */
export function callLater<A extends unknown[]>(
  seconds: number | (TimerOptions & { seconds: number }), fn: (...args: A) => void, ...args: A
): TimerHandle {
  const [delay, map] = split(seconds, 'seconds');
  checkCallback(fn);
  const entry = stateOf(map).timers.schedule(now() + delay, fn as (...a: unknown[]) => void, args);
  return new TimerHandle(entry, map, delay);
}

/** Calls fn(...args) at `when`, a time on now()'s clock (seconds, monotonic). */
export function callAt<A extends unknown[]>(
  when: number | (TimerOptions & { when: number }), fn: (...args: A) => void, ...args: A
): TimerHandle {
  const [deadline, map] = split(when, 'when');
  checkCallback(fn);
  const entry = stateOf(map).timers.schedule(deadline, fn as (...a: unknown[]) => void, args);
  return new TimerHandle(entry, map, Math.max(0, deadline - now()));
}

/**
 * What an exception from a timer callback does (asyncio's set_exception_handler): the handler
 * gets the error and the callback; null restores the default, a line on stderr. Either way the
 * loop goes on; ExitNow is never given to it, it ends the loop.
 */
export function setTimerErrorHandler(handler: TimerErrorHandler | null, map: SocketMap = socketMap): void {
  const state = stateOf(map);
  state.timerErrorHandler = handler ?? logTimerError;
}
