// The engine's record of one channel: what the engine keeps for it (membership of a map, the
// interest it was told, its idle check, its close state) and the hooks it calls. It hangs off
// the channel under a symbol, so that none of it sits among the names a subclass uses for its
// own state: Python's asyncore leaves only `_map`, `_fileno`, `socket`, `connected`,
// `accepting`, `connecting`, `closing` and `addr` on `self`, and ports keep their own state in
// every other name.
//
// A duck-typed channel (any object with Python's dispatcher methods, put in a map by hand) gets
// this base record when it joins a map: its readable()/writable() are asked before every wait,
// and its handleClose() is called for every close event, as Python does. The library's own
// dispatchers have a richer record (src/asyncore/dispatcher-core.ts) that overrides the hooks.
import type { TimerEntry } from './scheduler';
import type { MapState } from './map-state';
import { READ_INTEREST } from './interest-bits';

/** The key of a channel's engine record. */
export const ENGINE: unique symbol = Symbol('asynchat.engine');

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
  /** @internal the engine's record of this channel */
  [ENGINE]?: ChannelCore;
}

export class ChannelCore {
  // ---- membership: set by MapState.add, cleared by MapState.remove ----
  /** The fd this channel is a member under; -1 when it is in no map. */
  fd = -1;
  /** Events of batches up to this one predate the channel. */
  addedBatch = 0;
  /** Queued for an interest update (and the end-of-batch work) before the next wait. */
  dirty = false;
  /** readable()/writable() are asked before every wait (they are not the library's). */
  polled = true;
  owner: MapState | null = null;
  /** now() of the last event dispatched to the channel (what the idle check compares with). */
  active = 0;
  /** The idle-timeout check, while the channel has an idleTimeout. */
  idle: TimerEntry | null = null;
  /** A listener that stopped accepting (EMFILE, maxConnections): no read interest. */
  acceptPaused = false;
  /**
   * The end of the stream was read: no more read events, from the fd (an EOF stays readable
   * forever) or made up (one asked for before the end was read would read it again).
   */
  readClosed = false;

  constructor(readonly channel: Channel) {}

  /** A member of a live map. */
  get joined(): boolean {
    return this.fd >= 0;
  }

  /** close() ran: no callback may reach the channel any more. Unknown for duck-typed channels. */
  get closed(): boolean {
    return false;
  }

  /** The interest follows from the library's own state (interest()); else the channel is polled. */
  get libraryInterest(): boolean {
    return false;
  }

  /** The channel's interest from the library's state (only when libraryInterest). */
  interest(): number {
    return 0;
  }

  /** The interest the reactor gets, from the channel's own: the layers under it have their say. */
  adjustInterest(mask: number): number {
    return this.acceptPaused ? mask & ~READ_INTEREST : mask;
  }

  /** Work deferred to the end of a batch (corked output): none here. */
  beforeWait(): void {
    // nothing for a duck-typed channel
  }

  /** An error condition (ERR without HUP): a hang-up, for a stream. */
  errorCondition(flags: number): void {
    void flags;
    this.closeOnce();
  }

  /** A hang-up (HUP or NVAL, with or without ERR): the stream is over. */
  hangUp(flags: number): void {
    void flags;
    this.closeOnce();
  }

  /** The connection ended (end of stream, hang-up, a disconnect error): Python calls handle_close. */
  closeOnce(reason?: unknown): void {
    void reason;
    this.channel.handleClose();
  }

  /** A channel of the map left it: a listener paused for want of fds may accept again. */
  resumeAccepting(): void {
    // only listening dispatchers pause
  }
}

/** The channel's engine record, made when it first joins a map. */
export function coreOf(ch: Channel): ChannelCore {
  return ch[ENGINE] ??= new ChannelCore(ch);
}
