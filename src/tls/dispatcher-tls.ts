// Dispatcher.startTls()/stopTls(): the checks, and the switch of the channel's transport.
import { asynchatError } from '../errors';
import { ENGINE } from '../engine/channel-core';
import { routeError } from '../engine/dispatch';
import { WRITE_BYTES, WRITE_CHUNKS } from '../engine/output-queue';
import { now } from '../engine/scheduler';
import type { AnyDispatcher as Dispatcher } from '../asyncore/dispatcher';
import { noTlsError, tlsAvailable, TlsContext } from './context';
import { ReplayTransport } from './replay-transport';
import { TlsTransport, tlsConnectionOver } from './tls-transport';

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
  /**
   * Seconds the handshake may take (default 120, as Node's tls; 0: no limit). Past it
   * handleError gets ERR_ASYNCHAT_TLS_HANDSHAKE (the default closes): a peer that connects and
   * never completes the handshake holds nothing for longer.
   */
  handshakeTimeout?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 120;

function stateError(message: string): Error {
  return asynchatError('ERR_ASYNCHAT_TLS_STATE', message);
}

export function startTlsOn(d: Dispatcher, context: TlsContext, options: StartTlsOptions): void {
  if (!tlsAvailable) throw noTlsError('startTls');
  if (!(context instanceof TlsContext)) {
    throw asynchatError('ERR_ASYNCHAT_TLS_OPTION', 'startTls needs a context from createTlsContext()', 'TypeError');
  }
  const core = d[ENGINE];
  if (core.io instanceof ReplayTransport) {
    throw stateError('startTls before the cleartext that followed the last stopTls() was read: read it first');
  }
  if (core.io.tls) throw stateError('TLS is already started on this channel');
  if (d._fileno === null || d.closed) throw stateError('startTls on a closed channel');
  if (d.accepting) throw stateError('startTls on a listening channel: start it on each accepted one');
  if (!d.connected && !d.connecting) throw stateError('startTls before the connection is made: call it from handleConnect()');
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw asynchatError('ERR_ASYNCHAT_TLS_OPTION', `handshakeTimeout must be a number of seconds >= 0, got ${String(timeout)}`, 'TypeError');
  }
  const serverSide = options.serverSide === true;
  const hostname = serverSide ? null : options.serverHostname ?? context.options.servername ?? null;
  const { conn, status } = tlsConnectionOver(context, d._fileno, serverSide, hostname);
  const tls = new TlsTransport(core, conn, status, core.socketIo, serverSide, options.cleartextFirst !== false);
  core.setIo(tls);
  tls.start();
  if (timeout > 0 && core.joined) {
    tls.handshakeTimer = core.owner!.timers.schedule(now() + timeout, () => {
      tls.handshakeTimer = null;
      if (core.io !== tls || tls.handshakeDone || d.closed) return;
      const err = asynchatError('ERR_ASYNCHAT_TLS_HANDSHAKE', `the TLS handshake did not complete within ${timeout} s`);
      try {
        d.handleError(err);
      } catch (thrown) {
        routeError(d, thrown);
      }
    }, [], false);
  }
}

export function stopTlsOn(d: Dispatcher): void {
  if (!tlsAvailable) throw noTlsError('stopTls');
  const core = d[ENGINE];
  const tls = core.io;
  if (!(tls instanceof TlsTransport) || !tls.handshakeDone) throw stateError('stopTls without an established TLS connection');
  // What was pushed before stopTls() is still TLS data: out before the close_notify.
  const queued = core.out;
  if (queued !== null && !queued.empty) core.writeOut(queued, WRITE_BYTES, WRITE_CHUNKS);
  tls.stop();
}
