// Channels with input buffered above the fd (TLS plaintext already decrypted, cleartext read
// past a peer's close_notify, bytes a recv() override returned beyond what was asked): no fd
// will announce it, so their read events are made up at the next iteration, which then does
// not wait.
import { EV } from '../binding/native';
import type { ChannelCore } from './channel-core';
import { readwrite } from './dispatch';

export class ReadAgain {
  private list: ChannelCore[] = [];

  get pending(): boolean {
    return this.list.length > 0;
  }

  add(core: ChannelCore): void {
    if (!this.list.includes(core)) this.list.push(core);
  }

  /** A read event is made up for the channel at the next iteration: it has input above its fd. */
  has(core: ChannelCore): boolean {
    return this.list.includes(core);
  }

  /** Delivers the made-up read events; `delivered` is told of each channel that got one. */
  deliver(delivered: (core: ChannelCore) => void): void {
    const list = this.list;
    this.list = [];
    for (const core of list) {
      if (!core.joined || core.closed || core.readClosed || !core.channel.readable()) continue;
      readwrite(core.channel, EV.READ);
      delivered(core);
    }
  }
}
