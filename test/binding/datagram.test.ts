// Datagram sockets over real loopback sockets: recvfrom, recvfromInto, recvmsg and sendto on
// AF_INET, AF_INET6 and AF_UNIX; socketpair(SOCK_DGRAM); connect() as the default peer;
// truncation as Python truncates; the UDP options; errors by name. Every wait is a wait on the
// native reactor with a deadline. Python's socket module gives the same answers (checked by
// hand with python3 for each case here).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EV, native } from '../../src/binding/native';
import {
  AF_INET, AF_INET6, AF_UNIX, INADDR_ANY, IPPROTO_IP, IPPROTO_IPV6, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP,
  IP_MULTICAST_LOOP, IP_MULTICAST_TTL, IP_TOS, IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP, IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM, SOL_SOCKET, SO_BROADCAST, SO_SNDBUF, Socket, inetAton, inetNtop,
  inetPton, socketpair, type Address,
} from '../../src/binding/socket';
import { isSystemError } from '../../src/errors';
import { FAMILIES, cleanupPaths, ipv6Available, unixPath } from '../helpers/asyncore';
import { openReactor, waitReady, type Harness } from '../helpers/reactor';

let h: Harness;
let open: Socket[] = [];

beforeAll(() => {
  h = openReactor();
});
afterEach(() => {
  for (const s of open.splice(0)) {
    if (s.fileno() >= 0) h.reactor.remove(s.fileno());
    s.close();
  }
  cleanupPaths();
});
afterAll(() => h.close());

function udp(family: number, addr: Address | null): Socket {
  const s = new Socket(family, SOCK_DGRAM);
  open.push(s);
  if (addr !== null) s.bind(addr);
  return s;
}

/** The next datagram on s, waiting for it on the reactor. */
function receive(s: Socket, bufsize = 2048, flags = 0): [Buffer, Address | null] {
  waitReady(h, s.fileno(), EV.READ);
  return s.recvfrom(bufsize, flags);
}

describe.each(FAMILIES)('datagram sockets, $name', ({ family, addr, available }) => {
  it.skipIf(!available)('sendto and recvfrom carry each datagram whole, with the sender\'s address', () => {
    const server = udp(family, addr());
    const client = udp(family, addr());
    const to = server.getsockname();
    expect(client.sendto('first', to)).toBe(5);
    expect(client.sendto(Buffer.from('second'), 0, to)).toBe(6);  // Python's (data, flags, address)
    const [a, fromA] = receive(server);
    const [b, fromB] = receive(server);
    expect([a.toString(), b.toString()]).toEqual(['first', 'second']);
    expect(fromA).toEqual(client.getsockname());
    expect(fromB).toEqual(client.getsockname());
    if (family === AF_INET6) expect((fromA as unknown[]).length).toBe(4);  // (host, port, flowinfo, scope_id)
  });

  it.skipIf(!available)('a zero-length datagram is a datagram', () => {
    const server = udp(family, addr());
    const client = udp(family, addr());
    client.sendto(Buffer.alloc(0), server.getsockname());
    const [data, from] = receive(server);
    expect(data.length).toBe(0);
    expect(from).toEqual(client.getsockname());
  });

  it.skipIf(!available)('recvfromInto and recvmsg; a longer datagram is truncated, MSG_TRUNC says so', () => {
    const server = udp(family, addr());
    const client = udp(family, addr());
    const to = server.getsockname();
    client.sendto('abcdefgh', to);
    expect(receive(server, 3)[0].toString()).toBe('abc');  // the rest is gone, as in Python
    client.sendto('abcdefgh', to);
    const buf = Buffer.alloc(3);
    waitReady(h, server.fileno(), EV.READ);
    // With MSG_TRUNC, Linux returns the datagram's real length (Python's recvfrom_into too).
    const [n] = server.recvfromInto(buf, 0, process.platform === 'linux' ? MSG_TRUNC : 0);
    expect(n).toBe(process.platform === 'linux' ? 8 : 3);
    expect(buf.toString()).toBe('abc');
    client.sendto('abcdefgh', to);
    client.sendto('xy', to);
    waitReady(h, server.fileno(), EV.READ);
    const [data, anc, flags, from] = server.recvmsg(3);
    expect([data.toString(), anc, flags & MSG_TRUNC, from]).toEqual(['abc', [], MSG_TRUNC, client.getsockname()]);
    waitReady(h, server.fileno(), EV.READ);
    const whole = server.recvmsg(16);
    expect([whole[0].toString(), whole[2] & MSG_TRUNC]).toEqual(['xy', 0]);
  });

  it.skipIf(!available)('recvfrom raises EAGAIN when nothing waits; tryRecvfrom returns null; MSG_PEEK leaves it', () => {
    const server = udp(family, addr());
    expect(() => server.recvfrom(10)).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'recvfrom' }));
    expect(server.tryRecvfrom(10)).toBeNull();
    expect(server.tryRecvfromInto(Buffer.alloc(4))).toBe(-1);
    const client = udp(family, addr());
    client.sendto('peek', server.getsockname());
    expect(receive(server, 10, MSG_PEEK)[0].toString()).toBe('peek');
    expect(server.recvfrom(10)[0].toString()).toBe('peek');
  });

  it.skipIf(!available)('connect() sets the default peer: send and recv, and only the peer is heard', () => {
    const server = udp(family, addr());
    const client = udp(family, addr());
    const stranger = udp(family, addr());
    client.connect(server.getsockname());
    expect(client.getpeername()).toEqual(server.getsockname());
    expect(client.send('via send')).toBe(8);
    const [data, from] = receive(server);
    expect(data.toString()).toBe('via send');
    server.sendto('reply', from!);
    if (family === AF_UNIX) {
      // Linux refuses a datagram for a connected AF_UNIX socket from anyone but its peer.
      expect(() => stranger.sendto('not from the peer', client.getsockname())).toThrow(expect.objectContaining({ code: 'EPERM' }));
    } else {
      stranger.sendto('not from the peer', client.getsockname());
    }
    waitReady(h, client.fileno(), EV.READ);
    expect(client.recv(100).toString()).toBe('reply');
    expect(client.tryRecvfrom(100)).toBeNull();  // the stranger's datagram was filtered out
  });
});

