// Listeners that stopped accepting (out of fds, or at maxConnections) ask for no read events
// until an fd may be free again: when any channel of the map leaves it, each is told.
import type { ChannelCore } from './channel-core';

export class PausedListeners {
  private readonly paused = new Set<ChannelCore>();

  constructor(private readonly changed: (core: ChannelCore) => void) {}

  pause(core: ChannelCore): void {
    core.acceptPaused = true;
    this.paused.add(core);
    this.changed(core);
  }

  resume(core: ChannelCore): void {
    if (!core.acceptPaused) return;
    core.acceptPaused = false;
    this.paused.delete(core);
    this.changed(core);
  }

  /** core left the map: its fd is about to be freed, so a listener stopped by EMFILE may accept. */
  left(core: ChannelCore): void {
    if (this.paused.size === 0) return;
    this.paused.delete(core);
    for (const listener of this.paused) listener.resumeAccepting();
  }
}
