// The known flaws of Python's asyncore that this project fixes (spec: "Known flaws of the
// Python modules"), one test each. Every test states what Python 3.11 does in the same
// scenario (checked by running it), which is what the test would see if the flaw were back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EV, native } from '../../src/binding/native';
import type { SocketMap } from '../../src/engine/map-state';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import { closeAll, loop } from '../../src/asyncore/loop';
import { defaultBackend, resetStats, stats } from '../../src/binding/backends';
import { AF_INET, AF_UNIX, MSG_OOB, SOCK_STREAM, Socket, pipe, socketpair } from '../../src/binding/socket';
import { pumpUntil } from '../helpers/asyncore';
import { fdLimit } from '../helpers/fds';
import { openReactor, waitReady, type Harness } from '../helpers/reactor';

let map: SocketMap;
const opened: Socket[] = [];
const openedFds: number[] = [];

function track<T extends Socket>(s: T): T {
  opened.push(s);
  return s;
}

beforeEach(() => {
  map = new Map();
});

afterEach(() => {
  closeAll(map, true);
  for (const s of opened.splice(0)) s.close();
  for (const fd of openedFds.splice(0)) native.close(fd);
});

/** A connected TCP pair on loopback: [client, server side]. */
function tcpPair(h: Harness): [Socket, Socket] {
  const server = new Socket(AF_INET, SOCK_STREAM);
  try {
    server.bind(['127.0.0.1', 0]);
    server.listen(1);
    const client = track(new Socket(AF_INET, SOCK_STREAM));
    if (client.connectEx(server.getsockname()) !== 0) waitReady(h, client.fileno(), EV.WRITE);
    waitReady(h, server.fileno(), EV.READ);
    return [client, track(server.accept()[0])];
  } finally {
    server.close();
  }
}

/** Waits (on a private reactor) until fd reports every bit of `bits`; returns what it saw. */
function readyWith(h: Harness, fd: number, bits: number): number {
  h.reactor.setInterest(fd, EV.READ | EV.WRITE | EV.PRI);
  try {
    for (let i = 0; i < 100; i++) {
      const n = h.reactor.wait(20);
      for (let j = 0; j < n; j++) {
        if (h.events[2 * j] === fd && (h.events[2 * j + 1] & bits) === bits) return h.events[2 * j + 1];
      }
    }
    throw new Error(`fd ${fd} never reported bits ${bits}`);
  } finally {
    h.reactor.remove(fd);
  }
}

/**
 * Opens sockets until the next one would get `target` (which must be free): then a socket
 * made next takes that fd number. The fillers are closed after the test.
 */
function makeNextFd(target: number): void {
  for (let i = 0; i < 1024; i++) {
    const s = new Socket(AF_UNIX, SOCK_STREAM);
    if (s.fileno() === target) {
      s.close();
      return;
    }
    track(s);
    if (s.fileno() > target) throw new Error(`fd ${target} is not free`);
  }
  throw new Error(`could not reach fd ${target}`);
}

