import { afterEach, describe, expect, it } from 'vitest';
import { native, EV } from '../src/native';
import { defaultBackend } from '../src/reactor';
import { socketpair } from '../src/socket';

const backend = defaultBackend();

describe(`native reactor (${backend})`, () => {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) o.close();
  });

  it('reports readiness as (fd, bits) pairs in the shared array', () => {
    const events = new Int32Array(64);
    const reactor = new native.Reactor(backend, events);
    open.push(reactor);
    expect(reactor.name).toBe(backend);
    const [a, b] = socketpair();
    open.push(a, b);
    reactor.setInterest(a.fileno(), EV.READ);
    expect(reactor.wait(0)).toBe(0);
    b.send('x');
    expect(reactor.wait(1000)).toBe(1);
    expect(events[0]).toBe(a.fileno());
    expect(events[1] & EV.READ).toBe(EV.READ);
  });
});
