// Whether a channel is polled (its readable()/writable() asked before every wait) is decided when
// it joins a map and again whenever a predicate is assigned to it later, as Python code does
// (`d.readable = lambda: False`); the interest told to the reactor is cached with the reactor.
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import { closeAll, loop } from '../../src/asyncore/loop';
import type { SocketMap } from '../../src/engine/map-state';
import { socketpair, type Socket } from '../../src/binding/socket';
import { pumpUntil } from '../helpers/asyncore';

class Reader extends Dispatcher {
  reads = 0;
  override handleRead(): void {
    this.reads++;
    this.recv(64);
  }
  override handleClose(): void {
    this.close();
  }
}

const maps: SocketMap[] = [];
const peers: Socket[] = [];
afterEach(() => {
  for (const m of maps.splice(0)) closeAll(m);
  for (const p of peers.splice(0)) p.close();
});

function readerPair(): [Reader, Socket, SocketMap] {
  const map: SocketMap = new Map();
  maps.push(map);
  const [a, b] = socketpair();
  peers.push(b);
  return [new Reader(a, map), b, map];
}

describe('polled channels', () => {
  it('a readable() assigned to an idle library channel is asked from then on', () => {
    const [d, peer, map] = readerPair();
    loop(0, false, map, 1);  // joined, its interest told: not polled
    d.readable = () => false;
    peer.send(Buffer.from('x'));
    for (let i = 0; i < 5; i++) loop(0.01, false, map, 1);
    expect(d.reads).toBe(0);
    d.readable = () => true;
    pumpUntil(map, () => d.reads === 1, 'the byte is read once readable() says so');
  });

  it('a writable() assigned later on a DispatcherWithSend is asked too', () => {
    const map: SocketMap = new Map();
    maps.push(map);
    const [a, b] = socketpair();
    peers.push(b);
    let writes = 0;
    const d = new (class extends DispatcherWithSend {
      override handleWrite(): void {
        writes++;
        super.handleWrite();
      }
    })(a, map);
    loop(0, false, map, 1);
    expect(writes).toBe(0);  // nothing queued: not watched for writability
    d.writable = () => true;
    pumpUntil(map, () => writes > 0, 'a write event once writable() says so');
  });

  it('updateInterest() re-decides too, and a new reactor is told every interest afresh', () => {
    const [d, peer, map] = readerPair();
    loop(0, false, map, 1);
    Object.defineProperty(d, 'readable', { value: () => false, writable: true, configurable: true });  // not seen by the setter
    d.updateInterest();
    peer.send(Buffer.from('x'));
    for (let i = 0; i < 5; i++) loop(0.01, false, map, 1);
    expect(d.reads).toBe(0);
    // Another backend makes another reactor: the channel's interest reaches it without any reset.
    d.readable = () => true;
    loop({ timeout: 0.01, map, count: 1, backend: 'poll' });
    pumpUntil(map, () => d.reads === 1, 'read through the new reactor');
  });
});
