// Connected sockets made the way asyncore makes them: listen, non-blocking connect, wait for
// the connect to complete on the reactor, accept.
import { expect } from 'vitest';
import { native, EV } from '../../src/binding/native';
import { Socket, SOCK_STREAM, type Address } from '../../src/binding/socket';
import { waitReady, type Harness } from './reactor';

export interface Connection {
  server: Socket;
  client: Socket;
  /** The server's side of the connection, from accept(). */
  conn: Socket;
  /** The client's address as accept() gave it. */
  acceptedFrom: Address;
  /** What connectEx returned: 0 or 'EINPROGRESS'. */
  connectResult: 0 | string;
}

/** A listening socket on `addr` (port 0 for IP: the kernel picks one). */
export function listen(family: number, addr: Address, track: Socket[]): Socket {
  const server = new Socket(family, SOCK_STREAM);
  track.push(server);
  server.bind(addr);
  server.listen(16);
  return server;
}

/** Completes a non-blocking connect: WRITE readiness, then SO_ERROR must read 0. */
export function finishConnect(h: Harness, client: Socket, connectResult: 0 | string): void {
  expect([0, 'EINPROGRESS']).toContain(connectResult);
  if (connectResult === 'EINPROGRESS') {
    const bits = waitReady(h, client.fileno(), EV.WRITE);
    expect(bits & EV.WRITE).toBe(EV.WRITE);
  }
  expect(native.getSocketError(client.fileno())).toBe(0);
}

/** Accepts one connection, waiting for it on the reactor. */
export function acceptOne(h: Harness, server: Socket, track: Socket[]): [Socket, Address] {
  waitReady(h, server.fileno(), EV.READ);
  const pair = server.accept();
  track.push(pair[0]);
  return pair;
}

/** server <- client, connected and accepted; every socket is pushed onto `track`. */
export function connectTo(h: Harness, server: Socket, track: Socket[]): Connection {
  const client = new Socket(server.family, SOCK_STREAM);
  track.push(client);
  const connectResult = client.connectEx(server.getsockname());
  finishConnect(h, client, connectResult);
  const [conn, acceptedFrom] = acceptOne(h, server, track);
  return { server, client, conn, acceptedFrom, connectResult };
}

export function connection(h: Harness, family: number, addr: Address, track: Socket[]): Connection {
  return connectTo(h, listen(family, addr, track), track);
}

/** Reads exactly `n` bytes (waiting on the reactor between reads). */
export function recvExactly(h: Harness, sock: Socket, n: number, timeoutMs = 2000): Buffer {
  const out = Buffer.alloc(n);
  let got = 0;
  const deadline = Date.now() + timeoutMs;
  while (got < n) {
    const r = sock.tryRecvInto(out, got, n - got);
    if (r === 0) throw new Error(`EOF after ${got} of ${n} bytes`);
    if (r > 0) {
      got += r;
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out after ${got} of ${n} bytes`);
    waitReady(h, sock.fileno(), EV.READ, left);
  }
  return out;
}

/** A TCP port on `host` that nothing listens on (bound, read, released). */
export function unusedPort(family: number, host: string): number {
  const s = new Socket(family, SOCK_STREAM);
  try {
    s.bind(family === native.constants.AF_INET6 ? [host, 0, 0, 0] : [host, 0]);
    return (s.getsockname() as [string, number])[1];
  } finally {
    s.close();
  }
}
