// Python's asyncore.readwrite for one channel and one event, and where a handler's exception
// goes: the parts of dispatch that are the same for every channel, whatever fed the event.
import { EV } from '../binding/native';
import { ExitNow, isDisconnect } from '../errors';
import { coreOf, type Channel } from './channel-core';
import { CLOSE_EVENTS, HANGUP_EVENTS } from './interest-bits';

/** What dispatch does with an exception from a handler (Python's readwrite except clauses). */
export function routeError(ch: Channel, err: unknown): void {
  if (err instanceof ExitNow) throw err;
  if (isDisconnect(err)) coreOf(ch).closeOnce(err);
  else ch.handleError(err);
}

/**
 * Python's asyncore.readwrite: read, write, priority, then hang-up/error, in one try block.
 * Unlike Python, it stops as soon as the channel is closed, and calls handleClose at most once.
 */
export function readwrite(ch: Channel, flags: number): void {
  const core = coreOf(ch);
  try {
    if (flags & EV.READ) {
      ch.handleReadEvent();
      if (core.closed) return;
    }
    if (flags & EV.WRITE) {
      ch.handleWriteEvent();
      if (core.closed) return;
    }
    if (flags & EV.PRI) {
      ch.handleExptEvent();
      if (core.closed) return;
    }
    if (flags & CLOSE_EVENTS) {
      if ((flags & HANGUP_EVENTS) === 0) core.errorCondition(flags);
      else core.hangUp(flags);
    }
  } catch (err) {
    routeError(ch, err);
  }
}
