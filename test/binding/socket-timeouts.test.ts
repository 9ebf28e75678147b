// Python's socket timeouts on Socket: setTimeout()/getTimeout() (settimeout/gettimeout) and
// setBlocking()/getBlocking() agree with Python 3.11 on the same calls; with a timeout, accept,
// connect, recv and send wait up to that long and then raise a TimeoutError (code ETIMEDOUT),
// over real loopback sockets; without one nothing changes (EAGAIN at once).
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/binding/native';
import {
  AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_SNDBUF, Socket, socketpair,
} from '../../src/binding/socket';

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
function track<T extends Socket | Socket[]>(s: T): T {
  if (Array.isArray(s)) open.push(...s);
  else open.push(s);
  return s;
}

function listener(backlog = 16): Socket {
  const s = track(new Socket(AF_INET, SOCK_STREAM));
  s.bind(['127.0.0.1', 0]);
  s.listen(backlog);
  return s;
}

/** What fn throws, and how long it took (ms). */
function timedThrow(fn: () => unknown): [unknown, number] {
  const t0 = performance.now();
  try {
    fn();
  } catch (err) {
    return [err, performance.now() - t0];
  }
  throw new Error('did not throw');
}

const TIMED_OUT = { code: 'ETIMEDOUT', name: 'TimeoutError' };
// A wait of `t` seconds ends no sooner than t, and (on a loaded machine too) well before this.
const SLACK_MS = 2000;

