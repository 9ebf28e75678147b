// Attached mode: reactor.attach(onBatch) lets Node's own loop watch the reactor (one uv_poll_t
// on the epoll fd, or per-fd wake-up watchers for poll(2)), so native sockets and Node's own
// timers and `net` sockets are served by the same loop in the same process.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { native, EV, type NativeReactor } from '../../src/binding/native';
import { defaultBackend, resetStats, stats } from '../../src/binding/backends';
import { socketpair, pipe, type Socket } from '../../src/binding/socket';
import { AttachedEchoServer } from '../helpers/echo';
import { canListFds, leakedFds } from '../helpers/fds';
import { openReactor, waitFd, withDeadline } from '../helpers/reactor';

const backend = defaultBackend();

/** Ping-pongs `count` messages (at least) over a net client; resolves with the round trips. */
async function pingPong(
  port: number,
  keepGoing: (roundTrips: number) => boolean,
  onClient?: (c: net.Socket) => void,
): Promise<number> {
  const client = net.connect(port, '127.0.0.1');
  client.setNoDelay(true);
  client.setEncoding('utf8');
  onClient?.(client);
  await withDeadline(once(client, 'connect'), 2000, 'net client connect');
  let roundTrips = 0;
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      let expected = '';
      let got = '';
      const next = () => {
        expected = `message ${roundTrips} ${'x'.repeat(roundTrips % 50)}\n`;
        got = '';
        client.write(expected);
      };
      client.on('error', reject);
      client.on('data', (chunk: string) => {
        got += chunk;
        if (got.length < expected.length) return;
        if (got !== expected) return reject(new Error(`echo mismatch: ${JSON.stringify(got)} != ${JSON.stringify(expected)}`));
        roundTrips++;
        if (keepGoing(roundTrips)) next();
        else resolve();
      });
      next();
    }),
    5000,
    'echo round trips',
  );
  client.end();
  await withDeadline(once(client, 'close'), 2000, 'net client close');
  return roundTrips;
}

