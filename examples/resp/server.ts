// A Redis-protocol (RESP2) server over an in-memory store: PING, ECHO, SET, GET, DEL, EXISTS,
// INCR, MGET, MSET, QUIT; anything else gets an error reply. Two sessions read the protocol:
//
// - FramedRespSession (the default) sets a RESP framer as its terminator: the native parser
//   splits each read into commands, collectIncomingData gets each argument, foundTerminator()
//   runs the command. Malformed input reaches handleError with a coded error, mapped to Redis's
//   replies.
// - RespSession (--parser terminator) is the line-for-line asynchat port: a command arrives as an
//   array of bulk strings,  *2\r\n $3\r\nGET\r\n $3\r\nkey\r\n ; the "*N" and "$len" lines are
//   read with the terminator "\r\n", each bulk string with an integer terminator (its length plus
//   its CRLF), so values are binary-safe: their bytes are never searched. A line that does not
//   start with "*" is an inline command ("PING\r\n", what redis-benchmark's PING_INLINE and a
//   telnet user send), split at spaces; "double" and 'single' quotes group words, as in Redis.
import { AsyncChat, framers, socketMap, type Framer, type Socket, type SocketMap } from '../../src';
import { Listener, type ListenOptions } from '../common/listener';

export interface RespOptions extends ListenOptions {
  /** The store; pass one to share it or look into it (keys are byte strings, as 'latin1'). */
  store?: Map<string, Buffer>;
  /** The largest bulk string accepted (Redis: proto-max-bulk-len). Default 64 MiB. */
  maxBulk?: number;
  /** The longest inline command or "*"/"$" line. Default 64 KiB (Redis's limit for inline commands). */
  maxLine?: number;
  /** 'framer' (default): FramedRespSession; 'terminator': RespSession, the asynchat port. */
  parser?: 'framer' | 'terminator';
}

const MAX_ARGS = 1024 * 1024;
const CRLF = Buffer.from('\r\n');
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');

export class RespServer {
  readonly listener: Listener;
  readonly map: SocketMap;
  readonly store: Map<string, Buffer>;
  readonly maxBulk: number;
  readonly maxLine: number;
  /** What FramedRespSession parses with: one framer for every session (a Framer is immutable). */
  readonly framer: Framer;

  constructor(options: RespOptions = {}) {
    this.map = options.map ?? socketMap;
    this.store = options.store ?? new Map();
    this.maxBulk = options.maxBulk ?? 64 * 1024 * 1024;
    this.maxLine = options.maxLine ?? 64 * 1024;
    this.framer = framers.resp({
      maxArgs: MAX_ARGS, maxArgBytes: this.maxBulk, maxInlineBytes: this.maxLine,
      maxCommandBytes: Math.min(2 ** 31 - 1, 2 * this.maxBulk + this.maxLine),
    });
    const Session = options.parser === 'terminator' ? RespSession : FramedRespSession;
    this.listener = new Listener(options, (sock) => new Session(this, sock));
  }

  get port(): number {
    return this.listener.port;
  }
}

/** A protocol error: the client is told, and the connection closed (as Redis does). */
class ProtocolError extends Error {}

export class RespSession extends AsyncChat {
  /** Arguments the current command still expects (0: waiting for a new command). */
  private expected = 0;
  protected args: Buffer[] = [];
  /** true while the terminator is a bulk string's length. */
  private inBulk = false;
  /** After a protocol error: input is ignored until the reply is sent and the connection closed. */
  protected broken = false;

  constructor(protected readonly server: RespServer, sock: Socket) {
    super(sock, server.map);
    this.maxInputBuffered = server.maxLine;
    this.setTerminator('\r\n');
  }

  override collectIncomingData(data: Buffer): void {
    if (!this.broken) this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    const data = this.getData();
    try {
      if (this.inBulk) this.bulkString(data);
      else if (this.expected > 0) this.bulkLength(data);
      else if (data[0] === 0x2a /* '*' */) this.arrayLength(data);
      else this.execute(splitInline(data.toString('latin1')).map((s) => Buffer.from(s, 'latin1')));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.fail(err.message);
    }
  }

  /** Tells the client, then closes once that is sent; what comes meanwhile is ignored. */
  protected fail(message: string): void {
    this.push(`-ERR Protocol error: ${message}\r\n`);
    this.closeWhenDone();
    this.broken = true;
    this.setTerminator(null);
  }

