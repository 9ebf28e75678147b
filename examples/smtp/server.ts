// An SMTP receiving server shaped like Python's smtpd.SMTPChannel: commands are lines ending in
// "\r\n"; DATA switches the terminator inside foundTerminator, so the message that follows in
// the same read is split by the new terminator; at its end the terminator goes back to "\r\n".
//
// Where it differs from smtpd, on purpose:
// - An empty message works. smtpd ends DATA at "\r\n.\r\n", but the CRLF that ends the DATA
//   command itself was consumed by the command's terminator, so a client sending ".\r\n" right
//   away (an empty message) waits forever. Here the data is split at ".\r\n", and a record ends
//   the message when the "." starts a line: the record is empty, or ends in CRLF. Every record
//   starts at the beginning of a line (after DATA's CRLF, or after a ".\r\n"), so this finds
//   exactly the "<CRLF>.<CRLF>" of RFC 5321, including right after DATA.
// - The message keeps its CRLFs (smtpd joins lines with "\n"), and its last line keeps its CRLF,
//   as RFC 5321 counts it as part of the data.
// - MAIL FROM:<> (the null sender of bounces) is accepted.
// - After "552 Error: Too much mail data" the session is back in command state (smtpd stays in
//   DATA state and takes the next commands for message data).
import type { TlsContext } from '../../src';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { AsyncChat, socketMap, type Address, type Socket, type SocketMap } from '../../src';
import { Listener, type ListenOptions } from '../common/listener';
import { PhaseTimer } from '../common/phase-timer';

export interface Message {
  peer: Address;
  /** The name given with HELO or EHLO. */
  helo: string;
  /** The reverse path; '' for the null sender <>. */
  mailFrom: string;
  rcptTos: string[];
  /** The message as received: dot-unstuffed, CRLF line endings kept. */
  data: Buffer;
}

/**
 * Called once per message received. Return nothing to accept it ("250 OK"), or a whole reply
 * line such as "554 Transaction failed" to refuse it. A throw answers "451".
 */
export type MessageHandler = (message: Message) => string | void;

export interface SmtpOptions extends ListenOptions {
  onMessage: MessageHandler;
  /** The name in the greeting and the HELO/EHLO reply. Default: os.hostname(). */
  hostname?: string;
  /** The longest command line, CRLF excluded (smtpd's command_size_limit). Default 512. */
  maxLine?: number;
  /** The largest message, in bytes (smtpd's data_size_limit). Default 32 MiB. */
  maxMessageSize?: number;
  /**
   * Seconds from DATA to the message's final "." (however slowly it comes), then "421" and
   * the connection closes (RFC 5321 4.5.3.2 suggests 10 minutes). Default null: no bound.
   */
  dataTimeout?: number | null;
  /** Offer STARTTLS (RFC 3207) with this server-side context. */
  starttls?: TlsContext;
}

const COMMAND = 0;
const DATA = 1;
const CRLF = Buffer.from('\r\n');
const DOT_CRLF = Buffer.from('.\r\n');

export class SmtpServer {
  readonly listener: Listener;
  readonly map: SocketMap;
  readonly hostname: string;
  readonly maxLine: number;
  readonly maxMessageSize: number;
  readonly onMessage: MessageHandler;
  readonly dataTimeout: number | null;
  readonly starttls: TlsContext | undefined;

  constructor(options: SmtpOptions) {
    this.dataTimeout = options.dataTimeout || null;
    this.starttls = options.starttls;
    this.map = options.map ?? socketMap;
    this.hostname = options.hostname ?? os.hostname();
    this.maxLine = options.maxLine ?? 512;
    this.maxMessageSize = options.maxMessageSize ?? 32 * 1024 * 1024;
    this.onMessage = options.onMessage;
    this.listener = new Listener(options, (sock, addr) => new SmtpChannel(this, sock, addr));
  }

  get port(): number {
    return this.listener.port;
  }
}

export class SmtpChannel extends AsyncChat {
  private state = COMMAND;
  private helo = '';
  private extended = false;
  private mailFrom: string | null = null;
  private rcptTos: string[] = [];
  /** Bytes of the current command line or message; what is past the limit is not kept. */
  private size = 0;
  // Of the current data record, whether or not it was kept: its length, its last byte, and
  // whether it ends in CRLF.
  private recordLength = 0;
  private lastByte = -1;
  private endsInCrlf = false;
  /** The message so far: records of the data, each with the ".\r\n" that ended it. */
  private data: Buffer[] = [];
  /** closeWhenDone() was called after an input error. */
  private quitting = false;
  private readonly dataPhase: PhaseTimer;

  constructor(private readonly server: SmtpServer, sock: Socket, readonly peer: Address) {
    super(sock, server.map);
    this.dataPhase = new PhaseTimer(server.map, server.dataTimeout, () => this.dataTimedOut());
    this.setTerminator('\r\n');
    // The splitter's own limit on bytes without a terminator: only a peer that sends more than
    // a whole message without ".\r\n" or "\r\n" reaches it (the smaller limits are ours, below).
    this.maxInputBuffered = server.maxMessageSize + 64 * 1024;
    this.reply(`220 ${server.hostname} asynchat SMTP example`);
  }

