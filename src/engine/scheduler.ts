// Timers of one socket map: a binary min-heap of deadlines on a monotonic clock, as asyncio's
// loop and pyftpdlib's ioloop keep. Insert, cancel and reset are O(log n) (each entry knows its
// heap index); the busy path only compares the earliest deadline with the clock, so a heap of
// 100,000 far deadlines costs an iteration one comparison.
import { performance } from 'node:perf_hooks';

/**
 * The clock of callAt() and of every timer: seconds on a monotonic clock (performance.now(),
 * which system clock changes do not move), as asyncio's loop.time() and time.monotonic().
 */
export function now(): number {
  return performance.now() / 1000;
}

/** One pending call. Its place in the heap is `index` (-1 when it is not pending). */
export class TimerEntry {
  when: number;
  /** @internal order of equal deadlines: first scheduled, first run */ seq = 0;
  /** @internal */ index = -1;
  /** false: does not keep loop()/loopAsync() running on its own (the library's own timers) */
  keepsAlive: boolean;
  constructor(
    readonly scheduler: Scheduler, when: number, readonly fn: (...args: unknown[]) => void,
    readonly args: readonly unknown[], keepsAlive: boolean,
  ) {
    this.when = when;
    this.keepsAlive = keepsAlive;
  }
}

export class Scheduler {
  private readonly heap: TimerEntry[] = [];
  private seq = 0;
  /** Pending entries that keep a loop running (user timers). */
  alive = 0;
  /**
   * Called when the earliest deadline may have moved earlier, or a timer that keeps the loop
   * alive was added (loopAsync re-arms its Node timer and decides whether it holds the process).
   */
  onEarlier: (() => void) | null = null;

  get size(): number {
    return this.heap.length;
  }

  /** The earliest deadline, or Infinity. */
  next(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0].when;
  }

  schedule(when: number, fn: (...args: unknown[]) => void, args: readonly unknown[], keepsAlive = true): TimerEntry {
    const entry = new TimerEntry(this, when, fn, args, keepsAlive);
    this.insert(entry);
    return entry;
  }

  /** Puts a cancelled or fired entry back, or moves a pending one, to deadline `when`. */
  reschedule(entry: TimerEntry, when: number): void {
    if (entry.index < 0) {
      entry.when = when;
      this.insert(entry);
      return;
    }
    const earlier = when < entry.when;
    entry.when = when;
    entry.seq = this.seq++;
    if (earlier) this.up(entry.index);
    else this.down(entry.index);
    if (earlier && entry.index === 0) this.onEarlier?.();
  }

  /** Whether a pending entry keeps a loop running on its own (Node's ref/unref). */
  setKeepsAlive(entry: TimerEntry, keepsAlive: boolean): void {
    if (entry.keepsAlive === keepsAlive) return;
    entry.keepsAlive = keepsAlive;
    if (entry.index < 0) return;
    this.alive += keepsAlive ? 1 : -1;
    if (keepsAlive) this.onEarlier?.();
  }

  cancel(entry: TimerEntry): boolean {
    const i = entry.index;
    if (i < 0) return false;
    const heap = this.heap;
    const last = heap.pop()!;
    entry.index = -1;
    if (entry.keepsAlive) this.alive--;
    if (last !== entry) {
      heap[i] = last;
      last.index = i;
      this.up(i);
      this.down(last.index);
    }
    return true;
  }

  /**
   * Runs every entry due at `clock` (entries scheduled while running, even with a deadline
   * already past, wait for the next call, so a callback that re-schedules itself at 0 s cannot
   * hold the loop). `run` calls the entry and decides what an exception does.
   */
  runDue(clock: number, run: (entry: TimerEntry) => void): number {
    const heap = this.heap;
    if (heap.length === 0 || heap[0].when > clock) return 0;
    const limit = this.seq;
    let ran = 0;
    while (heap.length > 0 && heap[0].when <= clock && heap[0].seq < limit) {
      const entry = heap[0];
      this.cancel(entry);
      ran++;
      run(entry);
    }
    return ran;
  }

  clear(): void {
    for (const entry of this.heap) entry.index = -1;
    this.heap.length = 0;
    this.alive = 0;
  }

  private insert(entry: TimerEntry): void {
    entry.seq = this.seq++;
    entry.index = this.heap.length;
    this.heap.push(entry);
    if (entry.keepsAlive) this.alive++;
    this.up(entry.index);
    if (entry.index === 0 || entry.keepsAlive) this.onEarlier?.();
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.when < b.when || (a.when === b.when && a.seq < b.seq);
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(entry, heap[parent])) break;
      heap[i] = heap[parent];
      heap[i].index = i;
      i = parent;
    }
    heap[i] = entry;
    entry.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(heap[child + 1], heap[child])) child++;
      if (!this.less(heap[child], entry)) break;
      heap[i] = heap[child];
      heap[i].index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
