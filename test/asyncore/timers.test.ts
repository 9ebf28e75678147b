// callLater/callAt on a socket map: run by the blocking loop() in its own thread (Node's timers
// cannot run there) and by loopAsync() from Node's loop, in deadline order, with cancel and
// reset; an error in a callback is reported and the loop goes on; ExitNow ends it.
import { beforeEach, describe, expect, it } from 'vitest';
import type { SocketMap } from '../../src/engine/map-state';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { loop, loopAsync, poll } from '../../src/asyncore/loop';
import { callAt, callLater, now, setTimerErrorHandler } from '../../src/asyncore/timers';
import { ExitNow } from '../../src/errors';
import { Socket, socketpair } from '../../src/binding/socket';
import { captureOutput, mapPerTest } from '../helpers/asyncore';
import { withDeadline } from '../helpers/reactor';

// A private map per test; it and the sockets in `opened` are closed after each test.
const fixture = mapPerTest();
const opened = fixture.opened;
let map: SocketMap;
beforeEach(() => {
  map = fixture.map;
});

/** A channel that never gets an event: keeps a map non-empty. */
function quietChannel(): Dispatcher {
  const [a, b] = socketpair();
  opened.push(b);
  const d = new Dispatcher(a, map);
  d.handleRead = () => {};
  return d;
}

describe('blocking loop()', () => {
  it('runs timers in deadline order, skips a cancelled one, moves a reset one', () => {
    const order: string[] = [];
    // The map's engine is made by its first timer: made before t0, so that the deadlines below
    // are set within a few ms of each other even under AddressSanitizer on a loaded machine
    // (they are 50 ms apart: the order they make is what is tested).
    callLater({ seconds: 1, map }, () => {}).cancel();
    const t0 = now();
    callLater({ seconds: 0.15, map }, (x: string) => order.push(x), 'c');
    callLater({ seconds: 0.05, map }, (x: string) => order.push(x), 'a');
    const cancelled = callLater({ seconds: 0.075, map }, () => order.push('cancelled'));
    const moved = callLater({ seconds: 0.025, map }, () => order.push('moved'));
    callAt({ when: t0 + 0.1, map }, () => order.push('b'));
    expect(cancelled.cancel()).toBe(true);
    expect(cancelled.cancel()).toBe(false);
    moved.reset(0.2);
    // An empty map with pending timers: loop() keeps running until the last one has run.
    loop({ timeout: 30, map });
    const elapsed = now() - t0;
    expect(order).toEqual(['a', 'b', 'c', 'moved']);
    expect(elapsed).toBeGreaterThanOrEqual(0.2);
    expect(elapsed).toBeLessThan(2);
    expect(moved.pending).toBe(false);
  });

  it('waits no longer than the next deadline, even with a 30 s timeout and a quiet channel', () => {
    quietChannel();
    const fired: number[] = [];
    const t0 = now();
    callLater({ seconds: 0.05, map }, () => fired.push(now() - t0));
    callLater({ seconds: 0.1, map }, () => {
      fired.push(now() - t0);
      throw new ExitNow();
    });
    expect(() => loop({ timeout: 30, map })).toThrow(ExitNow);
    expect(fired).toHaveLength(2);
    expect(fired[0]).toBeGreaterThanOrEqual(0.05);
    expect(fired[1]).toBeGreaterThanOrEqual(0.1);
    expect(fired[1]).toBeLessThan(2);
  });

  it('equal deadlines run first scheduled first; a timer scheduled by a timer waits for the next iteration', () => {
    const order: number[] = [];
    const when = now() + 0.01;
    for (let i = 0; i < 5; i++) callAt({ when, map }, () => order.push(i));
    callAt({ when, map }, () => {
      callLater({ seconds: 0, map }, () => order.push(99));
      order.push(5);
    });
    loop({ timeout: 1, map, count: 50 });
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 99]);
  });

  it('an error in a callback is logged and the loop goes on; a handler set for the map gets it instead', () => {
    const ran: string[] = [];
    callLater({ seconds: 0, map }, function broken() {
      throw new Error('boom');
    });
    callLater({ seconds: 0.01, map }, () => ran.push('after'));
    const out = captureOutput(() => loop({ timeout: 1, map }));
    expect(out.stderr).toMatch(/uncaptured exception in timer callback broken .*boom/);
    expect(ran).toEqual(['after']);

    const seen: unknown[] = [];
    setTimerErrorHandler((err) => seen.push(err), map);
    callLater({ seconds: 0, map }, () => {
      throw new RangeError('second');
    });
    const quiet = captureOutput(() => loop({ timeout: 1, map }));
    expect(quiet.stderr).toBe('');
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toBe('second');
    setTimerErrorHandler(null, map);
  });

  it('poll() with an empty map runs due timers; count bounds the iterations', () => {
    const ran: number[] = [];
    callLater({ seconds: 0, map }, () => ran.push(1));
    poll(0.5, map);
    expect(ran).toEqual([1]);
    const late = callLater({ seconds: 60, map }, () => ran.push(2));
    const t0 = now();
    loop({ timeout: 0.01, map, count: 3 });
    expect(now() - t0).toBeLessThan(2);
    expect(ran).toEqual([1]);
    late.cancel();
  });

  it('rejects a delay that is not a number and a callback that is not a function', () => {
    expect(() => callLater({ seconds: Number.NaN, map }, () => {})).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_TIMER' }));
    expect(() => callLater('1' as unknown as number, () => {})).toThrow(TypeError);
    expect(() => callLater({ seconds: 1, map }, null as unknown as () => void)).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_TIMER' }));
  });
});

