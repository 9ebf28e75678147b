// Errors with stable codes. System errors look like Node's own (code, errno, syscall); the
// library's own errors carry ERR_ASYNCHAT_* codes.
import os from 'node:os';
import util from 'node:util';

/** An error from a system call, shaped like Node's own: code ('ECONNRESET'), errno, syscall. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

const errnoNumbers = os.constants.errno as Record<string, number>;
let messages: Map<number, [string, string]> | undefined;

/** Node's errno (negative) for a name, or 0 when the platform has no such errno. */
export function errnoOf(code: string): number {
  const n = errnoNumbers[code];
  return n === undefined ? 0 : -n;
}

// Names that Node's error map (libuv's table) lacks; EINPROGRESS is the one a non-blocking
// connect raises.
const extraMessages: Record<string, string> = {
  EINPROGRESS: 'operation now in progress',
  EWOULDBLOCK: 'resource temporarily unavailable',
  EOPNOTSUPP: 'operation not supported',
  ENETRESET: 'network dropped connection on reset',
  EDQUOT: 'disk quota exceeded',
  ESTALE: 'stale file handle',
};

/** The platform's message for an errno name: Python's os.strerror, by name. */
export function strerror(code: string): string {
  messages ??= util.getSystemErrorMap();
  return messages.get(errnoOf(code))?.[1] ?? extraMessages[code] ?? `unknown error ${code}`;
}

/** Makes a SystemError for an errno name and the syscall that failed, with the platform's message. */
export function systemError(code: string, syscall: string, detail?: string): SystemError {
  const err = new Error(`${code}: ${strerror(code)}, ${syscall}${detail ? ` ${detail}` : ''}`) as SystemError;
  err.code = code;
  err.errno = errnoOf(code);
  err.syscall = syscall;
  return err;
}

/**
 * What a socket with a timeout (setTimeout(seconds), Python's settimeout) raises when the call
 * did not complete in time: Python's socket.timeout (TimeoutError('timed out')), as a system
 * error with code 'ETIMEDOUT', named TimeoutError, with the timeout in seconds. The same code
 * as the kernel's own ETIMEDOUT, as both are TimeoutError in Python.
 */
export function timeoutError(syscall: string, seconds: number, detail?: string): SystemError & { timeout: number } {
  const err = systemError('ETIMEDOUT', syscall, detail) as SystemError & { timeout: number };
  err.message = `ETIMEDOUT: timed out after ${seconds} s, ${syscall}${detail ? ` ${detail}` : ''}`;
  err.name = 'TimeoutError';
  err.timeout = seconds;
  return err;
}

/** Whether err is a system error (optionally: with one of these codes), e.g. isSystemError(e, 'EAGAIN'). */
export function isSystemError(err: unknown, ...codes: string[]): err is SystemError {
  return err instanceof Error && typeof (err as SystemError).code === 'string' &&
    (codes.length === 0 || codes.includes((err as SystemError).code));
}

/**
 * Every ERR_ASYNCHAT_* code the library raises (TypeScript and C++), with when. The error
 * table of docs/errors.md is checked against this list, and this list against the sources, by
 * test/errors.test.ts: a new code goes here first.
 */