describe('flaw 5: handleClose at most once, and no callback after close()', () => {
  it('handleClose runs once when end of stream on read and HUP come in the same event, and the hang-up then closes', () => {
    const h = openReactor();
    try {
      const [a, b] = socketpair();
      track(b);
      const calls: string[] = [];
      class D extends Dispatcher {
        override handleRead(): void {
          calls.push(`read ${this.recv(100).length}`);
        }
        override handleClose(): void {
          calls.push('close');  // and stays open: the next event must not bring another
        }
      }
      const d = new D(a, map);
      b.close();
      expect(readyWith(h, a.fileno(), EV.READ | EV.HUP) & (EV.READ | EV.HUP)).toBe(EV.READ | EV.HUP);

      loop(0.01, false, map, 3);
      // Python 3.11 (poll): ['close', 'read 0', 'close'] in the first iteration alone, and two
      // more closes per iteration after it, forever. Here handleClose runs once; the hang-up in
      // the same event says the peer is entirely gone (nothing can be read or written any
      // more), so the channel handleClose kept open is closed rather than left to spin.
      expect(calls).toEqual(['close', 'read 0']);
      expect(d.closed).toBe(true);
      expect(map.has(a.fileno())).toBe(false);
    } finally {
      h.close();
    }
  });

  // kqueue reports no out-of-band data (native/poller_kqueue.cc): there, WRITE alone is pending.
  const pri = defaultBackend() === 'kqueue' ? 0 : EV.PRI;
  it(`close() inside handleRead: the pending WRITE${pri ? ' and PRI' : ''} of the same event are not delivered`, () => {
    const h = openReactor();
    try {
      const [client, peer] = tcpPair(h);
      peer.send('x');
      peer.send(Buffer.from('!'), MSG_OOB);
      readyWith(h, client.fileno(), EV.READ | EV.WRITE | pri);

      const trace: string[] = [];
      class D extends Dispatcher {
        override handleRead(): void {
          trace.push('read');
          this.close();
        }
        override handleWrite(): void { trace.push('write'); }
        override handleExpt(): void { trace.push('expt'); }
        override handleClose(): void { trace.push('close'); }
        override handleError(err?: unknown): void { trace.push(`error ${String(err)}`); }
      }
      new D(client, map);
      opened.splice(opened.indexOf(client), 1);  // the dispatcher owns it now
      loop(0.01, false, map, 1);
      // Python 3.11 (poll): ['read', 'write', 'close'] (the write handler, then SO_ERROR on the
      // closed socket fails with EBADF, which becomes handle_close).
      expect(trace).toEqual(['read']);
      expect(map.size).toBe(0);
    } finally {
      h.close();
    }
  });

  it('close() inside handleRead: a HUP in the same event does not call handleClose', () => {
    const h = openReactor();
    try {
      const [a, b] = socketpair();
      b.send('last words');
      b.close();
      readyWith(h, a.fileno(), EV.READ | EV.HUP);
      const trace: string[] = [];
      class D extends Dispatcher {
        override handleRead(): void {
          trace.push(`read ${this.recv(100).toString()}`);
          this.close();
        }
        override handleWrite(): void { trace.push('write'); }
        override handleClose(): void { trace.push('close'); }
      }
      new D(a, map);
      loop(0.01, false, map, 1);
      expect(trace).toEqual(['read last words']);  // Python: [..., 'write', 'close']
    } finally {
      h.close();
    }
  });
});

