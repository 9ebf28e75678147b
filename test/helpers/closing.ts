// How connections end, tested from outside: peers that are other processes (Python's socket and
// ssl, which report a truncated TLS stream as such), a loop served in either mode while they
// run, and what the process costs once everything is closed.
import path from 'node:path';
import { expect } from 'vitest';
import { resetStats, stats } from '../../src/binding/backends';
import { native } from '../../src/binding/native';
import { stateOf } from '../../src/engine/map-state';
import type { Driver } from './asynchat';
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
 * blocking mode that is when a child process's output and exit are seen. Throws past the deadline.
 */
export async function serveUntil(d: Driver, cond: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    if (stateOf(d.map).alive) {
      try {
        await d.until(cond, what(), 50);
      } catch {
        // a slice ended: look at the children, then serve again
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
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
  expect(native.stats().tlsConnections, 'SSL objects alive').toBe(0);
  expect(stateOf(d.map).lingering.size, 'closes still lingering').toBe(0);
  const cost = await idleCost(d, ms);
  expect(cost.events, `events while idle (${JSON.stringify(cost)})`).toBeLessThanOrEqual(2);
  expect(cost.cpuMs, `CPU while idle (${JSON.stringify(cost)})`).toBeLessThan(ms * 0.15);
}