export const ERROR_CODES = {
  ERR_ASYNCHAT_INPUT_TOO_LARGE: 'an AsyncChat holds more than `maxInputBuffered` bytes of input without its terminator (what `keepIncomingData` keeps, and bytes kept back across reads)',
  ERR_ASYNCHAT_OUTPUT_TOO_LARGE: 'more than `maxOutputBuffered` bytes were queued for output on an AsyncChat or DispatcherWithSend',
  ERR_ASYNCHAT_BAD_TERMINATOR: '`setTerminator` got a negative number or an unusable value (a TypeError for a value of the wrong type)',
  ERR_ASYNCHAT_BAD_FRAME: 'a framer terminator (`framers.resp()`, `lengthPrefixed()`, `netstring()`) received a malformed frame (`offset` in the frame, `expected`, `got`, `part`); nothing of that frame is delivered, and every later read fails the same way until `discardInput()`',
  ERR_ASYNCHAT_FRAME_TOO_LARGE: 'a frame\'s header announced more than a framer\'s limit allows (`limit` names the option, `max` its value, `length` what was announced); refused before the frame\'s bytes are buffered, and every later read fails the same way until `discardInput()`',
  ERR_ASYNCHAT_BAD_FRAMER_OPTION: 'a framer factory got an unknown option, a value of the wrong type (a TypeError) or out of range (a RangeError)',
  ERR_ASYNCHAT_BACKEND: 'the backend asked for is unknown or not compiled in',
  ERR_ASYNCHAT_LOOP_RUNNING: 'a map is already served by `loopAsync()`',
  ERR_ASYNCHAT_CLOSED: 'a native reactor was used after `close()`',
  ERR_ASYNCHAT_ATTACHED: 'a native reactor attached to Node\'s loop was asked to `wait()` or to attach again',
  ERR_ASYNCHAT_NOT_IMPLEMENTED: '`collectIncomingData`/`foundTerminator` were not overridden, or a `FileWrapper` was asked a socket option it cannot have, or `recvmsg` was asked for ancillary data',
  ERR_ASYNCHAT_REENTRANT: 'an output queue was drained from inside one of its own producers\' `more()`',
  ERR_ASYNCHAT_BAD_TIMER: '`callLater`/`callAt`/`reset` got a delay or deadline that is not a number, or a callback that is not a function (a TypeError)',
  ERR_ASYNCHAT_BAD_TIMEOUT: '`idleTimeout`, `connectTimeout`, a socket\'s `setTimeout()` or `createConnection()`\'s `timeout` got a negative number or a non-number (a TypeError for the wrong type)',
  ERR_ASYNCHAT_NO_ADDON: 'the native addon was not found (not built, and no prebuilt binary fits)',
  ERR_ASYNCHAT_NO_REUSEPORT: 'the platform has no socket option that spreads connections over listeners of one port (Linux `SO_REUSEPORT`, FreeBSD `SO_REUSEPORT_LB`), so `serveThreads()` cannot run more than one thread; or `createServer()` was asked for `reusePort` where there is no `SO_REUSEPORT`',
  ERR_ASYNCHAT_DUALSTACK: '`createServer()` was asked for `dualstackIpv6` with a family other than AF_INET6, or on a platform without dual-stack IPv6 sockets',
  ERR_ASYNCHAT_THREAD_FAILED: 'a thread of `serveThreads()` threw, exited by itself with a non-zero code, or did not stop in time (`thread` and `threadId` say which; `cause` is its error)',
  ERR_ASYNCHAT_NOT_A_THREAD: '`runThread()` was called outside a thread started by `serveThreads()`',
  ERR_ASYNCHAT_NO_TLS: 'TLS was asked for, but the addon was built without OpenSSL (no OpenSSL headers in Node\'s include folder)',
  ERR_ASYNCHAT_TLS_OPTION: '`createTlsContext` got an unusable option (a certificate or key that does not parse, a wrong passphrase, an unknown version or cipher)',
  ERR_ASYNCHAT_TLS_HANDSHAKE: 'the TLS handshake failed (`reason` is OpenSSL\'s: a plaintext client, no shared cipher or protocol, an alert from the peer)',
  ERR_ASYNCHAT_TLS_CERT: 'the peer\'s certificate did not verify (`reason`: DEPTH_ZERO_SELF_SIGNED_CERT, HOSTNAME_MISMATCH, CERT_HAS_EXPIRED...)',
  ERR_ASYNCHAT_TLS_PROTOCOL: 'a TLS record after the handshake was bad (garbage, a bad MAC, a renegotiation attempt refused)',
  ERR_ASYNCHAT_TLS_EOF: 'the peer closed without close_notify (a truncation, Python\'s ragged EOF); set as `closeReason`',
  ERR_ASYNCHAT_INVARIANT: 'an internal invariant of the engine was found broken (checked only with `ASYNCHAT_DEBUG=1`, as the test suite runs): a bug of this library, please report it',
  ERR_ASYNCHAT_TLS_STATE: '`startTls`/`stopTls` in the wrong state (TLS already on, not on, not connected)',
} as const;

export type AsynchatErrorCode = keyof typeof ERROR_CODES;

/** An error of this library, with a stable ERR_ASYNCHAT_* code. */
export class AsynchatError extends Error {
  readonly code: AsynchatErrorCode;
  constructor(code: AsynchatErrorCode, message: string) {
    super(message);
    this.name = 'AsynchatError';
    this.code = code;
  }
}

