// An HTTP/1.1 static file server: GET and HEAD, keep-alive and pipelining, request bodies with
// Content-Length or chunked transfer coding, and no way out of its root folder.
//
// The terminators follow the message:
//   "\r\n\r\n"       the request line and headers;
//   n (an integer)   a body of Content-Length n, or one chunk of n bytes;
//   "\r\n"           a chunk-size line, the CRLF after a chunk's data, the trailer lines.
// Bodies are read (to stay in step with the next request on the connection) and thrown away:
// a file server has no use for them, and answers 405 to any method but GET and HEAD.
//
// A file is sent by a producer that opens it when the channel first asks for data and reads it
// 64 KiB at a time as the socket drains, so neither a large file nor a long run of pipelined
// requests costs more than about one read of memory, or more than one open file.
import path from 'node:path';
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { AsyncChat, socketMap, type Producer, type Socket, type SocketMap } from '../../src';
import { Listener, type ListenOptions } from '../common/listener';
import { PhaseTimer } from '../common/phase-timer';

export interface HttpOptions extends ListenOptions {
  /** The folder served. */
  root: string;
  /** Most bytes in a request line and its headers (431 past it). Default 16 KiB. */
  maxHead?: number;
  /** The largest request body read (413 past it). Default 1 MiB. */
  maxBody?: number;
  /**
   * Seconds from a request's first byte to the end of its head, however slowly it comes
   * (slowloris), then 408 and the connection closes (Node's headersTimeout). Default null.
   */
  headerTimeout?: number | null;
}

export class HttpServer {
  readonly listener: Listener;
  readonly map: SocketMap;
  /** The root, with every symlink in it resolved. */
  readonly root: string;
  readonly maxHead: number;
  readonly maxBody: number;
  readonly headerTimeout: number | null;

  constructor(options: HttpOptions) {
    this.headerTimeout = options.headerTimeout || null;
    this.map = options.map ?? socketMap;
    this.root = realpathSync(options.root);
    if (!statSync(this.root).isDirectory()) throw new Error(`not a folder: ${options.root}`);
    this.maxHead = options.maxHead ?? 16 * 1024;
    this.maxBody = options.maxBody ?? 1024 * 1024;
    this.listener = new Listener(options, (sock) => new HttpSession(this, sock));
  }

  get port(): number {
    return this.listener.port;
  }

  /**
   * The file a request path names, or null when there is none inside the root. The path is
   * resolved lexically first ("..", "%2e%2e" once decoded, "//etc"), then by the file system
   * (symlinks), and each result must lie inside the root.
   */
  resolve(urlPath: string): string | null {
    const inside = (p: string): boolean => p === this.root || p.startsWith(this.root + path.sep);
    let file = path.resolve(this.root, `.${urlPath}`);
    if (!inside(file)) return null;
    try {
      file = realpathSync(file);
      if (!inside(file)) return null;
      if (statSync(file).isDirectory()) {
        file = realpathSync(path.join(file, 'index.html'));
        if (!inside(file)) return null;
      }
      return statSync(file).isFile() ? file : null;
    } catch {
      return null;  // ENOENT, ENOTDIR, ELOOP, EACCES: not found, as far as a client may know
    }
  }
}

interface Request {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Header values by lower-case name. */
  headers: Map<string, string[]>;
  keepAlive: boolean;
}

// Where the session is in the request.
const HEAD = 0;
const BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILER = 5;
const DONE = 6;  // a response that closes the connection was queued: input is ignored

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Content Too Large',
  431: 'Request Header Fields Too Large', 501: 'Not Implemented', 505: 'HTTP Version Not Supported',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.ico': 'image/x-icon',
  '.wasm': 'application/wasm', '.pdf': 'application/pdf', '.xml': 'application/xml',
};

