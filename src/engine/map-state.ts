// The engine under asyncore: one native reactor per socket map, and Python's per-event
// semantics on top of batches.
//
// - One crossing per batch: the reactor writes (fd, bits) pairs into `events`; dispatch()
//   walks them and calls Python's readwrite() for each.
// - Interest as state: each channel's interest is recomputed only when it may have changed
//   (it was dispatched to, or a library method changed its buffers: markDirty), and reaches the
//   native side only when it differs from what it was told (ToldInterest). Channels whose
//   readable()/writable() are the user's own are "polled": asked before every wait, as Python
//   asks every iteration. isPolled() decides it, when a channel joins and whenever one of its
//   predicates is assigned later (registerLibraryInterest's setters).
// - Defensive dispatch: an event is dropped when its channel left the map earlier in the same
//   batch, or when a new channel took the fd number after the batch was collected.
import { EV, native, type NativeReactor } from '../binding/native';
import { AsynchatError, ExitNow, isDisconnect } from '../errors';
import { ToldInterest } from './told-interest';
import { Scheduler, now, type TimerEntry } from './scheduler';
import { compactTraceback } from '../asyncore/traceback';

export const READ_INTEREST = EV.READ | EV.PRI;
export const WRITE_INTEREST = EV.WRITE;
const CLOSE_EVENTS = EV.HUP | EV.ERR | EV.NVAL;
const HANGUP_EVENTS = EV.HUP | EV.NVAL;
const BATCH_CAPACITY = 1024;

/** Engine bookkeeping, one per channel in a map. */
export interface MapEntry {
  fd: number;           // -1 once the channel left its map
  addedBatch: number;   // events of batches up to this one predate the channel
  dirty: boolean;
  polled: boolean;
  owner: MapState;
  /** now() of the last event dispatched to the channel (the idle timeout's re-arm: a field store) */
  active: number;
  /** the idle-timeout check, while the channel has an idleTimeout */
  idle: TimerEntry | null;
}

/** What a socket map holds: Python's duck-typed dispatcher. */
export interface Channel {
  readable(): boolean;
  writable(): boolean;
  accepting?: boolean;
  handleReadEvent(): void;
  handleWriteEvent(): void;
  handleExptEvent(): void;
  handleClose(): void;
  handleError(err?: unknown): void;
  close(): void;
  /** Seconds without an event before handleTimeout() (absent or null: never). */
  readonly idleTimeout?: number | null;
  /** Called once idleTimeout passed without an event; absent: close(). */
  handleTimeout?(): void;
  /** @internal */ _entry?: MapEntry;
  /** @internal a listener that stopped accepting (EMFILE, maxConnections): no read interest (see _adjustInterest) */
  _acceptPaused?: boolean;
  /** @internal called when a channel of the map left it (an fd may have been freed) */
  _resumeAccepting?(): void;
  /** @internal true once close() ran: no callback may reach it any more */ _closed?: boolean;
  /** @internal interest from the library's own state (absent: ask readable()/writable()) */
  _interest?(): number;
  /** @internal work the library defers to the end of a batch (corked output) */
  _beforeWait?(): void;
  /** @internal an error condition that need not be a hang-up (absent: handleClose) */
  _errorCondition?(flags: number): void;
  /** @internal interest as a layer under the channel needs it (TLS), from the channel's own */
  _adjustInterest?(mask: number): number;
  /** @internal handleClose, at most once per channel */
  _handleCloseOnce?(reason?: unknown): void;
}

/** Python's socket map: the channels a loop serves, by file descriptor. */
export type SocketMap = Map<number, Channel>;

// readable()/writable() implementations that belong to the library's classes: a channel that
// uses only these is not polled, its interest follows from its state.
const libraryInterest = new WeakSet<Function>();

/**
 * Declares proto's readable()/writable() (those named) the library's own. Each becomes an
 * accessor: reading it gives the method, and assigning a function to it on a channel, as
 * Python code does (`d.readable = lambda: False`), stores it on that channel and re-decides at
 * once whether the channel is polled. (A subclass's own methods are seen when it joins a map.)
 */
export function registerLibraryInterest(proto: object, ...names: ('readable' | 'writable')[]): void {
  for (const name of names) {
    const fn = (proto as Record<string, unknown>)[name] as Function;
    libraryInterest.add(fn);
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: false,
      get: () => fn,
      set(this: Channel, value: unknown) {
        Object.defineProperty(this, name, { value, writable: true, configurable: true, enumerable: true });
        const entry = this._entry;
        if (entry !== undefined && entry.fd >= 0) entry.owner.redecide(this);
      },
    });
  }
}