/**
 * The one way the library makes a coded error: an AsynchatError, or for a value of the wrong
 * type a TypeError carrying the same code (as Node's own ERR_INVALID_ARG_TYPE is a TypeError),
 * and for a value out of range a RangeError (as ERR_OUT_OF_RANGE is).
 */
export function asynchatError(
  code: AsynchatErrorCode, message: string, kind: 'TypeError' | 'RangeError' | 'Error' = 'Error',
): Error & { code: AsynchatErrorCode } {
  if (kind === 'Error') return new AsynchatError(code, message);
  return Object.assign(kind === 'TypeError' ? new TypeError(message) : new RangeError(message), { code });
}

/** A bad argument, as Node reports one: a TypeError or RangeError with Node's own code. */
export function nodeArgError(
  code: 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_UNKNOWN_ENCODING', message: string,
): (TypeError | RangeError) & { code: string } {
  const err = code === 'ERR_OUT_OF_RANGE' ? new RangeError(message) : new TypeError(message);
  return Object.assign(err, { code });
}

/** Node's wording: 'The "data" argument must be of type string or ... Received type number (5)'. */
export function invalidArgType(what: string, expected: string, value: unknown): TypeError & { code: string } {
  const got = value === null ? 'null'
    : typeof value === 'object' || typeof value === 'function'
      ? `an instance of ${(value as object).constructor?.name ?? 'Object'}`
      : `type ${typeof value} (${String(value).slice(0, 25)})`;
  return nodeArgError('ERR_INVALID_ARG_TYPE', `${what} must be ${expected}. Received ${got}`);
}

/** Node's wording: 'The value of "n" is out of range. It must be an integer >= 0. Received -1'. */
export function outOfRange(name: string, range: string, value: unknown): RangeError & { code: string } {
  return nodeArgError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`);
}

/**
 * Raise it from a handler to leave loop() (or reject loopAsync()) at once: with Python's
 * KeyboardInterrupt and SystemExit, the only exception that dispatch does not route to
 * handleError.
 */
export class ExitNow extends Error {
  constructor(message = 'ExitNow') {
    super(message);
    this.name = 'ExitNow';
  }
}

/** Python's ssl.SSL_ERROR_SSL: OpenSSL reported a failure (a TLS error's `sslErrno`). */
export const SSL_ERROR_SSL = 1;
/** Python's ssl.SSL_ERROR_SYSCALL: a failure OpenSSL said nothing about. */
export const SSL_ERROR_SYSCALL = 5;
/** Python's ssl.SSL_ERROR_EOF (SSLEOFError): the peer closed without close_notify. */
export const SSL_ERROR_EOF = 8;

/**
 * What a TLS error (code ERR_ASYNCHAT_TLS_*) carries: `reason` as OpenSSL words it (the verify
 * result's name for ERR_ASYNCHAT_TLS_CERT), and Python's ssl.SSLError fields, each absent where
 * Python's is None, so that a port switches on what it switched on in Python.
 */
export interface TlsErrorFields {
  code: string;
  /** OpenSSL's reason ('wrong version number'), or the verify result ('DEPTH_ZERO_SELF_SIGNED_CERT'). */
  reason?: string;
  /** Python's SSLError.library: the OpenSSL library that raised it ('SSL', 'PEM', 'X509'). */
  library?: string;
  /** Python's SSLError.reason: the reason's name ('WRONG_VERSION_NUMBER', 'CERTIFICATE_VERIFY_FAILED'). */
  sslReason?: string;
  /** Python's SSLError.errno: SSL_ERROR_SSL, SSL_ERROR_SYSCALL or SSL_ERROR_EOF. */
  sslErrno?: number;
  /** Python's SSLCertVerificationError.verify_code: the X509_V_ERR_* number. */
  verifyCode?: number;
  /** Python's verify_message ('self-signed certificate', "Hostname mismatch, certificate is not valid for 'x'."). */
  verifyMessage?: string;
}

/** Errnos that mean the peer is gone: dispatch turns them into handleClose, silently. */
export const DISCONNECTED: ReadonlySet<string> = new Set([
  'ECONNRESET', 'ENOTCONN', 'ESHUTDOWN', 'ECONNABORTED', 'EPIPE', 'EBADF',
  // A TLS peer that went away without close_notify: handleClose, with closeReason saying so.
  'ERR_ASYNCHAT_TLS_EOF',
]);

export function isDisconnect(err: unknown): boolean {
  return isSystemError(err) && DISCONNECTED.has(err.code);
}
