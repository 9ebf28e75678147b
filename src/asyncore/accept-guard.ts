// What keeps a listening dispatcher from spinning when it cannot take a connection: out of fds
// (EMFILE/ENFILE...) or at its maxConnections. It pauses the listener's read interest, so a
// level-triggered reactor stops reporting the waiting connections, and the connections stay
// in the kernel's backlog (none is lost, as libuv's reserved-fd trick would lose them by
// accepting and closing them). Accepting resumes when an fd may be free again: a channel of the
// map left it, or a connection of this listener closed, or (out of fds) after RETRY_SECONDS,
// for fds freed outside the map. An episode (pauses less than QUIET_SECONDS apart) is logged
// once when it starts and once when it is over, never once per refused connection.
import type { AnyDispatcher as Dispatcher } from './dispatcher';
import type { Socket } from '../binding/socket';
import type { SystemError } from '../errors';
import { now, type TimerEntry } from '../engine/scheduler';
import type { ChannelCore } from '../engine/channel-core';

/** How long a listener out of fds waits at most before trying accept() again. */
export const RETRY_SECONDS = 1;
/** An episode is over once the listener went this long without pausing. */
export const QUIET_SECONDS = 5;

type Reason = 'fds' | 'max';

export class AcceptGuard {
  /** Connections accepted through the listener and not closed yet. */
  open = 0;
  private paused: Reason | null = null;
  private episodeStart = 0;
  private lastPause = 0;
  private pauses = 0;
  private retry: TimerEntry | null = null;
  private episodeEnd: TimerEntry | null = null;

  constructor(private readonly listener: Dispatcher, private readonly core: ChannelCore) {}

  /** false (and the listener paused) when maxConnections are open. */
  admits(): boolean {
    const max = this.listener.maxConnections;
    if (max === null || this.open < max) return true;
    this.pause('max', `maxConnections (${max}) reached: new connections wait in the backlog until one closes`, 'info');
    return false;
  }

  accepted(sock: Socket): void {
    this.open++;
    sock._onClose = this.connectionClosed;
  }

  /** accept() failed for want of fds or memory. */
  exhausted(err: SystemError): void {
    this.pause('fds', `accept failed: ${err.message}: not accepting until a connection closes ` +
      `(retrying every ${RETRY_SECONDS} s); new connections wait in the backlog`, 'error');
    const core = this.core;
    if (!core.joined || this.retry !== null) return;
    this.retry = core.owner!.timers.schedule(now() + RETRY_SECONDS, () => {
      this.retry = null;
      if (this.paused === 'fds') this.resume();
    }, [], false);
  }

  /** A channel of the map left it: an fd is (about to be) free. */
  fdFreed(): void {
    if (this.paused === 'fds') this.resume();
  }

  /** The listener closed. */
  stop(): void {
    this.cancelRetry();
    if (this.episodeEnd !== null) this.episodeEnd.scheduler.cancel(this.episodeEnd);
    this.episodeEnd = null;
    this.episodeStart = 0;
    this.paused = null;
    this.core.acceptPaused = false;
  }

  private readonly connectionClosed = (): void => {
    this.open--;
    if (this.paused === 'max') this.resume();
  };

  private pause(reason: Reason, message: string, type: string): void {
    const core = this.core;
    const clock = now();
    this.pauses++;
    this.lastPause = clock;
    this.paused = reason;
    if (!core.joined) return;
    core.owner!.pausedListeners.pause(core);
    if (this.episodeStart === 0) {
      this.episodeStart = clock;
      this.listener.logInfo(message, type);
      this.episodeEnd = core.owner!.timers.schedule(clock + QUIET_SECONDS, this.checkEpisodeEnd, [], false);
    }
  }

  private readonly checkEpisodeEnd = (): void => {
    const entry = this.episodeEnd!;
    const clock = now();
    if (this.paused !== null || clock - this.lastPause < QUIET_SECONDS) {
      entry.scheduler.reschedule(entry, Math.max(clock, this.lastPause) + QUIET_SECONDS);
      return;
    }
    this.episodeEnd = null;
    const seconds = (this.lastPause - this.episodeStart).toFixed(1);
    this.listener.logInfo(`accepting normally again (accept was paused ${this.pauses} times over ${seconds} s)`, 'info');
    this.episodeStart = 0;
    this.pauses = 0;
  };

  private resume(): void {
    this.paused = null;
    this.cancelRetry();
    const core = this.core;
    if (core.joined) core.owner!.pausedListeners.resume(core);
  }

  private cancelRetry(): void {
    if (this.retry !== null) {
      this.retry.scheduler.cancel(this.retry);
      this.retry = null;
    }
  }
}
