// The addon in worker threads: each worker loads it into its own environment (its own state,
// reactors and stats), serves its own sockets in attached mode at the same time as the others,
// and exits cleanly; terminating a worker whose reactor is attached does not crash the process,
// even when the termination lands inside its batch callback.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { native, EV } from '../../src/binding/native';
import { defaultBackend, stats } from '../../src/binding/backends';
import { socketpair } from '../../src/binding/socket';
import { openReactor, waitFd, withDeadline } from '../helpers/reactor';
import { canListFds, openFds, diffFds } from '../helpers/fds';

const backend = defaultBackend();
const fixture = path.join(__dirname, '..', 'fixtures', 'echo-worker.mjs');

interface Listening {
  type: 'listening';
  port: number;
  threadId: number;
  backend: string;
  reactorFd: number;
  listenerFd: number;
}

function startWorker(): { worker: Worker; listening: Promise<Listening>; exited: Promise<number> } {
  const worker = new Worker(fixture, { env: { ...process.env, ASYNCHAT_BACKEND: backend }, stderr: false });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const listening = new Promise<Listening>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { type: string }) => {
      if (m.type === 'listening') resolve(m as Listening);
    });
  });
  return { worker, listening: withDeadline(listening, 5000, 'worker to listen'), exited };
}

function nextMessage<T>(worker: Worker, type: string): Promise<T> {
  return withDeadline(
    new Promise<T>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        worker.off('message', on);
        resolve(m as T);
      };
      worker.on('message', on);
    }),
    5000,
    `worker message '${type}'`,
  );
}

/** Sends `text` over a fresh net connection and resolves with what came back. */
async function echo(port: number, text: string): Promise<string> {
  const client = net.connect(port, '127.0.0.1');
  client.setEncoding('utf8');
  let got = '';
  const done = new Promise<string>((resolve, reject) => {
    client.on('error', reject);
    client.on('data', (chunk: string) => {
      got += chunk;
      if (got.length >= text.length) client.end();
    });
    client.on('close', () => resolve(got));
  });
  client.write(text);
  return withDeadline(done, 5000, `echo of ${JSON.stringify(text.slice(0, 20))}`);
}

function fdIsEpoll(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventpoll]';
  } catch {
    return false;
  }
}