  private reply(line: string): void {
    this.push(`${line}\r\n`);
  }

  private dataTimedOut(): void {
    if (this.state !== DATA || this.quitting) return;
    this.quitting = true;
    this.reply('421 4.4.2 Error: timeout exceeded');
    this.setTerminator(null);
    this.closeWhenDone();
  }

  override close(): void {
    this.dataPhase.stop();
    super.close();
  }

  // What smtpd's collect_incoming_data does: count, and keep only while under the limit.
  override collectIncomingData(data: Buffer): void {
    const n = data.length;
    if (this.state === DATA) {
      this.recordLength += n;
      this.endsInCrlf = (n >= 2 ? data[n - 2] : this.lastByte) === 0x0d && data[n - 1] === 0x0a;
      this.lastByte = data[n - 1];
    }
    this.size += n;
    if (this.size <= (this.state === COMMAND ? this.server.maxLine : this.server.maxMessageSize)) {
      this.keepIncomingData(data);
    }
  }

  override foundTerminator(): void {
    if (this.state === COMMAND) this.commandLine();
    else this.dataRecord();
  }

  private commandLine(): void {
    const size = this.size;
    const line = this.getData().toString('utf8');
    this.size = 0;
    if (size > this.server.maxLine) {
      this.reply('500 Error: line too long');
      return;
    }
    if (line.length === 0) {
      this.reply('500 Error: bad syntax');
      return;
    }
    const space = line.indexOf(' ');
    const command = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? '' : line.slice(space + 1).trim();
    switch (command) {
      case 'HELO': return this.smtpHelo(arg, false);
      case 'EHLO': return this.smtpHelo(arg, true);
      case 'NOOP': return this.reply(arg ? '501 Syntax: NOOP' : '250 OK');
      case 'QUIT': return this.smtpQuit();
      case 'MAIL': return this.smtpMail(arg);
      case 'RCPT': return this.smtpRcpt(arg);
      case 'RSET': return this.smtpRset(arg);
      case 'DATA': return this.smtpData(arg);
      case 'STARTTLS': return this.smtpStartTls(arg);
      default: return this.reply(`500 Error: command "${command}" not recognized`);
    }
  }

  private smtpHelo(arg: string, extended: boolean): void {
    const name = extended ? 'EHLO' : 'HELO';
    if (!arg) return this.reply(`501 Syntax: ${name} hostname`);
    if (this.helo) return this.reply('503 Duplicate HELO/EHLO');
    this.resetTransaction();
    this.helo = arg;
    this.extended = extended;
    if (!extended) return this.reply(`250 ${this.server.hostname}`);
    this.reply(`250-${this.server.hostname}`);
    this.reply(`250-SIZE ${this.server.maxMessageSize}`);
    this.reply('250-8BITMIME');
    this.reply('250-PIPELINING');
    if (this.server.starttls !== undefined && !this.tlsActive) this.reply('250-STARTTLS');
    this.reply('250 HELP');
  }

  // RFC 3207: after "220", TLS; everything known before (HELO name, transaction, input the
  // client pipelined behind STARTTLS) is forgotten, and a second STARTTLS is refused.
  private smtpStartTls(arg: string): void {
    const ctx = this.server.starttls;
    if (ctx === undefined) return this.reply('500 Error: command "STARTTLS" not recognized');
    if (arg) return this.reply('501 Syntax: STARTTLS');
    if (this.tlsActive) return this.reply('503 Error: TLS already active');
    this.reply('220 Ready to start TLS');
    this.helo = '';
    this.extended = false;
    this.resetTransaction();
    this.discardInput();
    this.startTls(ctx, { serverSide: true });
  }

  private smtpQuit(): void {
    this.reply('221 Bye');
    this.closeWhenDone();
  }

  private smtpMail(arg: string): void {
    if (!this.helo) return this.reply('503 Error: send HELO first');
    const syntax = `501 Syntax: MAIL FROM: <address>${this.extended ? ' [SP <mail-parameters>]' : ''}`;
    const parsed = parsePath(arg, 'FROM:');
    if (parsed === null) return this.reply(syntax);
    if (this.mailFrom !== null) return this.reply('503 Error: nested MAIL command');
    const [address, params] = parsed;
    if (params.length > 0 && !this.extended) return this.reply(syntax);
    for (const param of params) {
      const [key, value = ''] = param.toUpperCase().split('=', 2);
      if (key === 'SIZE') {
        if (!/^\d+$/.test(value)) return this.reply(syntax);
        if (Number(value) > this.server.maxMessageSize) {
          return this.reply('552 Error: message size exceeds fixed maximum message size');
        }
      } else if (key === 'BODY') {
        // The data is kept as bytes either way.
        if (value !== '7BIT' && value !== '8BITMIME') return this.reply('501 Error: BODY can only be one of 7BIT, 8BITMIME');
      } else {
        return this.reply('555 MAIL FROM parameters not recognized or not implemented');
      }
    }
    this.mailFrom = address;
    this.reply('250 OK');
  }

