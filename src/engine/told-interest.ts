// What one native reactor was last told about each fd's interest, so that a change crosses into
// C++ only when it differs. (The reactor itself defers the kernel call to just before its next
// wait, and skips it when the interest flipped back meanwhile: native/reactor.h.) The cache
// belongs to its reactor: a new reactor comes with a new, empty one, so nothing is reset by hand.
import type { NativeReactor } from '../binding/native';

const UNKNOWN = -1;

export class ToldInterest {
  readonly reactor: NativeReactor;
  private masks = new Int16Array(64).fill(UNKNOWN);

  constructor(reactor: NativeReactor) {
    this.reactor = reactor;
  }

  /** Makes fd's interest `mask`, crossing only if the reactor was told otherwise. */
  set(fd: number, mask: number): void {
    let masks = this.masks;
    if (fd < masks.length) {
      if (masks[fd] === mask) return;
    } else {
      const grown = new Int16Array(Math.max(2 * masks.length, fd + 1)).fill(UNKNOWN);
      grown.set(masks);
      this.masks = masks = grown;
    }
    this.reactor.setInterest(fd, mask);
    masks[fd] = mask;
  }

  /** The reactor forgets fd (before it is closed; its number may come back for another fd). */
  forget(fd: number): void {
    if (fd < this.masks.length) this.masks[fd] = UNKNOWN;
    this.reactor.remove(fd);
  }
}
