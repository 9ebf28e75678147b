// What every benchmark server shares: the listening socket, the control channel, the READY line
// and the run mode. A server file holds only its protocol handler.
//
// - Every connection gets TCP_NODELAY (the load generator sets it too).
// - `--mode blocking` serves with loop() (Node's own loop waits); `--mode attached` with
//   loopAsync(). asynchat servers answer a second port, the control channel, with a line
//   protocol served by the same map: `reset` (resetStats), `stats` (one line of JSON: stats()),
//   `quit` (closeAll: loop() returns and the process exits, writing a --cpu-prof profile).
// - On stdout, once listening: `READY {"pid":..,"port":..,"control":..,"mode":..}`.
// - `--threads N` (N > 1): the server file runs in N threads (serveThreads), each with its own
//   reactor and SO_REUSEPORT listener on the shared port; no control channel then (stats() are
//   per thread), and SIGTERM stops every thread.
// - `--tls-cert FILE --tls-key FILE` (bench/tls.mjs): the same handler over TLS, startTls() right
//   after accept; the control channel stays cleartext. The node:tls servers read the same pair
//   with tlsOptions().
import { readFileSync, writeSync } from 'node:fs';
import {
  AF_INET, AsyncChat, Dispatcher, IPPROTO_TCP, TCP_NODELAY, closeAll, createTlsContext, isServedThread, loop,
  loopAsync, resetStats, runThread, serveThreads, setReusePort, stats,
} from 'asynchat';

export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** { cert, key } (PEM Buffers) from --tls-cert and --tls-key, or null when neither is given. */
export function tlsOptions() {
  const cert = option('tls-cert', null);
  const key = option('tls-key', null);
  if (cert === null && key === null) return null;
  if (cert === null || key === null) throw new Error('--tls-cert and --tls-key go together');
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

const tlsArgs = () => process.argv.slice(2).flatMap((a, i, all) => (
  a === '--tls-cert' || a === '--tls-key' ? [a, all[i + 1]] : []));

export function ready(info) {
  writeSync(1, `READY ${JSON.stringify({ pid: process.pid, ...info })}\n`);
}

class Listener extends Dispatcher {
  constructor(Handler, { port = Number(option('port', 0)), reusePort = false, tls = null } = {}) {
    super();
    this.Handler = Handler;
    this.tls = tls;
    this.createSocket(AF_INET);
    this.setReuseAddr();
    if (reusePort) setReusePort(this.socket);
    this.bind(['127.0.0.1', port]);
    this.listen(1024);
  }

  get port() {
    return this.socket.getsockname()[1];
  }

  handleAccepted(sock) {
    sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    const channel = new this.Handler(sock);
    if (this.tls !== null) channel.startTls(this.tls, { serverSide: true });
  }
}

class Control extends AsyncChat {
  constructor(sock) {
    super(sock);
    this.setTerminator('\n');
  }

  collectIncomingData(data) {
    this.keepIncomingData(data);
  }

  foundTerminator() {
    const command = this.getData().toString().trim();
    if (command === 'reset') {
      resetStats();
      this.push('ok\n');
    } else if (command === 'stats') {
      this.push(`${JSON.stringify(stats())}\n`);
    } else if (command === 'quit') {
      closeAll();
    } else {
      this.push(`unknown command ${JSON.stringify(command)}\n`);
    }
  }
}

/** Serves Handler (an AsyncChat or Dispatcher subclass taking the accepted socket). */
export async function serve(Handler) {
  const mode = option('mode', 'blocking');
  const threads = Number(option('threads', 1));
  const pair = tlsOptions();
  const tls = pair === null ? null : createTlsContext(pair);
  if (isServedThread()) {
    runThread((thread) => new Listener(Handler, { port: thread.port, reusePort: thread.threads > 1, tls }).port);
    return;
  }
  if (threads > 1) {
    const server = await serveThreads(process.argv[1], { threads, mode, argv: ['--mode', mode, ...tlsArgs()] });
    ready({ port: server.port, control: null, mode, threads });
    await server.closed;
    return;
  }
  const server = new Listener(Handler, { tls });
  const control = new Listener(Control);
  ready({ port: server.port, control: control.port, mode });
  if (mode === 'blocking') loop();
  else if (mode === 'attached') await loopAsync();
  else throw new Error(`--mode must be blocking or attached, not ${mode}`);
}

/** For the node:net and node:http servers: listen, say READY, exit on SIGTERM. */
export function serveNode(server) {
  server.listen({ host: '127.0.0.1', port: Number(option('port', 0)), backlog: 1024 }, () => {
    ready({ port: server.address().port, control: null, mode: 'node' });
  });
  process.on('SIGTERM', () => process.exit(0));
}