describe(`attached mode (${backend})`, () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0).reverse()) fn();
  });

  function echoServer(capacity?: number): AttachedEchoServer {
    const server = new AttachedEchoServer(backend, capacity);
    cleanup.push(() => server.close());
    return server;
  }

  it('serves a net client in the same process while a setInterval keeps firing', async () => {
    const server = echoServer();
    resetStats();
    let inFlight = false;
    let ticksDuring = 0;
    const interval = setInterval(() => {
      if (inFlight) ticksDuring++;
    }, 1);
    cleanup.push(() => clearInterval(interval));

    inFlight = true;
    const roundTrips = await pingPong(server.port, (n) => n < 20 || ticksDuring < 5);
    inFlight = false;

    expect(roundTrips).toBeGreaterThanOrEqual(20);
    expect(ticksDuring).toBeGreaterThanOrEqual(5); // the loop was never blocked by the reactor
    expect(server.accepted).toBe(1);
    expect(server.echoed).toBeGreaterThan(0);
    expect(server.batches).toBeGreaterThan(0);
    expect(server.batches).toBeLessThanOrEqual(server.eventCount);
    const s = stats();
    expect(s.wakeups).toBeGreaterThan(0);
    expect(s.crossings).toBe(server.batches);
    expect(s.events).toBe(server.eventCount);
  });

  it('serves several clients at once', async () => {
    const server = echoServer();
    const results = await Promise.all([0, 1, 2, 3, 4].map(() => pingPong(server.port, (n) => n < 10)));
    expect(results).toEqual([10, 10, 10, 10, 10]);
    expect(server.accepted).toBe(5);
    expect(server.batches).toBeLessThanOrEqual(server.eventCount);
  });

  it('drains many ready fds in few batches (one crossing per batch)', async () => {
    const count = 500;
    const capacity = 128;
    const events = new Int32Array(capacity * 2);
    const reactor = new native.Reactor(backend, events);
    const pairs: [number, number][] = [];
    cleanup.push(() => {
      reactor.close();
      for (const [a, b] of pairs) {
        native.close(a);
        native.close(b);
      }
    });
    for (let i = 0; i < count; i++) pairs.push(native.socketpair());
    for (const [a] of pairs) reactor.setInterest(a, EV.READ);
    for (const [, b] of pairs) native.send(b, Buffer.from('!'));

    const seen = new Set<number>();
    const sink = Buffer.alloc(8);
    let batches = 0;
    const done = new Promise<void>((resolve) => {
      reactor.attach((n) => {
        batches++;
        expect(n).toBeLessThanOrEqual(capacity);
        for (let i = 0; i < n; i++) {
          seen.add(events[2 * i]);
          native.recv(events[2 * i], sink);
        }
        if (seen.size === count) resolve();
      });
    });
    await withDeadline(done, 5000, `${count} ready fds`);
    reactor.detach();
    expect(seen.size).toBe(count);
    expect(batches).toBeLessThanOrEqual(Math.ceil(count / capacity) + 2);
  });

  it('applies interest set outside onBatch (from a timer) before Node\'s loop sleeps', async () => {
    const h = openReactor();
    const [a, b] = socketpair();
    cleanup.push(() => {
      h.close();
      a.close();
      b.close();
    });
    const got = new Promise<number>((resolve) => {
      h.reactor.attach((n) => {
        for (let i = 0; i < n; i++) if (h.events[2 * i] === a.fileno()) resolve(h.events[2 * i + 1]);
      });
    });
    b.send('waiting for you');
    setTimeout(() => h.reactor.setInterest(a.fileno(), EV.READ), 5);
    expect((await withDeadline(got, 2000, 'event after a late setInterest')) & EV.READ).toBe(EV.READ);
  });

  it('a regular file is always ready (READ, never ERR) and does not stall the loop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asynchat-attached-'));
    const file = path.join(dir, 'data.txt');
    fs.writeFileSync(file, 'file contents');
    const fd = fs.openSync(file, 'r');
    const h = openReactor();
    cleanup.push(() => {
      h.close();
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const seen: number[] = [];
    let ticks = 0;
    const interval = setInterval(() => ticks++, 1);
    cleanup.push(() => clearInterval(interval));
    h.reactor.setInterest(fd, EV.READ);
    await withDeadline(
      new Promise<void>((resolve) => {
        h.reactor.attach((n) => {
          for (let i = 0; i < n; i++) if (h.events[2 * i] === fd) seen.push(h.events[2 * i + 1]);
          if (seen.length >= 5 && ticks >= 2) {
            h.reactor.detach();
            resolve();
          }
        });
      }),
      2000,
      'always-ready file events',
    );
    expect(seen.length).toBeGreaterThanOrEqual(5);
    for (const bits of seen) expect(bits).toBe(EV.READ);
  });

  it('detach and re-attach; attach twice is an error; close inside onBatch is safe', async () => {
    const h = openReactor();
    const [a, b] = socketpair();
    cleanup.push(() => {
      h.close();
      a.close();
      b.close();
    });
    h.reactor.setInterest(a.fileno(), EV.READ);
    let first = 0;
    const detached = new Promise<void>((resolve) => {
      h.reactor.attach(() => {
        first++;
        h.reactor.detach(); // from inside the callback
        resolve();
      });
    });
    expect(() => h.reactor.attach(() => {})).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_ATTACHED' }));
    b.send('x'); // stays unread: level-triggered, it would be reported again and again
    await withDeadline(detached, 2000, 'first batch');
    expect(first).toBe(1);
    // detached: nothing more is delivered through Node's loop, but wait() still works
    expect(waitFd(h, a.fileno(), EV.READ) & EV.READ).toBe(EV.READ);

    const closedInside = new Promise<void>((resolve) => {
      h.reactor.attach(() => {
        h.reactor.close();
        resolve();
      });
    });
    await withDeadline(closedInside, 2000, 'batch after re-attach');
    expect(() => h.reactor.wait(0)).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_CLOSED' }));
    expect(first).toBe(1);
  });

  it("an error thrown by onBatch is the process's uncaughtException, and the next batch still comes", () => {
    // In a child process: vitest takes an uncaught error as a failed run.
    const script = `
      import { native, backend, READ } from ${JSON.stringify(path.join(__dirname, '..', 'fixtures', 'addon.mjs'))};
      const reactor = new native.Reactor(backend, new Int32Array(16));
      const [watched, peer] = native.socketpair();
      native.send(peer, Buffer.from('x'));
      process.on('uncaughtException', (error) => console.log('uncaught ' + error.message));
      let batches = 0;
      reactor.attach(() => {
        if (++batches === 1) throw new Error('from onBatch');
        console.log('batch ' + batches);
        reactor.close();
      });
      reactor.setInterest(watched, READ);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ASYNCHAT_BACKEND: backend },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: child.status, stdout: child.stdout.trim().split('\n') }).toEqual({
      status: 0,
      stdout: ['uncaught from onBatch', 'batch 2'],
    });
  });

  describe('the process is not held open once the reactor lets go', () => {
    function runChild(mode: string, killAfterReleaseMs?: number) {
      const fixture = path.join(__dirname, '..', 'fixtures', 'attached-exit.mjs');
      const child = spawn(process.execPath, [fixture, mode], {
        env: { ...process.env, ASYNCHAT_BACKEND: backend },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (killAfterReleaseMs !== undefined && stdout.includes('released')) {
          setTimeout(() => child.kill('SIGTERM'), killAfterReleaseMs).unref();
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
        (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
      );
      cleanup.push(() => child.kill('SIGKILL'));
      return exited;
    }

    it.each(['detach-close', 'close'])('after %s the child process exits by itself', async (mode) => {
      const r = await withDeadline(runChild(mode), 10_000, `child (${mode}) to exit by itself`);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('echoed "hello from the child"');
      expect(r.stdout).toContain(`released (${mode})`);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
    });

    it('while attached, the reactor does keep the process alive (the control)', async () => {
      const r = await withDeadline(runChild('stay', 200), 10_000, 'child (stay) to be killed');
      expect(r.stdout).toContain('released (stay)');
      expect(r.signal).toBe('SIGTERM');
    });
  });
});

describe(`no fd leaks (${backend})`, () => {
  it.skipIf(!canListFds)('servers, clients and reactors, attached and blocking, close every fd they open', async () => {
    const leaked = await leakedFds(async () => {
      // an attached echo server talked to by net clients
      const server = new AttachedEchoServer(backend);
      await Promise.all([0, 1, 2].map(() => pingPong(server.port, (n) => n < 5)));
      server.close();

      // a blocking reactor over socketpairs and a pipe
      const h = openReactor();
      const pairs: [Socket, Socket][] = [socketpair(), socketpair()];
      const [r, w] = pipe();
      for (const [a, b] of pairs) {
        h.reactor.setInterest(a.fileno(), EV.READ);
        b.send('x');
      }
      h.reactor.setInterest(r, EV.READ);
      native.write(w, Buffer.from('y'));
      waitFd(h, r, EV.READ);
      for (const [a, b] of pairs) {
        h.reactor.remove(a.fileno());
        a.close();
        b.close();
      }
      h.reactor.remove(r);
      native.close(r);
      native.close(w);
      h.close();

      // reactors on every backend, opened and closed, one of them attached when closed
      const reactors: NativeReactor[] = [];
      for (const name of native.backends.split(',')) reactors.push(new native.Reactor(name, new Int32Array(8)));
      reactors[0].attach(() => {});
      for (const reactor of reactors) reactor.close();
    });
    expect(leaked).toEqual([]);
  });
});