/** The one place that decides whether a channel's readable()/writable() must be asked before every wait. */
function isPolled(ch: Channel): boolean {
  return ch._interest === undefined || !libraryInterest.has(ch.readable) || !libraryInterest.has(ch.writable);
}

function polledInterest(ch: Channel): number {
  let mask = 0;
  if (ch.readable()) mask |= READ_INTEREST;
  if (ch.writable() && !ch.accepting) mask |= WRITE_INTEREST;
  return ch._adjustInterest === undefined ? mask : ch._adjustInterest(mask);
}

function closeOnce(ch: Channel, reason?: unknown): void {
  if (ch._handleCloseOnce) ch._handleCloseOnce(reason);
  else ch.handleClose();
}

/** What dispatch does with an exception from a handler (Python's readwrite except clauses). */
export function routeError(ch: Channel, err: unknown): void {
  if (err instanceof ExitNow) throw err;
  if (isDisconnect(err)) closeOnce(ch, err);
  else ch.handleError(err);
}

/**
 * Python's asyncore.readwrite: read, write, priority, then hang-up/error, in one try block.
 * Unlike Python, it stops as soon as the channel is closed, and closes it at most once.
 */
export function readwrite(ch: Channel, flags: number): void {
  try {
    if (flags & EV.READ) {
      ch.handleReadEvent();
      if (ch._closed) return;
    }
    if (flags & EV.WRITE) {
      ch.handleWriteEvent();
      if (ch._closed) return;
    }
    if (flags & EV.PRI) {
      ch.handleExptEvent();
      if (ch._closed) return;
    }
    if (flags & CLOSE_EVENTS) {
      if ((flags & HANGUP_EVENTS) === 0 && ch._errorCondition !== undefined) ch._errorCondition(flags);
      else closeOnce(ch);
    }
  } catch (err) {
    routeError(ch, err);
  }
}

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

