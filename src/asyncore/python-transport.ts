// Python's own path for an AsyncChat whose subclass overrides recv() or send(): its records are
// built from what its recv() returns, and its output is written through its send(), one slice
// of at most acOutBufferSize per call, as Python's async_chat.handle_read and initiate_send do
// (programs override them to count, throttle, log or transform bytes: pyftpdlib's throttled
// handlers, CPython's test_ftplib SSLConnection). Whatever the channel's byte transport is (the
// socket, TLS, the replay), the overrides' super.recv()/super.send() reach it; everything that
// is not a read or a write is that transport's. Chosen once, when the channel is made or its
// recv/send is assigned: channels that override neither read and write with one native call.
import { READ_INTEREST } from '../engine/interest-bits';
import type { OutputQueue, WriteOutcome } from '../engine/output-queue';
import type { Lingering } from '../engine/lingering';
import type { Transport, TransportSocket } from '../engine/transport';
import type { TlsInfo } from '../tls/info';

/** The channel, as the path through its methods sees it. */
export interface PythonMethods {
  recv(bufferSize: number): Buffer;
  send(data: Uint8Array): number;
  acOutBufferSize: number;
}

/** The channel's state this path needs: its byte transport (changes with startTls/stopTls), and made-up read events. */
export interface PythonPathHost {
  readonly io: Transport;
  readAgain(): void;
}

export class PythonTransport implements Transport {
  /** What the channel's recv() returned beyond what the read asked for (a transforming override). */
  private overflow: Buffer | null = null;

  constructor(
    private readonly channel: PythonMethods, private readonly host: PythonPathHost,
    readonly throughRecv: boolean, readonly throughSend: boolean,
  ) {}

  get tls(): boolean {
    return this.host.io.tls;
  }

  read(memory: Buffer, offset: number, size: number): number {
    if (!this.throughRecv) return this.host.io.read(memory, offset, size);
    let data = this.overflow ?? this.channel.recv(size);
    this.overflow = null;
    // An empty result is nothing to deliver: the end of the stream was handled by
    // Dispatcher.recv itself (handleClose), as in Python.
    if (!(data instanceof Uint8Array) || data.length === 0) return -1;
    if (data.length > size) {
      this.overflow = Buffer.from(data.buffer, data.byteOffset + size, data.length - size);
      data = data.subarray(0, size);
      this.host.readAgain();
    }
    memory.set(data, offset);
    return data.length;
  }

  readScan(memory: Buffer, offset: number, size: number, t: Uint8Array, out: Int32Array, max: number, minBytes: number): number {
    if (!this.throughRecv) return this.host.io.readScan(memory, offset, size, t, out, max, minBytes);
    out[out.length - 1] = -1;  // not scanned
    return this.read(memory, offset, size);
  }

  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number {
    if (!this.throughSend) return this.host.io.writev(bufs, firstOffset);
    const first = bufs instanceof Uint8Array ? bufs : bufs[0];
    const end = Math.min(first.length, firstOffset + Math.max(1, this.channel.acOutBufferSize));
    // A copy: the override may keep what it is given (a log), and the queue's blocks are reused.
    const n = this.channel.send(Buffer.from(first.subarray(firstOffset, end)));
    return typeof n === 'number' && n > 0 ? Math.min(n, end - firstOffset) : -1;
  }

  recv(size: number): Buffer {
    return this.host.io.recv(size);
  }

  send(data: Uint8Array): number {
    return this.host.io.send(data);
  }

  get holdsOutput(): boolean {
    return this.host.io.holdsOutput;
  }

  claimsReadEvent(): boolean {
    return this.host.io.claimsReadEvent();
  }

  claimsWriteEvent(): boolean {
    return this.host.io.claimsWriteEvent();
  }

  interest(mask: number): number {
    if (this.overflow !== null && mask & READ_INTEREST) this.host.readAgain();
    return this.host.io.interest(mask);
  }

  tlsInfo(): TlsInfo | null {
    return this.host.io.tlsInfo();
  }

  afterWrite(outcome: WriteOutcome, out: OutputQueue): WriteOutcome {
    return this.host.io.afterWrite(outcome, out);
  }

  close(socket: TransportSocket, lingering: Lingering | null): void {
    this.host.io.close(socket, lingering);
  }
}
