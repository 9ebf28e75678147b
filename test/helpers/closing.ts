// How connections end, tested from outside: peers that are other processes (Python's socket and
// ssl, which report a truncated TLS stream as such), a loop served in either mode while they
// run, and what the process costs once everything is closed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { resetStats, stats } from '../../src/binding/backends';
import { native } from '../../src/binding/native';
import { stateOf } from '../../src/engine/map-state';
import { environmentFor } from '../examples/helpers';
import type { Socket } from '../../src/binding/socket';
import { Listener, type Driver } from './asynchat';
import { withDeadline } from './reactor';
import { runClient, type ChildResult } from './tls';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** Bytes of each numbered line the close-path server sends: b'%063d\n' % k in Python. */
export const LINE_BYTES = 64;

/** Lines first .. first + n - 1, as the close-path clients check them. */
export function numberedLines(first: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n * LINE_BYTES);
  for (let i = 0; i < n; i++) {
    out.write(String(first + i).padStart(LINE_BYTES - 1, '0'), i * LINE_BYTES, 'latin1');
    out[i * LINE_BYTES + LINE_BYTES - 1] = 0x0a;
  }
  return out;
}

/** A Python program run as a peer: its exit, and its last stdout line parsed as JSON. */
export interface PythonRun<T> {
  /** Set once the process has exited. */
  result: ChildResult | null;
  /** The report (its last line, as JSON), once it has exited. */
  report(): T;
}

export function runPython<T>(script: string, args: unknown, timeoutMs = 30_000): PythonRun<T> {
  const run: PythonRun<T> = {
    result: null,
    report(): T {
      const r = run.result;
      if (r === null) throw new Error('the Python peer has not exited');
      const last = r.stdout.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as T;
      } catch {
        throw new Error(`the Python peer reported nothing (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
    },
  };
  void runClient('python3', [path.join(FIXTURES, script), JSON.stringify(args)], undefined, timeoutMs).then((r) => {
    run.result = r;
  });
  return run;
}

/**
 * Serves the map until cond() holds, in slices, giving Node's own loop a turn between them: in
 * blocking mode that is when a child process's output and exit are seen. Throws past the deadline
 * (before the test's own timeout, so that `what` says what was awaited).
 */
export async function serveUntil(d: Driver, cond: () => boolean, what: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    if (stateOf(d.map).alive) {
      try {
        await d.until(cond, 'a slice', 20);
      } catch (err) {
        // A slice ended (its time, or the map emptied): look at the children, then serve again.
        // Anything else escaped the loop, and is the test's failure.
        if (!/^(timed out after \d+ ms: a slice|the map (emptied before|is empty, so never): a slice)$/.test(String((err as Error).message))) throw err;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Runs `step` while the map is served, until it resolves. */
export async function served<T>(d: Driver, step: Promise<T>, what: string): Promise<T> {
  let result: { value: T } | { error: unknown } | null = null;
  step.then((value) => { result = { value }; }, (error: unknown) => { result = { error }; });
  await serveUntil(d, () => result !== null, () => what);
  const r = result! as { value: T } | { error: unknown };
  if ('error' in r) throw r.error;
  return r.value;
}

export interface IdleCost {
  /** This process's CPU time (user + system), in ms. */
  cpuMs: number;
  /** Reactor events delivered. */
  events: number;
  /** Reactor waits (blocking) or wake-ups (attached). */
  waits: number;
}

/** What the process spends while the loop serves the map for `ms` with nothing to do. */
export async function idleCost(d: Driver, ms: number): Promise<IdleCost> {
  resetStats();
  const before = process.cpuUsage();
  await d.idle(ms);
  const used = process.cpuUsage(before);
  const s = stats();
  return { cpuMs: (used.user + used.system) / 1000, events: s.events, waits: s.waits };
}

/**
 * Nothing left behind once every channel of a scenario closed: no SSL object, no close still
 * lingering, and no busy loop: over `ms` of serving the map (its listener is still in it), no
 * event, and a small share of one core. A loop spinning on a readable end of stream or a writable
 * lingering fd spends most of a core and delivers thousands of events.
 */
export async function expectQuiet(d: Driver, ms = 1000): Promise<void> {
  const lingering = stateOf(d.map).lingering.size;
  expect(native.stats().tlsConnections, `SSL objects alive (closes lingering: ${lingering})`).toBe(0);
  expect(lingering, 'closes still lingering').toBe(0);
  const cost = await idleCost(d, ms);
  expect(cost.events, `events while idle (${JSON.stringify(cost)})`).toBeLessThanOrEqual(2);
  expect(cost.cpuMs, `CPU while idle (${JSON.stringify(cost)})`).toBeLessThan(ms * 0.15);
}

/** A reply of a step-driven peer (test/fixtures/tls-peer.py). */
export interface StepReply {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

/**
 * A Python peer that does one step per command (test/fixtures/tls-peer.py): the test decides
 * what it sends and when, and can let it act while the server is not served at all.
 */
export class StepPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private out = '';
  private stderr = '';
  private pending: ((reply: StepReply) => void) | null = null;
  private exited = false;
  readonly log: string[] = [];

  constructor(script = 'tls-peer.py') {
    this.child = spawn('python3', [path.join(FIXTURES, script)], { stdio: ['pipe', 'pipe', 'pipe'], env: environmentFor('python3') });
    this.child.stdout.on('data', (b: Buffer) => {
      this.out += b.toString();
      for (let nl = this.out.indexOf('\n'); nl >= 0; nl = this.out.indexOf('\n')) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        const resolve = this.pending;
        this.pending = null;
        resolve?.(JSON.parse(line) as StepReply);
      }
    });
    this.child.stderr.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    this.child.on('close', () => {
      this.exited = true;
      this.pending?.({ ok: false, error: `the peer exited: ${this.stderr}` });
      this.pending = null;
    });
  }

  /** Runs one step; resolves with its reply (an error reply throws). */
  async call(op: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<StepReply> {
    if (this.pending !== null) throw new Error('one step at a time');
    this.log.push(op);
    const reply = await withDeadline(new Promise<StepReply>((resolve) => {
      this.pending = resolve;
      this.child.stdin.write(`${JSON.stringify({ op, ...args })}\n`);
    }), timeoutMs, `the peer's step ${op}`);
    if (!reply.ok) throw new Error(`the peer's step ${op} failed: ${reply.error}`);
    return reply;
  }

  /** Ends the process (its socket closes with it, if still open); resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.on('close', () => resolve()));
    this.child.stdin.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(killer);
  }
}

/** Resolves once cond() holds (checked every few ms, by Node's timers: between loop slices in blocking mode). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * A listener whose first connection `accept` turns into the server, and a StepPeer to talk to it:
 * runs `body`, stops the peer, then checks that nothing is left running (expectQuiet) and closes
 * the listener.
 */
export async function withPeer<T>(
  d: Driver, accept: (sock: Socket) => T, body: (server: () => T | null, peer: StepPeer, port: number) => Promise<void>,
  idleMs = 500,
): Promise<void> {
  let server: T | null = null;
  const listener = new Listener(d.map, (sock) => {
    server = accept(sock);
  });
  const peer = new StepPeer();
  try {
    await body(() => server, peer, listener.port);
  } finally {
    await peer.stop();
  }
  await expectQuiet(d, idleMs);
  listener.close();
}
