// Out of fds, a listener must not spin: the RESP example under a lowered RLIMIT_NOFILE (a
// child process, through prlimit) with more clients than it can hold stays near idle while
// its backlog is full, says so once, and serves the waiting clients once others leave. And
// maxConnections holds the connections beyond it in the backlog until one closes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { SocketMap } from '../../src/engine/map-state';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { closeAll } from '../../src/asyncore/loop';
import { AF_INET, Socket } from '../../src/binding/socket';
import { LoopbackListener, captureOutput, pumpUntil } from '../helpers/asyncore';

const root = path.resolve(__dirname, '..', '..');
const LIMIT = 64;
const CLIENTS = 150;
const hasPrlimit = process.platform === 'linux' && spawnSync('prlimit', ['--version']).status === 0;
if (!hasPrlimit) console.log('note: prlimit is not available here; the EMFILE test is skipped');

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function waitFor(cond: () => boolean, what: () => string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out after ${ms} ms: ${what()}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe.skipIf(!hasPrlimit).each(['blocking', 'attached'])('EMFILE, %s mode', (mode) => {
  let child: ChildProcess | undefined;
  const clients: net.Socket[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('close', r));
      child.kill('SIGKILL');
      await exited;
    }
  });

  it(`${CLIENTS} clients against RLIMIT_NOFILE=${LIMIT}: no spin while the backlog is full, service after`, async () => {
    child = spawn('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, process.execPath, path.join(root, 'examples', 'run.cjs'),
      'resp', '--port', '0', '--mode', mode], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    await waitFor(() => /listening on \S+:\d+/.test(out), () => `the server did not start:\n${out}`, 15_000);
    const port = Number(/listening on \S+:(\d+)/.exec(out)![1]);
    const pid = child.pid!;

    let connected = 0;
    const replies = new Map<net.Socket, string>();
    for (let i = 0; i < CLIENTS; i++) {
      const c = net.connect(port, '127.0.0.1', () => { connected++; });
      c.on('error', () => {});
      c.on('data', (d) => replies.set(c, (replies.get(c) ?? '') + d.toString()));
      clients.push(c);
    }
    // Every handshake completes (the kernel's backlog), and the server ran out of fds.
    await waitFor(() => connected === CLIENTS && /EMFILE/.test(out), () => `connected ${connected}, output:\n${out}`, 15_000);
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const busy = cpuSeconds(pid) - cpu0;
    const wall = (Date.now() - t0) / 1000;
    // A spinning listener burns the whole window (1.5 s of CPU); paused, the server wakes once a second.
    expect(busy, `server CPU ${busy} s over ${wall} s`).toBeLessThan(0.3);
    expect(out.match(/EMFILE/g)).toHaveLength(1);

    // Most clients leave; every one that waited in the backlog is then served.
    const stay = clients.slice(CLIENTS - 20);
    for (const c of clients.slice(0, CLIENTS - 20)) c.destroy();
    for (const c of stay) c.write('PING\r\n');
    await waitFor(() => stay.every((c) => replies.get(c) === '+PONG\r\n'),
      () => `${stay.filter((c) => replies.get(c) === '+PONG\r\n').length}/20 answered; output:\n${out}`, 10_000);
    expect(out.match(/EMFILE/g)).toHaveLength(1);
  });
});

describe('maxConnections', () => {
  let map: SocketMap;
  const opened: Socket[] = [];
  beforeEach(() => { map = new Map(); });
  afterEach(() => {
    closeAll(map, true);
    for (const s of opened.splice(0)) s.close();
  });

  class Conn extends Dispatcher {
    override handleRead(): void {
      this.recv(100);
    }
    override handleClose(): void {
      this.close();
    }
  }

  class Listener extends LoopbackListener {
    readonly conns: Conn[] = [];
    constructor(max: number) {
      super(map);
      this.maxConnections = max;
    }
    override handleAccepted(sock: Socket): void {
      this.conns.push(new Conn(sock, map));
    }
  }

  it('holds connections beyond it in the backlog, accepts one when one closes, logs once', () => {
    const listener = new Listener(3);
    const clients: Socket[] = [];
    for (let i = 0; i < 5; i++) {
      const c = new Socket(AF_INET);
      opened.push(c);
      c.setBlocking(false);
      c.connectEx(listener.address);
      clients.push(c);
    }
    const out = captureOutput(() => {
      pumpUntil(map, () => listener.conns.length === 3, 'three accepted');
      // More iterations change nothing: the other two wait, and the listener is not polled.
      for (let i = 0; i < 20; i++) pumpUntil(map, () => true, 'idle');
      for (let i = 0; i < 5; i++) {
        try { pumpUntil(map, () => false, 'nothing', { maxIterations: 3, timeout: 0.01 }); } catch { /* expected */ }
      }
    });
    expect(listener.conns.length).toBe(3);
    expect(out.stdout.match(/maxConnections \(3\) reached/g)).toHaveLength(1);
    listener.conns[0].close();
    const more = captureOutput(() => pumpUntil(map, () => listener.conns.length === 4, 'a fourth accepted after a close'));
    expect(more.stdout).not.toMatch(/maxConnections/);
    expect(listener.conns.filter((c) => !c.closed)).toHaveLength(3);
    // A connection closed by its peer frees a place too.
    const peer = clients[1];
    peer.close();
    opened.splice(opened.indexOf(peer), 1);
    pumpUntil(map, () => listener.conns.length === 5, 'the fifth accepted after a peer left');
    expect(listener.conns.filter((c) => !c.closed)).toHaveLength(3);
  });
});
