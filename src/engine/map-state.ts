// The engine under asyncore: one native reactor per socket map, and Python's per-event
// semantics on top of batches.
//
// - One crossing per batch: the reactor writes (fd, bits) pairs into `events`; dispatch()
//   walks them and calls Python's readwrite() for each.
// - Interest as state: each channel's interest is recomputed only when it may have changed
//   (it was dispatched to, or a library method changed its buffers: markDirty), and reaches the
//   native side only when it differs from what it was told (ToldInterest). Channels whose
//   readable()/writable() are the user's own are "polled": asked before every wait, as Python
//   asks every iteration (library-interest.ts decides which).
// - Defensive dispatch: an event is dropped when its channel left the map earlier in the same
//   batch, or when a new channel took the fd number after the batch was collected.
//
// The jobs around it each have a file: the map's changes (map-observer.ts), idle timeouts
// (idle-checks.ts), paused listeners, made-up read events (read-again.ts), closes that finish
// after the channel is gone (lingering.ts), and readwrite itself (dispatch.ts).
import { native, type NativeReactor } from '../binding/native';
import { onBeforeBlocking } from '../binding/socket';
import { AsynchatError, ExitNow } from '../errors';
import { compactTraceback } from '../asyncore/traceback';
import { ToldInterest } from './told-interest';
import { Scheduler, now, type TimerEntry } from './scheduler';
import { coreOf, type Channel, type ChannelCore } from './channel-core';
import { readwrite, routeError } from './dispatch';
import { isPolled, polledInterest } from './library-interest';
import { IdleChecks } from './idle-checks';
import { PausedListeners } from './paused-listeners';
import { ReadAgain } from './read-again';
import { MapObserver, type SocketMap } from './map-observer';
import { LINGER_SECONDS, Lingering } from './lingering';
import { debugAssert } from './debug-assert';

export { READ_INTEREST, WRITE_INTEREST } from './interest-bits';
export { readwrite, routeError } from './dispatch';
export { registerLibraryInterest } from './library-interest';
export type { Channel } from './channel-core';
export type { SocketMap } from './map-observer';

const BATCH_CAPACITY = 1024;

interface Attachment {
  fail(err: unknown): void;
  checkEmpty(): void;
}

/** What an exception from a timer callback does by default: logged, the loop goes on. */
export type TimerErrorHandler = (err: unknown, callback: Function) => void;

export function logTimerError(err: unknown, callback: Function): void {
  const [, type, value, info] = compactTraceback(err);
  process.stderr.write(
    `error: uncaptured exception in timer callback ${callback.name || '<anonymous>'} (${type}:${value} ${info})\n`,
  );
}

export class MapState {
  readonly map: SocketMap;
  reactor: NativeReactor | null = null;
  /** What `reactor` was told of each fd's interest; made with it. */
  private told: ToldInterest | null = null;
  backend = '';
  readonly events = new Int32Array(2 * BATCH_CAPACITY);
  batch = 0;
  dispatching = false;
  attachment: Attachment | null = null;
  private readonly members = new Map<number, ChannelCore>();
  private dirty: ChannelCore[] = [];
  private readonly polled = new Set<ChannelCore>();
  private flushQueued = false;
  private readonly observer: MapObserver;
  /** This map's timers (callLater, idle and connect timeouts). */
  readonly timers = new Scheduler();
  /** now() at the start of the current batch or timer run: what an event re-arms a channel to */
  stamp = now();
  timerErrorHandler: TimerErrorHandler = logTimerError;
  private readonly idleChecks: IdleChecks;
  readonly pausedListeners: PausedListeners;
  private readonly again = new ReadAgain();
  private againQueued = false;
  /** Closes finishing out of sight (a TLS close_notify the socket could not take at close()). */
  readonly lingering: Lingering;

