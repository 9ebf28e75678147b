// Dispatcher.startTls()/stopTls(): the checks, and the session's creation.
import { asynchatError } from '../errors';
import type { Dispatcher } from '../asyncore/dispatcher';
import { TlsContext } from './context';
import { TlsSession } from './session';

/** startTls()'s options, as Python's wrap_socket takes them. */
export interface StartTlsOptions {
  /** This end is the TLS server (default false, as in Python). */
  serverSide?: boolean;
  /** A client's server name: sent as SNI and verified against the certificate (default: the context's servername). */
  serverHostname?: string;
  /**
   * Output queued before startTls() goes out in cleartext first (default true: a STARTTLS
   * reply). false: it is encrypted, as the first data of the TLS connection (a greeting pushed
   * by a constructor before a listener started TLS on the connection).
   */
  cleartextFirst?: boolean;
}

function stateError(message: string): Error {
  return asynchatError('ERR_ASYNCHAT_TLS_STATE', message);
}

export function startTlsOn(d: Dispatcher, context: TlsContext, options: StartTlsOptions): void {
  if (!(context instanceof TlsContext)) {
    throw asynchatError('ERR_ASYNCHAT_TLS_OPTION', 'startTls needs a context from createTlsContext()', 'TypeError');
  }
  if (d._tls !== null) throw stateError('TLS is already started on this channel');
  if (d._fileno === null || d.closed) throw stateError('startTls on a closed channel');
  if (d.accepting) throw stateError('startTls on a listening channel: start it on each accepted one');
  if (!d.connected && !d.connecting) throw stateError('startTls before the connection is made: call it from handleConnect()');
  const serverSide = options.serverSide === true;
  const hostname = serverSide ? null : options.serverHostname ?? context.options.servername ?? null;
  d._tls = new TlsSession(d, context, serverSide, hostname, options.cleartextFirst !== false);
  d._tls.start();
}

export function stopTlsOn(d: Dispatcher): void {
  const tls = d._tls;
  if (tls === null || !tls.handshakeDone) throw stateError('stopTls without an established TLS connection');
  // What was pushed before stopTls() is still TLS data: out before the close_notify.
  const queued = d._queuedOutput();
  if (queued !== null && !queued.empty) d._writeOut(queued, 1 << 20, 64);
  tls.stop();
}
