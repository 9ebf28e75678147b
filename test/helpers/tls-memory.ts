// Two ends of a TLS connection whose ciphertext goes through memory (native TlsConnection made
// with fd -1), each driven by the channel's own TlsTransport: the state machine fed bytes, as ws
// tests its receiver, without a socket.
import os from 'node:os';
import { native } from '../../src/binding/native';
import { OutputQueue, type WriteOutcome } from '../../src/engine/output-queue';
import { Lingering } from '../../src/engine/lingering';
import { Scheduler } from '../../src/engine/scheduler';
import { PlainTransport, type TransportSocket } from '../../src/engine/transport';
import { TlsTransport, type TlsOwner } from '../../src/tls/tls-transport';
import type { TlsContext } from '../../src/tls/context';

export const ECONNRESET = os.constants.errno.ECONNRESET;

/** The channel's side of a TlsTransport, recording what the transport told it. */
export class RecordingOwner implements TlsOwner {
  touches = 0;
  readAgains = 0;
  handshakes = 0;
  /** undefined until the unwrap completes; then the cleartext read past the peer's close_notify, or null. */
  unwrappedWith: Buffer | null | undefined = undefined;
  out: OutputQueue | null = new OutputQueue();

  touch(): void {
    this.touches++;
  }

  readAgain(): void {
    this.readAgains++;
  }

  queuedOutput(): OutputQueue | null {
    return this.out;
  }

  handshakeDone(): void {
    this.handshakes++;
  }

  unwrapped(rest: Buffer | null): void {
    this.unwrappedWith = rest;
  }
}

/** The socket under the TLS: what was written to it in cleartext (before the handshake). */
export class CleartextSink extends PlainTransport {
  readonly written: Buffer[] = [];

  read(): number {
    return -1;
  }

  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number {
    const list = bufs instanceof Uint8Array ? [bufs] : bufs;
    let n = 0;
    list.forEach((b, i) => {
      const part = Buffer.from(i === 0 ? b.subarray(firstOffset) : b);
      this.written.push(part);
      n += part.length;
    });
    return n;
  }

  recv(): Buffer {
    return Buffer.alloc(0);
  }
}

/** A stand-in for the channel's socket at close(): counts closes. */
export class FakeSocket implements TransportSocket {
  closes = 0;
  constructor(readonly fd = 1000) {}
  fileno(): number {
    return this.fd;
  }
  close(): void {
    this.closes++;
  }
  tryRecvInto(): number {
    return -1;
  }
  trySend(): number {
    return -1;
  }
  recv(): Buffer {
    return Buffer.alloc(0);
  }
}

export interface MemoryEnd {
  conn: ReturnType<typeof memoryConnection>['conn'];
  status: Int32Array;
  owner: RecordingOwner;
  plain: CleartextSink;
  tls: TlsTransport;
}

function memoryConnection(context: TlsContext, serverSide: boolean, hostname: string | null) {
  const status = new Int32Array(2);
  return { conn: new native.TlsConnection(context.side(serverSide), -1, serverSide, hostname, status), status };
}

/** One end over memory; `cleartext` is queued before startTls (a STARTTLS reply), to go first. */
export function memoryEnd(context: TlsContext, serverSide: boolean, cleartext?: string): MemoryEnd {
  const { conn, status } = memoryConnection(context, serverSide, serverSide ? null : 'localhost');
  const owner = new RecordingOwner();
  if (cleartext !== undefined) owner.out!.push(cleartext);
  const plain = new CleartextSink();
  const tls = new TlsTransport(owner, conn, status, plain, serverSide, true);
  tls.start();
  return { conn, status, owner, plain, tls };
}

/** Moves the ciphertext each end sent to the other; returns the bytes moved. */
export function exchange(a: MemoryEnd, b: MemoryEnd): number {
  const ab = a.conn.takeCipher();
  const ba = b.conn.takeCipher();
  if (ab.length > 0) b.conn.feedCipher(ab);
  if (ba.length > 0) a.conn.feedCipher(ba);
  return ab.length + ba.length;
}

/** Steps both handshakes (write then read events, as the loop would) until both are done. */
export function handshake(client: MemoryEnd, server: MemoryEnd): void {
  for (let i = 0; i < 20; i++) {
    for (const end of [client, server]) {
      if (end.tls.state === 'handshake') {
        end.tls.claimsWriteEvent();
        end.tls.claimsReadEvent();
      }
    }
    exchange(client, server);
    if (client.tls.handshakeDone && server.tls.handshakeDone) {
      // The last flight (the server's session tickets) is read by the client's first read.
      return;
    }
  }
  throw new Error(`handshake did not complete: client ${client.tls.state}, server ${server.tls.state}`);
}

/** Reads everything the end can decrypt now: [plaintext, the last read's result]. */
export function readAll(end: MemoryEnd): [Buffer, number] {
  const buf = Buffer.alloc(1 << 16);
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    n = end.tls.read(buf, 0, buf.length);
    if (n <= 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return [Buffer.concat(parts), n];
}

/** Lingering closes over a scheduler of their own, with every fd "watched". */
export function testLingering(): { lingering: Lingering; told: Map<number, number> } {
  const told = new Map<number, number>();
  const lingering = new Lingering({
    timers: new Scheduler(),
    watching: () => true,
    tell: (fd, mask) => told.set(fd, mask),
    forget: (fd) => told.delete(fd),
  });
  return { lingering, told };
}

export type { WriteOutcome };
