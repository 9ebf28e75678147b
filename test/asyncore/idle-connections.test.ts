// Many idle connections and one busy one: an iteration must cost work for the busy one only.
// Python's asyncore asks every dispatcher readable() and writable() before every select/poll
// call, so each iteration costs two JavaScript calls per idle connection; here an idle
// dispatcher is not touched at all once its interest is known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EV } from '../../src/binding/native';
import { registerLibraryInterest, type SocketMap } from '../../src/engine/map-state';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import { closeAll, loop, loopAsync } from '../../src/asyncore/loop';
import { defaultBackend, resetStats, stats } from '../../src/binding/backends';
import { AF_INET, SOCK_STREAM, Socket } from '../../src/binding/socket';
import { pumpUntil } from '../helpers/asyncore';
import { fdLimit } from '../helpers/fds';
import { openReactor, waitReady, withDeadline, type Harness } from '../helpers/reactor';

const WANTED = 2000;
const limit = fdLimit();
// two fds per connection (the client Socket and the accepted one), and room for the rest
const IDLE = Math.max(0, Math.min(WANTED, Math.floor((limit - 300) / 2)));
const scale = IDLE === WANTED
  ? `${IDLE} idle connections`
  : `${IDLE} idle connections (only: ulimit -n is ${limit}, ${WANTED} need ${2 * WANTED + 300})`;

// Counting readable()/writable() calls without overriding them (an override would make the
// dispatcher "polled": asked every iteration, exactly as Python asks): the library's own
// functions are wrapped in place for this file, and the wrappers declared the library's.
const counts = { readable: 0, writable: 0, handlers: 0 };
const idle = new WeakSet<Dispatcher>();
const originalReadable = Dispatcher.prototype.readable;
const originalWritable = Dispatcher.prototype.writable;

class Idle extends Dispatcher {
  constructor(sock: Socket, map: SocketMap) {
    super(sock, map);
    idle.add(this);
  }
  override handleReadEvent(): void { counts.handlers++; super.handleReadEvent(); }
  override handleExptEvent(): void { counts.handlers++; super.handleExptEvent(); }
  override handleRead(): void { counts.handlers++; }
  override handleExpt(): void { counts.handlers++; }
  override handleClose(): void { counts.handlers++; this.close(); }
  override handleError(err?: unknown): void { counts.handlers++; super.handleError(err); }
}

class Busy extends DispatcherWithSend {
  echoes = 0;
  override handleRead(): void {
    const data = this.recv(4096);
    if (data.length === 0) return;
    this.send(data);
    this.echoes++;
  }
}

class Acceptor extends Dispatcher {
  readonly idle: Idle[] = [];
  busy: Busy | null = null;

  constructor(map: SocketMap) {
    super(null, map);
    this.createSocket(AF_INET);
    this.bind(['127.0.0.1', 0]);
    this.listen(1024);
  }

  override handleAccept(): void {
    for (let pair = this.accept(); pair !== null; pair = this.accept()) {
      if (this.idle.length < IDLE) this.idle.push(new Idle(pair[0], this._map));
      else this.busy = new Busy(pair[0], this._map);
    }
  }
}

describe.skipIf(IDLE < 100)(`${scale} and one busy one (${defaultBackend()})`, () => {
  const map: SocketMap = new Map();
  const clients: Socket[] = [];
  let server: Acceptor;
  let busyClient: Socket;
  let h: Harness;

  beforeAll(() => {
    Dispatcher.prototype.readable = function (this: Dispatcher): boolean {
      if (idle.has(this)) counts.readable++;
      return originalReadable.call(this);
    };
    Dispatcher.prototype.writable = function (this: Dispatcher): boolean {
      if (idle.has(this)) counts.writable++;
      return originalWritable.call(this);
    };
    registerLibraryInterest(Dispatcher.prototype, 'readable', 'writable');

    h = openReactor();
    server = new Acceptor(map);
    const address = (server.socket as Socket).getsockname();
    const connect = (): Socket => {
      const s = new Socket(AF_INET, SOCK_STREAM);
      clients.push(s);
      s.connectEx(address);
      return s;
    };
    // in steps smaller than the backlog: a full backlog drops SYNs (a one second retry)
    for (let done = 0; done < IDLE;) {
      const step = Math.min(256, IDLE - done);
      for (let i = 0; i < step; i++) connect();
      done += step;
      pumpUntil(map, () => server.idle.length === done, `${done} accepted`, { maxIterations: 2000, deadlineMs: 10_000 });
    }
    busyClient = connect();
    pumpUntil(map, () => server.busy !== null, 'the busy connection accepted');
    waitReady(h, busyClient.fileno(), EV.WRITE);
    expect(map.size).toBe(IDLE + 2);
  });

  afterAll(() => {
    Dispatcher.prototype.readable = originalReadable;
    Dispatcher.prototype.writable = originalWritable;
    closeAll(map);
    for (const s of clients) s.close();
    h?.close();
  });

  /** Reads the echo of `n` bytes from the busy client, waiting on the private reactor. */
  function readEcho(buf: Buffer, n: number): void {
    let got = 0;
    while (got < n) {
      const r = busyClient.tryRecvInto(buf, got, n - got);
      if (r === 0) throw new Error('the busy connection closed');
      if (r > 0) got += r;
      else waitReady(h, busyClient.fileno(), EV.READ);
    }
  }

  it('blocking loop(): 100 busy iterations touch no idle dispatcher, one event each', () => {
    const msg = Buffer.alloc(64, 'b');
    const buf = Buffer.alloc(64);
    // settle: everything registered
    loop(0, false, map, 2);
    Object.assign(counts, { readable: 0, writable: 0, handlers: 0 });
    resetStats();
    for (let i = 0; i < 100; i++) {
      busyClient.send(msg);
      loop(1, false, map, 1);
      readEcho(buf, msg.length);
    }
    const s = stats();
    expect(server.busy!.echoes).toBe(100);
    // Python: 2 * IDLE calls of readable()/writable() per iteration, 100 * 2 * IDLE in all.
    expect(counts).toEqual({ readable: 0, writable: 0, handlers: 0 });
    expect(s.waits).toBe(100);
    expect(s.events).toBeGreaterThanOrEqual(100);
    expect(s.events).toBeLessThanOrEqual(100 + 2);
    expect(s.interestSyscalls).toBeLessThanOrEqual(2);
  });

  it('loopAsync(): 100 busy round trips touch no idle dispatcher, about one event each', async () => {
    const msg = Buffer.alloc(64, 'a');
    const buf = Buffer.alloc(64);
    const controller = new AbortController();
    Object.assign(counts, { readable: 0, writable: 0, handlers: 0 });
    const busy = server.busy!;
    const served = loopAsync({ map, signal: controller.signal });
    resetStats();
    try {
      for (let i = 0; i < 100; i++) {
        const before = busy.echoes;
        busyClient.send(msg);
        await withDeadline(new Promise<void>((resolve) => {
          const check = (): void => {
            if (busy.echoes > before) resolve();
            else setImmediate(check);
          };
          check();
        }), 2000, `round trip ${i}`);
        readEcho(buf, msg.length);
      }
    } finally {
      controller.abort();
    }
    await withDeadline(served, 2000, 'loopAsync resolves on abort');
    const s = stats();
    expect(counts).toEqual({ readable: 0, writable: 0, handlers: 0 });
    expect(s.events).toBeGreaterThanOrEqual(100);
    expect(s.events).toBeLessThanOrEqual(100 + 2);
    expect(s.crossings).toBeLessThanOrEqual(100 + 2);
    expect(s.interestSyscalls).toBeLessThanOrEqual(2);
  });
});
