// Closes that finish out of the user's sight. A TLS channel's close_notify (and ciphertext
// queued before it) must reach the peer before the FIN, or the peer sees a truncation; when the
// socket's buffer is full at close(), what is left is written from here: the fd stays in the
// reactor, asking only for write readiness, until the rest is out or LINGER_SECONDS pass, and
// is closed then. The channel itself is closed and out of its map: no callback reaches it, and
// nothing of this counts as a channel or a user's timer; the loop goes on while a close lingers
// (a bounded time), so that a program that closes its last channel still sends the alert.
import { CLOSE_EVENTS, WRITE_INTEREST } from './interest-bits';
import { now, type Scheduler, type TimerEntry } from './scheduler';

/** Seconds a close may wait for the socket to take what is left, at most. */
export const LINGER_SECONDS = 10;

/** What is left of a close. */
export interface LingeringClose {
  /** Writes what is left; returns the bytes still waiting (0: done). Errors throw. */
  flush(): number;
  /** Frees what the close holds and closes the fd (once). */
  release(): void;
}

/** What lingering closes need of their map's engine. */
export interface LingerHost {
  readonly timers: Scheduler;
  /** The map has a reactor (a loop serves it): an fd can be watched. */
  watching(): boolean;
  tell(fd: number, mask: number): void;
  forget(fd: number): void;
}

interface Entry {
  close: LingeringClose;
  deadline: TimerEntry;
}

export class Lingering {
  private readonly byFd = new Map<number, Entry>();

  constructor(private readonly host: LingerHost) {}

  get size(): number {
    return this.byFd.size;
  }

  has(fd: number): boolean {
    return this.byFd.has(fd);
  }

  /** fd's close waits for write readiness; with no loop to wait in, it ends now (best effort). */
  add(fd: number, close: LingeringClose): void {
    if (!this.host.watching() || this.byFd.has(fd)) {
      close.release();
      return;
    }
    const deadline = this.host.timers.schedule(now() + LINGER_SECONDS, () => this.end(fd), [], false);
    this.byFd.set(fd, { close, deadline });
    this.host.tell(fd, WRITE_INTEREST);
  }

  /** An event for a lingering fd: write what is left; a hang-up or an error ends it. */
  event(fd: number, bits: number): void {
    const entry = this.byFd.get(fd);
    if (entry === undefined) return;
    let done = (bits & CLOSE_EVENTS) !== 0;
    if (!done) {
      try {
        done = entry.close.flush() === 0;
      } catch {
        done = true;  // the peer is gone: nothing more can reach it
      }
    }
    if (done) this.end(fd);
  }

  /** Ends every lingering close now (the map's reactor is going away). */
  endAll(): void {
    for (const [fd, entry] of [...this.byFd]) {
      try {
        entry.close.flush();
      } catch {
        // one last try only
      }
      this.end(fd);
    }
  }

  private end(fd: number): void {
    const entry = this.byFd.get(fd);
    if (entry === undefined) return;
    this.byFd.delete(fd);
    entry.deadline.scheduler.cancel(entry.deadline);
    this.host.forget(fd);
    entry.close.release();
  }
}
