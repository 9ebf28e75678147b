// Idle and connect timeouts over real sockets, in both run modes: a client that sends half a
// request and stalls is closed once idleTimeout passes, while a client that keeps talking is
// not (every event re-arms it); a connect that cannot complete fails with ETIMEDOUT.
import { beforeEach, describe, expect, it } from 'vitest';
import type { SocketMap } from '../../src/engine/map-state';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import { loop, loopAsync } from '../../src/asyncore/loop';
import { callLater, now } from '../../src/asyncore/timers';
import { ExitNow, type SystemError } from '../../src/errors';
import { AF_INET, Socket, type Address } from '../../src/binding/socket';
import { LoopbackListener, captureOutput, mapPerTest } from '../helpers/asyncore';
import { withDeadline } from '../helpers/reactor';

// A private map per test; it and the sockets in `opened` are closed after each test.
const fixture = mapPerTest();
const opened = fixture.opened;
let map: SocketMap;
beforeEach(() => {
  map = fixture.map;
});

const IDLE = 0.3;

class Echo extends DispatcherWithSend {
  timeouts = 0;
  override handleRead(): void {
    const data = this.recv(4096);
    if (data.length > 0) this.send(data);
  }
  override handleTimeout(): void {
    this.timeouts++;
    super.handleTimeout();
  }
}

class Server extends LoopbackListener {
  readonly handlers: Echo[] = [];
  override handleAccepted(sock: Socket): void {
    const h = new Echo(sock, this._map);
    h.idleTimeout = IDLE;
    this.handlers.push(h);
  }
}

class Client extends Dispatcher {
  closedAt = -1;
  received = 0;
  constructor(m: SocketMap, addr: Address, private readonly first: string, connectTimeout: number | null = null) {
    super(null, m);
    this.createSocket(AF_INET);
    this.connectTimeout = connectTimeout;
    this.connect(addr);
  }
  override handleConnect(): void {
    this.send(this.first);
  }
  override handleRead(): void {
    this.received += this.recv(4096).length;
  }
  override handleClose(): void {
    this.closedAt = now();
    this.close();
  }
}

type Mode = 'blocking' | 'attached';

/** Runs the map until `seconds` from now (ExitNow from a timer ends either mode). */
async function runFor(mode: Mode, seconds: number): Promise<void> {
  callLater({ seconds, map }, () => {
    throw new ExitNow('done');
  });
  if (mode === 'blocking') {
    expect(() => loop({ timeout: 30, map })).toThrow(ExitNow);
  } else {
    await expect(withDeadline(loopAsync({ map }), 10_000, 'the timed run')).rejects.toBeInstanceOf(ExitNow);
  }
}