describe('flaw 6: no event reaches a closed or replaced dispatcher (bpo-30931)', () => {
  /**
   * Two connected dispatchers with data waiting, so both are in the same batch. Whichever is
   * dispatched first runs `act(other)`; returns the trace and which one went first.
   */
  function sameBatch(act: (self: Dispatcher, other: Dispatcher) => void): { trace: string[]; first: string } {
    const trace: string[] = [];
    let first = '';
    class R extends Dispatcher {
      name = '';
      other: R | null = null;
      override handleRead(): void {
        trace.push(`${this.name} read`);
        this.recv(16);
        if (first === '') {
          first = this.name;
          act(this, this.other!);
        }
      }
      override handleAccept(): void { trace.push(`${this.name} accept`); }
      override handleConnect(): void { trace.push(`${this.name} connect`); }
      override handleClose(): void {
        trace.push(`${this.name} close`);
        this.close();
      }
    }
    const [a1, a2] = socketpair();
    const [b1, b2] = socketpair();
    track(a2);
    track(b2);
    const A = new R(a1, map);
    const B = new R(b1, map);
    A.name = 'A';
    B.name = 'B';
    A.other = B;
    B.other = A;
    a2.send('a');
    b2.send('b');
    loop(0.01, false, map, 1);
    return { trace, first };
  }

  it('an event for a dispatcher closed earlier in the same batch is dropped', () => {
    const { trace, first } = sameBatch((_self, other) => other.close());
    // (Python's poll loop looks each fd up in the map again, so it drops this one too.)
    expect(trace).toEqual([`${first} read`]);
  });

  it('... also when that dispatcher re-opens a socket under the same fd number in the batch', () => {
    let reused = false;
    const { trace, first } = sameBatch((_self, other) => {
      const old = other._fileno!;
      other.close();
      makeNextFd(old);
      other.createSocket(AF_INET);
      other.bind(['127.0.0.1', 0]);
      other.listen(5);
      reused = other._fileno === old;
    });
    expect(reused).toBe(true);
    // Python 3.11 (poll): [first read, other accept]: the new listening socket is handed the
    // read event of the closed one, and handle_accept runs with nothing to accept.
    expect(trace).toEqual([`${first} read`]);
    // and it is a normal listener afterwards: no spurious event in later iterations
    loop(0.01, false, map, 2);
    expect(trace).toEqual([`${first} read`]);
  });

  it('a new dispatcher that takes the fd number of one closed in the same batch does not get its event', () => {
    let C: Dispatcher | null = null;
    const cTrace: string[] = [];
    const { trace, first } = sameBatch((_self, other) => {
      const old = other._fileno!;
      other.close();
      makeNextFd(old);
      class Listener extends Dispatcher {
        override handleAccept(): void { cTrace.push('C accept'); }
        override handleRead(): void { cTrace.push('C read'); }
      }
      C = new Listener(null, map);
      C.createSocket(AF_INET);
      C.bind(['127.0.0.1', 0]);
      C.listen(5);
      expect(C._fileno).toBe(old);
    });
    expect(C).not.toBe(null);
    // Python 3.11 (poll): C's handle_accept runs for the closed dispatcher's event (bpo-30931).
    expect(trace).toEqual([`${first} read`]);
    expect(cTrace).toEqual([]);
    loop(0.01, false, map, 2);
    expect(cTrace).toEqual([]);
  });
});

describe('flaw 7: no FD_SETSIZE limit', () => {
  const HIGH = 1100;
  const limit = fdLimit();
  const enough = limit >= HIGH + 100;
  const title = enough
    ? `a dispatcher whose fd is above 1024 (FD_SETSIZE) works`
    : `a dispatcher whose fd is above 1024 (skipped: ulimit -n is ${limit}, ${HIGH + 100} needed)`;

  it.skipIf(!enough)(title, () => {
    // Fill every fd number up to HIGH with duplicates of one pipe end.
    const [r, w] = pipe();
    openedFds.push(r, w);
    for (let fd = native.dup(r); ; fd = native.dup(r)) {
      openedFds.push(fd);
      if (fd >= HIGH) break;
    }
    const [a, b] = socketpair();
    track(b);
    expect(a.fileno()).toBeGreaterThan(1024);

    class Echo extends DispatcherWithSend {
      override handleRead(): void {
        const data = this.recv(4096);
        if (data.length > 0) this.send(data);
      }
    }
    new Echo(a, map);
    const got: Buffer[] = [];
    const buf = Buffer.alloc(4096);
    b.send('ping above FD_SETSIZE');
    // Python 3.11 (select, the default): ValueError: filedescriptor out of range in select()
    pumpUntil(map, () => {
      const n = b.tryRecvInto(buf);
      if (n > 0) got.push(Buffer.from(buf.subarray(0, n)));
      return Buffer.concat(got).toString() === 'ping above FD_SETSIZE';
    }, 'the echo from the high fd');
    b.close();
    pumpUntil(map, () => map.size === 0, 'the high-fd dispatcher saw the end of stream and closed');
  });
});

