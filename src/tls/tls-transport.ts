// A channel's TLS as its transport: the native connection, and the state machine that steps
// the handshake and the unwrap from read and write events, says which interest the channel
// needs, and makes sure plaintext OpenSSL already holds is delivered without waiting for the fd.
//
// The states (TLS_STATES), and what each does with the channel's events:
//   flushing   cleartext queued before startTls() is still being written (a STARTTLS reply):
//              those bytes go to the socket in cleartext, reads wait; once they are out the
//              handshake starts (what was pushed after startTls() waits for it: TLS data)
//   handshake  read and write events step it, as OpenSSL asks (WANT_READ / WANT_WRITE); output
//              waits
//   open       reads decrypt, writes encrypt; ciphertext the socket did not take goes out at the
//              next write event before anything else
//   closing    stopTls(): close_notify sent, the peer's awaited; plaintext the peer sends before
//              its close_notify still reaches the channel's reads, nothing is dropped; output
//              waits, and goes out in cleartext once the unwrap is done
//   done       the unwrap completed or the channel closed: the SSL object is freed, and the
//              channel has another transport (its socket, or the cleartext replay)
// A peer that vanishes, resets or sends junk in any state makes a step throw: the channel's
// dispatch turns that into its close (a disconnect) or handleError (the default closes). A
// failed handshake or unwrap holds nothing back any more: output queued behind it fails.
import type { TimerEntry } from '../engine/scheduler';
import { native, type NativeTlsConnection } from '../binding/native';
import { READ_INTEREST, WRITE_INTEREST } from '../engine/interest-bits';
import { WROTE_ALL, WROTE_FULL, WROTE_TO_CLOSE, type OutputQueue, type WriteOutcome } from '../engine/output-queue';
import { recvThrough, type Transport, type TransportSocket } from '../engine/transport';
import type { Lingering } from '../engine/lingering';
import { systemError } from '../errors';
import type { TlsContext } from './context';
import type { TlsInfo } from './info';

// native/tls_connection.h's status bits
const PLAIN_PENDING = 1;
const WANT_READ = 2;
const WANT_WRITE = 4;

/** The states of a channel's TLS, in the order a connection goes through them. */
export const TLS_STATES = ['flushing', 'handshake', 'open', 'closing', 'done'] as const;
export type TlsState = typeof TLS_STATES[number];

/** What the TLS transport needs of its channel. */
export interface TlsOwner {
  /** Something changed the interest the channel needs: recompute it before the next wait. */
  touch(): void;
  /** Plaintext is buffered above the fd: a read event at the next iteration, without waiting. */
  readAgain(): void;
  /** The channel's output queue (cleartext before startTls, TLS data after). */
  queuedOutput(): OutputQueue | null;
  /** The handshake completed. */
  handshakeDone(): void;
  /** The unwrap completed: the channel is cleartext again; `rest` is cleartext read past the peer's close_notify. */
  unwrapped(rest: Buffer | null): void;
}

export class TlsTransport implements Transport {
  readonly tls = true;
  state: TlsState;
  /** startTls()'s handshake timeout while it runs (cancelled once the handshake is done). */
  handshakeTimer: TimerEntry | null = null;
  private want = 0;
  private freed = false;
  /** Flushing: bytes queued before startTls() not yet written (what is pushed after it is TLS data). */
  private cleartextLeft = 0;
  /**
   * A handshake or unwrap step failed: the connection can carry nothing more. Output these
   * states held back is no longer held: its write fails as a broken pipe, so that a channel
   * whose handleClose chose closeWhenDone() after the error closes, instead of waiting forever.
   */
  private failed = false;

  /**
   * `conn` made over the channel's fd with `status` as its status array (tlsConnectionOver()),
   * or over memory in tests; `plain` carries the cleartext written before the handshake.
   */
  constructor(
    private readonly owner: TlsOwner, private readonly conn: NativeTlsConnection, private readonly status: Int32Array,
    private readonly plain: Transport, readonly serverSide: boolean, cleartextFirst: boolean,
  ) {
    const queued = owner.queuedOutput();
    this.state = cleartextFirst && queued !== null && !queued.empty ? 'flushing' : 'handshake';
    if (this.state === 'flushing') this.cleartextLeft = queued!.bytes;
  }