describe.each<Mode>(['blocking', 'attached'])('idle timeout, %s mode', (mode) => {
  it('closes a stalled client after idleTimeout, and keeps one that talks', async () => {
    const server = new Server(map);
    const t0 = now();
    const stalled = new Client(map, server.address, 'GET half a req');
    const talker = new Client(map, server.address, 'x');
    // The talker sends a byte every IDLE/3 s: each read (and write) re-arms its server side.
    const chatter = (): void => {
      if (talker.closed) return;
      talker.send('y');
      callLater({ seconds: IDLE / 3, map }, chatter);
    };
    callLater({ seconds: IDLE / 3, map }, chatter);
    await runFor(mode, IDLE * 3);
    expect(stalled.closedAt).toBeGreaterThan(0);
    const after = stalled.closedAt - t0;
    expect(after).toBeGreaterThanOrEqual(IDLE);
    expect(after).toBeLessThan(IDLE + 1.5);
    expect(talker.closedAt).toBe(-1);
    expect(talker.received).toBeGreaterThan(3);
    expect(server.handlers.map((h) => h.timeouts).sort()).toEqual([0, 1]);
  });

  it('a handleTimeout that keeps the channel open starts a new idle period', async () => {
    const server = new Server(map);
    const times: number[] = [];
    const t0 = now();
    server.handleAccepted = function (sock: Socket) {
      const h = new Echo(sock, map);
      h.handleTimeout = () => times.push(now() - t0);
      h.idleTimeout = 0.1;
      this.handlers.push(h);
    };
    const client = new Client(map, server.address, 'hello');
    await runFor(mode, 0.45);
    expect(client.closedAt).toBe(-1);
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBeLessThanOrEqual(4);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(0.099);
  });

  it('completed writes re-arm it: a client that only reads, sent to from a timer, stays open', async () => {
    const server = new Server(map);
    const listener = new Client(map, server.address, 'hello');
    const feed = (): void => {
      const h = server.handlers[0];
      if (h !== undefined && !h.closed) h.send('tick');
      callLater({ seconds: IDLE / 3, map }, feed);
    };
    callLater({ seconds: IDLE / 3, map }, feed);
    await runFor(mode, IDLE * 2.5);
    expect(listener.closedAt).toBe(-1);
    expect(server.handlers[0].timeouts).toBe(0);
    expect(listener.received).toBeGreaterThan(5 + 4 * 4);
  });

  it('idleTimeout = null disarms it', async () => {
    const server = new Server(map);
    server.handleAccepted = function (sock: Socket) {
      const h = new Echo(sock, map);
      h.idleTimeout = 0.05;
      h.idleTimeout = null;
      this.handlers.push(h);
    };
    const client = new Client(map, server.address, 'hello');
    await runFor(mode, 0.3);
    expect(client.closedAt).toBe(-1);
    expect(server.handlers[0].timeouts).toBe(0);
  });
});

describe.each<Mode>(['blocking', 'attached'])('connect timeout, %s mode', (mode) => {
  it('a connect that cannot complete fails with ETIMEDOUT through handleError', async () => {
    // A listener whose accept queue is full: the kernel drops the next SYN, so the connect hangs.
    const full = new Socket(AF_INET);
    opened.push(full);
    full.bind(['127.0.0.1', 0]);
    full.listen(0);
    const addr = full.getsockname();
    for (let i = 0; i < 2; i++) {
      const filler = new Socket(AF_INET);
      opened.push(filler);
      filler.setBlocking(false);
      filler.connectEx(addr);
    }
    const errors: SystemError[] = [];
    const client = new Dispatcher(null, map);
    client.createSocket(AF_INET);
    client.connectTimeout = 0.2;
    client.handleConnect = () => errors.push(Object.assign(new Error('connected'), { code: 'CONNECTED' }) as SystemError);
    const guard = callLater({ seconds: 3, map }, () => {
      throw new ExitNow('too late');
    });
    client.handleError = (err) => {
      errors.push(err as SystemError);
      client.close();
      guard.cancel();
    };
    const t0 = now();
    client.connect(addr);
    if (mode === 'blocking') loop({ timeout: 30, map, count: 1000 });
    else await withDeadline(loopAsync({ map }).catch(() => {}), 5000, 'connect timeout');
    const elapsed = now() - t0;
    expect(errors.map((e) => [e.code, e.syscall])).toEqual([['ETIMEDOUT', 'connect']]);
    expect(elapsed).toBeGreaterThanOrEqual(0.2);
    expect(elapsed).toBeLessThan(2);
    expect(client.closed).toBe(true);
  });

  it('a completed connect cancels the timer', async () => {
    const server = new Server(map);
    const ok = new Client(map, server.address, 'hi', 0.05);
    await runFor(mode, 0.25);
    expect(ok.closedAt).toBe(-1);
    expect(ok.connected).toBe(true);
    expect(server.handlers).toHaveLength(1);
  });

  it('rejects a negative or non-numeric timeout', () => {
    const d = new Dispatcher(null, map);
    expect(() => { d.idleTimeout = -1; }).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_TIMEOUT' }));
    expect(() => { d.idleTimeout = 'x' as unknown as number; }).toThrow(TypeError);
    captureOutput(() => d.close());
  });
});