describe(`worker threads (${backend})`, () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });

  it('two workers each serve their own echo server at once, then exit with code 0', async () => {
    const fdsBefore = canListFds ? openFds() : null;
    const reactorsBefore = stats().reactors;
    const a = startWorker();
    const b = startWorker();
    workers.push(a.worker, b.worker);
    const [la, lb] = await Promise.all([a.listening, b.listening]);
    expect(la.threadId).not.toBe(lb.threadId);
    expect(la.port).not.toBe(lb.port);
    expect(la.backend).toBe(backend);
    expect(lb.backend).toBe(backend);
    // their reactors live in their own environments, not in the main thread's state
    expect(stats().reactors).toBe(reactorsBefore);

    // both at once, several connections each, interleaved
    const texts = Array.from({ length: 6 }, (_, i) => `hello worker ${i % 2 ? 'B' : 'A'} #${i} `.repeat(100));
    const echoes = await Promise.all(texts.map((t, i) => echo(i % 2 ? lb.port : la.port, t)));
    expect(echoes).toEqual(texts);

    // the main thread's own reactor works alongside them
    const h = openReactor();
    const [x, y] = socketpair();
    try {
      h.reactor.setInterest(x.fileno(), EV.READ);
      y.send('main');
      expect(waitFd(h, x.fileno(), EV.READ) & EV.READ).toBe(EV.READ);
    } finally {
      h.close();
      x.close();
      y.close();
    }

    // each worker has its own addon state: one reactor each, its own stats
    const stoppedA = nextMessage<{ stats: { accepted: number; batches: number; events: number }; reactors: number }>(a.worker, 'stopped');
    const stoppedB = nextMessage<{ stats: { accepted: number; batches: number; events: number }; reactors: number }>(b.worker, 'stopped');
    a.worker.postMessage('stop');
    b.worker.postMessage('stop');
    const [sa, sb] = await Promise.all([stoppedA, stoppedB]);
    expect(sa.stats.accepted).toBe(3);
    expect(sb.stats.accepted).toBe(3);
    expect(sa.reactors).toBe(0);
    expect(sb.reactors).toBe(0);
    for (const s of [sa.stats, sb.stats]) expect(s.batches).toBeLessThanOrEqual(s.events);

    // nothing else holds them: they exit by themselves, cleanly
    const codes = await withDeadline(Promise.all([a.exited, b.exited]), 5000, 'workers to exit by themselves');
    expect(codes).toEqual([0, 0]);
    // and leave no fd behind: sockets, reactors, and the workers' own loops are all closed
    if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
  });

  it('terminating a worker while its reactor is attached (and busy) does not crash the process', async () => {
    const fdsBefore = canListFds ? openFds() : null;
    const w = startWorker();
    workers.push(w.worker);
    const l = await w.listening;
    const fdsMsg = nextMessage<{ fds: number[]; reactorFd: number }>(w.worker, 'fds');

    // keep the worker busy: a client streaming data it echoes back
    const client = net.connect(l.port, '127.0.0.1');
    client.on('error', () => {}); // the connection dies with the worker's fds (closed below)
    await withDeadline(once(client, 'connect'), 2000, 'client connect');
    let echoed = 0;
    const flowing = new Promise<void>((resolve) => {
      client.on('data', (d: Buffer) => {
        echoed += d.length;
        if (echoed > 64 * 1024) resolve();
      });
    });
    const chunk = Buffer.alloc(16 * 1024, 'z');
    const pump = setInterval(() => client.write(chunk), 1);
    try {
      await withDeadline(flowing, 5000, 'echo traffic through the worker');
      w.worker.postMessage('fds');
      const { fds, reactorFd } = await fdsMsg;
      expect(fds.length).toBeGreaterThanOrEqual(2); // listener + the connection

      const code = await withDeadline(w.worker.terminate(), 5000, 'worker.terminate()');
      expect(code).toBe(1);
      expect(await w.exited).toBe(1);

      // The worker's reactor was shut down with its environment (its epoll fd is closed)...
      if (backend === 'epoll' && process.platform === 'linux') expect(fdIsEpoll(reactorFd)).toBe(false);
      // ...but plain socket fds belong to the process: the worker never closed them.
      for (const fd of fds) native.close(fd);
    } finally {
      clearInterval(pump);
      client.destroy();
    }
    if (!client.closed) await withDeadline(once(client, 'close'), 2000, 'client close');

    // the process and its own reactor are fine
    const h = openReactor();
    const [x, y] = socketpair();
    try {
      h.reactor.setInterest(x.fileno(), EV.READ);
      y.send('still alive');
      expect(waitFd(h, x.fileno(), EV.READ) & EV.READ).toBe(EV.READ);
      expect(x.recv(32).toString()).toBe('still alive');
    } finally {
      h.close();
      x.close();
      y.close();
    }
    // the worker's reactor went with its environment: nothing is left open but what we closed
    if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
  });

  it('terminating a worker in the middle of a batch callback ends its drain, not the process', () => {
    // In a child process, so that an abort shows as a failed test instead of a lost vitest worker
    // (it did: "FATAL ERROR: Error::Error napi_define_properties" under qemu, on any Node).
    const child = spawnSync(process.execPath, [path.join(__dirname, '..', 'fixtures', 'terminate-ready-worker.mjs')], {
      env: { ...process.env, ASYNCHAT_BACKEND: backend },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).not.toContain('FATAL');
    expect({ status: child.status, stdout: child.stdout.trim() }).toEqual({ status: 0, stdout: 'terminated 1' });
  });

  it('terminating a worker right after it attached, before any traffic, is safe too', async () => {
    const w = startWorker();
    workers.push(w.worker);
    const l = await w.listening;
    expect(await withDeadline(w.worker.terminate(), 5000, 'worker.terminate()')).toBe(1);
    native.close(l.listenerFd); // the listener was the worker's only socket
    if (backend === 'epoll' && process.platform === 'linux') expect(fdIsEpoll(l.reactorFd)).toBe(false);
  });
});