describe('flaw 2: linear output', () => {
  it('DispatcherWithSend: 8 MiB in 1 KiB sends to a slow-then-fast reader; the queued part costs few writes', () => {
    const TOTAL = 8 << 20;
    const CHUNK = 1024;
    const h = openReactor();
    try {
      const [client, peer] = tcpPair(h);
      class Sender extends DispatcherWithSend {
        override readable(): boolean { return false; }
      }
      const d = new Sender(client, map);
      opened.splice(opened.indexOf(client), 1);

      resetStats();
      const chunk = Buffer.alloc(CHUNK);
      let direct = 0;  // sends that went out at once, whole: one write each, as in Python
      for (let i = 0; i < TOTAL / CHUNK; i++) {
        chunk.fill(i & 0xff);
        d.send(chunk);
        if (d.outputBuffered === 0) direct++;
      }
      const queuedBytes = TOTAL - direct * CHUNK;
      const afterSends = stats().writes;
      // Once the socket is full, send() only queues: Python makes one send syscall per call
      // (EWOULDBLOCK), i.e. afterSends would be TOTAL / CHUNK = 8192.
      expect(afterSends).toBeLessThanOrEqual(direct + 1);

      const buf = Buffer.alloc(1 << 20);
      const received: Buffer[] = [];
      let got = 0;
      const take = (max: number): void => {
        while (max > 0) {
          const n = peer.tryRecvInto(buf, 0, Math.min(max, buf.length));
          if (n <= 0) return;
          received.push(Buffer.from(buf.subarray(0, n)));
          got += n;
          max -= n;
        }
      };
      // slowly: 1 KiB per iteration
      for (let i = 0; i < 16; i++) {
        loop(0, false, map, 1);
        take(1024);
      }
      // then fast: everything there is, every iteration
      let iterations = 0;
      while (got < TOTAL) {
        if (++iterations > 2000) throw new Error(`stuck after ${got} bytes`);
        loop(0.01, false, map, 1);
        take(Infinity);
      }
      const s = stats();
      const queuedWrites = s.writes - direct;
      // Each write event gathers what is queued into up to four 1 MiB writev calls; Python
      // sends one slice of at most 64 KiB per write event (and re-slices its whole buffer
      // each time, quadratic in bytes).
      expect(queuedWrites).toBeLessThanOrEqual(1 + 4 * s.events);
      expect(s.events).toBeLessThan(queuedBytes / (128 * 1024));
      expect(d.outputBuffered).toBe(0);

      const all = Buffer.concat(received);
      expect(all.length).toBe(TOTAL);
      for (let i = 0; i < TOTAL / CHUNK; i++) {
        if (all[i * CHUNK] !== (i & 0xff) || all[i * CHUNK + CHUNK - 1] !== (i & 0xff)) {
          throw new Error(`chunk ${i} out of order`);
        }
      }
    } finally {
      h.close();
    }
  });
});

describe('flaw 3: no busy loop', () => {
  it('an idle connected base Dispatcher does not spin the loop', () => {
    const [a, b] = socketpair();
    track(b);
    const d = new Dispatcher(a, map);
    expect(d.connected).toBe(true);
    expect(d.writable()).toBe(true);  // Python's default, unchanged
    loop(0, false, map, 1);
    resetStats();
    loop(0.01, false, map, 5);
    const s = stats();
    // Python 3.11: writable() is true, so every iteration reports the socket writable and
    // calls handle_write (an "unhandled write event" warning each time).
    expect(s.waits).toBe(5);
    expect(s.events).toBe(0);
    expect(s.interestSyscalls).toBe(0);
  });

  it('... while a dispatcher that handles writes still gets handleWrite every iteration, as in Python', () => {
    const [a, b] = socketpair();
    track(b);
    let writes = 0;
    class W extends Dispatcher {
      override handleWrite(): void { writes++; }
    }
    new W(a, map);
    loop(0.01, false, map, 5);
    expect(writes).toBe(5);
  });

  it('nothing to wait for: a dispatcher that is neither readable nor writable is not registered', () => {
    const [a, b] = socketpair();
    track(b);
    class Off extends Dispatcher {
      override readable(): boolean { return false; }
      override writable(): boolean { return false; }
    }
    new Off(a, map);
    b.send('ignored');
    loop(0, false, map, 1);
    resetStats();
    loop(0.005, false, map, 3);
    expect(stats().events).toBe(0);
  });
});
