// loopAsync(): the map served from Node's own event loop. The same scenario gives the same
// callbacks in the same order as the blocking loop(); timers and Node's own sockets keep
// working beside it; the promise settles when the map empties, on ExitNow, or on abort.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import type { SocketMap } from '../../src/engine/map-state';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import { closeAll, loop, loopAsync } from '../../src/asyncore/loop';
import { ExitNow } from '../../src/errors';
import { backends, defaultBackend } from '../../src/binding/backends';
import { AF_INET, AF_UNIX, Socket, socketpair, type Address } from '../../src/binding/socket';
import { cleanupPaths, unixPath } from '../helpers/asyncore';
import { withDeadline } from '../helpers/reactor';

let map: SocketMap;
const opened: Socket[] = [];

beforeEach(() => {
  map = new Map();
});

afterEach(() => {
  closeAll(map, true);
  for (const s of opened.splice(0)) s.close();
  cleanupPaths();
});

class EchoHandler extends DispatcherWithSend {
  trace: string[] | null = null;
  onClose: (() => void) | null = null;

  override handleRead(): void {
    const data = this.recv(1024);
    if (data.length === 0) return;
    this.trace?.push(`echo read ${JSON.stringify(data.toString())}`);
    this.send(data);
  }

  override handleClose(): void {
    this.trace?.push('echo close');
    this.close();
    this.onClose?.();
  }
}

class EchoServer extends Dispatcher {
  readonly handlers: EchoHandler[] = [];

  /** Close the server once its first connection is gone (the map then empties). */
  stopAfterOne = false;

  constructor(family: number, addr: Address, m: SocketMap, private readonly trace: string[] | null = null) {
    super(null, m);
    this.createSocket(family);
    this.setReuseAddr();
    this.bind(addr);
    this.listen(16);
  }

  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket): void {
    this.trace?.push('server accepted');
    const h = new EchoHandler(sock, this._map);
    h.trace = this.trace;
    if (this.stopAfterOne) h.onClose = () => this.close();
    this.handlers.push(h);
  }
}

/**
 * The echo scenario, on a Unix socket (whose connect and sends are synchronous, so every run
 * sees the same readiness): the client sends a line, waits for its echo, sends the next; after
 * the last it closes, the handler sees the end of stream and closes, and so does the server.
 */
function echoScenario(m: SocketMap, trace: string[]): void {
  const lines = ['one\n', 'two\n', 'three\n'];
  const server = new EchoServer(AF_UNIX, unixPath('echo'), m, trace);
  server.stopAfterOne = true;
  class Client extends DispatcherWithSend {
    private got = '';
    override handleConnect(): void {
      trace.push('client connect');
    }
    override handleRead(): void {
      const data = this.recv(1024).toString();
      if (data === '') return;
      trace.push(`client read ${JSON.stringify(data)}`);
      this.got += data;
      if (!this.got.endsWith('\n')) return;
      this.got = '';
      const next = lines.shift();
      if (next !== undefined) {
        this.send(next);
      } else {
        trace.push('client close');
        this.close();
      }
    }
    override handleClose(): void {
      trace.push('client handleClose');
      this.close();
    }
  }
  const client = new Client(null, m);
  client.createSocket(AF_UNIX);
  client.connect(server.address);
  client.send(lines.shift()!);
}

const EXPECTED_TRACE = [
  'client connect',
  'server accepted',
  'echo read "one\\n"',
  'client read "one\\n"',
  'echo read "two\\n"',
  'client read "two\\n"',
  'echo read "three\\n"',
  'client read "three\\n"',
  'client close',
  'echo close',
];

