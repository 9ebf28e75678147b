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

export const READ_INTEREST = EV.READ | EV.PRI;
export const WRITE_INTEREST = EV.WRITE;
const CLOSE_EVENTS = EV.HUP | EV.ERR | EV.NVAL;
const BATCH_CAPACITY = 1024;

/** Engine bookkeeping, one per channel in a map. */
export interface MapEntry {
  fd: number;           // -1 once the channel left its map
  addedBatch: number;   // events of batches up to this one predate the channel
  dirty: boolean;
  polled: boolean;
  owner: MapState;
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
  /** @internal */ _entry?: MapEntry;
  /** @internal true once close() ran: no callback may reach it any more */ _closed?: boolean;
  /** @internal interest from the library's own state (absent: ask readable()/writable()) */
  _interest?(): number;
  /** @internal work the library defers to the end of a batch (corked output) */
  _beforeWait?(): void;
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
    if (flags & CLOSE_EVENTS) closeOnce(ch);
  } catch (err) {
    routeError(ch, err);
  }
}

interface Attachment {
  fail(err: unknown): void;
  checkEmpty(): void;
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
  // Channels with input buffered above the fd (decrypted TLS records): read events for them
  // are made up at the next iteration, which then does not wait.
  private again: Channel[] = [];
  private againQueued = false;

  constructor(map: SocketMap) {
    this.map = map;
  }

  /** A channel joined the map under fd. */
  add(ch: Channel, fd: number): void {
    const old = this.members.get(fd);
    if (old !== undefined && old !== ch) this.remove(old);
    const entry: MapEntry = {
      fd, addedBatch: this.batch, dirty: false, polled: false, owner: this,
    };
    ch._entry = entry;
    this.members.set(fd, ch);
    this.redecide(ch);
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
    if (this.attachment !== null && this.map.size === 0) queueMicrotask(() => this.attachment?.checkEmpty());
  }

  /** The channel's state may have changed: recompute its interest before the next wait. */
  markDirty(ch: Channel): void {
    const entry = ch._entry;
    if (entry === undefined || entry.dirty) return;
    entry.dirty = true;
    this.dirty.push(ch);
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
    if (this.attachment === null || this.againQueued) return;
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

  /** Brings map entries added or removed behind the engine's back (map.set/delete) into it. */
  resync(): void {
    if (this.map.size === this.members.size) return;
    for (const [fd, ch] of this.members) {
      if (this.map.get(fd) !== ch) this.remove(ch);
    }
    for (const [fd, ch] of this.map) {
      if (this.members.get(fd) !== ch) this.add(ch, fd);
    }
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
    this.dispatching = true;
    try {
      for (let i = 0; i < count; i++) {
        const ch = members.get(events[2 * i]);
        if (ch === undefined) continue;
        const entry = ch._entry!;
        if (entry.addedBatch >= batch) continue;
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

  /** One blocking iteration: flush, wait up to timeoutMs (negative: no limit), dispatch. */
  iterate(timeoutMs: number, backend: string): void {
    const reactor = this.ensureReactor(backend);
    this.resync();
    this.flush();
    this.dispatch(reactor.wait(this.again.length > 0 ? 0 : timeoutMs));
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