describe('socketpair(AF_UNIX, SOCK_DGRAM)', () => {
  it('keeps message boundaries; the peer has no address (null, as Python\'s None)', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    open.push(a, b);
    a.send('one');
    a.send('');
    a.send('three');
    expect(receive(b)).toEqual([Buffer.from('one'), null]);
    expect(receive(b)).toEqual([Buffer.alloc(0), null]);
    expect(b.recv(100).toString()).toBe('three');
  });

  it('an unnamed AF_UNIX sender has no address either', () => {
    const server = udp(AF_UNIX, unixPath('dgram'));
    const client = udp(AF_UNIX, null);
    client.sendto('hi', server.getsockname());
    expect(receive(server)).toEqual([Buffer.from('hi'), null]);
  });

  it('sending to a closed peer raises ECONNREFUSED by name', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    open.push(a);
    b.close();  // never registered with the reactor
    expect(() => a.send('x')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'send' }));
  });
});

describe('UDP options and errors', () => {
  it('SO_BROADCAST, IP_TOS, IP_MULTICAST_TTL and IP_MULTICAST_LOOP read back what was set', () => {
    const s = udp(AF_INET, ['127.0.0.1', 0]);
    expect(s.getsockopt(SOL_SOCKET, SO_BROADCAST)).toBe(0);
    s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    expect(s.getsockopt(SOL_SOCKET, SO_BROADCAST)).toBe(1);
    s.setsockopt(IPPROTO_IP, IP_TOS, 0x10);
    expect(s.getsockopt(IPPROTO_IP, IP_TOS)).toBe(0x10);
    s.setsockopt(IPPROTO_IP, IP_MULTICAST_TTL, 4);
    expect(s.getsockopt(IPPROTO_IP, IP_MULTICAST_TTL, 1)[0]).toBe(4);
    s.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    expect(s.getsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 1)[0]).toBe(0);
  });

  it('a multicast group is joined and left with a packed ip_mreq (inetAton + INADDR_ANY), as in Python', () => {
    const s = udp(AF_INET, ['0.0.0.0', 0]);
    const mreq = Buffer.concat([inetAton('239.255.0.1'), Buffer.alloc(4, 0)]);
    expect(INADDR_ANY).toBe(0);
    try {
      s.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq);
    } catch (err) {
      // A host without a multicast route (no interface can join): Python raises the same.
      if (isSystemError(err, 'ENODEV', 'EADDRNOTAVAIL')) return;
      throw err;
    }
    // Joining twice is EADDRINUSE: proof that the first join took.
    expect(() => s.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    s.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq);
    expect(() => s.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq)).toThrow(expect.objectContaining({ code: 'EADDRNOTAVAIL' }));
  });

  it.skipIf(!ipv6Available)('IPv6: IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP', () => {
    const s = udp(AF_INET6, ['::', 0]);
    s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 3);
    expect(s.getsockopt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS)).toBe(3);
    s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    expect(s.getsockopt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP)).toBe(0);
    const mreq = Buffer.concat([inetPton(AF_INET6, 'ff02::1:3'), Buffer.alloc(4, 0)]);  // ipv6_mreq, interface 0
    expect(IPV6_LEAVE_GROUP).not.toBe(IPV6_JOIN_GROUP);
    try {
      s.setsockopt(IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq);
    } catch (err) {
      if (isSystemError(err, 'ENODEV', 'EADDRNOTAVAIL', 'EINVAL')) return;
      throw err;
    }
    s.setsockopt(IPPROTO_IPV6, IPV6_LEAVE_GROUP, mreq);
  });

  it('inetPton / inetNtop round-trip; a bad address is EINVAL', () => {
    expect(inetNtop(AF_INET, inetPton(AF_INET, '10.1.2.3'))).toBe('10.1.2.3');
    expect(inetNtop(AF_INET6, inetPton(AF_INET6, '::ffff:1.2.3.4'))).toBe('::ffff:1.2.3.4');
    expect(() => inetPton(AF_INET, '300.1.1.1')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('a datagram larger than UDP allows raises EMSGSIZE', () => {
    const server = udp(AF_INET, ['127.0.0.1', 0]);
    const client = udp(AF_INET, null);
    client.setsockopt(SOL_SOCKET, SO_SNDBUF, 256 * 1024);
    expect(() => client.sendto(Buffer.alloc(70_000), server.getsockname()))
      .toThrow(expect.objectContaining({ code: 'EMSGSIZE', syscall: 'sendto' }));
    expect(() => client.sendto('x', ['127.0.0.1', 70_000])).toThrow(RangeError);
  });

  it('a connected UDP socket reports the ICMP port unreachable as ECONNREFUSED, on recv and on the next send', () => {
    const gone = new Socket(AF_INET, SOCK_DGRAM);  // bound, read, released: nothing listens there
    gone.bind(['127.0.0.1', 0]);
    const to = gone.getsockname();
    gone.close();
    const client = udp(AF_INET, null);
    client.connect(to);
    client.send('anyone?');
    // Readiness is an error condition (POLLERR), which ends the wait.
    const bits = waitReady(h, client.fileno(), EV.READ);
    expect(bits & (EV.ERR | EV.READ)).not.toBe(0);
    expect(() => client.recv(100)).toThrow(expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'recv' }));
    client.send('anyone?');
    waitReady(h, client.fileno(), EV.READ);
    expect(() => client.send('again')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'send' }));
  });

  it('pending() tells an empty datagram from none', () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    open.push(a, b);
    expect(native.pending(b.fileno())).toBe(false);
    a.send('');
    expect(native.pending(b.fileno())).toBe(true);
    expect(b.recv(1).length).toBe(0);
    expect(native.pending(b.fileno())).toBe(false);
  });

  it('sendto checks its address as bind does', () => {
    const s = udp(AF_INET, null);
    expect(() => s.sendto('x', 'nope' as unknown as Address)).toThrow(TypeError);
    expect(() => (s.sendto as (d: string) => number)('x')).toThrow(TypeError);
    s.close();
    expect(() => s.sendto('x', ['127.0.0.1', 9])).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
