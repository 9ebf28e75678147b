// Invariants the engine relies on, checked where breaking one would otherwise be skipped
// silently (an event for a channel that is not where the engine filed it, a scan cache used by
// a channel that does not own its results). On with ASYNCHAT_DEBUG=1, which the test suite and
// the AddressSanitizer run set; off, each check is one branch on a constant.
import { AsynchatError } from '../errors';

const enabled = process.env.ASYNCHAT_DEBUG === '1';

export function debugAssert(condition: boolean, invariant: string): void {
  if (enabled && !condition) throw new AsynchatError('ERR_ASYNCHAT_INVARIANT', `internal invariant broken: ${invariant}`);
}