  private smtpRcpt(arg: string): void {
    if (!this.helo) return this.reply('503 Error: send HELO first');
    if (this.mailFrom === null) return this.reply('503 Error: need MAIL command');
    const parsed = parsePath(arg, 'TO:');
    if (parsed === null || parsed[0] === '') {
      return this.reply(`501 Syntax: RCPT TO: <address>${this.extended ? ' [SP <mail-parameters>]' : ''}`);
    }
    if (parsed[1].length > 0) return this.reply('555 RCPT TO parameters not recognized or not implemented');
    this.rcptTos.push(parsed[0]);
    this.reply('250 OK');
  }

  private smtpRset(arg: string): void {
    if (arg) return this.reply('501 Syntax: RSET');
    this.resetTransaction();
    this.reply('250 OK');
  }

  private smtpData(arg: string): void {
    if (!this.helo) return this.reply('503 Error: send HELO first');
    if (this.rcptTos.length === 0) return this.reply('503 Error: need RCPT command');
    if (arg) return this.reply('501 Syntax: DATA');
    this.state = DATA;
    this.size = 0;
    this.data = [];
    // From here on, the rest of this read (and every later one) is split at ".\r\n".
    this.setTerminator(DOT_CRLF);
    this.dataPhase.start();
    this.reply('354 End data with <CR><LF>.<CR><LF>');
  }

  /** A record of the message, ended by ".\r\n" (see the top of this file). */
  private dataRecord(): void {
    const record = this.getData();  // all of it, or the part kept under the size limit
    const end = this.recordLength === 0 || this.endsInCrlf;
    this.recordLength = 0;
    this.lastByte = -1;
    this.endsInCrlf = false;
    if (!end) {
      // A "." in the middle of a line: it and the CRLF after it are part of the message.
      this.size += DOT_CRLF.length;
      if (this.size <= this.server.maxMessageSize) this.data.push(record, DOT_CRLF);
      return;
    }
    const tooBig = this.size > this.server.maxMessageSize;
    this.data.push(record);
    const message: Message = {
      peer: this.peer,
      helo: this.helo,
      mailFrom: this.mailFrom!,
      rcptTos: this.rcptTos,
      data: tooBig ? Buffer.alloc(0) : unstuff(Buffer.concat(this.data)),
    };
    this.state = COMMAND;
    this.dataPhase.stop();
    this.setTerminator(CRLF);
    this.resetTransaction();
    if (tooBig) return this.reply('552 Error: Too much mail data');
    let status: string | void;
    try {
      status = this.server.onMessage(message);
    } catch (err) {
      this.logInfo(`onMessage failed: ${err instanceof Error ? err.message : String(err)}`, 'error');
      status = '451 Requested action aborted: local error in processing';
    }
    this.reply(status || '250 OK');
  }

  private resetTransaction(): void {
    this.mailFrom = null;
    this.rcptTos = [];
    this.data = [];
    this.size = 0;
  }

  override handleError(err: unknown): void {
    if ((err as { code?: string }).code === 'ERR_ASYNCHAT_INPUT_TOO_LARGE') {
      // No line end in sight after more than a whole message: give up on this peer. The
      // splitter refuses every later read too; answer once, and close when that is sent.
      if (this.quitting) return;
      this.quitting = true;
      this.reply(this.state === COMMAND ? '500 Error: line too long' : '552 Error: Too much mail data');
      this.closeWhenDone();
      return;
    }
    super.handleError(err);
  }
}

/**
 * "FROM:<a@b> SIZE=10" -> ['a@b', ['SIZE=10']]; the keyword is matched case-insensitively, and
 * the brackets may be left out. null when the syntax is wrong.
 */
function parsePath(arg: string, keyword: string): [string, string[]] | null {
  if (arg.slice(0, keyword.length).toUpperCase() !== keyword) return null;
  const rest = arg.slice(keyword.length).trim();
  const m = /^<([^<>\s]*)>(?:\s+(.*))?$/.exec(rest) ?? /^([^<>\s]+)(?:\s+(.*))?$/.exec(rest);
  if (m === null) return null;
  return [m[1], m[2] ? m[2].trim().split(/\s+/) : []];
}

/** RFC 5321 4.5.2: a line starting with "." had one "." added by the sender; remove it. */
export function unstuff(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let lineStart = 0;
  while (lineStart < data.length) {
    const eol = data.indexOf(CRLF, lineStart);
    const lineEnd = eol < 0 ? data.length : eol + 2;
    parts.push(data.subarray(data[lineStart] === 0x2e ? lineStart + 1 : lineStart, lineEnd));
    lineStart = lineEnd;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * A MessageHandler that writes each message to `dir` as <time>-<pid>-<n>.eml, so that the names
 * sort in the order received (written under another name first, then renamed: a reader of the
 * folder never sees half a message).
 */
export function saveTo(dir: string): MessageHandler {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return (message) => {
    const name = `${Date.now()}-${process.pid}-${String(++n).padStart(6, '0')}.eml`;
    const tmp = path.join(dir, `.${name}.tmp`);
    writeFileSync(tmp, message.data);
    renameSync(tmp, path.join(dir, name));
  };
}