  /**
   * Starts the handshake (unless cleartext output must go first) at the next event, never
   * inside startTls() itself: as with Python's do_handshake_on_connect=False, a failure then
   * reaches the channel's handleError, not the code that called startTls (a constructor).
   */
  start(): void {
    this.want = WANT_READ | WANT_WRITE;
    this.owner.touch();
  }

  get handshakeDone(): boolean {
    return this.state === 'open';
  }

  // ---- events ----

  claimsReadEvent(): boolean {
    if (this.failed) return true;
    switch (this.state) {
      case 'open':
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

  claimsWriteEvent(): boolean {
    if (this.failed) return false;
    switch (this.state) {
      case 'flushing':
        return false;
      case 'handshake':
        this.step();
        return true;
      case 'closing':
        this.stepShutdown();
        return true;
      case 'open':
        // Ciphertext the socket did not take goes first.
        if (this.status[1] === 0) return false;
        if (this.conn.flush() > 0) return true;
        this.owner.touch();
        return false;
      default:
        return true;
    }
  }

  interest(mask: number): number {
    if (this.failed) return mask & ~READ_INTEREST;
    switch (this.state) {
      case 'flushing':
        return (mask & ~READ_INTEREST) | WRITE_INTEREST;
      case 'handshake':
        return this.stepInterest();
      case 'closing':
        // Plaintext waiting is read when the channel wants to read, as it would be before stopTls.
        if (this.want & PLAIN_PENDING && mask & READ_INTEREST) this.owner.readAgain();
        return this.stepInterest();
      case 'open':
        if (mask & READ_INTEREST && this.status[0] & PLAIN_PENDING) this.owner.readAgain();
        return this.status[1] > 0 ? mask | WRITE_INTEREST : mask;
      default:
        return 0;
    }
  }

  private stepInterest(): number {
    return (this.want & WANT_READ ? READ_INTEREST : 0) | (this.want & WANT_WRITE || this.status[1] > 0 ? WRITE_INTEREST : 0);
  }

  // ---- plaintext I/O ----

  read(memory: Buffer, offset: number, size: number): number {
    if (!this.reading) return -1;
    return this.afterRead(this.conn.read(memory, offset, size));
  }

  readScan(memory: Buffer, offset: number, size: number, t: Uint8Array, out: Int32Array, max: number, minBytes: number): number {
    if (!this.reading) {
      out[out.length - 1] = -1;
      return -1;
    }
    return this.afterRead(this.conn.readScan(memory, offset, size, t, out, max, minBytes));
  }

  private get reading(): boolean {
    return this.state === 'open' || this.state === 'closing';
  }

  private afterRead(n: number): number {
    if (this.status[0] & PLAIN_PENDING) this.owner.readAgain();
    if (n === 0 && this.state === 'closing') {
      // The peer's close_notify during the unwrap: no end of stream; the unwrap completes at the next event.
      this.owner.readAgain();
      return -1;
    }
    return n;
  }

  writev(bufs: Uint8Array[] | Uint8Array, firstOffset: number): number {
    if (this.failed) throw systemError('EPIPE', 'send', '(the TLS connection failed)');
    switch (this.state) {
      case 'flushing': {
        // Only what was queued before startTls() goes in the clear; what follows it waits for the handshake.
        if (this.cleartextLeft === 0) return -1;
        const n = this.plain.writev(firstBytes(bufs, firstOffset, this.cleartextLeft), firstOffset);
        if (n > 0) this.cleartextLeft -= n;
        return n;
      }
      case 'open':
        return this.conn.writev(bufs, firstOffset);
      default:
        return -1;
    }
  }

  recv(size: number): Buffer {
    return recvThrough(this, size);
  }

  send(data: Uint8Array): number {
    const n = this.writev(data, 0);
    return n > 0 ? n : 0;
  }

  /**
   * Output waits (neither cleartext nor TLS data may go out during the handshake or the unwrap:
   * what is pushed while the unwrap runs goes out in cleartext after it).
   */
  get holdsOutput(): boolean {
    return (this.state === 'handshake' || this.state === 'closing') && !this.failed;
  }

  /**
   * After the output queue wrote: once the bytes queued before startTls() are out the handshake
   * starts (what was pushed after it waits in the queue); ciphertext still waiting counts as a
   * full socket (the close marker waits for it).
   */
  afterWrite(outcome: WriteOutcome, out: OutputQueue): WriteOutcome {
    void out;
    if (this.state === 'flushing') {
      if (this.cleartextLeft === 0) {
        this.state = 'handshake';
        this.start();
      }
      return outcome;
    }
    if (this.status[1] > 0 && (outcome === WROTE_ALL || outcome === WROTE_TO_CLOSE)) return WROTE_FULL;
    return outcome;
  }

  tlsInfo(): TlsInfo | null {
    return this.state === 'open' ? this.conn.info() as unknown as TlsInfo : null;
  }

  // ---- unwrap and close ----

  /** stopTls(): sends close_notify and waits for the peer's (Python's unwrap()). */
  stop(): void {
    this.state = 'closing';
    this.stepShutdown();
  }

  /**
   * The channel closes. An open connection sends close_notify first; when the socket cannot
   * take it (and the ciphertext queued before it) now, the close lingers until it can or a
   * bounded time passes: the alert is never the part that is lost. A connection that failed or
   * whose peer is gone has nothing more to tell: it is freed at once.
   */
  close(socket: TransportSocket, lingering: Lingering | null): void {
    const sending = this.state === 'open' || this.state === 'closing';
    let waiting = 0;
    if (sending) {
      try {
        if (this.state === 'open') this.conn.shutdown(false);
        // What the socket did not take: one more try, which also tells a peer that is gone.
        waiting = this.status[1] > 0 ? this.conn.flush() : 0;
      } catch {
        waiting = 0;  // the peer is gone, or the connection failed: nothing more to tell it
      }
    }
    if (waiting > 0 && lingering !== null) {
      this.state = 'done';
      this.cancelHandshakeTimer();
      lingering.add(socket.fileno(), {
        flush: () => this.conn.flush(),
        release: () => {
          this.free();
          socket.close();
        },
      });
      return;
    }
    this.free();
    socket.close();
  }

  private fail(): void {
    this.failed = true;
    this.owner.touch();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    this.state = 'done';
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
    let want: number;
    try {
      want = this.conn.handshake();
    } catch (err) {
      this.fail();
      throw err;
    }
    this.want = want;
    this.owner.touch();
    if (want !== 0) return;
    this.state = 'open';
    this.cancelHandshakeTimer();
    this.owner.handshakeDone();
    if (this.status[0] & PLAIN_PENDING) this.owner.readAgain();
  }

  /** One step of the unwrap: true when plaintext the peer sent before its close_notify waits for the channel. */
  private stepShutdown(): boolean {
    let r: number;
    try {
      r = this.conn.shutdown(true);
    } catch (err) {
      this.fail();
      throw err;
    }
    if (r !== 0) {
      this.want = r;
      this.owner.touch();
      return (r & PLAIN_PENDING) !== 0;
    }
    const rest = this.conn.cleartextAfter();
    this.free();
    this.owner.unwrapped(rest.length > 0 ? rest : null);
    return false;
  }
}

/** The first `max` bytes of a gathered write (the first buffer from firstOffset): the buffers themselves when they hold no more. */
function firstBytes(bufs: Uint8Array[] | Uint8Array, firstOffset: number, max: number): Uint8Array[] | Uint8Array {
  if (bufs instanceof Uint8Array) return bufs.length - firstOffset <= max ? bufs : bufs.subarray(0, firstOffset + max);
  let total = 0;
  for (let i = 0; i < bufs.length; i++) {
    const start = i === 0 ? firstOffset : 0;
    const len = bufs[i].length - start;
    if (total + len > max) {
      const cut = bufs.slice(0, i + 1);
      cut[i] = bufs[i].subarray(0, start + max - total);
      return cut;
    }
    total += len;
  }
  return bufs;
}

/** The native connection for a channel's fd, and the status array it reports through. */
export function tlsConnectionOver(
  context: TlsContext, fd: number, serverSide: boolean, hostname: string | null,
): { conn: NativeTlsConnection; status: Int32Array } {
  const status = new Int32Array(2);
  return { conn: new native.TlsConnection(context.side(serverSide), fd, serverSide, hostname, status), status };
}