/** A request the session refuses: the status, a short reason, and the connection closes. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class HttpSession extends AsyncChat {
  private state = HEAD;
  /** The request whose body is being read. */
  private request: Request | null = null;
  private bodyBytes = 0;
  /** Files being sent (closed with the connection, if it closes first). */
  private readonly files = new Set<FileProducer>();
  private readonly headPhase: PhaseTimer;

  constructor(private readonly server: HttpServer, sock: Socket) {
    super(sock, server.map);
    this.headPhase = new PhaseTimer(server.map, server.headerTimeout, () => {
      if (this.state === HEAD) this.refuse(408, 'request header timeout');
    });
    // Past this many bytes without the terminator (a head, or a chunk-size or trailer line),
    // handleError gets ERR_ASYNCHAT_INPUT_TOO_LARGE: answered with 431 or 400.
    this.maxInputBuffered = server.maxHead;
    this.setTerminator('\r\n\r\n');
  }

  override collectIncomingData(data: Buffer): void {
    if (this.state === BODY || this.state === CHUNK_DATA) this.bodyBytes += data.length;  // thrown away
    else if (this.state !== DONE) {
      // The first bytes of a head start its clock; the head's end (foundTerminator) stops it.
      if (this.state === HEAD && !this.headPhase.running) this.headPhase.start();
      this.keepIncomingData(data);
    }
  }

  override foundTerminator(): void {
    try {
      switch (this.state) {
        case HEAD:
          this.headPhase.stop();
          return this.head(this.getData());
        case BODY: return this.bodyDone();
        case CHUNK_SIZE: return this.chunkSize(this.getData().toString('latin1'));
        case CHUNK_DATA:
          this.state = CHUNK_END;
          this.setTerminator('\r\n');
          return;
        case CHUNK_END:
          if (this.getData().length !== 0) throw new HttpError(400, 'chunk data longer than its size');
          this.state = CHUNK_SIZE;
          return;
        case TRAILER:
          // Trailer fields are ignored; an empty line ends the body.
          if (this.getData().length === 0) this.bodyDone();
          return;
        default:
          return;  // DONE: nothing is expected any more
      }
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      this.refuse(err.status, err.message);
    }
  }

  private head(raw: Buffer): void {
    // A client may send an empty line or two before a request (RFC 9112, 2.2): skip them.
    let start = 0;
    while (raw[start] === 0x0d && raw[start + 1] === 0x0a) start += 2;
    const lines = raw.toString('latin1', start).split('\r\n');
    const m = /^(\S+) (\S+) HTTP\/(\d)\.(\d)$/.exec(lines[0]);
    if (m === null || !TOKEN.test(m[1])) throw new HttpError(400, 'malformed request line');
    if (m[3] !== '1') throw new HttpError(505, `HTTP/${m[3]}.${m[4]} is not supported`);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      // No colon, whitespace before it (including obsolete line folding), bad characters.
      if (colon <= 0 || !TOKEN.test(name) || !FIELD_VALUE.test(value)) throw new HttpError(400, 'malformed header');
      headers.set(name, [...(headers.get(name) ?? []), value]);
    }
    const minor = Number(m[4]);
    const tokens = (name: string): string[] =>
      (headers.get(name) ?? []).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean);
    const connection = tokens('connection');
    const request: Request = {
      method: m[1],
      target: m[2],
      minor,
      headers,
      keepAlive: minor >= 1 ? !connection.includes('close') : connection.includes('keep-alive'),
    };
    if (minor >= 1 && headers.get('host')?.length !== 1) throw new HttpError(400, 'HTTP/1.1 needs one Host header');

    // The body, if any (RFC 9112, 6.3).
    const te = tokens('transfer-encoding');
    const cl = tokens('content-length');
    if (te.length > 0 && cl.length > 0) throw new HttpError(400, 'both Transfer-Encoding and Content-Length');
    if (te.length > 0) {
      if (minor === 0) throw new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request');
      if (te.length !== 1 || te[0] !== 'chunked') throw new HttpError(501, `transfer coding ${te.join(', ')}`);
      this.startBody(request, -1);
    } else if (cl.length > 0) {
      if (!cl.every((v) => v === cl[0]) || !/^\d{1,15}$/.test(cl[0])) throw new HttpError(400, 'bad Content-Length');
      this.startBody(request, Number(cl[0]));
    } else {
      this.respond(request);
    }
  }

  /** length -1: chunked. */
  private startBody(request: Request, length: number): void {
    if (length > this.server.maxBody) throw new HttpError(413, `a body of more than ${this.server.maxBody} bytes`);
    if (length === 0) {
      this.respond(request);  // (an integer terminator of 0 would mean "no terminator")
      return;
    }
    this.request = request;
    this.bodyBytes = 0;
    if (expectsContinue(request)) this.push('HTTP/1.1 100 Continue\r\n\r\n');
    if (length > 0) {
      this.state = BODY;
      this.setTerminator(length);
    } else {
      this.state = CHUNK_SIZE;
      this.setTerminator('\r\n');
    }
  }

  private chunkSize(line: string): void {
    const m = /^([0-9a-fA-F]{1,8})[ \t]*(;.*)?$/.exec(line);
    if (m === null) throw new HttpError(400, 'bad chunk size');
    const size = parseInt(m[1], 16);
    if (size === 0) {
      this.state = TRAILER;
      return;
    }
    if (this.bodyBytes + size > this.server.maxBody) throw new HttpError(413, `a body of more than ${this.server.maxBody} bytes`);
    this.state = CHUNK_DATA;
    this.setTerminator(size);
  }

  private bodyDone(): void {
    const request = this.request!;
    this.request = null;
    this.respond(request);
  }

  private respond(request: Request): void {
    this.state = HEAD;
    this.setTerminator('\r\n\r\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const body = `${request.method} is not allowed here (read ${this.bodyBytes} body bytes)\n`;
      this.bodyBytes = 0;
      this.sendResponse(request, 405, { 'Allow': 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }, body);
      return;
    }
    this.bodyBytes = 0;
    // origin-form "/path?query", or absolute-form "http://host/path" (RFC 9112, 3.2).
    let target = request.target;
    if (/^https?:\/\//i.test(target)) target = target.replace(/^https?:\/\/[^/?#]*/i, '') || '/';
    if (!target.startsWith('/')) throw new HttpError(400, 'the target is not a path');
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(target.replace(/[?#].*$/s, ''));
    } catch {
      throw new HttpError(400, 'bad percent-encoding');
    }
    if (urlPath.includes('\0')) throw new HttpError(400, 'NUL in path');
    const file = this.server.resolve(urlPath);
    if (file === null) {
      this.sendResponse(request, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'not found\n');
      return;
    }
    const size = statSync(file).size;
    const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    this.push(this.headLines(request, 200, { 'Content-Type': type, 'Content-Length': String(size) }));
    if (request.method === 'GET' && size > 0) {
      const producer = new FileProducer(file, size, (p) => this.files.delete(p));
      this.files.add(producer);
      this.pushWithProducer(producer);
    }
    if (!request.keepAlive) this.closeWhenDone();
  }

  private headLines(request: Request | null, status: number, headers: Record<string, string>): string {
    const keepAlive = request !== null && request.keepAlive;
    let head = `HTTP/1.1 ${status} ${STATUS[status]}\r\nDate: ${new Date().toUTCString()}\r\nServer: asynchat-example\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    return `${head}Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
  }

  /** A whole response with a small text body (none for HEAD); request null: an error that closes. */
  private sendResponse(request: Request | null, status: number, headers: Record<string, string>, body: string): void {
    const bytes = Buffer.from(body);
    this.push(this.headLines(request, status, { ...headers, 'Content-Length': String(bytes.length) }));
    if (request?.method !== 'HEAD') this.push(bytes);
    if (request === null || !request.keepAlive) this.closeWhenDone();
  }

  /** A request that cannot be answered normally: an error response, then the connection closes. */
  private refuse(status: number, reason: string): void {
    this.sendResponse(null, status, { 'Content-Type': 'text/plain; charset=utf-8' }, `${reason}\n`);
    this.state = DONE;
    this.setTerminator(null);
    this.incoming = [];
  }

  override handleError(err: unknown): void {
    if ((err as { code?: string }).code === 'ERR_ASYNCHAT_INPUT_TOO_LARGE') {
      // A head, or a chunk-size or trailer line, longer than maxHead.
      if (this.state !== DONE) this.refuse(this.state === HEAD ? 431 : 400, 'request too large');
      return;
    }
    super.handleError(err);
  }

  override close(): void {
    this.headPhase.stop();
    for (const file of [...this.files]) file.close();
    super.close();
  }
}

function expectsContinue(request: Request): boolean {
  return request.minor >= 1 && (request.headers.get('expect') ?? []).some((v) => v.toLowerCase() === '100-continue');
}

/**
 * Python's asynchat producer for a file: more() hands out the next 64 KiB, then null. The file
 * is opened at the first more(), that is, when its turn to be sent has come.
 */
class FileProducer implements Producer {
  private fd = -1;
  private done = false;

  constructor(private readonly file: string, private remaining: number, private readonly closed: (p: FileProducer) => void) {}

  more(): Buffer | null {
    if (this.done) return null;
    if (this.fd < 0) {
      this.fd = openSync(this.file, 'r');
      // The file may have changed since its size went into Content-Length.
      if (fstatSync(this.fd).size < this.remaining) this.fail();
    }
    const buf = Buffer.allocUnsafe(Math.min(64 * 1024, this.remaining));
    const n = readSync(this.fd, buf, 0, buf.length, null);
    if (n === 0) this.fail();
    this.remaining -= n;
    if (this.remaining === 0) this.close();
    return buf.subarray(0, n);
  }

  /** The response cannot be completed: the error reaches handleError, which closes the connection. */
  private fail(): never {
    this.close();
    throw new Error(`${this.file} shrank while it was being sent`);
  }

  close(): void {
    this.done = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.closed(this);
  }
}
