// A blocking loop() and signals, in child processes (test/fixtures/signal-server.cjs) on this
// project's backend: a signal the program listens for ends loop() at once, whenever it comes
// (during the wait, while a handler runs, before loop() was called), the `finally` closes the
// channels, the listener then runs, and the process exits 0; a signal nobody listens for keeps
// its default action; a listener for a signal that ends nothing (SIGWINCH, SIGCHLD) does not
// stop the loop.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '../../src/binding/backends';

const fixture = path.join(__dirname, '..', 'fixtures', 'signal-server.cjs');
const backend = defaultBackend();

interface Server {
  child: ChildProcess;
  port: number;
  output(): string;
  /** Resolves once the output matches (or rejects after timeoutMs, with the output so far). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Every child, killed after its test whatever happened (a test that timed out included).
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

async function start(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [fixture, ...args], {
    env: { ...process.env, ASYNCHAT_BACKEND: backend },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const changed: Array<() => void> = [];
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    for (const f of changed.splice(0)) f();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      for (const f of changed.splice(0)) f();
      resolve({ code, signal });
    });
  });
  const waitFor = (pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
    const check = (): void => {
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearTimeout(timer);
        reject(new Error(`exited (${child.exitCode ?? child.signalCode}) without ${pattern}; output:\n${out}`));
      } else {
        changed.push(check);
      }
    };
    check();
  });
  const ready = await waitFor(/ready (\d+)\n/).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { child, port: Number(ready[1]), output: () => out, waitFor, exited };
}

/** The child's exit, or a failure naming what it printed if it has not exited within ms. */
function exitWithin(server: Server, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; output:\n${server.output()}`)), ms);
    void server.exited.then((r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
}

/** Ends the child whatever happened (a failed test must not leave it behind). */
async function stop(server: Server): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

/** A connected client that has had one line echoed; resolves 'end' when the server closes it. */
async function connect(port: number): Promise<{ socket: net.Socket; ended: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  const ended = new Promise<void>((resolve) => socket.once('end', resolve));
  socket.on('error', () => {});
  socket.write('ping\n');
  await new Promise<void>((resolve, reject) => {
    socket.once('data', (d) => (d.toString() === 'ping\n' ? resolve() : reject(new Error(`echoed ${d}`))));
    socket.once('error', reject);
  });
  return { socket, ended };
}

/** Elapsed milliseconds until `p` settles. */
async function timed<T>(p: Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await p;
  return [value, performance.now() - t0];
}

// loop() waits up to 60 s per iteration in the fixture: ending well within this bound shows
// the signal ended the wait itself (a loaded machine included).
const PROMPT_MS = 5000;
// A process that is to die of a signal, or to end after one: it has, within this.
const EXIT_MS = 10_000;

describe(`a blocking loop() and signals (${backend})`, () => {
  for (const how of ['loop', 'poll'] as const) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      it(`${sig} with a listener ends ${how === 'loop' ? 'loop()' : 'a loop of poll() calls'}: channels closed by finally, the listener runs, exit 0`, async () => {
        const server = await start([how, 'listen=SIGTERM,SIGINT']);
        try {
          const client = await connect(server.port);
          server.child.kill(sig);
          const [{ code, signal }, ms] = await timed(exitWithin(server, EXIT_MS));
          await client.ended;  // closeAll() closed the connection
          client.socket.destroy();
          expect({ code, signal }, server.output()).toEqual({ code: 0, signal: null });
          expect(ms).toBeLessThan(PROMPT_MS);
          // The listener ran after loop() returned, once Node's loop had its turn.
          expect(server.output()).toMatch(new RegExp(`^ready \\d+\nloop returned ${sig}\nclosed 2\nlistener ${sig}\n$`));
        } finally {
          await stop(server);
        }
      });
    }
  }

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGUSR2'] as const) {
    it(`${sig} without a listener keeps its default action (the process dies of it)`, async () => {
      // A listener for another signal makes the reactor watch signals; one added and removed
      // for this signal leaves nothing behind.
      const server = await start(['loop', 'listen=SIGHUP', `drop=${sig}`]);
      try {
        await connect(server.port).then((c) => c.socket.destroy());
        server.child.kill(sig);
        const { code, signal } = await exitWithin(server, EXIT_MS);
        expect({ code, signal }, server.output()).toEqual({ code: null, signal: sig });
        expect(server.output()).not.toMatch(/loop returned|closed|ran/);
      } finally {
        await stop(server);
      }
    });
  }

  it('a listener for SIGUSR2 (any signal whose default ends the process) ends loop() too', async () => {
    const server = await start(['loop', 'listen=SIGUSR2']);
    try {
      server.child.kill('SIGUSR2');
      const { code } = await exitWithin(server, EXIT_MS);
      expect(code, server.output()).toBe(0);
      expect(server.output()).toMatch(/loop returned SIGUSR2\nclosed 1\nlistener SIGUSR2\n$/);
    } finally {
      await stop(server);
    }
  });

  it('SIGWINCH and SIGCHLD, even listened for, do not stop the loop (their default ends nothing)', async () => {
    const server = await start(['loop', 'listen=SIGWINCH,SIGCHLD,SIGTERM']);
    try {
      const first = await connect(server.port);
      for (let i = 0; i < 3; i++) {
        server.child.kill('SIGWINCH');
        server.child.kill('SIGCHLD');
      }
      // Still serving, in the same loop() call: a new connection is echoed.
      const second = await connect(server.port);
      expect(server.output()).not.toMatch(/loop returned/);
      server.child.kill('SIGTERM');
      const { code } = await exitWithin(server, EXIT_MS);
      await Promise.all([first.ended, second.ended]);
      first.socket.destroy();
      second.socket.destroy();
      expect(code, server.output()).toBe(0);
      // Their listeners run after loop() returned, as every listener does.
      expect(server.output()).toMatch(/^ready \d+\nloop returned SIGTERM\nclosed 3\n/);
    } finally {
      await stop(server);
    }
  });

  it('a signal that comes while a handler runs ends the loop as soon as the handler returns', async () => {
    const server = await start(['race', 'listen=SIGTERM']);
    try {
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('go\n');  // the handler sends SIGTERM to its own process, then works 200 ms
      const { code } = await exitWithin(server, EXIT_MS);
      socket.destroy();
      expect(code, server.output()).toBe(0);
      const returned = Number(/returned (\d+)\n/.exec(server.output())?.[1]);
      expect(returned, server.output()).toBeGreaterThanOrEqual(200);
      expect(returned, server.output()).toBeLessThan(200 + PROMPT_MS);
      expect(server.output()).toMatch(/loop returned SIGTERM\nreturned \d+\nclosed 2\nlistener SIGTERM\n$/);
    } finally {
      await stop(server);
    }
  });

  it('a signal that came before loop() was called ends it at once', async () => {
    const server = await start(['before', 'listen=SIGTERM']);
    try {
      const { code } = await exitWithin(server, EXIT_MS);
      expect(code, server.output()).toBe(0);
      expect(server.output()).toBe(`ready ${server.port}\nloop returned SIGTERM\nclosed 1\nlistener SIGTERM\n`);
    } finally {
      await stop(server);
    }
  });

  it('a signal Node already delivered to its listener does not stop a later loop()', async () => {
    const server = await start(['stale', 'listen=SIGTERM']);
    try {
      await server.waitFor(/listener SIGHUP\n/);
      const client = await connect(server.port);  // loop() serves: it did not return for SIGHUP
      expect(server.output()).not.toMatch(/loop returned/);
      server.child.kill('SIGTERM');
      const { code } = await exitWithin(server, EXIT_MS);
      await client.ended;
      client.socket.destroy();
      expect(code, server.output()).toBe(0);
      expect(server.output()).toMatch(/listener SIGHUP\nloop returned SIGTERM\nclosed 2\nlistener SIGTERM\n$/);
    } finally {
      await stop(server);
    }
  });
});