  private arrayLength(line: Buffer): void {
    const n = parseInteger(line, 1);
    if (n === null || n > MAX_ARGS) throw new ProtocolError('invalid multibulk length');
    if (n <= 0) return;  // "*0" and "*-1": nothing to run (Redis does the same)
    this.expected = n;
    this.args = [];
  }

  private bulkLength(line: Buffer): void {
    if (line[0] !== 0x24 /* '$' */) {
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(line[0] ?? 0x20)}'`);
    }
    const n = parseInteger(line, 1);
    if (n === null || n < 0 || n > this.server.maxBulk) throw new ProtocolError('invalid bulk length');
    this.inBulk = true;
    this.setTerminator(n + 2);  // the bytes and their CRLF: never searched, so binary-safe
  }

  private bulkString(data: Buffer): void {
    const n = data.length - 2;
    if (data[n] !== 0x0d || data[n + 1] !== 0x0a) throw new ProtocolError('bulk string not followed by CRLF');
    this.inBulk = false;
    this.setTerminator('\r\n');
    this.args.push(data.subarray(0, n));
    if (this.args.length === this.expected) {
      const args = this.args;
      this.expected = 0;
      this.args = [];
      this.execute(args);
    }
  }

  protected execute(args: Buffer[]): void {
    if (args.length === 0) return;  // an empty inline line
    const name = args[0].toString('latin1').toLowerCase();
    const command = COMMANDS.get(name);
    if (command === undefined) {
      const rest = args.slice(1, 20).map((a) => `'${a.toString('latin1')}' `).join('');
      this.error(`ERR unknown command '${args[0].toString('latin1')}', with args beginning with: ${rest}`);
    } else if (command.arity > 0 ? args.length !== command.arity : args.length < -command.arity) {
      this.error(`ERR wrong number of arguments for '${name}' command`);
    } else {
      command.run(this, args, this.server.store);
    }
  }

  // ---- replies ----

  ok(): void {
    this.push(OK);
  }

  simple(text: string): void {
    this.push(`+${text}\r\n`);
  }

  error(text: string): void {
    this.push(`-${text.replace(/[\r\n]/g, ' ')}\r\n`);
  }

  integer(n: number | bigint): void {
    this.push(`:${n}\r\n`);
  }

  bulk(value: Buffer | undefined): void {
    if (value === undefined) {
      this.push(NIL);
      return;
    }
    this.push(`$${value.length}\r\n`);
    // Stored values are never changed in place (SET stores a fresh copy), so a large one can be
    // queued without copying it: pushShared copies only what is small enough to pack.
    this.pushShared(value);
    this.push(CRLF);
  }

  arrayHeader(n: number): void {
    this.push(`*${n}\r\n`);
  }

  pong(): void {
    this.push(PONG);
  }

  override handleError(err: unknown): void {
    // A line longer than maxLine. The splitter refuses every later read too (until
    // discardBuffers(), which would also drop the replies still queued): fail once, then ignore.
    if ((err as { code?: string }).code === 'ERR_ASYNCHAT_INPUT_TOO_LARGE') {
      if (!this.broken) this.fail('too big inline request');
      return;
    }
    super.handleError(err);
  }
}

/**
 * The same commands, read by the native RESP framer: one collectIncomingData per argument, one
 * foundTerminator per command. Its limits are the server's (maxBulk, maxLine).
 */
export class FramedRespSession extends RespSession {
  constructor(server: RespServer, sock: Socket) {
    super(server, sock);
    this.setTerminator(server.framer);
  }

  override collectIncomingData(data: Buffer): void {
    this.args.push(data);
  }

  override foundTerminator(): void {
    const args = this.args;
    this.args = [];
    this.execute(args);
  }

  override handleError(err: unknown): void {
    const message = redisProtocolError(err);
    if (message === null) {
      super.handleError(err);
      return;
    }
    // Every later read is refused the same way (until discardInput()): fail once, then ignore.
    if (!this.broken) this.fail(message);
  }
}

/** Redis's words for a frame the framer refused, or null for any other error. */
function redisProtocolError(err: unknown): string | null {
  const e = err as { code?: string; part?: string; limit?: string; expected?: string; got?: number | null };
  if (e.code === 'ERR_ASYNCHAT_FRAME_TOO_LARGE') {
    if (e.limit === 'maxInlineBytes') return 'too big inline request';
    return e.limit === 'maxArgs' ? 'invalid multibulk length' : 'invalid bulk length';
  }
  if (e.code !== 'ERR_ASYNCHAT_BAD_FRAME') return null;
  switch (e.part) {
    case 'array header':
      return 'invalid multibulk length';
    case 'bulk header':
      return e.expected === "'$'" ? `expected '$', got '${String.fromCharCode(e.got ?? 0x20)}'` : 'invalid bulk length';
    case 'bulk string':
      return 'bulk string not followed by CRLF';
    default:
      return e.expected === 'a byte other than NUL' ? 'NUL in inline request' : 'unbalanced quotes in request';
  }
}

