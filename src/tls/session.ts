// One channel's TLS: the native connection, and the state machine that steps the handshake
// and the unwrap from read/write events, says which interest the channel needs, and makes
// sure plaintext OpenSSL already holds is delivered without waiting for the fd.
//
//   flushing   cleartext queued before startTls() is still being written (STARTTLS replies)
//   handshake  stepped from read and write events, as OpenSSL asks (WANT_READ / WANT_WRITE)
//   open       reads decrypt (receive, recv), writes encrypt (the output queue's writev)
//   closing    stopTls(): close_notify sent, the peer's awaited; plaintext it sends before its
//              close_notify still reaches the channel (handleRead), nothing is dropped
//   unwrapped  back to cleartext, but the last read took cleartext past the peer's
//              close_notify: the channel reads that first, then its socket again
import type { TimerEntry } from '../engine/scheduler';
import { native, type NativeTlsConnection } from '../binding/native';
import { readTarget, copyOut } from '../binding/read-buffer';
import { READ_INTEREST, WRITE_INTEREST } from '../engine/map-state';
import { WROTE_ALL, WROTE_FULL, WROTE_TO_CLOSE, type OutputQueue, type WriteOutcome } from '../engine/output-queue';
import { systemError } from '../errors';
import type { TlsContext } from './context';

// native/tls_connection.h's status bits
const PLAIN_PENDING = 1;
const WANT_READ = 2;
const WANT_WRITE = 4;

type State = 'flushing' | 'handshake' | 'open' | 'closing' | 'unwrapped';

/** What the session needs of its channel (a Dispatcher). */
export interface TlsOwner {
  _fileno: number | null;
  _touch(): void;
  _readAgain(): void;
  _queuedOutput(): OutputQueue | null;
  _tlsHandshakeDone(): void;
  /** The unwrap is done; drained false: the session holds cleartext that followed it, and reads it out first. */
  _tlsStopped(drained: boolean): void;
  /** That cleartext is read: the channel reads its socket again. */
  _tlsReleased(): void;
}

/** The protocol, cipher, ALPN and peer certificate of a TLS channel (tlsInfo()). */
export interface TlsInfo {
  protocol: string;
  cipher: string;
  standardName: string;
  bits: number;
  alpnProtocol: string | null;
  servername: string | null;
  sessionReused: boolean;
  peerCertificate: PeerCertificate | null;
  /** The peer's certificate verified (chain and name). */
  authorized: boolean;
  /** Why not: the verify result's name (DEPTH_ZERO_SELF_SIGNED_CERT, HOSTNAME_MISMATCH, NO_PEER_CERTIFICATE...). */
  authorizationError: string | null;
}

/** A summary of the peer's certificate. */
export interface PeerCertificate {
  subject: string;
  issuer: string;
  commonName: string;
  subjectAltName: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
  serialNumber: string;
}

export class TlsSession {
  readonly serverSide: boolean;
  state: State;
  private readonly conn: NativeTlsConnection;
  private readonly status = new Int32Array(2);
  private want = 0;
  private freed = false;
  /** 'unwrapped': the cleartext read past the peer's close_notify, not yet delivered. */
  private rest: Buffer | null = null;
  /** startTls()'s handshake timeout while it runs (cancelled once the handshake is done). */
  handshakeTimer: TimerEntry | null = null;

  constructor(
    private readonly owner: TlsOwner, context: TlsContext, serverSide: boolean, hostname: string | null,
    cleartextFirst: boolean,
  ) {
    this.serverSide = serverSide;
    this.conn = new native.TlsConnection(context.side(serverSide), owner._fileno!, serverSide, hostname, this.status);
    const queued = owner._queuedOutput();
    this.state = cleartextFirst && queued !== null && !queued.empty ? 'flushing' : 'handshake';
  }