  constructor(map: SocketMap) {
    this.map = map;
    this.observer = new MapObserver(map, () => this.queueFlush());
    const changed = (core: ChannelCore): void => this.markDirty(core);
    this.idleChecks = new IdleChecks(this.timers, () => this.stamp, changed);
    this.pausedListeners = new PausedListeners(changed);
    this.lingering = new Lingering({
      timers: this.timers,
      watching: () => this.told !== null,
      tell: (fd, mask) => this.told!.set(fd, mask),
      forget: (fd) => this.told?.forget(fd),
    });
  }

  // ---- membership ----

  /** A channel joined the map under fd (it leaves the map it was in first). */
  add(ch: Channel, fd: number): void {
    const old = this.members.get(fd);
    if (old !== undefined && old.channel !== ch) this.remove(old);
    const core = coreOf(ch);
    if (core.joined && (core.owner !== this || core.fd !== fd)) core.owner!.remove(core);
    core.fd = fd;
    core.owner = this;
    core.addedBatch = this.batch;
    core.dirty = false;
    core.active = now();
    this.members.set(fd, core);
    this.redecide(core);
    if (ch.idleTimeout != null && ch.idleTimeout > 0) this.idleChecks.arm(core);
  }

  /** A channel left the map: the reactor forgets its fd now, before the fd is closed. */
  remove(core: ChannelCore): void {
    if (!core.joined || core.owner !== this) return;
    if (this.members.get(core.fd) === core) {
      this.members.delete(core.fd);
      this.told?.forget(core.fd);
    }
    this.polled.delete(core);
    core.fd = -1;
    this.idleChecks.stop(core);
    core.idle = null;
    this.pausedListeners.left(core);
    if (this.attachment !== null && this.map.size === 0) queueMicrotask(() => this.attachment?.checkEmpty());
  }

  /** Decides again whether the channel is polled (its readable/writable may have been replaced). */
  redecide(core: ChannelCore): void {
    core.polled = isPolled(core);
    if (core.polled) this.polled.add(core);
    else this.polled.delete(core);
    this.markDirty(core);
  }

  /**
   * Brings map entries set, replaced or deleted behind the engine's back (map.set/delete by
   * hand) into it: only the fds noted since the last call, unless the map was cleared or
   * filled before the engine saw it.
   */
  resync(): void {
    const changed = this.observer.take();
    const map = this.map;
    const members = this.members;
    if (changed === null) {
      for (const core of [...members.values()]) {
        if (map.get(core.fd) !== core.channel) this.remove(core);
      }
      for (const [fd, ch] of map) {
        if (members.get(fd)?.channel !== ch) this.add(ch, fd);
      }
      return;
    }
    for (let i = 0; i < changed.length; i++) {
      const fd = changed[i];
      const ch = map.get(fd);
      const current = members.get(fd);
      if (ch === current?.channel) continue;
      if (current !== undefined) this.remove(current);
      if (ch !== undefined) this.add(ch, fd);
    }
  }

  /** Whether anything keeps a loop running: a channel, a timer of the user's, or a close finishing. */
  get alive(): boolean {
    return this.map.size > 0 || this.timers.alive > 0 || this.lingering.size > 0;
  }

  // ---- time ----

  /** (Re)starts the channel's idle clock from now (its idleTimeout changed). */
  armIdle(core: ChannelCore): void {
    this.idleChecks.arm(core);
  }

  /** Runs the timers that are due, then applies what they changed. ExitNow ends the loop. */
  runTimers(): void {
    const timers = this.timers;
    const clock = now();
    if (timers.next() > clock) return;
    this.stamp = clock;
    const wasDispatching = this.dispatching;
    this.dispatching = true;
    try {
      timers.runDue(clock, this.runTimer);
    } finally {
      this.dispatching = wasDispatching;
    }
    if (!wasDispatching) this.flush();
  }

  private readonly runTimer = (entry: TimerEntry): void => {
    try {
      entry.fn(...entry.args);
    } catch (err) {
      if (err instanceof ExitNow) throw err;
      try {
        this.timerErrorHandler(err, entry.fn);
      } catch (handlerErr) {
        if (handlerErr instanceof ExitNow) throw handlerErr;
        logTimerError(handlerErr, this.timerErrorHandler);
      }
    }
  };

