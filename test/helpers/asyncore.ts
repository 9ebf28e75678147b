// Helpers for the asyncore tests: driving a private map until something holds (never a sleep),
// the three address families of CPython's BaseTestAPI, captured output, linger structs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { closeAll, loop } from '../../src/asyncore/loop';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, Socket, type Address } from '../../src/binding/socket';
import { Dispatcher } from '../../src/asyncore/dispatcher';

/**
 * A fresh socket map for each test of the file, and a list for the sockets a test opens
 * outside it: after each test, closeAll() on the map and close() on each of those sockets.
 */
export function mapPerTest(): { readonly map: SocketMap; readonly opened: Socket[] } {
  const fixture = { map: new Map() as SocketMap, opened: [] as Socket[] };
  beforeEach(() => {
    fixture.map = new Map();
  });
  afterEach(() => {
    closeAll(fixture.map, true);
    for (const s of fixture.opened.splice(0)) s.close();
  });
  return fixture;
}

/** A dispatcher listening on 127.0.0.1, on a port the kernel picked. */
export class LoopbackListener extends Dispatcher {
  constructor(map: SocketMap, backlog = 16) {
    super(null, map);
    this.createSocket(AF_INET);
    this.bind(['127.0.0.1', 0]);
    this.listen(backlog);
  }

  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  get port(): number {
    return (this.address as [string, number])[1];
  }
}

/**
 * Runs loop(timeout, false, map, 1) until `done()` holds; throws once `maxIterations` or
 * `deadlineMs` is exceeded (whichever comes first). Returns the iterations it took.
 */
export function pumpUntil(
  map: SocketMap,
  done: () => boolean,
  what: string,
  { timeout = 0.01, maxIterations = 500, deadlineMs = 3000 } = {},
): number {
  const deadline = Date.now() + deadlineMs;
  for (let i = 0; ; i++) {
    if (done()) return i;
    if (i >= maxIterations || Date.now() > deadline) {
      throw new Error(`not reached after ${i} iterations: ${what}`);
    }
    if (map.size === 0) throw new Error(`the map emptied before: ${what}`);
    loop(timeout, false, map, 1);
  }
}

/** A fresh path for an AF_UNIX socket (removed by `cleanupPaths`). */
const paths: string[] = [];
let pathCounter = 0;
export function unixPath(tag = 'sock'): string {
  const p = path.join(os.tmpdir(), `asynchat-${process.pid}-${tag}-${pathCounter++}.sock`);
  try {
    fs.unlinkSync(p);
  } catch {
    // not there: the usual case
  }
  paths.push(p);
  return p;
}

export function cleanupPaths(): void {
  for (const p of paths.splice(0)) {
    try {
      fs.unlinkSync(p);
    } catch {
      // never bound, or already gone
    }
  }
}

/** Whether ::1 can be bound here (CPython's socket_helper.IPV6_ENABLED). */
export const ipv6Available: boolean = (() => {
  let s: Socket | undefined;
  try {
    s = new Socket(AF_INET6, SOCK_STREAM);
    s.bind(['::1', 0]);
    return true;
  } catch {
    return false;
  } finally {
    s?.close();
  }
})();

export interface FamilyCase {
  name: string;
  family: number;
  /** A new address to bind to: port 0 on loopback, or a fresh path. */
  addr(): Address;
  tcp: boolean;
  available: boolean;
}

/** CPython's TestAPI_UseIPv4Sockets, TestAPI_UseIPv6Sockets, TestAPI_UseUnixSockets. */
export const FAMILIES: FamilyCase[] = [
  { name: 'IPv4', family: AF_INET, addr: () => ['127.0.0.1', 0], tcp: true, available: true },
  { name: 'IPv6', family: AF_INET6, addr: () => ['::1', 0], tcp: true, available: ipv6Available },
  { name: 'Unix', family: AF_UNIX, addr: () => unixPath('api'), tcp: false, available: true },
];

/** Runs fn with process.stdout/stderr writes captured (and not printed). */
export function captureOutput(fn: () => void): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const grab = (key: 'stdout' | 'stderr') => (chunk: string | Uint8Array): boolean => {
    out[key] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  process.stdout.write = grab('stdout') as typeof process.stdout.write;
  process.stderr.write = grab('stderr') as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  return out;
}

/** struct linger {int l_onoff; int l_linger;} in host byte order. */
export function lingerStruct(onoff: number, seconds: number): Buffer {
  return Buffer.from(new Int32Array([onoff, seconds]).buffer);
}
