// Dispatchers over datagram sockets, written as Python's UDP programs write them
// (create_socket(AF_INET, SOCK_DGRAM), bind, recvfrom in handle_read, sendto), in both run
// modes; zero-length datagrams; ICMP errors; and a flood that must not starve a TCP connection
// in the same map, with the per-event read bound asserted.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { DATAGRAM_READS_PER_EVENT } from '../../src/asyncore/datagram';
import { closeAll, loop, loopAsync } from '../../src/asyncore/loop';
import {
  AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOCK_STREAM, Socket, socketpair, type Address,
} from '../../src/binding/socket';
import type { SocketMap } from '../../src/engine/map-state';
import { isSystemError } from '../../src/errors';
import { FAMILIES, captureOutput, cleanupPaths, pumpUntil } from '../helpers/asyncore';
import { withDeadline } from '../helpers/reactor';

const maps: SocketMap[] = [];
const spare: Socket[] = [];
afterEach(() => {
  for (const m of maps.splice(0)) closeAll(m, true);
  for (const s of spare.splice(0)) s.close();
  cleanupPaths();
});

function newMap(): SocketMap {
  const map: SocketMap = new Map();
  maps.push(map);
  return map;
}

/** What every test dispatcher here shares: no writes, and it counts its closes. */
class Quiet extends Dispatcher {
  closes = 0;
  override writable(): boolean {
    return false;
  }
  override handleConnect(): void {}
  override handleClose(): void {
    this.closes++;
    this.close();
  }
}

/** A UDP address nothing listens on (bound, read, released): sending there draws an ICMP error. */
function refusedAddress(): Address {
  const gone = new Socket(AF_INET, SOCK_DGRAM);
  try {
    gone.bind(['127.0.0.1', 0]);
    return gone.getsockname();
  } finally {
    gone.close();
  }
}

/** Python's UDP echo server, line for line. */
class UdpEcho extends Quiet {
  events = 0;
  reads = 0;
  maxPerEvent = 0;
  errors: unknown[] = [];
  constructor(family: number, addr: Address, map: SocketMap) {
    super(null, map);
    this.createSocket(family, SOCK_DGRAM);
    this.bind(addr);
  }
  override handleReadEvent(): void {
    this.events++;
    const before = this.reads;
    super.handleReadEvent();
    this.maxPerEvent = Math.max(this.maxPerEvent, this.reads - before);
  }
  override handleRead(): void {
    const [data, addr] = (this.socket as Socket).recvfrom(2048);
    this.reads++;
    if (addr !== null) (this.socket as Socket).sendto(data, addr);
  }
  override handleError(err?: unknown): void {
    this.errors.push(err);
    super.handleError(err);
  }
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }
}

function client(family: number, addr: Address | null = null): Socket {
  const s = new Socket(family, SOCK_DGRAM);
  spare.push(s);
  if (addr !== null) s.bind(addr);
  return s;
}

describe.each(FAMILIES)('a UDP-style echo dispatcher, $name, blocking loop()', ({ family, addr, available }) => {
  it.skipIf(!available)('answers each datagram to its sender; no connect/accept state, no handleClose', () => {
    const map = newMap();
    const server = new UdpEcho(family, addr(), map);
    expect([server.connected, server.accepting, server.connecting]).toEqual([false, false, false]);
    const c = client(family, addr());
    const replies: string[] = [];
    for (const word of ['alpha', 'beta', '', 'gamma']) c.sendto(word, server.address);
    pumpUntil(map, () => {
      for (let got = c.tryRecvfrom(100); got !== null; got = c.tryRecvfrom(100)) replies.push(got[0].toString());
      return replies.length === 4;
    }, 'four echoes');
    expect(replies).toEqual(['alpha', 'beta', '', 'gamma']);
    expect(server.closes).toBe(0);
    expect(map.size).toBe(1);
  });
});