interface Command {
  /** As Redis counts it, the name included: N means exactly N, -N at least N. */
  arity: number;
  run(session: RespSession, args: Buffer[], store: Map<string, Buffer>): void;
}

const key = (b: Buffer): string => b.toString('latin1');

const COMMANDS = new Map<string, Command>([
  ['ping', {
    arity: -1,
    run(s, args) {
      if (args.length > 2) s.error("ERR wrong number of arguments for 'ping' command");
      else if (args.length === 2) s.bulk(args[1]);
      else s.pong();
    },
  }],
  ['echo', { arity: 2, run: (s, args) => s.bulk(args[1]) }],
  ['get', { arity: 2, run: (s, args, store) => s.bulk(store.get(key(args[1]))) }],
  ['set', {
    arity: 3,  // no EX/PX/NX/XX options in this example
    run(s, args, store) {
      // Copied: the argument is a view into a read buffer of 256 KiB, which a kept view would
      // keep alive whole.
      store.set(key(args[1]), Buffer.from(args[2]));
      s.ok();
    },
  }],
  ['del', {
    arity: -2,
    run(s, args, store) {
      let n = 0;
      for (const k of args.slice(1)) if (store.delete(key(k))) n++;
      s.integer(n);
    },
  }],
  ['exists', {
    arity: -2,
    run(s, args, store) {
      let n = 0;
      for (const k of args.slice(1)) if (store.has(key(k))) n++;
      s.integer(n);
    },
  }],
  ['incr', {
    arity: 2,
    run(s, args, store) {
      const old = store.get(key(args[1]));
      const text = old === undefined ? '0' : old.toString('latin1');
      if (!/^-?\d{1,19}$/.test(text)) {
        s.error('ERR value is not an integer or out of range');
        return;
      }
      const next = BigInt(text) + 1n;
      if (next > 9223372036854775807n || next < -9223372036854775808n) {
        s.error('ERR increment or decrement would overflow');
        return;
      }
      store.set(key(args[1]), Buffer.from(next.toString()));
      s.integer(next);
    },
  }],
  ['mget', {
    arity: -2,
    run(s, args, store) {
      s.arrayHeader(args.length - 1);
      for (const k of args.slice(1)) s.bulk(store.get(key(k)));
    },
  }],
  ['mset', {
    arity: -3,
    run(s, args, store) {
      if (args.length % 2 !== 1) {
        s.error("ERR wrong number of arguments for 'mset' command");
        return;
      }
      for (let i = 1; i < args.length; i += 2) store.set(key(args[i]), Buffer.from(args[i + 1]));
      s.ok();
    },
  }],
  ['quit', {
    arity: -1,
    run(s) {
      s.ok();
      s.closeWhenDone();
    },
  }],
]);

/** The integer in line[from..], or null if it is not one (digits with an optional '-'). */
function parseInteger(line: Buffer, from: number): number | null {
  const text = line.toString('latin1', from);
  return /^-?\d{1,15}$/.test(text) ? Number(text) : null;
}

/**
 * Splits an inline command as Redis's sdssplitargs does, in short: words separated by spaces or
 * tabs; "double quotes" (with \n, \r, \t, \\, \" and \xHH escapes) and 'single quotes' group a
 * word. Unbalanced quotes are a protocol error.
 */
export function splitInline(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    let word = '';
    const quote = line[i] === '"' || line[i] === "'" ? line[i++] : '';
    for (;;) {
      if (i >= n) {
        if (quote) throw new ProtocolError('unbalanced quotes in request');
        break;
      }
      const c = line[i];
      if (!quote && (c === ' ' || c === '\t')) break;
      if (quote && c === quote) {
        i++;
        if (i < n && line[i] !== ' ' && line[i] !== '\t') throw new ProtocolError('unbalanced quotes in request');
        break;
      }
      if (quote === '"' && c === '\\' && i + 1 < n) {
        const e = line[i + 1];
        if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          word += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        word += ({ n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' } as Record<string, string>)[e] ?? e;
        i += 2;
        continue;
      }
      if (quote === "'" && c === '\\' && line[i + 1] === "'") {
        word += "'";
        i += 2;
        continue;
      }
      word += c;
      i++;
    }
    words.push(word);
  }
  return words;
}
