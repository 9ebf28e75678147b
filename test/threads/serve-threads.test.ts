// serveThreads(): one server on N worker_threads over real loopback sockets. Two threads share
// one port and both take connections; a thread that throws is reported by index and threadId
// and its listener is closed with it; stopping leaves no thread and no fd behind.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serveThreads, reusePortOption, type ThreadedServer } from '../../src/threads';
import { canReusePort, listenersOn } from '../helpers/threads';
import { AsynchatError } from '../../src/errors';
import { withDeadline } from '../helpers/reactor';
import { canListFds, diffFds, openFds } from '../helpers/fds';

const fixture = path.join(__dirname, '..', 'fixtures', 'thread-server.mjs');
const MODES = ['attached', 'blocking'] as const;

/** Connects, reads the "<index>\n" the thread that accepted sends, and waits for its close. */
function whichThread(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      got += d;
    });
    c.on('error', reject);
    c.on('close', () => (/^\d+\n$/.test(got) ? resolve(Number(got)) : reject(new Error(`unexpected reply ${JSON.stringify(got)}`))));
  });
}

/** This process's OS threads by their names (Linux). */
function threadNames(): string[] {
  return fs.readdirSync('/proc/self/task').map((tid) => {
    try {
      return fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '(gone)';
    }
  });
}

function threadCount(): number {
  return fs.readdirSync('/proc/self/task').length;
}

/**
 * Waits (up to 5 s) for the process to have at most `max` threads; resolves with the thread names
 * when it does not. A stopped worker is joined before its 'exit', but under qemu-user the count
 * was once one over right after `closed` (CI, arm64): the wait tells a thread that takes a moment
 * to leave /proc from one that stays, which is what a leak would be.
 */
