// A bound on how long one phase of a session may last in all (an HTTP request's head, an SMTP
// message's data), however slowly its bytes trickle in: the idle timeout alone restarts with
// every byte, so a peer sending one byte a minute would hold a connection forever.
import { callLater, type SocketMap, type TimerHandle } from '../../src';

export class PhaseTimer {
  private handle: TimerHandle | null = null;

  /** `seconds` null: no bound (start and stop do nothing). */
  constructor(
    private readonly map: SocketMap, private readonly seconds: number | null, private readonly onExpire: () => void,
  ) {}

  get running(): boolean {
    return this.handle?.pending ?? false;
  }

  /** The phase begins: onExpire runs `seconds` from now unless stop() comes first. */
  start(): void {
    if (this.seconds === null) return;
    if (this.handle === null) {
      // unref: a session's timer must not keep the loop running after the session is gone.
      this.handle = callLater({ seconds: this.seconds, map: this.map }, this.onExpire).unref();
    } else {
      this.handle.reset(this.seconds);
    }
  }

  stop(): void {
    this.handle?.cancel();
  }
}
