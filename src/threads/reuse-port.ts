// Listeners of one address that the kernel balances: what lets N threads, each with its own
// reactor, accept on one port without handing connections to each other.
import { SOL_SOCKET, SO_REUSEPORT, SO_REUSEPORT_LB, type Socket } from '../binding/socket';
import { asynchatError } from '../errors';

/**
 * The socket option that spreads a port's incoming connections over every socket bound to it:
 * SO_REUSEPORT on Linux (hashed by the connection's addresses and ports), SO_REUSEPORT_LB on
 * FreeBSD. Elsewhere (macOS, the other BSDs) SO_REUSEPORT lets several sockets bind but does not
 * balance between them, so there is none: ERR_ASYNCHAT_NO_REUSEPORT.
 */
export function reusePortOption(platform: string = process.platform): number {
  if (platform === 'linux' && SO_REUSEPORT !== undefined) return SO_REUSEPORT;
  if (platform === 'freebsd' && SO_REUSEPORT_LB !== undefined) return SO_REUSEPORT_LB;
  throw asynchatError(
    'ERR_ASYNCHAT_NO_REUSEPORT',
    `${platform} has no socket option that balances connections over listeners of one port ` +
    '(Linux SO_REUSEPORT, FreeBSD SO_REUSEPORT_LB): serve it from one thread',
  );
}

/** Sets reusePortOption() on a socket that is not bound yet. */
export function setReusePort(sock: Pick<Socket, 'setsockopt'>): void {
  sock.setsockopt(SOL_SOCKET, reusePortOption(), 1);
}
