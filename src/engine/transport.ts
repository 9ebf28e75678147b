// How a channel's bytes move: the one seam between a channel and what carries its bytes. A
// channel holds one transport at a time, and switching (startTls, stopTls, the replay of
// cleartext after the unwrap ending) is one assignment; the channel's own code never asks which
// one it has. Implementations: the socket's fd (FdTransport), any other socket-like object
// (SocketLikeTransport: a FileWrapper, a test's fake), a TLS session (src/tls/tls-transport.ts),
// the cleartext read past the peer's close_notify (src/tls/replay-transport.ts), and, for an
// AsyncChat whose subclass overrides recv() or send(), Python's own path through those methods
// (src/asyncore/python-transport.ts).
import { native } from '../binding/native';
import { copyOut, readTarget } from '../binding/read-buffer';
import { Socket } from '../binding/socket';
import { systemError } from '../errors';
import type { OutputQueue, VectorWriter, WriteOutcome } from './output-queue';
import type { Lingering } from './lingering';
import type { TlsInfo } from '../tls/info';

/** What a transport needs of the channel's socket (the part of asyncore's SocketLike it uses). */
export interface TransportSocket {
  fileno(): number;
  close(): void;
  tryRecvInto(buf: Uint8Array, offset?: number, length?: number): number;
  trySend(data: Uint8Array, offset?: number, length?: number): number;
  recv(bufsize: number): Buffer;
}

export interface Transport extends VectorWriter {
  /** The bytes are TLS records (from startTls() until the unwrap completes or the channel closes). */
  readonly tls: boolean;
  /**
   * native.recv's contract: bytes read into memory[offset, offset + size), 0 at the end of the
   * stream, -1 when nothing is there now; errors throw.
   */
  read(memory: Buffer, offset: number, size: number): number;
  /**
   * read(), and when at least minBytes arrived, native.recvScan's scan of them for up to max
   * records of t, in the same crossing (results in `out`, its last slot the count, -1: none).
   */
  readScan(memory: Buffer, offset: number, size: number, t: Uint8Array, out: Int32Array, max: number, minBytes: number): number;
  /** native.writev's contract: bytes taken (buffers in order, the first from firstOffset), -1 when full. */
  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number;
  /** Python's socket.recv: a Buffer the caller keeps, empty at the end of the stream; EAGAIN throws. */
  recv(size: number): Buffer;
  /** Python's socket.send for a non-blocking socket: bytes taken, 0 when none could be. */
  send(data: Uint8Array): number;
  /** Nothing may be written now (a TLS handshake or unwrap runs): the output waits. */
  readonly holdsOutput: boolean;
  /** A read event this transport uses itself (a handshake step), not for the channel. */
  claimsReadEvent(): boolean;
  /** A write event this transport uses itself. */
  claimsWriteEvent(): boolean;
  /** The interest the reactor gets, from the one the channel's state asks. */
  interest(mask: number): number;
  /** The TLS connection's protocol, cipher and peer, once its handshake is done; null otherwise. */
  tlsInfo(): TlsInfo | null;
  /** What an output queue's write turned out to be, as the channel must see it. */
  afterWrite(outcome: WriteOutcome, out: OutputQueue): WriteOutcome;
  /**
   * The channel closes: release what the transport holds and close the socket, or hand both to
   * `lingering` when something must still reach the peer first (a TLS close_notify).
   */
  close(socket: TransportSocket, lingering: Lingering | null): void;
}

/** What every plain transport does the same way: no layer of its own between channel and socket. */
export abstract class PlainTransport implements Transport {
  readonly tls = false;
  abstract read(memory: Buffer, offset: number, size: number): number;
  abstract writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number;
  abstract recv(size: number): Buffer;

  readScan(memory: Buffer, offset: number, size: number, t: Uint8Array, out: Int32Array, max: number, minBytes: number): number {
    void t;
    void max;
    void minBytes;
    out[out.length - 1] = -1;  // not scanned
    return this.read(memory, offset, size);
  }

  send(data: Uint8Array): number {
    const n = this.writev(data, 0);
    return n > 0 ? n : 0;
  }

  get holdsOutput(): boolean {
    return false;
  }

  claimsReadEvent(): boolean {
    return false;
  }

  claimsWriteEvent(): boolean {
    return false;
  }

  interest(mask: number): number {
    return mask;
  }

  tlsInfo(): null {
    return null;
  }

  afterWrite(outcome: WriteOutcome): WriteOutcome {
    return outcome;
  }

  close(socket: TransportSocket): void {
    socket.close();
  }
}

/** A socket's own fd: one native call per read (with the scan) and per gathered write. */
export class FdTransport extends PlainTransport {
  constructor(private readonly socket: Socket, private readonly fd: number) {
    super();
  }

  read(memory: Buffer, offset: number, size: number): number {
    return native.recv(this.fd, memory, offset, size);
  }

  override readScan(memory: Buffer, offset: number, size: number, t: Uint8Array, out: Int32Array, max: number, minBytes: number): number {
    return native.recvScan(this.fd, memory, offset, size, t, out, max, minBytes);
  }

  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number {
    return native.writev(this.fd, bufs, firstOffset);
  }

  recv(size: number): Buffer {
    return this.socket.recv(size);
  }

  override send(data: Uint8Array): number {
    const n = this.socket.trySend(data);
    return n > 0 ? n : 0;
  }
}

/** Any other socket-like object (a FileWrapper, a test's stand-in): through its own methods. */
export class SocketLikeTransport extends PlainTransport {
  constructor(private readonly socket: TransportSocket) {
    super();
  }

  read(memory: Buffer, offset: number, size: number): number {
    return this.socket.tryRecvInto(memory, offset, size);
  }

  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number {
    const first = bufs instanceof Uint8Array ? bufs : bufs[0];
    return this.socket.trySend(first, firstOffset, first.length - firstOffset);
  }

  recv(size: number): Buffer {
    return this.socket.recv(size);
  }
}

/** The transport for a socket: its fd for a Socket, its own methods for anything else. */
export function transportFor(socket: TransportSocket): Transport {
  return socket instanceof Socket ? new FdTransport(socket, socket.fileno()) : new SocketLikeTransport(socket);
}

/** A transport's read(), as Python's recv(): an exact Buffer, empty at the end; EAGAIN throws. */
export function recvThrough(transport: Transport, size: number): Buffer {
  const buf = readTarget(size);
  const n = transport.read(buf, 0, size);
  if (n < 0) throw systemError('EAGAIN', 'recv');
  return copyOut(buf, n);
}