  /**
   * Starts the handshake (unless cleartext output must go first) at the next event, never
   * inside startTls() itself: as with Python's do_handshake_on_connect=False, a failure then
   * reaches the channel's handleError, not the code that called startTls (a constructor).
   */
  start(): void {
    this.want = WANT_READ | WANT_WRITE;
    this.owner._touch();
  }

  get handshakeDone(): boolean {
    return this.state === 'open';
  }

  // ---- events ----

  /** A read event: true when the session used it (handshake, unwrap), false for the channel's handleRead. */
  interceptRead(): boolean {
    switch (this.state) {
      case 'open':
      case 'unwrapped':
        return false;
      case 'handshake':
        this.step();
        return true;
      case 'closing':
        // Plaintext before the peer's close_notify is the channel's to read.
        return !this.stepShutdown();
      default:
        return true;
    }
  }

  /** A write event: true when the session used it; ciphertext waiting goes out first. */
  interceptWrite(): boolean {
    switch (this.state) {
      case 'flushing':
        return false;
      case 'handshake':
        this.step();
        return true;
      case 'closing':
        this.stepShutdown();
        return true;
      case 'unwrapped':
        return false;
      default:
        if (this.status[1] === 0) return false;
        if (this.conn.flush() > 0) return true;
        this.owner._touch();
        return false;
    }
  }

  /** The interest the channel needs, from the one its own state asks (mask). */
  interest(mask: number): number {
    switch (this.state) {
      case 'flushing':
        return (mask & ~READ_INTEREST) | WRITE_INTEREST;
      case 'handshake':
        return (this.want & WANT_READ ? READ_INTEREST : 0) |
          (this.want & WANT_WRITE || this.status[1] > 0 ? WRITE_INTEREST : 0);
      case 'closing':
        // Plaintext waiting is read when the channel wants to read, as it would be before stopTls.
        if (this.want & PLAIN_PENDING && mask & READ_INTEREST) this.owner._readAgain();
        return (this.want & WANT_READ ? READ_INTEREST : 0) |
          (this.want & WANT_WRITE || this.status[1] > 0 ? WRITE_INTEREST : 0);
      case 'unwrapped':
        if (mask & READ_INTEREST) this.owner._readAgain();
        return mask;
      default:
        if (mask & READ_INTEREST && this.status[0] & PLAIN_PENDING) this.owner._readAgain();
        return this.status[1] > 0 ? mask | WRITE_INTEREST : mask;
    }
  }

  // ---- plaintext I/O ----

  /** native.recv's contract over TLS: plaintext bytes, 0 at close_notify, -1 nothing yet. */
  read(memory: Uint8Array, offset: number, size: number): number {
    if (this.state === 'unwrapped') return this.readRest(memory, offset, size);
    return this.afterRead(this.conn.read(memory, offset, size));
  }

  /** native.recvScan's contract over TLS. */
  readScan(
    memory: Uint8Array, offset: number, size: number, t: Uint8Array, out: Int32Array, max: number, minBytes: number,
  ): number {
    if (this.state === 'unwrapped') {
      out[out.length - 1] = -1;  // not scanned
      return this.readRest(memory, offset, size);
    }
    return this.afterRead(this.conn.readScan(memory, offset, size, t, out, max, minBytes));
  }

  private afterRead(n: number): number {
    if (this.status[0] & PLAIN_PENDING) this.owner._readAgain();
    if (n === 0 && this.state === 'closing') {
      // The peer's close_notify during the unwrap: no end of stream; the unwrap completes at the next event.
      this.owner._readAgain();
      return -1;
    }
    return n;
  }

  /** 'unwrapped': the cleartext that followed the peer's close_notify, then the socket's own. */
  private readRest(memory: Uint8Array, offset: number, size: number): number {
    const rest = this.rest!;
    const n = Math.min(size, rest.length);
    memory.set(rest.subarray(0, n), offset);
    if (n < rest.length) {
      this.rest = rest.subarray(n);
      this.owner._readAgain();
    } else {
      this.rest = null;
      this.owner._tlsReleased();
    }
    return n;
  }

