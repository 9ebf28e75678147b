// The cleartext after an unwrap, when the read that brought the peer's close_notify also took
// bytes past it: those bytes are the start of the cleartext stream, and the channel reads them
// first, then its socket again (the transport it goes back to when they are read). Everything
// else is the socket's.
import { PlainTransport, recvThrough, type Transport, type TransportSocket } from '../engine/transport';
import { READ_INTEREST } from '../engine/interest-bits';

export interface ReplayOwner {
  /** Input is buffered above the fd: a read event at the next iteration, without waiting. */
  readAgain(): void;
  /** The replay is read: the channel's transport is `next` again. */
  replayed(next: Transport): void;
}

export class ReplayTransport extends PlainTransport {
  constructor(private rest: Buffer, private readonly next: Transport, private readonly owner: ReplayOwner) {
    super();
  }

  read(memory: Buffer, offset: number, size: number): number {
    const rest = this.rest;
    const n = Math.min(size, rest.length);
    rest.copy(memory, offset, 0, n);
    if (n < rest.length) {
      this.rest = rest.subarray(n);
      this.owner.readAgain();
    } else {
      this.owner.replayed(this.next);
    }
    return n;
  }

  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number {
    return this.next.writev(bufs, firstOffset);
  }

  recv(size: number): Buffer {
    return recvThrough(this, size);
  }

  override send(data: Uint8Array): number {
    return this.next.send(data);
  }

  /** Reads are served without the fd: a channel that wants to read gets a read event at once. */
  override interest(mask: number): number {
    if (mask & READ_INTEREST) this.owner.readAgain();
    return mask;
  }

  override close(socket: TransportSocket): void {
    this.next.close(socket, null);
  }
}