function python(script: string, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 exited ${code}: ${out}`))));
  });
}

describe('setTimeout / getTimeout / setBlocking / getBlocking', () => {
  it('follow Python 3.11 step by step (after setblocking(False), where ours starts)', async () => {
    const steps: Array<['settimeout', number | null] | ['setblocking', boolean]> = [
      ['settimeout', 1.5], ['settimeout', 0], ['settimeout', null], ['setblocking', false],
      ['settimeout', 0.25], ['setblocking', true], ['settimeout', 0.0],
    ];
    const py = await python(`
import json, socket, sys
s = socket.socket()
s.setblocking(False)
out = [[s.gettimeout(), s.getblocking()]]
for name, arg in json.loads(sys.argv[1]):
    getattr(s, name)(arg)
    out.append([s.gettimeout(), s.getblocking()])
print(json.dumps(out))
`, [JSON.stringify(steps)]);
    const s = track(new Socket(AF_INET, SOCK_STREAM));
    const ours: Array<[number | null, boolean]> = [[s.getTimeout(), s.getBlocking()]];
    for (const [name, arg] of steps) {
      if (name === 'settimeout') s.setTimeout(arg as number | null);
      else s.setBlocking(arg as boolean);
      ours.push([s.getTimeout(), s.getBlocking()]);
      // The fd itself is blocking only with no timeout (null); a timeout keeps it non-blocking.
      expect((native.fdFlags(s.fileno()) & 1) === 0).toBe(s.getTimeout() === null);
    }
    expect(ours).toEqual(JSON.parse(py));
  });

  it('a wrapped fd reports what its flags say', () => {
    const [a, b] = track(socketpair());
    a.setBlocking(true);
    expect(new Socket(AF_UNIX, SOCK_STREAM, 0, a.fileno()).getTimeout()).toBeNull();
    expect(new Socket(AF_UNIX, SOCK_STREAM, 0, b.fileno()).getTimeout()).toBe(0);
  });

  it('refuses what Python refuses, with ERR_ASYNCHAT_BAD_TIMEOUT', () => {
    const s = track(new Socket());
    for (const bad of [-1, -0.001, Infinity]) {
      expect(() => s.setTimeout(bad)).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_TIMEOUT' }));
    }
    for (const bad of ['1', NaN, undefined, {}]) {
      let err: unknown;
      try {
        s.setTimeout(bad as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: 'ERR_ASYNCHAT_BAD_TIMEOUT' });
    }
    expect(s.getTimeout()).toBe(0);  // unchanged
  });
});

describe('calls that wait up to the timeout', () => {
  it('accept() with no connection raises a TimeoutError after the timeout', () => {
    const srv = listener();
    srv.setTimeout(0.2);
    const [err, ms] = timedThrow(() => srv.accept());
    expect(err).toMatchObject({ ...TIMED_OUT, syscall: 'accept', timeout: 0.2 });
    expect((err as Error).message).toBe('ETIMEDOUT: timed out after 0.2 s, accept');
    expect(ms).toBeGreaterThanOrEqual(195);
    expect(ms).toBeLessThan(200 + SLACK_MS);
    expect(srv.tryAccept()).toBeNull();  // the try* variants never wait
  });

  it('accept() returns a connection that arrives while it waits (a peer in another process)', async () => {
    const srv = listener();
    srv.setTimeout(10);
    const peer = python(`
import socket, sys, time
time.sleep(0.3)
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'hello')
s.recv(1)
`, [String((srv.getsockname() as [string, number])[1])]);
    const t0 = performance.now();
    const [conn] = srv.accept();
    track(conn);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(10_000);
    expect(conn.getTimeout()).toBe(0);  // non-blocking, whatever the listener's timeout
    conn.setTimeout(5);
    expect(conn.recv(5).toString()).toBe('hello');  // waits for the bytes if they are not there yet
    conn.send('x');
    await peer;
  });

  it('connect() to a listener whose backlog is full raises a TimeoutError; connectEx() returns EAGAIN', () => {
    // A listener nobody accepts from: once its queue is full, Linux drops further SYNs, so a
    // connect can only wait (Python: TimeoutError('timed out') the same way).
    const srv = listener(0);
    const addr = srv.getsockname();
    for (let i = 0; i < 8; i++) track(new Socket()).connectEx(addr);
    const c = track(new Socket());
    c.setTimeout(0.3);
    const [err, ms] = timedThrow(() => c.connect(addr));
    expect(err).toMatchObject({ ...TIMED_OUT, syscall: 'connect' });
    expect(ms).toBeGreaterThanOrEqual(295);
    expect(ms).toBeLessThan(300 + SLACK_MS);
    const d = track(new Socket());
    d.setTimeout(0.1);
    expect(d.connectEx(addr)).toBe('EAGAIN');
  });

  it('connect() with a timeout connects, raises ECONNREFUSED as it is, and keeps the timeout', () => {
    const srv = listener();
    const ok = track(new Socket());
    ok.setTimeout(5);
    ok.connect(srv.getsockname());
    expect(ok.getTimeout()).toBe(5);
    const closedPort = track(new Socket());
    closedPort.bind(['127.0.0.1', 0]);  // bound, never listening: connecting to it is refused
    const refused = track(new Socket());
    refused.setTimeout(5);
    const [err, ms] = timedThrow(() => refused.connect(closedPort.getsockname()));
    expect(err).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    expect(ms).toBeLessThan(SLACK_MS);
  });

  it('recv(), recvfrom() and send() wait up to the timeout, then raise a TimeoutError', () => {
    const [a, b] = track(socketpair());
    a.setTimeout(0.15);
    let [err, ms] = timedThrow(() => a.recv(10));
    expect(err).toMatchObject({ ...TIMED_OUT, syscall: 'recv' });
    expect(ms).toBeGreaterThanOrEqual(145);
    b.send('abc');
    expect(a.recv(10).toString()).toBe('abc');

    // send: fill the buffer first (nobody reads b)
    a.setsockopt(SOL_SOCKET, SO_SNDBUF, 4096);
    const chunk = Buffer.alloc(65536);
    while (a.trySend(chunk) > 0);
    [err, ms] = timedThrow(() => a.send(chunk));
    expect(err).toMatchObject({ ...TIMED_OUT, syscall: 'send' });
    expect(ms).toBeGreaterThanOrEqual(145);

    const u = track(new Socket(AF_INET, SOCK_DGRAM));
    u.bind(['127.0.0.1', 0]);
    u.setTimeout(0.1);
    [err] = timedThrow(() => u.recvfrom(100));
    expect(err).toMatchObject({ ...TIMED_OUT, syscall: 'recvfrom' });
  });

  it('without a timeout nothing waits: EAGAIN at once, as before', () => {
    const srv = listener();
    const [err, ms] = timedThrow(() => srv.accept());
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'accept' });
    expect(ms).toBeLessThan(100);
    const [a] = track(socketpair());
    expect(() => a.recv(1)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
  });
});
