// Backend choice and the reactor's counters.
import { native, type NativeStats } from './native';
import { AsynchatError } from '../errors';

// Fixed for the life of the addon; poll() and loop() check against it on every call (ported
// code often runs `loop(timeout, false, map, 1)` in its own loop).
const compiled: readonly string[] = native.backends.split(',');

/** Backends compiled into this build, best first (e.g. ['epoll', 'poll']). */
export function backends(): string[] {
  return [...compiled];
}

/**
 * The backend used when none is asked for: ASYNCHAT_BACKEND if set, else the platform's best
 * (epoll on Linux, kqueue on macOS and the BSDs).
 */
export function defaultBackend(): string {
  return process.env.ASYNCHAT_BACKEND || native.defaultBackend;
}

/** Resolves Python's use_poll flag and an explicit name to a backend name, checked. */
export function resolveBackend(usePoll = false, name?: string): string {
  const chosen = name ?? (usePoll ? 'poll' : defaultBackend());
  if (!compiled.includes(chosen)) {
    throw new AsynchatError(
      'ERR_ASYNCHAT_BACKEND',
      `unknown or unavailable backend '${chosen}' (this build has: ${compiled.join(', ')})`,
    );
  }
  return chosen;
}

/** What the reactor did since the last reset: wake-ups, events, crossings, syscalls. */
export function stats(): NativeStats {
  return native.stats();
}

/** Sets every stats() counter back to zero (to measure one stretch of work). */
export function resetStats(): void {
  native.resetStats();
}