describe('loopAsync()', () => {
  it('runs the same timers, in order, from Node\'s loop, and resolves once the last has run', async () => {
    const order: string[] = [];
    const t0 = now();
    callLater({ seconds: 0.04, map }, () => order.push('b'));
    callLater({ seconds: 0.02, map }, () => order.push('a'));
    const h = callLater({ seconds: 0.01, map }, () => order.push('reset'));
    const gone = callLater({ seconds: 0.03, map }, () => order.push('cancelled'));
    gone.cancel();
    h.reset(0.06);
    await withDeadline(loopAsync({ map }), 3000, 'loopAsync with timers only');
    expect(order).toEqual(['a', 'b', 'reset']);
    expect(now() - t0).toBeGreaterThanOrEqual(0.06);
  });

  it('an earlier timer added while a later one is pending still runs on time', async () => {
    quietChannel();
    const t0 = now();
    const fired: number[] = [];
    callLater({ seconds: 5, map }, () => fired.push(99));
    const done = loopAsync({ map });
    await new Promise((r) => setTimeout(r, 10));
    callLater({ seconds: 0.03, map }, () => {
      fired.push(now() - t0);
      throw new ExitNow();
    });
    await expect(withDeadline(done, 3000, 'ExitNow from a timer')).rejects.toBeInstanceOf(ExitNow);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeLessThan(2);
  });

  it('resolves when the only pending timer is cancelled and the map is empty', async () => {
    const h = callLater({ seconds: 60, map }, () => {});
    const done = loopAsync({ map });
    setTimeout(() => h.cancel(), 10);
    await withDeadline(done, 3000, 'cancel of the last timer');
  });

  it('an error in a callback goes to the handler and the loop goes on', async () => {
    const seen: string[] = [];
    setTimerErrorHandler((err) => seen.push((err as Error).message), map);
    callLater({ seconds: 0, map }, () => {
      throw new Error('first');
    });
    callLater({ seconds: 0.02, map }, () => seen.push('second ran'));
    await withDeadline(loopAsync({ map }), 3000, 'timers with an error');
    expect(seen).toEqual(['first', 'second ran']);
  });
});