describe(`loopAsync (${defaultBackend()})`, () => {
  it('the echo scenario gives the same callbacks in the same order as loop()', async () => {
    const blocking: string[] = [];
    echoScenario(map, blocking);
    loop(1, false, map, 100);
    expect(map.size).toBe(0);

    const attached: string[] = [];
    const m2: SocketMap = new Map();
    try {
      echoScenario(m2, attached);
      await withDeadline(loopAsync({ map: m2 }), 5000, 'loopAsync until the map empties');
      expect(m2.size).toBe(0);
    } finally {
      closeAll(m2, true);
    }
    expect(blocking).toEqual(EXPECTED_TRACE);
    expect(attached).toEqual(blocking);
  });

  it('timers keep firing and a net client in the same process talks to the server', async () => {
    const server = new EchoServer(AF_INET, ['127.0.0.1', 0], map);
    const [, port] = server.address as [string, number];
    const controller = new AbortController();
    const served = loopAsync({ map, signal: controller.signal });

    let ticks = 0;
    let ticksDuringTalk = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const client = net.connect(port, '127.0.0.1');
      client.setNoDelay(true);
      client.setEncoding('utf8');
      await withDeadline(once(client, 'connect'), 2000, 'net client connect');
      const startTicks = ticks;
      let received = '';
      let arrived: (() => void) | null = null;
      client.on('data', (chunk: string) => {
        received += chunk;
        arrived?.();
      });
      for (let i = 0; i < 20; i++) {
        const line = `message ${i}\n`;
        const want = received.length + line.length;
        client.write(line);
        await withDeadline(new Promise<void>((resolve) => {
          arrived = () => {
            if (received.length >= want) resolve();
          };
          arrived();
        }), 2000, `echo of ${line.trim()}`);
        // let a timer tick in between some of the round trips
        if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      ticksDuringTalk = ticks - startTicks;
      expect(received).toBe(Array.from({ length: 20 }, (_, i) => `message ${i}\n`).join(''));
      client.end();
      await withDeadline(once(client, 'close'), 2000, 'net client close');
      // the handler saw the end of stream and closed; the server is still in the map
      await withDeadline(new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (server.handlers.length === 1 && map.size === 1) {
            clearInterval(check);
            resolve();
          }
        }, 1);
      }), 2000, 'the handler closed');
    } finally {
      clearInterval(timer);
      controller.abort();
    }
    await withDeadline(served, 2000, 'loopAsync resolves on abort');
    expect(ticksDuringTalk).toBeGreaterThan(0);
    expect(map.get((server.socket as Socket).fileno())).toBe(server);
  });

  it('resolves at once for an empty map, and when the map empties', async () => {
    await withDeadline(loopAsync({ map }), 1000, 'empty map');
    const [a, b] = socketpair();
    opened.push(b);
    class Closer extends Dispatcher {
      override handleRead(): void {
        this.recv(16);
        this.close();
      }
    }
    new Closer(a, map);
    const served = loopAsync({ map });
    setTimeout(() => b.send('bye'), 1);
    await withDeadline(served, 2000, 'loopAsync resolves when the map empties');
    expect(map.size).toBe(0);
  });

  it('rejects with ExitNow raised in a handler', async () => {
    const [a, b] = socketpair();
    opened.push(b);
    class Quitter extends Dispatcher {
      override handleRead(): void {
        throw new ExitNow('stop serving');
      }
      override handleError(): void {
        throw new Error('ExitNow must not reach handleError');
      }
    }
    const d = new Quitter(a, map);
    const served = loopAsync({ map });
    b.send('x');
    const err = await withDeadline(served.then(() => null, (e: unknown) => e), 2000, 'loopAsync rejects');
    expect(err).toBeInstanceOf(ExitNow);
    expect((err as Error).message).toBe('stop serving');
    // the dispatcher is still in the map, and the map can be served again
    expect(map.get(a.fileno())).toBe(d);
    d.handleRead = function (this: Dispatcher): void {
      this.recv(16);
      this.close();
    };
    loop(1, false, map, 10);
    expect(map.size).toBe(0);
  });

  it('rejects with an error that escapes handleError', async () => {
    const [a, b] = socketpair();
    opened.push(b);
    class Broken extends Dispatcher {
      override handleRead(): void {
        throw new Error('in handleRead');
      }
      override handleError(err?: unknown): void {
        throw new Error(`handleError failed too (${(err as Error).message})`);
      }
    }
    new Broken(a, map);
    const served = loopAsync({ map });
    b.send('x');
    await expect(withDeadline(served, 2000, 'loopAsync rejects')).rejects.toThrow('handleError failed too (in handleRead)');
  });

  it('resolves when the AbortSignal aborts, leaving the dispatchers in the map', async () => {
    const [a, b] = socketpair();
    opened.push(b);
    const d = new Dispatcher(a, map);
    const controller = new AbortController();
    const served = loopAsync({ map, signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await withDeadline(served, 2000, 'loopAsync resolves on abort');
    expect(map.get(a.fileno())).toBe(d);
    // an already aborted signal resolves at once
    await withDeadline(loopAsync({ map, signal: AbortSignal.abort() }), 1000, 'pre-aborted signal');
    expect(map.size).toBe(1);
  });

  it('a second loopAsync on the same map rejects with ERR_ASYNCHAT_LOOP_RUNNING; the first goes on', async () => {
    const [a, b] = socketpair();
    opened.push(b);
    const reads: string[] = [];
    class Reader extends Dispatcher {
      override handleRead(): void {
        const data = this.recv(64).toString();
        if (data !== '') reads.push(data);
      }
    }
    new Reader(a, map);
    const controller = new AbortController();
    const first = loopAsync({ map, signal: controller.signal });
    try {
      await expect(loopAsync({ map })).rejects.toMatchObject({ code: 'ERR_ASYNCHAT_LOOP_RUNNING' });
      const other = backends().find((x) => x !== defaultBackend() && x !== 'kqueue');
      if (other !== undefined) {
        await expect(loopAsync({ map, backend: other })).rejects.toMatchObject({ code: 'ERR_ASYNCHAT_LOOP_RUNNING' });
      }
      // the first is still serving the map
      b.send('still served');
      await withDeadline(new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (reads.join('') === 'still served') {
            clearInterval(check);
            resolve();
          }
        }, 1);
      }), 2000, 'the first loopAsync delivers the read');
    } finally {
      controller.abort();
    }
    await withDeadline(first, 2000, 'the first loopAsync resolves on abort');
  });
});
