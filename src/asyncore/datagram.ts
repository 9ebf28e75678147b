// What a Dispatcher does differently over a datagram socket (SOCK_DGRAM: UDP, AF_UNIX
// datagrams, socketpair(AF_UNIX, SOCK_DGRAM)). Python's dispatcher has no such notion; these
// are the places where stream assumptions would be wrong for datagrams:
//
// - A zero-length datagram is a datagram. Python's dispatcher.recv() calls handle_close() when
//   recv returns b'', for datagram sockets too: one empty UDP packet from anyone closes a
//   Python UDP server (a flaw, fixed here: recv() returns the empty Buffer and nothing closes).
// - An error condition (EPOLLERR/POLLERR: an ICMP port unreachable on a connected UDP socket)
//   is not a hang-up. It reaches handleRead, whose recv/recvfrom raises ECONNREFUSED, as
//   Python's default select() loop delivers it; an error the handler does not consume goes to
//   handleError (which closes, as Python's does by default).
// - Many datagrams per readiness event: after handleRead has taken a datagram, it is called
//   again while another one waits, up to DATAGRAM_READS_PER_EVENT times (libuv's bound for UDP
//   reads per event, 32), so a flooded socket costs one wait per 32 datagrams and still cannot
//   starve the other fds of the map. It is never called when nothing waits, so a handler
//   written for one datagram per event never sees EAGAIN.
import { EV, native } from '../binding/native';
import { SOCK_DGRAM, Socket } from '../binding/socket';
import { systemError } from '../errors';
import { ENGINE } from '../engine/channel-core';
import type { AnyDispatcher as Dispatcher, SocketLike } from './dispatcher';

/** handleRead calls per readiness event, at most, on a datagram dispatcher. */
export const DATAGRAM_READS_PER_EVENT = 32;

// Linux ORs SOCK_NONBLOCK/SOCK_CLOEXEC into the type; the type itself is the low bits.
const SOCK_TYPE_MASK = 0xf;

export function isDatagramSocket(sock: SocketLike): boolean {
  return sock instanceof Socket && (sock.type & SOCK_TYPE_MASK) === SOCK_DGRAM;
}

/** A read event on a datagram dispatcher: handleRead once per waiting datagram, within the bound. */
export function readDatagrams(d: Dispatcher): void {
  const sock = d.socket as Socket;
  const atEvent = sock._received;
  for (let calls = 1; ; calls++) {
    const before = sock._received;
    d.handleRead();
    // Stop when the handler took nothing (it is not reading now), or saw the socket empty, or
    // closed or replaced it, or no longer wants to read.
    if (calls === DATAGRAM_READS_PER_EVENT || d.closed || d.socket !== sock || sock._drained || sock._received === before) break;
    if (!d.readable() || !native.pending(sock.fileno())) break;
  }
  // The handler received nothing. If a socket error (an ICMP port unreachable) made the fd
  // ready, left pending it would wake every wait (kqueue reports it as a plain read, epoll as
  // an error condition): it goes to handleError.
  if (sock._received === atEvent && !d.closed && d.socket === sock) {
    const err = d[ENGINE].socketError();
    if (err !== 0) d.handleError(systemError(err, 'recvfrom'));
  }
}

/** An error condition on a datagram dispatcher (the event's flags): a read, not a close. */
export function datagramErrorEvent(d: Dispatcher, flags: number): void {
  // With READ, the read (and the error check after it) has run already.
  if ((flags & EV.READ) === 0) d.handleReadEvent();
}
