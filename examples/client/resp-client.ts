// A Redis-protocol client on AsyncChat, with one promise per command: the other side of
// examples/resp. It connects with connect() (non-blocking: commands pushed before the
// connection is made wait in the queue), pipelines whatever is sent, and matches replies to
// commands in order.
//
// Failures reach the promises: a refused connection rejects `ready` and every command with the
// system error (code 'ECONNREFUSED'); a connection that ends or is reset while replies are
// awaited rejects those commands with code 'ERR_CONNECTION_CLOSED' (asyncore, like Python's,
// turns ECONNRESET into handleClose without saying which it was).
//
// Replies are read with the terminator "\r\n" for the type lines (+OK, :1, $5, *2, -ERR ...),
// and with an integer terminator for each bulk string, so values are binary-safe.
import { AF_INET, AF_INET6, AsyncChat, socketMap, systemError, type SocketMap, type TlsContext } from '../../src';

/** A reply: simple string, integer, bulk string (bytes), nil, or an array of replies. */
export type RespValue = string | number | Buffer | null | RespValue[];

/** An error reply from the server ("-ERR ..."): the command's promise rejects with it. */
export class RespError extends Error {
  readonly code = 'ERR_RESP_REPLY';
  override name = 'RespError';
}

interface Pending {
  resolve(value: RespValue): void;
  reject(err: Error): void;
}

const CRLF = Buffer.from('\r\n');

export class RespClient extends AsyncChat {
  /** Resolves once connected; rejects with the connect error (code 'ECONNREFUSED', ...). */
  readonly ready: Promise<void>;
  /** Resolves once the connection is closed, whichever side closed it. */
  readonly done: Promise<void>;
  /** Why the client stopped: commands sent from then on reject with it at once. */
  failure: Error | null = null;

  private readonly pending: Pending[] = [];
  /** Arrays being read: their items so far and how many are still to come. */
  private readonly arrays: { items: RespValue[]; left: number }[] = [];
  private inBulk = false;
  private settleReady!: (err?: Error) => void;
  private settleDone!: () => void;
  private readonly host: string;

  private readonly tls: TlsContext | undefined;

  /**
   * `timeout` (seconds, null: none) bounds the connect and, once connected, any silence while
   * commands wait for their replies: past it they reject with ETIMEDOUT. With `tls`, the
   * connection starts TLS once connected (the host is the name verified).
   */
  constructor(
    port: number, host = '127.0.0.1', map: SocketMap = socketMap,
    { timeout = null, tls }: { timeout?: number | null; tls?: TlsContext } = {},
  ) {
    super(null, map);
    this.connectTimeout = timeout;
    this.host = host;
    this.tls = tls;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => {});  // awaiting it is optional: the commands reject too
    this.done = new Promise<void>((resolve) => {
      this.settleDone = resolve;
    });
    this.setTerminator('\r\n');
    this.createSocket(host.includes(':') ? AF_INET6 : AF_INET);
    try {
      this.connect([host, port]);  // usually pending: completes (or fails) in the loop
    } catch (err) {
      this.fail(err as Error);   // refused at once
    }
    if (!this.closed) this.idleTimeout = timeout;
  }

  /** Sends one command; resolves with its reply, rejects with a RespError for an error reply. */
  command(...args: Array<string | number | Uint8Array>): Promise<RespValue> {
    if (this.failure !== null) return Promise.reject(this.failure);
    this.push(`*${args.length}\r\n`);
    for (const arg of args) {
      const bytes = typeof arg === 'string' || typeof arg === 'number' ? Buffer.from(String(arg)) : arg;
      this.push(`$${bytes.length}\r\n`);
      this.push(bytes);
      this.push(CRLF);
    }
    return new Promise<RespValue>((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** QUIT: the server replies and closes; resolves once the connection is closed. */
  async quit(): Promise<void> {
    if (this.failure === null) await this.command('QUIT').catch(() => {});
    await this.done;
  }

  override handleConnect(): void {
    // Commands pushed before the connection was made are the first TLS data.
    if (this.tls !== undefined) this.startTls(this.tls, { serverHostname: this.host, cleartextFirst: false });
    else this.settleReady();
  }

  override handleTlsHandshake(): void {
    this.settleReady();
  }

  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    const data = this.getData();
    if (this.inBulk) {
      this.inBulk = false;
      this.setTerminator('\r\n');
      this.reply(data.subarray(0, data.length - 2));
      return;
    }
    const text = data.toString('utf8', 1);
    switch (data[0]) {
      case 0x2b: return this.reply(text);                   // +simple string
      case 0x2d: return this.reply(new RespError(text));    // -error
      case 0x3a: return this.reply(Number(text));           // :integer
      case 0x24: {                                          // $bulk string
        const n = Number(text);
        if (n < 0) return this.reply(null);
        this.inBulk = true;
        this.setTerminator(n + 2);  // the bytes and their CRLF
        return;
      }
      case 0x2a: {                                          // *array
        const n = Number(text);
        if (n < 0) return this.reply(null);
        if (n === 0) return this.reply([]);
        this.arrays.push({ items: [], left: n });
        return;
      }
      default:
        this.fail(Object.assign(new Error(`not a RESP reply: ${JSON.stringify(data.toString('latin1'))}`), {
          code: 'ERR_RESP_PROTOCOL',
        }));
    }
  }

  /** A complete value: an item of the array being read, or the reply to the oldest command. */
  private reply(value: RespValue | RespError): void {
    let v = value;
    while (this.arrays.length > 0) {
      const top = this.arrays[this.arrays.length - 1];
      top.items.push(v as RespValue);
      if (--top.left > 0) return;
      this.arrays.pop();
      v = top.items;
    }
    const waiter = this.pending.shift();
    if (waiter === undefined) return;  // a reply nobody asked for
    if (v instanceof RespError) waiter.reject(v);
    else waiter.resolve(v as RespValue);
  }

  /** The connection failed or ended: every promise still open learns why. */
  private fail(err: Error): void {
    this.failure ??= err;
    this.settleReady(this.failure);
    for (const waiter of this.pending.splice(0)) waiter.reject(this.failure);
    if (!this.closed) this.close();
  }

  // A failed connect (ECONNREFUSED, ETIMEDOUT, ...) and any other error arrive here.
  override handleError(err: unknown): void {
    this.fail(err instanceof Error ? err : new Error(String(err)));
  }

  override handleTimeout(): void {
    this.fail(systemError('ETIMEDOUT', 'recv', `no reply within ${this.idleTimeout} s`));
  }

  override handleClose(): void {
    const unanswered = this.pending.length;
    this.fail(Object.assign(
      new Error(`connection closed${unanswered ? ` with ${unanswered} command(s) unanswered` : ''}`),
      { code: 'ERR_CONNECTION_CLOSED' },
    ));
  }

  override close(): void {
    super.close();
    if (this.failure === null) this.fail(Object.assign(new Error('client closed'), { code: 'ERR_CONNECTION_CLOSED' }));
    this.settleDone();
  }
}

/** A reply as redis-cli prints it. */
export function formatReply(value: RespValue | Error, indent = ''): string {
  if (value instanceof Error) return `(error) ${value.message}`;
  if (value === null) return '(nil)';
  if (typeof value === 'number') return `(integer) ${value}`;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return quote(value);
  if (value.length === 0) return '(empty array)';
  return value.map((item, i) => `${i === 0 ? '' : indent}${i + 1}) ${formatReply(item, `${indent}   `)}`).join('\n');
}

/** Bytes in double quotes, as redis-cli shows them: printable ASCII as is, the rest as \xHH. */
function quote(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}
