// The map is the truth: map.set/delete/clear, by the library or by hand, are observed (own
// properties over Map's methods), so that the engine looks only at the fds that changed
// instead of comparing the whole map with its members at every iteration.
import type { Channel } from './channel-core';

/** Python's socket map: the channels a loop serves, by file descriptor. */
export type SocketMap = Map<number, Channel>;

export class MapObserver {
  /** fds whose map entry changed since the last take(); full: compare everything once. */
  private changed: number[] = [];
  private full: boolean;

  constructor(map: SocketMap, noted: () => void) {
    this.full = map.size > 0;
    const note = (fd: number): void => {
      if (fd < 0) this.full = true;
      else if (!this.full) this.changed.push(fd);
      noted();
    };
    const set = map.set;
    const del = map.delete;
    const clear = map.clear;
    Object.defineProperties(map, {
      set: {
        configurable: true, writable: true,
        value(fd: number, ch: Channel) {
          set.call(map, fd, ch);
          note(fd);
          return map;
        },
      },
      delete: {
        configurable: true, writable: true,
        value(fd: number) {
          const had = del.call(map, fd);
          if (had) note(fd);
          return had;
        },
      },
      clear: {
        configurable: true, writable: true,
        value() {
          clear.call(map);
          note(-1);
        },
      },
    });
  }

  get pending(): boolean {
    return this.full || this.changed.length > 0;
  }

  /** The fds that changed since the last call, or null when everything must be compared. */
  take(): number[] | null {
    if (this.full) {
      this.full = false;
      this.changed.length = 0;
      return null;
    }
    const changed = this.changed;
    this.changed = [];
    return changed;
  }
}
