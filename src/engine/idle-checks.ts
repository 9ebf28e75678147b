// Idle timeouts on many channels at the cost of a field store per event: each channel with an
// idleTimeout has one heap entry, checked lazily. When it comes due, the channel's last event
// time (core.active, stored by dispatch) says whether it really idled, or the entry just moves
// to active + idleTimeout (Redis's clientsCron and uSockets' sweep do the same coarsely).
import type { ChannelCore } from './channel-core';
import { routeError } from './dispatch';
import { now, type Scheduler } from './scheduler';

export class IdleChecks {
  constructor(private readonly timers: Scheduler, private readonly clock: () => number, private readonly changed: (core: ChannelCore) => void) {}

  /** (Re)starts the channel's idle clock from now, or stops it when it has no idleTimeout. */
  arm(core: ChannelCore): void {
    if (!core.joined) return;
    const seconds = core.channel.idleTimeout;
    if (seconds == null || !(seconds > 0)) {
      this.stop(core);
      return;
    }
    core.active = now();
    if (core.idle === null) core.idle = this.timers.schedule(core.active + seconds, this.check as (...args: unknown[]) => void, [core], false);
    else this.timers.reschedule(core.idle, core.active + seconds);
  }

  stop(core: ChannelCore): void {
    if (core.idle !== null) this.timers.cancel(core.idle);
  }

  private readonly check = (core: ChannelCore): void => {
    if (!core.joined || core.idle === null) return;
    const ch = core.channel;
    const seconds = ch.idleTimeout;
    if (seconds == null || !(seconds > 0)) return;
    const stamp = this.clock();
    const deadline = core.active + seconds;
    if (deadline > stamp) {
      this.timers.reschedule(core.idle, deadline);
      return;
    }
    try {
      if (ch.handleTimeout !== undefined) ch.handleTimeout();
      else ch.close();
    } catch (err) {
      routeError(ch, err);
    }
    // Still open: handleTimeout chose to keep it, which starts a new idle period.
    if (core.joined && core.idle.index < 0) {
      core.active = stamp;
      this.timers.reschedule(core.idle, stamp + seconds);
    }
    this.changed(core);
  };
}
