// Running the examples (examples/*) for their tests, in both modes, and the clients that talk
// to them.
//
// blocking: the example's command line in a child process (`node examples/run.cjs <name>
//   --mode blocking`): loop() would block this process, and the clients with it.
// attached: the example's server module in this process, served by loopAsync() on a private
//   map, beside the clients (Node's fetch and net, and child processes run asynchronously).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { closeAll, loopAsync, type SocketMap } from '../../src';
import { canListFds, diffFds, openFds } from '../helpers/fds';

export type Mode = 'blocking' | 'attached';
export const MODES: Mode[] = ['blocking', 'attached'];

export const root = path.resolve(__dirname, '..', '..');
const runner = path.join(root, 'examples', 'run.cjs');

export interface Running {
  port: number;
  /** What the child printed so far (blocking mode), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** An example's command line in a child process, once it printed its "listening on" line. */
export function startCli(name: string, args: string[], timeoutMs = 15_000): Promise<Running & { child: ChildProcess }> {
  const child = spawn(process.execPath, [runner, name, '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Read everything the child writes: a full pipe would stop a blocking-mode server.
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (): void => {
      const m = /listening on \S+:(\d+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({ child, port: Number(m[1]), output: () => out, stop });
    };
    child.stdout!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${out}`));
    });
  });
}

/** An example's server in this process, on a private map served by loopAsync(). */
export function startInProcess<T extends { port: number }>(make: (map: SocketMap) => T): Running & { server: T; map: SocketMap } {
  const map: SocketMap = new Map();
  const server = make(map);
  const served = loopAsync({ map });
  return {
    server,
    map,
    port: server.port,
    output: () => '',
    async stop() {
      closeAll(map, true);
      await served;
    },
  };
}

/**
 * The environment for programs that are not under test (curl, python3, redis-cli): without the
 * AddressSanitizer runtime that `npm run test:asan` preloads into every process (curl hangs
 * with it). Node children keep it: they load the addon being tested.
 */
export function environmentFor(file: string): NodeJS.ProcessEnv {
  if (file === process.execPath) return process.env;
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.ASAN_OPTIONS;
  return env;
}

/** Whether a command is on the PATH; when it is not, says so once (the tests that need it are skipped). */
export function hasCommand(name: string, check?: string[]): boolean {
  const env = environmentFor(name);
  const found = spawnSync('sh', ['-c', 'command -v "$0" >/dev/null', name], { env }).status === 0 &&
    (check === undefined || spawnSync(name, check, { stdio: 'ignore', timeout: 10_000, env }).status === 0);
  if (!found) console.log(`note: ${name} is not installed here; the tests that use it are skipped`);
  return found;
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without blocking this process (an attached-mode server keeps serving). */
export function run(file: string, args: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, {
      encoding: 'buffer', timeout: options.timeoutMs ?? 20_000, maxBuffer: 64 * 1024 * 1024, env: environmentFor(file),
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      if (err !== null && code === null) {
        reject(Object.assign(err, { message: `${err.message}\n${stderr.toString()}` }));
        return;
      }
      resolve({ code, stdout, stderr: stderr.toString() });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}

/** python3 -c script args...; fails the test with Python's output if it exits non-zero. */
export async function python(script: string, args: Array<string | number>): Promise<string> {
  const r = await run('python3', ['-c', script, ...args.map(String)]);
  if (r.code !== 0) throw new Error(`python3 exited ${r.code}:\n${r.stdout.toString()}\n${r.stderr}`);
  return r.stdout.toString();
}

/** Polls until cond() holds (or throws after timeoutMs). */
export async function waitUntil(cond: () => boolean, what: string | (() => string), timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw TCP client on 127.0.0.1: everything received is kept in `received`. */
export class RawClient {
  received = Buffer.alloc(0);
  ended = false;
  readonly socket: net.Socket;
  private readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', () => {
      this.ended = true;
    });
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Writes each piece, waiting `gapMs` between them (so that the server reads them separately). */
  async writeSlowly(pieces: Array<string | Buffer>, gapMs = 5): Promise<void> {
    for (const piece of pieces) {
      await this.write(piece);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  }

  /** Waits until cond(everything received) holds; fails at once if the server closes first. */
  async waitFor(cond: (text: string) => boolean, what: string, timeoutMs = 5000): Promise<string> {
    await waitUntil(() => {
      if (cond(this.text)) return true;
      if (this.ended) throw new Error(`the server closed the connection before: ${what}\nreceived: ${JSON.stringify(this.text)}`);
      return false;
    }, () => `${what}\nreceived: ${JSON.stringify(this.text.slice(-2000))}`, timeoutMs);
    return this.text;
  }

  /** Waits until `text` has arrived. */
  waitForText(text: string, timeoutMs = 5000): Promise<string> {
    return this.waitFor((t) => t.includes(text), JSON.stringify(text), timeoutMs);
  }

  /** Waits for the server to close the connection. */
  async waitEnd(timeoutMs = 5000): Promise<string> {
    await waitUntil(() => this.ended, 'the server to close the connection', timeoutMs);
    return this.text;
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await this.closedPromise;
  }
}

/** Cuts a byte string at every position in `cuts` (ascending). */
export function cutAt(data: string | Buffer, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(data);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut <= from || cut >= bytes.length) continue;
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

/**
 * Call in beforeAll; the function it returns, awaited in afterAll, waits (bounded) until every
 * fd opened since is closed again: Node closes client sockets (fetch's pool, net) a little after
 * the server hangs up, and the per-file leak check runs right after afterAll.
 */
export function fdBaseline(): () => Promise<void> {
  if (!canListFds) return async () => {};
  const before = openFds();
  return async () => {
    const deadline = Date.now() + 3000;
    while (diffFds(before, openFds()).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
}
