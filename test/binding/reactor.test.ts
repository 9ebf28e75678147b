// The native reactor in blocking mode (wait()), over real fds: interest caching, fd reuse,
// HUP/ERR, always-ready files, batches of many events, errors and timeouts.
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native, EV } from '../../src/binding/native';
import { backends, defaultBackend, resolveBackend, resetStats, stats } from '../../src/binding/backends';
import { AF_INET, MSG_OOB, SOL_SOCKET, SO_LINGER, Socket, socketpair } from '../../src/binding/socket';
import { DONE, openReactor, waitFd, waitReady, type Harness } from '../helpers/reactor';
import { connection } from '../helpers/sockets';
import { fdLimit, openFds } from '../helpers/fds';

const backend = defaultBackend();

/** Every (fd, bits) of one wait, as a map. */
function waitMap(h: Harness, timeoutMs: number): Map<number, number> {
  const n = h.reactor.wait(timeoutMs);
  const out = new Map<number, number>();
  for (let i = 0; i < n; i++) out.set(h.events[2 * i], h.events[2 * i + 1]);
  return out;
}

describe(`native reactor (${backend})`, () => {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const o of open.splice(0).reverse()) o.close();
  });

  function harness(capacity = 64): Harness {
    const h = openReactor(capacity);
    open.push(h);
    return h;
  }

  function pair(): [Socket, Socket] {
    const p = socketpair();
    open.push(...p);
    return p;
  }

  it('reports readiness as (fd, bits) pairs in the shared array', () => {
    const events = new Int32Array(64);
    const reactor = new native.Reactor(backend, events);
    open.push(reactor);
    expect(reactor.name).toBe(backend);
    if (backend === 'poll') expect(reactor.fd).toBe(-1);
    else expect(reactor.fd).toBeGreaterThanOrEqual(0);
    const [a, b] = pair();
    reactor.setInterest(a.fileno(), EV.READ);
    expect(reactor.getInterest(a.fileno())).toBe(EV.READ);
    expect(reactor.wait(0)).toBe(0);
    b.send('x');
    expect(reactor.wait(1000)).toBe(1);
    expect(events[0]).toBe(a.fileno());
    expect(events[1] & EV.READ).toBe(EV.READ);
    // level-triggered: still there until read
    expect(reactor.wait(0)).toBe(1);
    a.recv(1);
    expect(reactor.wait(0)).toBe(0);
  });

  describe('interest caching', () => {
    it('the same interest twice costs one syscall; an unchanged one costs none', () => {
      const h = harness();
      const [a, b] = pair();
      const fd = a.fileno();
      resetStats();
      h.reactor.setInterest(fd, EV.READ);
      h.reactor.setInterest(fd, EV.READ);
      expect(stats().interestSyscalls).toBe(0); // deferred until the wait
      h.reactor.wait(0);
      expect(stats().interestSyscalls).toBe(1);
      h.reactor.setInterest(fd, EV.READ);
      h.reactor.wait(0);
      expect(stats().interestSyscalls).toBe(1);

      // flipping away and back before a wait costs nothing
      h.reactor.setInterest(fd, EV.WRITE);
      h.reactor.setInterest(fd, 0);
      h.reactor.setInterest(fd, EV.READ | EV.WRITE);
      h.reactor.setInterest(fd, EV.READ);
      expect(h.reactor.getInterest(fd)).toBe(EV.READ);
      expect(h.reactor.wait(0)).toBe(0);
      expect(stats().interestSyscalls).toBe(1);

      // and the interest is still the kernel's: data is reported
      b.send('x');
      expect(waitFd(h, fd, EV.READ) & EV.READ).toBe(EV.READ);

      // a real change costs one
      h.reactor.setInterest(fd, EV.READ | EV.WRITE);
      const bits = waitMap(h, 1000).get(fd)!;
      expect(bits & (EV.READ | EV.WRITE)).toBe(EV.READ | EV.WRITE);
      expect(stats().interestSyscalls).toBe(2);

      // removing interest costs one, and stops reports
      h.reactor.setInterest(fd, 0);
      expect(h.reactor.wait(0)).toBe(0);
      expect(stats().interestSyscalls).toBe(3);
    });

    it('many changes to many fds before one wait cost at most one syscall per fd', () => {
      const h = harness();
      const pairs = Array.from({ length: 10 }, () => pair());
      resetStats();
      for (let round = 0; round < 5; round++) {
        for (const [a] of pairs) h.reactor.setInterest(a.fileno(), round % 2 ? EV.WRITE : EV.READ);
      }
      h.reactor.wait(0);
      expect(stats().interestSyscalls).toBe(10);
    });

    it('remove(fd) is immediate, and a new socket reusing the fd number is registered afresh', () => {
      const h = harness();
      const [a, b] = pair();
      const fd = a.fileno();
      h.reactor.setInterest(fd, EV.READ);
      b.send('x');
      expect(waitFd(h, fd, EV.READ) & EV.READ).toBe(EV.READ);

      h.reactor.remove(fd);
      expect(h.reactor.getInterest(fd)).toBe(0);
      expect(h.reactor.wait(0)).toBe(0); // still readable, no longer watched
      h.reactor.remove(fd); // twice is harmless
      a.close();
      b.close();

      // the lowest free fd number comes back for the next socket
      const [c, d] = pair();
      const reused = [c, d].find((s) => s.fileno() === fd);
      expect(reused, `fd ${fd} was not reused (got ${c.fileno()}, ${d.fileno()})`).toBeDefined();
      const other = reused === c ? d : c;
      h.reactor.setInterest(fd, EV.READ);
      expect(h.reactor.wait(0)).toBe(0);
      other.send('y');
      expect(waitFd(h, fd, EV.READ) & EV.READ).toBe(EV.READ);
      expect(reused!.recv(1).toString()).toBe('y');
    });

    it('an fd closed without remove() and reused gets the interest asked for', () => {
      const h = harness();
      // Closes `s` and its peer behind the reactor's back, and returns a new pair whose first
      // socket has s's fd number.
      const reopen = (s: Socket, peer: Socket): [Socket, Socket] => {
        const fd = s.fileno();
        s.close();
        peer.close();
        const [c, d] = pair();
        expect([c.fileno(), d.fileno()]).toContain(fd);
        return c.fileno() === fd ? [c, d] : [d, c];
      };
      const [a, b] = pair();
      const fd = a.fileno();
      h.reactor.setInterest(fd, EV.READ);
      expect(h.reactor.wait(0)).toBe(0);
      // The interest grows: the READ the kernel dropped at close must come back with WRITE.
      const [c, d] = reopen(a, b);
      d.send('y');
      h.reactor.setInterest(fd, EV.READ | EV.WRITE);
      expect(waitFd(h, fd, EV.READ) & (EV.READ | EV.WRITE)).toBe(EV.READ | EV.WRITE);
      // The interest changes: WRITE is reported, not an error for the stale READ.
      h.reactor.setInterest(fd, EV.READ);
      expect(h.reactor.wait(0)).toBe(1);
      c.recv(1);
      const [e] = reopen(c, d);
      h.reactor.setInterest(fd, EV.WRITE);
      expect(waitFd(h, fd, EV.WRITE)).toBe(EV.WRITE);
      expect(e.fileno()).toBe(fd);
    });

    it('an fd that is not open is reported (NVAL or ERR) rather than thrown', () => {
      const h = harness();
      const s = new Socket(AF_INET);
      const fd = s.fileno();
      s.close();
      h.reactor.setInterest(fd, EV.READ);
      const bits = waitFd(h, fd, 0, 1000);
      expect(bits & (EV.NVAL | EV.ERR)).not.toBe(0);
      h.reactor.remove(fd);
      expect(h.reactor.wait(0)).toBe(0);
    });
  });

  describe('readiness bits', () => {
    it('a peer that resets shows HUP/ERR (with READ)', () => {
      const h = harness();
      const tracked: Socket[] = [];
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], tracked);
      open.push(...tracked);
      conn.setsockopt(SOL_SOCKET, SO_LINGER, Buffer.from(new Int32Array([1, 0]).buffer));
      conn.close();
      h.reactor.setInterest(client.fileno(), EV.READ);
      const bits = waitFd(h, client.fileno(), EV.READ);
      expect(bits & (EV.HUP | EV.ERR)).not.toBe(0);
      expect(native.getSocketError(client.fileno())).toBe('ECONNRESET');
    });

    const HANGUP = EV.HUP;

    it('a socketpair whose peer closed shows READ and HUP; a pipe without writer shows HUP', () => {
      const h = harness();
      const [a, b] = pair();
      b.close();
      h.reactor.setInterest(a.fileno(), EV.READ);
      const bits = waitFd(h, a.fileno(), EV.READ);
      expect(bits & HANGUP).toBe(HANGUP);
      expect(a.recv(1).length).toBe(0);
      h.reactor.remove(a.fileno());

      const [r, w] = native.pipe();
      open.push({ close: () => native.close(r) });
      native.close(w);
      h.reactor.setInterest(r, EV.READ);
      expect(waitFd(h, r, EV.READ) & HANGUP).toBe(HANGUP);
      h.reactor.remove(r);
    });

    it('writable sockets report WRITE; out-of-band data reports PRI', () => {
      const h = harness();
      const tracked: Socket[] = [];
      const { client, conn } = connection(h, AF_INET, ['127.0.0.1', 0], tracked);
      open.push(...tracked);
      h.reactor.setInterest(client.fileno(), EV.WRITE);
      expect(waitFd(h, client.fileno(), EV.WRITE) & EV.WRITE).toBe(EV.WRITE);
      h.reactor.setInterest(client.fileno(), 0);
      // kqueue has no filter for out-of-band data (see poller_kqueue.cc)
      if (backend === 'kqueue') return;
      h.reactor.setInterest(conn.fileno(), EV.PRI);
      client.send('!', MSG_OOB);
      expect(waitFd(h, conn.fileno(), EV.PRI) & EV.PRI).toBe(EV.PRI);
      expect(conn.recv(1, MSG_OOB).toString()).toBe('!');
    });
  });

  describe('regular files', () => {
    it('a regular file is always ready (READ), not an error, and does not make wait block', () => {
      const h = harness();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asynchat-reactor-'));
      const file = path.join(dir, 'data.txt');
      fs.writeFileSync(file, 'some bytes');
      const fd = fs.openSync(file, 'r+');
      open.push({ close: () => { fs.closeSync(fd); fs.rmSync(dir, { recursive: true, force: true }); } });
      const [a, b] = pair();
      resetStats();
      h.reactor.setInterest(fd, EV.READ);
      h.reactor.setInterest(a.fileno(), EV.READ);
      const started = Date.now();
      let got = waitMap(h, 5000);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(got.get(fd)).toBe(EV.READ);
      expect(got.has(a.fileno())).toBe(false);
      const syscalls = stats().interestSyscalls;

      // ready again on every wait, alongside kernel events, with no further syscalls
      b.send('x');
      for (let i = 0; i < 3; i++) {
        got = waitMap(h, 1000);
        expect(got.get(fd)).toBe(EV.READ);
      }
      expect(got.get(a.fileno())! & EV.READ).toBe(EV.READ);
      h.reactor.setInterest(fd, EV.READ | EV.WRITE);
      expect(waitMap(h, 1000).get(fd)).toBe(EV.READ | EV.WRITE);
      if (backend === 'epoll') expect(stats().interestSyscalls).toBe(syscalls);

      // without interest or after remove(), it is not reported and wait may block again
      h.reactor.setInterest(fd, 0);
      a.recv(1);
      expect(h.reactor.wait(0)).toBe(0);
      h.reactor.setInterest(fd, EV.READ);
      expect(waitMap(h, 0).get(fd)).toBe(EV.READ);
      h.reactor.remove(fd);
      expect(h.reactor.wait(0)).toBe(0);
    });
  });

  describe('batches', () => {
    it('delivers many ready fds at once, in batches the size of the event array', () => {
      // 1000 socketpairs (2000 fds), or fewer if the fd limit is low.
      const headroom = fdLimit() - openFds().size - 64;
      const count = Math.min(1000, Math.floor(headroom / 2));
      expect(count, `fd limit too low for a batch test (${fdLimit()})`).toBeGreaterThanOrEqual(100);
      const capacity = 256;
      const h = harness(capacity);
      const fds: number[] = [];
      const peers: number[] = [];
      try {
        for (let i = 0; i < count; i++) {
          const [a, b] = native.socketpair();
          fds.push(a);
          peers.push(b);
        }
        for (const fd of fds) h.reactor.setInterest(fd, EV.READ);
        const one = Buffer.from('!');
        for (const fd of peers) expect(native.send(fd, one)).toBe(1);

        resetStats();
        const seen = new Set<number>();
        const sink = Buffer.alloc(16);
        let waits = 0;
        const deadline = Date.now() + 10_000;
        while (seen.size < count && Date.now() < deadline) {
          const n = h.reactor.wait(1000);
          waits++;
          expect(n).toBeLessThanOrEqual(capacity);
          for (let i = 0; i < n; i++) {
            const fd = h.events[2 * i];
            expect(h.events[2 * i + 1] & EV.READ).toBe(EV.READ);
            expect(seen.has(fd), `fd ${fd} reported twice`).toBe(false);
            seen.add(fd);
            expect(native.recv(fd, sink)).toBe(1); // consumed: not reported again
          }
        }
        expect(seen.size).toBe(count);
        expect(new Set(fds)).toEqual(seen);
        const s = stats();
        expect(s.events).toBe(count);
        expect(s.interestSyscalls).toBe(count); // one registration each, in the first wait
        expect(s.crossings).toBeLessThanOrEqual(Math.ceil(count / capacity) + 2);
        expect(s.crossings).toBeLessThan(s.events / 50);
        expect(waits).toBe(s.crossings);
        expect(h.reactor.wait(0)).toBe(0);
      } finally {
        for (const fd of fds) h.reactor.remove(fd);
        for (const fd of [...fds, ...peers]) native.close(fd);
      }
    });

    it('reports each fd once per batch with all its bits, however far apart the backend returns them', () => {
      // kqueue returns a read and a write event per fd, in no set order (the kqueue shim
      // returns every read first), so here each fd's two events are 15 events apart.
      const count = 16;
      const h = harness(64);
      const fds: number[] = [];
      for (let i = 0; i < count; i++) {
        const [a, b] = pair();
        h.reactor.setInterest(a.fileno(), EV.READ | EV.WRITE);
        b.send('x');
        fds.push(a.fileno());
      }
      const n = h.reactor.wait(1000);
      const reported: number[] = [];
      for (let i = 0; i < n; i++) {
        reported.push(h.events[2 * i]);
        expect(h.events[2 * i + 1] & (EV.READ | EV.WRITE), `bits of fd ${h.events[2 * i]}`).toBe(EV.READ | EV.WRITE);
      }
      expect(reported.sort((x, y) => x - y)).toEqual(fds.sort((x, y) => x - y));
      expect(n).toBe(count);
    });

    it('an event array of one delivers one event per wait, losing none', () => {
      const h = harness(1);
      const pairs = [pair(), pair(), pair()];
      for (const [a, b] of pairs) {
        h.reactor.setInterest(a.fileno(), EV.READ);
        b.send('x');
      }
      const seen = new Set<number>();
      for (let i = 0; i < 3; i++) {
        expect(h.reactor.wait(1000)).toBe(1);
        seen.add(h.events[0]);
        pairs.find(([a]) => a.fileno() === h.events[0])![0].recv(1);
      }
      expect(seen).toEqual(new Set(pairs.map(([a]) => a.fileno())));
      expect(h.reactor.wait(0)).toBe(0);
    });
  });

  describe('errors', () => {
    it('an unknown backend throws ERR_ASYNCHAT_BACKEND', () => {
      expect(() => new native.Reactor('nonesuch', new Int32Array(8))).toThrow(
        expect.objectContaining({ code: 'ERR_ASYNCHAT_BACKEND', message: expect.stringContaining('nonesuch') }),
      );
      expect(() => resolveBackend(false, 'nonesuch')).toThrow(
        expect.objectContaining({ code: 'ERR_ASYNCHAT_BACKEND' }),
      );
      expect(backends()).toContain(backend);
      expect(resolveBackend(true)).toBe('poll');
    });

    it('the event array is checked', () => {
      expect(() => new native.Reactor(backend, new Float64Array(8) as unknown as Int32Array)).toThrow(TypeError);
      expect(() => new native.Reactor(backend, new Int32Array(1))).toThrow(RangeError);
    });

    it('a closed reactor throws ERR_ASYNCHAT_CLOSED; closing twice is a no-op', () => {
      const before = stats().reactors;
      const h = openReactor();
      expect(stats().reactors).toBe(before + 1);
      const [a] = pair();
      h.reactor.setInterest(a.fileno(), EV.READ);
      h.close();
      expect(stats().reactors).toBe(before);
      const closed = expect.objectContaining({ code: 'ERR_ASYNCHAT_CLOSED' });
      expect(() => h.reactor.wait(0)).toThrow(closed);
      expect(() => h.reactor.setInterest(a.fileno(), EV.READ)).toThrow(closed);
      expect(() => h.reactor.attach(() => {})).toThrow(closed);
      expect(() => h.reactor.remove(a.fileno())).not.toThrow();
      expect(() => h.reactor.detach()).not.toThrow();
      expect(() => h.close()).not.toThrow();
      expect(h.reactor.name).toBeNull();
      expect(h.reactor.fd).toBe(-1);
    });

    it('closing a reactor releases its backend fd', () => {
      if (backend === 'poll') return; // poll(2) has no fd of its own
      const h = openReactor();
      const fd = h.reactor.fd;
      expect(openFds().has(fd)).toBe(true);
      h.close();
      expect(openFds().get(fd)).not.toBe('anon_inode:[eventpoll]');
    });
  });

  describe('timeouts', () => {
    it('wait(50) with nothing ready returns 0 after about 50 ms', () => {
      const h = harness();
      const [a] = pair();
      h.reactor.setInterest(a.fileno(), EV.READ);
      const started = process.hrtime.bigint();
      expect(h.reactor.wait(50)).toBe(0);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      expect(elapsedMs).toBeGreaterThanOrEqual(45);
    });

    it('wait(50) with no fd registered at all still waits', () => {
      const h = harness();
      const started = process.hrtime.bigint();
      expect(h.reactor.wait(50)).toBe(0);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(45);
    });

    it('wait(0) polls; a negative timeout returns as soon as something is ready', () => {
      const h = harness();
      const [a, b] = pair();
      h.reactor.setInterest(a.fileno(), EV.READ);
      const started = Date.now();
      expect(h.reactor.wait(0)).toBe(0);
      b.send('x');
      expect(h.reactor.wait(-1)).toBe(1);
      expect(Date.now() - started).toBeLessThan(1000);
    });
  });

  it('waitReady helper leaves the interest as it found it', () => {
    const h = harness();
    const [a, b] = pair();
    h.reactor.setInterest(a.fileno(), EV.WRITE);
    b.send('x');
    expect(waitReady(h, a.fileno(), EV.READ) & EV.READ).toBe(EV.READ);
    expect(h.reactor.getInterest(a.fileno())).toBe(EV.WRITE);
    expect(DONE & EV.READ).toBe(0);
  });
});

// Reactors are per environment, and many may be open at once on different backends.
describe('several reactors', () => {
  it('each sees only its own fds', () => {
    const hs = backends().map((b) => openReactor(8, b));
    const pairs = hs.map(() => socketpair());
    try {
      hs.forEach((h, i) => h.reactor.setInterest(pairs[i][0].fileno(), EV.READ));
      pairs.forEach(([, b]) => b.send('x'));
      hs.forEach((h, i) => {
        expect(h.reactor.wait(1000)).toBe(1);
        expect(h.events[0]).toBe(pairs[i][0].fileno());
      });
    } finally {
      hs.forEach((h) => h.close());
      pairs.flat().forEach((s) => s.close());
    }
  });
});