  /** Socket.recv over TLS: raises EAGAIN (as Python's SSLWantReadError) when no whole record is there. */
  recv(bufsize: number): Buffer {
    const buf = readTarget(bufsize);
    const n = this.read(buf, 0, bufsize);
    if (n < 0) throw systemError('EAGAIN', 'recv');
    return copyOut(buf, n);
  }

  /** native.writev's contract over TLS (the output queue's writer). */
  writev(bufs: Uint8Array[] | Uint8Array, firstOffset?: number): number {
    return this.conn.writev(bufs, firstOffset);
  }

  /** Socket.send over TLS: plaintext bytes taken, -1 when the socket is full. */
  send(data: Uint8Array): number {
    return this.conn.writev(data, 0);
  }

  /**
   * Output waits (neither cleartext nor TLS data may go out during the handshake or the unwrap:
   * what is pushed while the unwrap runs goes out in cleartext after it).
   */
  get holdsOutput(): boolean {
    return this.state === 'handshake' || this.state === 'closing';
  }

  /** Whether the output queue's writes go through TLS yet (not while cleartext before startTls drains). */
  get encrypting(): boolean {
    return this.state === 'open';
  }

  /**
   * After the output queue wrote: once the cleartext before startTls() is out the handshake
   * starts; ciphertext still waiting counts as a full socket (the close marker waits for it).
   */
  afterWrite(outcome: WriteOutcome, out: OutputQueue): WriteOutcome {
    if (this.state === 'unwrapped') return outcome;
    if (this.state === 'flushing') {
      if (outcome === WROTE_ALL && out.empty) {
        this.state = 'handshake';
        this.start();
      }
      return outcome;
    }
    if (this.status[1] > 0 && (outcome === WROTE_ALL || outcome === WROTE_TO_CLOSE)) return WROTE_FULL;
    return outcome;
  }

  info(): TlsInfo {
    return this.conn.info() as unknown as TlsInfo;
  }

  // ---- unwrap and close ----

  /** stopTls(): sends close_notify and waits for the peer's (Python's unwrap()). */
  stop(): void {
    this.state = 'closing';
    this.stepShutdown();
  }

  /** Whether startTls() may start a new session: not while cleartext from after the last unwrap is unread. */
  get unwrappedWithRest(): boolean {
    return this.state === 'unwrapped' && this.rest !== null;
  }

  /** The channel closes: close_notify if the connection is open (best effort), then free the SSL object. */
  dispose(): void {
    if (this.freed) return;
    if (this.state === 'open') {
      try {
        this.conn.shutdown(false);
      } catch {
        // the peer is gone: nothing to tell it
      }
    }
    this.free();
  }

  private free(): void {
    this.freed = true;
    this.cancelHandshakeTimer();
    this.conn.free();
  }

  private cancelHandshakeTimer(): void {
    const timer = this.handshakeTimer;
    if (timer === null) return;
    this.handshakeTimer = null;
    timer.scheduler.cancel(timer);
  }

  private step(): void {
    const want = this.conn.handshake();
    this.want = want;
    this.owner._touch();
    if (want !== 0) return;
    this.state = 'open';
    this.cancelHandshakeTimer();
    this.owner._tlsHandshakeDone();
    if (this.status[0] & PLAIN_PENDING) this.owner._readAgain();
  }

  /** One step of the unwrap: true when plaintext the peer sent before its close_notify waits for the channel. */
  private stepShutdown(): boolean {
    const r = this.conn.shutdown(true);
    if (r !== 0) {
      this.want = r;
      this.owner._touch();
      return (r & PLAIN_PENDING) !== 0;
    }
    const rest = this.conn.cleartextAfter();
    this.free();
    this.state = 'unwrapped';
    this.rest = rest.length > 0 ? rest : null;
    this.owner._touch();
    this.owner._tlsStopped(this.rest === null);
    return false;
  }
}
