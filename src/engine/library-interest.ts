// Which channels must be asked readable()/writable() before every wait (polled, as Python asks
// every iteration), and which have an interest that follows from the library's own state.
import type { Channel, ChannelCore } from './channel-core';
import { ENGINE } from './channel-core';
import { READ_INTEREST, WRITE_INTEREST } from './interest-bits';

// readable()/writable() implementations that belong to the library's classes: a channel that
// uses only these is not polled, its interest follows from its state.
const libraryMethods = new WeakSet<Function>();

/**
 * Declares proto's methods (those named) the library's own, and watches them: each becomes an
 * accessor, and assigning a function to it on a channel, as Python code does
 * (`d.readable = lambda: False`), stores it on that channel and tells `changed` at once. (A
 * subclass's own methods are seen when the channel is made or joins a map.)
 */
export function registerLibraryMethods(
  proto: object, names: readonly string[], changed: (channel: Channel) => void,
): void {
  for (const name of names) {
    const fn = (proto as Record<string, unknown>)[name] as Function;
    libraryMethods.add(fn);
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: false,
      get: () => fn,
      set(this: Channel, value: unknown) {
        Object.defineProperty(this, name, { value, writable: true, configurable: true, enumerable: true });
        changed(this);
      },
    });
  }
}

/** Whether fn is one of the library's own implementations (not a subclass's or an assigned one). */
export function isLibraryMethod(fn: unknown): boolean {
  return typeof fn === 'function' && libraryMethods.has(fn);
}

/** Declares proto's readable()/writable() (those named) the library's own. */
export function registerLibraryInterest(proto: object, ...names: ('readable' | 'writable')[]): void {
  registerLibraryMethods(proto, names, (ch) => {
    const core = ch[ENGINE];
    if (core !== undefined && core.joined) core.owner!.redecide(core);
  });
}

/** The one place that decides whether a channel's readable()/writable() must be asked before every wait. */
export function isPolled(core: ChannelCore): boolean {
  const ch = core.channel;
  return !core.libraryInterest || !libraryMethods.has(ch.readable) || !libraryMethods.has(ch.writable);
}

/** A polled channel's interest: its readable()/writable(), as the layers under it adjust it. */
export function polledInterest(core: ChannelCore): number {
  const ch = core.channel;
  let mask = 0;
  if (ch.readable()) mask |= READ_INTEREST;
  if (ch.writable() && !ch.accepting) mask |= WRITE_INTEREST;
  return core.adjustInterest(mask);
}