describe('datagram dispatchers', () => {
  it('attached mode: loopAsync() serves a UDP dispatcher while Node\'s dgram talks to it', async () => {
    const map = newMap();
    const server = new UdpEcho(AF_INET, ['127.0.0.1', 0], map);
    const served = loopAsync({ map });
    const sock = dgram.createSocket('udp4');
    try {
      const port = (server.address as [string, number])[1];
      const got: string[] = [];
      const all = new Promise<void>((resolve) => {
        sock.on('message', (msg) => {
          got.push(msg.toString());
          if (got.length === 3) resolve();
        });
      });
      for (const m of ['one', '', 'three']) sock.send(m, port, '127.0.0.1');
      await withDeadline(all, 5000, 'three echoes');
      expect(got.sort()).toEqual(['', 'one', 'three']);
      expect(server.closes).toBe(0);
    } finally {
      sock.close();
      closeAll(map, true);
      await served;
    }
  });

  it('a zero-length datagram read with Dispatcher.recv() is not an end of stream (Python closes: fixed)', () => {
    const map = newMap();
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    spare.push(a);
    const seen: number[] = [];
    class Reader extends Quiet {
      override handleRead(): void {
        seen.push(this.recv(100).length);
      }
    }
    const r = new Reader(b, map);
    expect(r.connected).toBe(true);  // a socketpair has its peer, as in Python
    a.send('');
    a.send('x');
    a.send('');
    pumpUntil(map, () => seen.length === 3, 'three datagrams');
    expect(seen).toEqual([0, 1, 0]);
    expect(r.closes).toBe(0);
    expect(r.closed).toBe(false);
  });

  it('connect() on a UDP dispatcher: connected at once, handleConnect, then send()/recv() with the peer', () => {
    const map = newMap();
    const peer = client(AF_INET, ['127.0.0.1', 0]);
    let connects = 0;
    const got: string[] = [];
    class Client extends Quiet {
      override handleConnect(): void {
        connects++;
      }
      override handleRead(): void {
        got.push(this.recv(100).toString());
      }
    }
    const c = new Client(null, map);
    c.createSocket(AF_INET, SOCK_DGRAM);
    c.connect(peer.getsockname());
    expect([c.connected, c.connecting, connects]).toEqual([true, false, 1]);
    expect(c.send('ping')).toBe(4);
    pumpUntil(map, () => peer.tryRecvfrom(100) !== null || false, 'the datagram at the peer', { maxIterations: 5 });
    peer.sendto('pong', (c.socket as Socket).getsockname());
    pumpUntil(map, () => got.length === 1, 'the reply');
    expect(got).toEqual(['pong']);
  });

  it('an ICMP port unreachable reaches handleRead as ECONNREFUSED; caught, the dispatcher stays open', () => {
    const map = newMap();
    const refused: string[] = [];
    class Client extends Quiet {
      override handleRead(): void {
        try {
          this.recv(100);
        } catch (err) {
          if (!isSystemError(err, 'ECONNREFUSED')) throw err;
          refused.push(err.code);
        }
      }
    }
    const c = new Client(null, map);
    c.createSocket(AF_INET, SOCK_DGRAM);
    c.connect(refusedAddress());
    c.send('anyone?');
    pumpUntil(map, () => refused.length === 1, 'ECONNREFUSED in handleRead');
    c.send('anyone?');
    pumpUntil(map, () => refused.length === 2, 'the second ECONNREFUSED');
    expect(c.closes).toBe(0);
    expect(c.closed).toBe(false);
  });

  it('an uncaught ECONNREFUSED goes to handleError, which closes, as Python\'s does', () => {
    const map = newMap();
    const errors: unknown[] = [];
    class Client extends Quiet {
      override handleRead(): void {
        this.recv(100);
      }
      override handleError(err?: unknown): void {
        errors.push(err);
        this.close();
      }
    }
    const c = new Client(null, map);
    c.createSocket(AF_INET, SOCK_DGRAM);
    c.connect(refusedAddress());
    c.send('anyone?');
    pumpUntil(map, () => c.closed, 'closed by handleError');
    expect(errors).toEqual([expect.objectContaining({ code: 'ECONNREFUSED' })]);
  });

  it('an error condition whose handler does not receive goes to handleError, instead of waking every wait', () => {
    const map = newMap();
    const errors: unknown[] = [];
    let reads = 0;
    class Deaf extends Quiet {
      override handleRead(): void {
        reads++;
      }
      override handleError(err?: unknown): void {
        errors.push(err);
      }
    }
    const c = new Deaf(null, map);
    c.createSocket(AF_INET, SOCK_DGRAM);
    c.connect(refusedAddress());
    c.send('anyone?');
    pumpUntil(map, () => errors.length === 1, 'the error in handleError');
    expect(errors).toEqual([expect.objectContaining({ code: 'ECONNREFUSED' })]);
    expect(reads).toBe(1);
    loop(0, false, map, 1);  // cleared: nothing more to report
    expect([reads, errors.length, c.closed]).toEqual([1, 1, false]);
  });

  it('a handler that reads one datagram per call is called once per waiting datagram, never into EAGAIN', () => {
    const map = newMap();
    const server = new UdpEcho(AF_INET, ['127.0.0.1', 0], map);
    const c = client(AF_INET);
    for (let i = 0; i < 5; i++) c.sendto(`d${i}`, server.address);
    // All five are queued before the wait: one readiness event delivers them all.
    pumpUntil(map, () => server.reads === 5, 'five reads');
    expect(server.events).toBe(1);
    expect(server.maxPerEvent).toBe(5);
    expect(server.errors).toEqual([]);
  });

  it('a handler that does not read is called once per event, not DATAGRAM_READS_PER_EVENT times', () => {
    const map = newMap();
    let calls = 0;
    class Lazy extends Quiet {
      override handleRead(): void {
        calls++;
      }
    }
    const d = new Lazy(null, map);
    d.createSocket(AF_INET, SOCK_DGRAM);
    d.bind(['127.0.0.1', 0]);
    const c = client(AF_INET);
    c.sendto('x', (d.socket as Socket).getsockname());
    c.sendto('y', (d.socket as Socket).getsockname());
    pumpUntil(map, () => calls > 0, 'a read event');
    expect(calls).toBe(1);
    const out = captureOutput(() => loop(0, false, map, 1));  // level-triggered: it comes again
    expect(out.stdout).toBe('');
    expect(calls).toBe(2);
  });

  it('a flood of datagrams does not starve a TCP connection in the same map; reads per event stay bounded', () => {
    const map = newMap();
    const udp = new UdpEcho(AF_INET, ['127.0.0.1', 0], map);
    // A TCP line echo in the same map.
    const listener = new Socket(AF_INET, SOCK_STREAM);
    spare.push(listener);
    listener.bind(['127.0.0.1', 0]);
    listener.listen(1);
    const tcpClient = new Socket(AF_INET, SOCK_STREAM);
    spare.push(tcpClient);
    tcpClient.setBlocking(true);
    tcpClient.connect(listener.getsockname());
    tcpClient.setBlocking(false);
    const [conn] = listener.accept();
    class TcpEcho extends Quiet {
      override handleRead(): void {
        const data = this.recv(4096);
        if (data.length) this.send(data);
      }
    }
    new TcpEcho(conn, map);
    const flooder = client(AF_INET);
    const sink = udp.address;
    const FLOOD = 400;  // per iteration: far more than one event's bound
    let roundTrips = 0;
    let iterations = 0;
    for (let round = 0; round < 20; round++) {
      let sent = 0;
      for (let i = 0; i < FLOOD; i++) {
        try {
          flooder.sendto('flood', sink);
          sent++;
        } catch (err) {
          if (!isSystemError(err, 'EAGAIN', 'ENOBUFS')) throw err;
        }
      }
      expect(sent).toBeGreaterThan(DATAGRAM_READS_PER_EVENT);
      tcpClient.send(`req ${round}\n`);
      const readsBefore = udp.reads;
      // The TCP reply comes back within two iterations although the UDP socket never empties.
      let reply: Buffer | null = null;
      for (let i = 0; i < 2 && reply === null; i++) {
        loop(1, false, map, 1);
        iterations++;
        const buf = Buffer.alloc(100);
        const n = tcpClient.tryRecvInto(buf);
        if (n > 0) reply = buf.subarray(0, n);
      }
      expect(reply?.toString()).toBe(`req ${round}\n`);
      roundTrips++;
      expect(udp.reads - readsBefore).toBeLessThanOrEqual(2 * DATAGRAM_READS_PER_EVENT);
      // drain the echoes the flooder got back, so its receive buffer never matters
      while (flooder.tryRecvfrom(64) !== null);
    }
    expect(roundTrips).toBe(20);
    expect(udp.maxPerEvent).toBe(DATAGRAM_READS_PER_EVENT);  // the bound was reached, and held
    expect(udp.reads / udp.events).toBeGreaterThan(DATAGRAM_READS_PER_EVENT / 2);  // batches, not one per wait
    expect(iterations).toBeLessThanOrEqual(40);
  });
});
