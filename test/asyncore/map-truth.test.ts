// The map is the truth, as in Python (poll() reads map.items() at every call): an entry
// replaced or deleted by hand takes effect at the next iteration, in both run modes, without
// the engine comparing the whole map with what it knows at every iteration.
import { beforeEach, describe, expect, it } from 'vitest';
import { stateOf, type SocketMap } from '../../src/engine/map-state';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { loop, loopAsync } from '../../src/asyncore/loop';
import { callLater } from '../../src/asyncore/timers';
import { ExitNow } from '../../src/errors';
import { Socket, socketpair } from '../../src/binding/socket';
import { pumpUntil, mapPerTest } from '../helpers/asyncore';
import { withDeadline } from '../helpers/reactor';

// A private map per test; it and the sockets in `opened` are closed after each test.
const fixture = mapPerTest();
const opened = fixture.opened;
let map: SocketMap;
beforeEach(() => {
  map = fixture.map;
});

class Reader extends Dispatcher {
  readonly got: string[] = [];
  constructor(sock: Socket | null, m: SocketMap, readonly label: string) {
    super(sock, m);
  }
  override handleRead(): void {
    const data = this.recv(100);
    if (data.length > 0) this.got.push(data.toString());
  }
  override handleClose(): void {
    this.close();
  }
}

describe.each(['blocking', 'attached'] as const)('%s mode', (mode) => {
  it('map.set(fd, other) on a live fd sends the next events to other', async () => {
    const [a, b] = socketpair();
    const [c, d] = socketpair();
    opened.push(b, d);
    new Reader(c, map, 'keeps the map from emptying');
    const first = new Reader(a, map, 'first');
    b.send('one');
    const drive = async (done: () => boolean, what: string): Promise<void> => {
      if (mode === 'blocking') {
        pumpUntil(map, done, what);
        return;
      }
      const check = (): void => {
        if (done()) throw new ExitNow();
        callLater({ seconds: 0.005, map }, check);
      };
      callLater({ seconds: 0, map }, check);
      await expect(withDeadline(loopAsync({ map }), 3000, what)).rejects.toBeInstanceOf(ExitNow);
    };
    await drive(() => first.got.length === 1, 'first reads "one"');
    // The replacement shares the fd (Python's idiom: a new object for the same socket).
    const second = new Reader(null, map, 'second');
    second.socket = first.socket;
    second.connected = true;
    second._fileno = a.fileno();
    map.set(a.fileno(), second);
    b.send('two');
    await drive(() => second.got.length === 1, 'second reads "two"');
    expect(first.got).toEqual(['one']);
    expect(second.got).toEqual(['two']);

    // Deleted by hand: no more events for anyone, the fd stays open.
    map.delete(a.fileno());
    b.send('three');
    let ticks = 0;
    await drive(() => ++ticks > 5, 'a few iterations with the entry gone');
    expect(second.got).toEqual(['two']);
    expect(a.fileno()).toBeGreaterThanOrEqual(0);
    // Put back: the data that waited is read.
    map.set(a.fileno(), first);
    await drive(() => first.got.length === 2, 'first reads "three" once back in the map');
    expect(first.got).toEqual(['one', 'three']);
    a.close();
  });
});

it('a map filled before the engine saw it is taken whole, later changes one fd at a time', () => {
  const [a, b] = socketpair();
  opened.push(a, b);
  const r = new Reader(null, map, 'pre');
  r.socket = a;
  r.connected = true;
  r._fileno = a.fileno();
  // Straight into a Map the engine has not seen (no Dispatcher.addChannel).
  Map.prototype.set.call(map, a.fileno(), r);
  b.send('x');
  loop({ timeout: 1, map, count: 1 });
  expect(r.got).toEqual(['x']);
  const state = stateOf(map);
  // Observed changes are recorded per fd: unrelated iterations look at nothing.
  const spy = { gets: 0 };
  const get = map.get.bind(map);
  map.get = (fd: number) => {
    spy.gets++;
    return get(fd);
  };
  for (let i = 0; i < 10; i++) state.resync();
  expect(spy.gets).toBe(0);
  map.set(a.fileno(), r);
  state.resync();
  expect(spy.gets).toBe(1);
  map.delete(a.fileno());
});
