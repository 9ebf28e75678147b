// Waiting on the native reactor with a deadline, instead of sleeping and hoping.
import { native, EV, type NativeReactor } from '../../src/binding/native';
import { defaultBackend } from '../../src/binding/backends';

/** Readiness bits that end any wait: the fd can do nothing more (HUP, ERR, NVAL). */
export const DONE = EV.HUP | EV.ERR | EV.NVAL;

export interface Harness {
  reactor: NativeReactor;
  events: Int32Array;
  close(): void;
}

/** A reactor on the backend this test run is for (ASYNCHAT_BACKEND), with its own event array. */
export function openReactor(capacity = 64, backend = defaultBackend()): Harness {
  const events = new Int32Array(capacity * 2);
  const reactor = new native.Reactor(backend, events);
  return { reactor, events, close: () => reactor.close() };
}

/**
 * Waits until `fd` is reported with any of `mask` (or HUP/ERR/NVAL) and returns its bits.
 * Interest must already be set. Throws once `timeoutMs` has passed without it.
 */
export function waitFd(h: Harness, fd: number, mask: number, timeoutMs = 2000): number {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const n = h.reactor.wait(left);
    for (let i = 0; i < n; i++) {
      const bits = h.events[2 * i + 1];
      if (h.events[2 * i] === fd && (bits & (mask | DONE)) !== 0) return bits;
    }
  }
  throw new Error(`fd ${fd} was not reported with mask ${mask} within ${timeoutMs} ms`);
}

/**
 * Sets interest `mask` on fd, waits for it, and puts the old interest back. For one-off waits
 * ("is this socket readable yet?") in tests that otherwise drive sockets by hand.
 */
export function waitReady(h: Harness, fd: number, mask: number, timeoutMs = 2000): number {
  const before = h.reactor.getInterest(fd);
  h.reactor.setInterest(fd, mask);
  try {
    return waitFd(h, fd, mask, timeoutMs);
  } finally {
    h.reactor.setInterest(fd, before);
  }
}

/** Rejects with a clear message if `promise` has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