  /** Milliseconds the reactor may wait: timeoutMs (negative: no limit), bounded by the next timer. */
  waitBound(timeoutMs: number): number {
    if (this.again.pending) return 0;
    const next = this.timers.next();
    if (next === Infinity) return timeoutMs;
    const ms = Math.max(0, Math.min(Math.ceil((next - now()) * 1000), 2 ** 31 - 1));
    return timeoutMs < 0 || ms < timeoutMs ? ms : timeoutMs;
  }

  // ---- interest ----

  /** The channel's state may have changed: recompute its interest before the next wait. */
  markDirty(core: ChannelCore): void {
    if (core.dirty || !core.joined) return;
    core.dirty = true;
    this.dirty.push(core);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (!this.dispatching && !this.flushQueued) {
      // Outside a batch (a timer, a promise, code before loop()): flush once this task ends.
      this.flushQueued = true;
      queueMicrotask(() => {
        if (!this.flushQueued) return;
        try {
          this.flush();
        } catch (err) {
          if (this.attachment !== null) this.attachment.fail(err);
          else throw err;
        }
      });
    }
  }

  /**
   * Runs the work deferred to the end of a batch (corked output), then gives the reactor
   * every interest that changed, asking polled channels as Python asks every iteration.
   */
  flush(): void {
    this.flushQueued = false;
    if (this.observer.pending) this.resync();
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const core = dirty[i];
      core.dirty = false;
      if (!core.joined || core.owner !== this) continue;
      try {
        core.beforeWait();
      } catch (err) {
        routeError(core.channel, err);
      }
      if (!core.joined) continue;
      if (!core.polled) this.apply(core, core.interest());
    }
    dirty.length = 0;
    for (const core of this.polled) this.apply(core, polledInterest(core));
  }

  private apply(core: ChannelCore, mask: number): void {
    if (this.told !== null && core.joined) this.told.set(core.fd, mask);
  }

  // ---- read events without the fd ----

  /** The channel has input the fd will not announce: a read event at the next iteration, without waiting. */
  readAgain(core: ChannelCore): void {
    this.again.add(core);
    this.queueAgain();
  }

  /** The channel has input above its fd that a made-up read event will deliver. */
  readsAbove(core: ChannelCore): boolean {
    return this.again.has(core);
  }

  /**
   * Attached: the read events readAgain() asked for are delivered from a setImmediate, since no
   * fd will announce them. Also called when loopAsync() attaches: events asked for while no loop
   * ran, or whose setImmediate came after the last loopAsync() had stopped, would otherwise wait
   * for an unrelated fd event.
   */
  queueAgain(): void {
    if (this.attachment === null || this.againQueued || !this.again.pending) return;
    this.againQueued = true;
    setImmediate(() => {
      this.againQueued = false;
      if (this.attachment === null || !this.again.pending) return;
      try {
        this.dispatch(0);
      } catch (err) {
        this.attachment?.fail(err);
      }
    });
  }

  // ---- the reactor ----

  ensureReactor(backend: string): NativeReactor {
    if (this.reactor !== null && this.backend === backend) return this.reactor;
    if (this.attachment !== null) {
      throw new AsynchatError('ERR_ASYNCHAT_LOOP_RUNNING', 'this map is already served by loopAsync()');
    }
    this.lingering.endAll();
    this.reactor?.close();
    this.reactor = new native.Reactor(backend, this.events);
    serving.add(this);
    this.told = new ToldInterest(this.reactor);
    this.backend = backend;
    // The new reactor knows no fd yet: every channel tells it at the next flush.
    for (const core of this.members.values()) this.markDirty(core);
    return this.reactor;
  }

  /**
   * Closes the native reactor (the map is empty, or closeAll): a later loop makes a new one. A
   * close still lingering (a TLS close_notify the socket could not take) is waited for first,
   * blocking, as SO_LINGER makes close() wait: at most LINGER_SECONDS, and only for those fds.
   */
  release(): void {
    if (this.attachment !== null) return;
    this.finishLingering();
    this.reactor?.close();
    this.reactor = null;
    this.told = null;
    serving.delete(this);
  }

  // The closes still lingering, each event of their fds handed to them, until every one is done
  // or LINGER_SECONDS pass; then what is left gets one last attempt (Lingering.endAll).
  private finishLingering(): void {
    const reactor = this.reactor;
    const lingering = this.lingering;
    if (reactor !== null && lingering.size > 0) {
      const deadline = now() + LINGER_SECONDS;
      for (let left = deadline - now(); lingering.size > 0 && left > 0; left = deadline - now()) {
        const count = reactor.wait(Math.ceil(left * 1000));
        for (let i = 0; i < count; i++) lingering.event(this.events[2 * i], this.events[2 * i + 1]);
      }
    }
    lingering.endAll();
  }

  /** Delivers the `count` events the reactor wrote, then flushes. */
  dispatch(count: number): void {
    const events = this.events;
    const members = this.members;
    const batch = ++this.batch;
    const stamp = this.stamp = now();
    this.dispatching = true;
    try {
      for (let i = 0; i < count; i++) {
        const fd = events[2 * i];
        const core = members.get(fd);
        if (core === undefined) {
          if (this.lingering.size > 0) this.lingering.event(fd, events[2 * i + 1]);
          continue;
        }
        if (core.addedBatch >= batch) continue;
        debugAssert(core.fd === fd && core.owner === this, 'a member is in the map under its own fd');
        core.active = stamp;
        readwrite(core.channel, events[2 * i + 1]);
        if (!core.dirty && core.joined) {
          core.dirty = true;
          this.dirty.push(core);
        }
      }
      if (this.again.pending) this.again.deliver(this.deliveredAgain);
    } finally {
      this.dispatching = false;
    }
    this.flush();
  }

  private readonly deliveredAgain = (core: ChannelCore): void => {
    if (!core.dirty && core.joined) {
      core.dirty = true;
      this.dirty.push(core);
    }
  };

  /**
   * One blocking iteration: flush, wait up to timeoutMs (negative: no limit) but no longer
   * than the next timer's deadline, dispatch, then run the timers that are due. Returns the
   * number of a signal the program listens for that ended the wait (loop.ts), or 0.
   */
  iterate(timeoutMs: number, backend: string): number {
    const reactor = this.ensureReactor(backend);
    this.resync();
    this.flush();
    const count = reactor.wait(this.waitBound(timeoutMs));
    if (count < 0) return -count;
    this.dispatch(count);
    this.runTimers();
    return 0;
  }
}

const states = new WeakMap<SocketMap, MapState>();
// The maps with a reactor (a loop serves them, or served them and may again).
const serving = new Set<MapState>();
let writingCorked = false;

/**
 * Writes what every served map has corked (output pushed during the batch, written at its end
 * otherwise): the thread is about to block in a socket call, and the peer may be waiting for it.
 */
export function writeCorkedOutput(): void {
  if (writingCorked) return;
  writingCorked = true;
  try {
    for (const state of serving) state.flush();
  } finally {
    writingCorked = false;
  }
}
onBeforeBlocking(writeCorkedOutput);

export function stateOf(map: SocketMap): MapState {
  let state = states.get(map);
  if (state === undefined) {
    state = new MapState(map);
    states.set(map, state);
  }
  return state;
}

/** Python's timeout in seconds (null: no limit) as the reactor's milliseconds. */
export function timeoutMs(timeout: number | null | undefined): number {
  if (timeout === null || timeout === undefined) return -1;
  if (!(timeout > 0)) return 0;
  return Math.min(Math.ceil(timeout * 1000), 2 ** 31 - 1);
}
