// Python's asyncore.file_wrapper and file_dispatcher: a plain fd (pipe, tty, file) that can
// sit in a socket map. The wrapper owns a duplicate of the fd, as Python's does.
import { Dispatcher, type SocketLike } from './dispatcher';
import type { SocketMap } from '../engine/map-state';
import { asynchatError, systemError } from '../errors';
import { copyOut, readTarget } from '../binding/read-buffer';
import { native } from '../binding/native';
import { SOL_SOCKET, SO_ERROR } from '../binding/socket';

/** Python's asyncore.file_wrapper: a duplicate of an fd with the socket methods asyncore asks for. */
export class FileWrapper implements SocketLike {
  fd: number;

  constructor(fd: number) {
    this.fd = native.dup(fd);
  }

  private open(syscall: string): number {
    if (this.fd < 0) throw systemError('EBADF', syscall);
    return this.fd;
  }

  /** os.read: raises EAGAIN when a non-blocking fd has nothing. */
  recv(bufsize: number): Buffer {
    const buf = readTarget(bufsize);
    const n = native.read(this.open('read'), buf, 0, bufsize);
    if (n < 0) throw systemError('EAGAIN', 'read');
    return copyOut(buf, n);
  }

  read(bufsize: number): Buffer {
    return this.recv(bufsize);
  }

  /** os.write: raises EAGAIN when a non-blocking fd is full. */
  send(data: Uint8Array | string): number {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const n = native.write(this.open('write'), bytes, 0, bytes.length);
    if (n < 0) throw systemError('EAGAIN', 'write');
    return n;
  }

  write(data: Uint8Array | string): number {
    return this.send(data);
  }

  tryRecvInto(buf: Uint8Array, offset = 0, length = buf.length - offset): number {
    return native.read(this.open('read'), buf, offset, length);
  }

  trySend(data: Uint8Array, offset = 0, length = data.length - offset): number {
    return native.write(this.open('write'), data, offset, length);
  }

  /** Only what asyncore asks: SO_ERROR, which a plain fd never has. */
  getsockopt(level: number, option: number, buflen?: number): number {
    if (level === SOL_SOCKET && option === SO_ERROR && !buflen) return 0;
    throw asynchatError('ERR_ASYNCHAT_NOT_IMPLEMENTED', 'Only asyncore specific behaviour implemented.');
  }

  setBlocking(flag: boolean): void {
    native.setBlocking(this.open('fcntl'), flag);
  }

  /** Closing twice is a no-op. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    native.close(fd);
  }

  fileno(): number {
    return this.fd;
  }
}

/**
 * Python's asyncore.file_dispatcher: a plain fd (a pipe, a tty) in a socket map, read and
 * written through a FileWrapper that owns a duplicate of it.
 */
export class FileDispatcher extends Dispatcher<FileWrapper> {
  /** fd: a file descriptor, or anything with a fileno() method. */
  constructor(fd: number | { fileno(): number }, map?: SocketMap) {
    super(null, map);
    this.connected = true;
    const raw = typeof fd === 'number' ? fd : fd.fileno();
    this.setFile(raw);
    native.setBlocking(raw, false);  // as Python: the shared file description becomes non-blocking
  }

  /** Python's set_file: the channel takes a duplicate of fd (setSocket with a FileWrapper). */
  setFile(fd: number): void {
    this.setSocket(new FileWrapper(fd));
  }
}