// The map is the truth: map.set/delete/clear, by the library or by hand, are observed (own
// properties over Map's methods), so resync looks only at the fds that changed instead of
// comparing the whole map with the engine's members at every iteration.
function observe(map: SocketMap, state: MapState): void {
  const set = map.set;
  const del = map.delete;
  const clear = map.clear;
  Object.defineProperties(map, {
    set: {
      configurable: true, writable: true,
      value(fd: number, ch: Channel) {
        set.call(map, fd, ch);
        state.noteChange(fd);
        return map;
      },
    },
    delete: {
      configurable: true, writable: true,
      value(fd: number) {
        const had = del.call(map, fd);
        if (had) state.noteChange(fd);
        return had;
      },
    },
    clear: {
      configurable: true, writable: true,
      value() {
        clear.call(map);
        state.noteChange(-1);
      },
    },
  });
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
  private readonly members = new Map<number, Channel>();
  private dirty: Channel[] = [];
  private readonly polled = new Set<Channel>();
  private flushQueued = false;
  /** fds whose map entry changed since the last resync; fullSync: compare everything once */
  private readonly changed: number[] = [];
  private fullSync: boolean;
  /** This map's timers (callLater, idle and connect timeouts). */
  readonly timers = new Scheduler();
  /** now() at the start of the current batch or timer run: what an event re-arms a channel to */
  stamp = now();
  timerErrorHandler: TimerErrorHandler = logTimerError;
  private readonly pausedListeners = new Set<Channel>();
  // Channels with input buffered above the fd (decrypted TLS records): read events for them
  // are made up at the next iteration, which then does not wait.
  private again: Channel[] = [];
  private againQueued = false;

  constructor(map: SocketMap) {
    this.map = map;
    this.fullSync = map.size > 0;
    observe(map, this);
  }

  /** A channel joined the map under fd. */
  add(ch: Channel, fd: number): void {
    const old = this.members.get(fd);
    if (old !== undefined && old !== ch) this.remove(old);
    if (ch._entry?.idle != null) ch._entry.owner.timers.cancel(ch._entry.idle);
    const entry: MapEntry = {
      fd, addedBatch: this.batch, dirty: false, polled: false, owner: this,
      active: now(), idle: null,
    };
    ch._entry = entry;
    this.members.set(fd, ch);
    this.redecide(ch);
    if (ch.idleTimeout != null && ch.idleTimeout > 0) this.armIdle(ch);
  }

  /** Decides again whether ch is polled (its readable/writable may have been replaced). */
  redecide(ch: Channel): void {
    const entry = ch._entry!;
    entry.polled = isPolled(ch);
    if (entry.polled) this.polled.add(ch);
    else this.polled.delete(ch);
    this.markDirty(ch);
  }

  /** A channel left the map: the reactor forgets its fd now, before the fd is closed. */
  remove(ch: Channel): void {
    const entry = ch._entry;
    if (entry === undefined || entry.fd < 0) return;
    if (this.members.get(entry.fd) === ch) {
      this.members.delete(entry.fd);
      this.told?.forget(entry.fd);
    }
    this.polled.delete(ch);
    entry.fd = -1;
    if (entry.idle !== null) this.timers.cancel(entry.idle);
    if (this.pausedListeners.size > 0) {
      this.pausedListeners.delete(ch);
      // A channel left: its fd is about to be freed, so a listener stopped by EMFILE may accept.
      for (const listener of this.pausedListeners) listener._resumeAccepting?.();
    }
    if (this.attachment !== null && this.map.size === 0) queueMicrotask(() => this.attachment?.checkEmpty());
  }

  /** Whether anything keeps a loop running: a channel, or a timer of the user's. */
  get alive(): boolean {
    return this.map.size > 0 || this.timers.alive > 0;
  }

  /**
   * (Re)starts the channel's idle clock from now. One heap entry per channel, checked lazily:
   * when it comes due, the channel's last event time (entry.active, stored by dispatch) says
   * whether it really idled or the entry just moves to active + idleTimeout.
   */
  armIdle(ch: Channel): void {
    const entry = ch._entry;
    if (entry === undefined || entry.fd < 0) return;
    const seconds = ch.idleTimeout;
    if (seconds == null || !(seconds > 0)) {
      if (entry.idle !== null) this.timers.cancel(entry.idle);
      return;
    }
    entry.active = now();
    if (entry.idle === null) entry.idle = this.timers.schedule(entry.active + seconds, this.checkIdle as (...args: unknown[]) => void, [ch], false);
    else this.timers.reschedule(entry.idle, entry.active + seconds);
  }

  private readonly checkIdle = (ch: Channel): void => {
    const entry = ch._entry;
    if (entry === undefined || entry.fd < 0 || entry.owner !== this || entry.idle === null) return;
    const seconds = ch.idleTimeout;
    if (seconds == null || !(seconds > 0)) return;
    const deadline = entry.active + seconds;
    if (deadline > this.stamp) {
      this.timers.reschedule(entry.idle, deadline);
      return;
    }
    try {
      if (ch.handleTimeout !== undefined) ch.handleTimeout();
      else ch.close();
    } catch (err) {
      routeError(ch, err);
    }
    // Still open: handleTimeout chose to keep it, which starts a new idle period.
    if (entry.fd >= 0 && ch._entry === entry && entry.idle.index < 0) {
      entry.active = this.stamp;
      this.timers.reschedule(entry.idle, this.stamp + seconds);
    }
    this.markDirty(ch);
  };

  /** A listener stopped accepting: no read interest until it resumes (resumeAccept). */
  pauseAccept(ch: Channel): void {
    ch._acceptPaused = true;
    this.pausedListeners.add(ch);
    this.markDirty(ch);
  }

  resumeAccept(ch: Channel): void {
    if (ch._acceptPaused !== true) return;
    ch._acceptPaused = false;
    this.pausedListeners.delete(ch);
    this.markDirty(ch);
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
    const next = this.timers.next();
    if (next === Infinity) return timeoutMs;
    const ms = Math.max(0, Math.min(Math.ceil((next - now()) * 1000), 2 ** 31 - 1));
    return timeoutMs < 0 || ms < timeoutMs ? ms : timeoutMs;
  }

  /** A map entry changed (fd -1: the map was cleared): resync before the next wait. */
  noteChange(fd: number): void {
    if (fd < 0) this.fullSync = true;
    else if (!this.fullSync) this.changed.push(fd);
    this.queueFlush();
  }

  /** The channel's state may have changed: recompute its interest before the next wait. */
  markDirty(ch: Channel): void {
    const entry = ch._entry;
    if (entry === undefined || entry.dirty) return;
    entry.dirty = true;
    this.dirty.push(ch);
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

  /** ch has input the fd will not announce: deliver it a read event at the next iteration, without waiting. */
  readAgain(ch: Channel): void {
    if (this.again.includes(ch)) return;
    this.again.push(ch);
    this.queueAgain();
  }

  /**
   * Attached: the read events readAgain() asked for are delivered from a setImmediate, since no
   * fd will announce them. Also called when loopAsync() attaches: events asked for while no loop
   * ran, or whose setImmediate came after the last loopAsync() had stopped, would otherwise wait
   * for an unrelated fd event.
   */
  queueAgain(): void {
    if (this.attachment === null || this.againQueued || this.again.length === 0) return;
    this.againQueued = true;
    setImmediate(() => {
      this.againQueued = false;
      if (this.attachment === null || this.again.length === 0) return;
      try {
        this.dispatch(0);
      } catch (err) {
        this.attachment?.fail(err);
      }
    });
  }

  private deliverAgain(): void {
    const list = this.again;
    this.again = [];
    for (const ch of list) {
      const entry = ch._entry!;
      if (entry.fd < 0 || ch._closed || !ch.readable()) continue;
      readwrite(ch, EV.READ);
      if (!entry.dirty && entry.fd >= 0) {
        entry.dirty = true;
        this.dirty.push(ch);
      }
    }
  }

  /**
   * Brings map entries set, replaced or deleted behind the engine's back (map.set/delete by
   * hand) into it: only the fds noted since the last call, unless the map was cleared or
   * filled before the engine saw it.
   */
  resync(): void {
    const map = this.map;
    const members = this.members;
    if (this.fullSync) {
      this.fullSync = false;
      this.changed.length = 0;
      for (const [fd, ch] of members) {
        if (map.get(fd) !== ch) this.remove(ch);
      }
      for (const [fd, ch] of map) {
        if (members.get(fd) !== ch) this.add(ch, fd);
      }
      return;
    }
    const changed = this.changed;
    for (let i = 0; i < changed.length; i++) {
      const fd = changed[i];
      const ch = map.get(fd);
      const current = members.get(fd);
      if (ch === current) continue;
      if (current !== undefined) this.remove(current);
      if (ch !== undefined) this.add(ch, fd);
    }
    changed.length = 0;
  }

  ensureReactor(backend: string): NativeReactor {
    if (this.reactor !== null && this.backend === backend) return this.reactor;
    if (this.attachment !== null) {
      throw new AsynchatError('ERR_ASYNCHAT_LOOP_RUNNING', 'this map is already served by loopAsync()');
    }
    this.reactor?.close();
    this.reactor = new native.Reactor(backend, this.events);
    this.told = new ToldInterest(this.reactor);
    this.backend = backend;
    // The new reactor knows no fd yet: every channel tells it at the next flush.
    for (const ch of this.members.values()) this.markDirty(ch);
    return this.reactor;
  }

  /** Closes the native reactor (the map is empty, or closeAll): a later loop makes a new one. */
  release(): void {
    if (this.attachment !== null) return;
    this.reactor?.close();
    this.reactor = null;
    this.told = null;
  }

  /**
   * Runs the work deferred to the end of a batch (corked output), then gives the reactor
   * every interest that changed, asking polled channels as Python asks every iteration.
   */
  flush(): void {
    this.flushQueued = false;
    if (this.fullSync || this.changed.length > 0) this.resync();
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const ch = dirty[i];
      const entry = ch._entry!;
      entry.dirty = false;
      if (entry.fd < 0 || entry.owner !== this) continue;
      if (ch._beforeWait !== undefined) {
        try {
          ch._beforeWait();
        } catch (err) {
          routeError(ch, err);
        }
        if (entry.fd < 0) continue;
      }
      if (!entry.polled) this.apply(entry, ch._interest!());
    }
    dirty.length = 0;
    for (const ch of this.polled) this.apply(ch._entry!, polledInterest(ch));
  }

  private apply(entry: MapEntry, mask: number): void {
    if (this.told !== null && entry.fd >= 0) this.told.set(entry.fd, mask);
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
        const ch = members.get(events[2 * i]);
        if (ch === undefined) continue;
        const entry = ch._entry!;
        if (entry.addedBatch >= batch) continue;
        entry.active = stamp;
        readwrite(ch, events[2 * i + 1]);
        if (!entry.dirty && entry.fd >= 0) {
          entry.dirty = true;
          this.dirty.push(ch);
        }
      }
      if (this.again.length > 0) this.deliverAgain();
    } finally {
      this.dispatching = false;
    }
    this.flush();
  }

  /**
   * One blocking iteration: flush, wait up to timeoutMs (negative: no limit) but no longer
   * than the next timer's deadline, dispatch, then run the timers that are due.
   */
  iterate(timeoutMs: number, backend: string): void {
    const reactor = this.ensureReactor(backend);
    this.resync();
    this.flush();
    this.dispatch(reactor.wait(this.again.length > 0 ? 0 : this.waitBound(timeoutMs)));
    this.runTimers();
  }
}

const states = new WeakMap<SocketMap, MapState>();

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