async function threadsOver(max: number): Promise<string[] | null> {
  const deadline = Date.now() + 5000;
  while (threadCount() > max) {
    if (Date.now() > deadline) return threadNames();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

const linux = process.platform === 'linux';

describe.skipIf(!canReusePort)('serveThreads', () => {
  for (const mode of MODES) {
    it(`two threads (${mode}) listen on one port and each accepts connections; close() stops both`, async () => {
      const fdsBefore = canListFds ? openFds() : null;
      const server = await withDeadline(serveThreads(fixture, { threads: 2, mode, handleSignals: false }), 15_000, 'two threads to listen');
      let stopped = false;
      try {
        expect(server.threads.map((t) => t.index)).toEqual([0, 1]);
        expect(server.threads[0].threadId).not.toBe(server.threads[1].threadId);
        if (linux) expect(listenersOn(server.port)).toBe(2);
        // SO_REUSEPORT hashes each connection's ports: with 64 connections from 64 source
        // ports, one thread taking all of them has a chance of 2^-63.
        const counts = [0, 0];
        const taken = await withDeadline(Promise.all(Array.from({ length: 64 }, () => whichThread(server.port))), 15_000, '64 connections');
        for (const t of taken) counts[t]++;
        expect(counts[0] + counts[1]).toBe(64);
        expect(counts[0]).toBeGreaterThan(0);
        expect(counts[1]).toBeGreaterThan(0);
        await withDeadline(server.close(), 15_000, 'close()');
        stopped = true;
        if (linux) expect(listenersOn(server.port)).toBe(0);
      } finally {
        if (!stopped) await server.close().catch(() => {});
      }
      if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
    });
  }

  it('an AbortSignal stops every thread, leaving no thread and no fd', async () => {
    // a first start and stop, so the threads Node keeps for itself are counted as before
    await (await serveThreads(fixture, { threads: 2, handleSignals: false })).close();
    const fdsBefore = canListFds ? openFds() : null;
    const threadsBefore = linux ? threadCount() : 0;
    const ac = new AbortController();
    const server = await withDeadline(serveThreads(fixture, { threads: 3, signal: ac.signal, handleSignals: false }), 15_000, 'three threads');
    expect(server.threads).toHaveLength(3);
    if (linux) expect(threadCount()).toBeGreaterThan(threadsBefore);
    expect(await whichThread(server.port)).toBeLessThan(3);
    ac.abort();
    await withDeadline(server.closed, 15_000, 'closed after abort');
    if (linux) expect(await threadsOver(threadsBefore), `more than the ${threadsBefore} threads of before`).toBeNull();
    if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
  });

  it('a thread that throws before it listens is reported with its index and threadId; the others are stopped', async () => {
    const fdsBefore = canListFds ? openFds() : null;
    const err = await withDeadline(
      serveThreads(fixture, { threads: 2, data: { throwAtStart: 1 }, handleSignals: false }).then(
        (s: ThreadedServer) => s.close().then(() => null),
        (e: unknown) => e,
      ),
      15_000, 'serveThreads to fail',
    ) as AsynchatError & { thread: number; threadId: number; cause: Error };
    expect(err).toBeInstanceOf(AsynchatError);
    expect(err.code).toBe('ERR_ASYNCHAT_THREAD_FAILED');
    expect(err.thread).toBe(1);
    expect(err.threadId).toBeGreaterThan(0);
    expect(err.message).toContain(`thread 1 (threadId ${err.threadId})`);
    expect(err.message).toContain('no start in thread 1');
    expect(err.cause.message).toBe('no start in thread 1');
    if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
  });

  it('a thread that throws while serving is reported on `closed`, and its listener and connections are closed', async () => {
    const fdsBefore = canListFds ? openFds() : null;
    const server = await withDeadline(serveThreads(fixture, { threads: 2, data: { throwOnAccept: 0 }, handleSignals: false }), 15_000, 'two threads');
    const failed = server.closed.then(() => null, (e: unknown) => e) as Promise<AsynchatError & { thread: number; threadId: number }>;
    // connect until thread 0 took one (each connection has a 1/2 chance)
    const deadline = Date.now() + 10_000;
    let failure: (AsynchatError & { thread: number; threadId: number }) | null = null;
    for (let won = false; !won && Date.now() < deadline;) {
      won = await whichThread(server.port).then((t) => t === 0, () => false);
      if (won) failure = await withDeadline(failed, 15_000, 'closed to reject');
    }
    expect(failure).not.toBeNull();
    expect(failure!.code).toBe('ERR_ASYNCHAT_THREAD_FAILED');
    expect(failure!.thread).toBe(0);
    expect(failure!.threadId).toBe(server.threads[0].threadId);
    expect(failure!.message).toContain('boom in thread 0');
    // the other thread was stopped with it, and nothing of either is left open
    if (linux) expect(listenersOn(server.port)).toBe(0);
    if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
  });

  it('a listener without setReusePort() makes thread 1 fail to bind: EADDRINUSE, reported with its index', async () => {
    const err = await withDeadline(
      serveThreads(fixture, { threads: 2, data: { noReusePort: true }, handleSignals: false }).then(
        (s: ThreadedServer) => s.close().then(() => null),
        (e: unknown) => e,
      ),
      15_000, 'serveThreads to fail',
    ) as AsynchatError & { thread: number; cause: NodeJS.ErrnoException };
    expect(err.code).toBe('ERR_ASYNCHAT_THREAD_FAILED');
    expect(err.thread).toBe(1);
    expect(err.cause.code).toBe('EADDRINUSE');
  });

  it('an aborted signal rejects with an AbortError; a module that cannot load fails thread 0; neither leaves an fd', async () => {
    const fdsBefore = canListFds ? openFds() : null;
    const ac = new AbortController();
    ac.abort();
    await expect(serveThreads(fixture, { threads: 2, signal: ac.signal, handleSignals: false }))
      .rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    const missing = path.join(__dirname, 'no-such-module.mjs');
    await expect(withDeadline(serveThreads(missing, { threads: 2, handleSignals: false }), 15_000, 'a missing module to fail'))
      .rejects.toMatchObject({ code: 'ERR_ASYNCHAT_THREAD_FAILED', thread: 0, cause: expect.objectContaining({ code: 'MODULE_NOT_FOUND' }) });
    if (fdsBefore) expect(diffFds(fdsBefore, openFds())).toEqual([]);
  });

  it('rejects a bad thread count and a bad mode before starting anything', async () => {
    await expect(serveThreads(fixture, { threads: 0 })).rejects.toThrow(RangeError);
    await expect(serveThreads(fixture, { threads: 1.5 })).rejects.toThrow(RangeError);
    await expect(serveThreads(fixture, { mode: 'busy' as 'attached' })).rejects.toThrow(TypeError);
  });
});

describe('reusePortOption', () => {
  it('is SO_REUSEPORT on Linux, SO_REUSEPORT_LB on FreeBSD, and ERR_ASYNCHAT_NO_REUSEPORT elsewhere', () => {
    if (process.platform === 'linux') expect(reusePortOption()).toBeGreaterThan(0);
    expect(() => reusePortOption('darwin')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_NO_REUSEPORT' }));
    expect(() => reusePortOption('win32')).toThrow(/one thread/);
  });
});
