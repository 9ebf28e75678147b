// A TLS line-echo server on the library, against real clients in child processes: openssl
// s_client, Python's ssl, Node's tls. Both run modes; every backend (vitest projects).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext, type TlsContext, type TlsContextOptions } from '../../src/tls/context';
import type { TlsInfo } from '../../src/tls/info';
import { MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';
import { canTls, hasPython, makePki, runClient, type ChildResult, type Pki } from '../helpers/tls';

let pki: Pki;
beforeAll(() => {
  if (canTls) pki = makePki();
});
afterAll(() => pki?.cleanup());

interface Seen {
  lines: string[];
  info: TlsInfo | null;
  errors: Error[];
  closeReasons: (Error | null)[];
  handshakes: number;
}

class EchoTls extends AsyncChat {
  private parts: Buffer[] = [];
  constructor(sock: Socket, map: SocketMap, ctx: TlsContext, private readonly seen: Seen, private readonly d: Driver) {
    super(sock, map);
    this.ignoreLogTypes = QUIET;
    this.setTerminator('\n');
    this.startTls(ctx, { serverSide: true });
  }
  override collectIncomingData(data: Buffer): void {
    this.parts.push(Buffer.from(data));
  }
  override foundTerminator(): void {
    const line = Buffer.concat(this.parts).toString().replace(/\r$/, '');
    this.parts = [];
    this.seen.lines.push(line);
    this.push(`echo:${line}\n`);
    if (line === 'bye') this.closeWhenDone();
  }
  override handleTlsHandshake(): void {
    this.seen.handshakes++;
    this.seen.info = this.tlsInfo();
  }
  override handleError(err?: unknown): void {
    this.seen.errors.push(err as Error);
    this.close();
    this.d.poke();
  }
  override handleClose(): void {
    this.seen.closeReasons.push(this.closeReason);
    this.close();
    this.d.poke();
  }
}

class TlsServer extends Dispatcher {
  readonly port: number;
  constructor(map: SocketMap, private readonly ctx: TlsContext, private readonly seen: Seen, private readonly d: Driver) {
    super(undefined, map);
    this.ignoreLogTypes = QUIET;
    this.createSocket(AF_INET);
    this.setReuseAddr();
    this.bind(['127.0.0.1', 0]);
    this.listen(16);
    this.port = (this.socket as Socket).getsockname()[1] as number;
  }
  override handleAccepted(sock: Socket): void {
    new EchoTls(sock, this._map, this.ctx, this.seen, this.d);
  }
}

function newSeen(): Seen {
  return { lines: [], info: null, errors: [], closeReasons: [], handshakes: 0 };
}

/** Serves one client: runs the loop until the client exits and its channel closed. */
async function serve(
  mode: (typeof MODES)[number], options: TlsContextOptions, client: (port: number) => Promise<ChildResult>,
): Promise<{ seen: Seen; result: ChildResult }> {
  const seen = newSeen();
  let result: ChildResult | null = null;
  await withMap(mode, async (d) => {
    const server = new TlsServer(d.map, createTlsContext({ cert: pki.serverCert, key: pki.serverKey, ...options }), seen, d);
    const running = client(server.port).then((r) => {
      result = r;
      d.poke();
    });
    // Blocking mode: the client's exit is seen between iterations (the loop yields to Node).
    const deadline = Date.now() + 15000;
    while (result === null || seen.closeReasons.length + seen.errors.length === 0) {
      if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(seen)} ${JSON.stringify(result)} map ${d.map.size}`);
      await d.until(() => result !== null && seen.closeReasons.length + seen.errors.length > 0, 'the client is done', 50)
        .catch(() => undefined);
      await new Promise((r) => setImmediate(r));
    }
    await running;
  });
  expect(native.stats().tlsConnections, 'SSL objects left alive').toBe(0);
  return { seen, result: result! };
}

const PY_CLIENT = `
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
if len(sys.argv) > 3:
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
with socket.create_connection(('127.0.0.1', port)) as raw:
    with ctx.wrap_socket(raw, server_hostname='localhost') as s:
        s.sendall(b'one\\ntwo\\n' + b'x' * 100000 + b'\\nbye\\n')
        got = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        print(s.version(), len(got), got[:18].decode())
`;

const NODE_CLIENT = `
const tls = require('node:tls');
const [port, ca] = process.argv.slice(1);
const s = tls.connect({ host: '127.0.0.1', port: +port, servername: 'localhost', ca: require('fs').readFileSync(ca),
  ALPNProtocols: ['x-other', 'x-echo'], maxVersion: process.env.MAXV || 'TLSv1.3' }, () => {
  for (let i = 0; i < 200; i++) s.write('line ' + i + '\\n');
  s.write('bye\\n');
});
let got = '';
s.on('data', (d) => { got += d; });
s.on('end', () => { console.log(s.getProtocol(), s.alpnProtocol, got.split('\\n').length - 1); });
s.on('error', (e) => { console.log('error', e.code); process.exitCode = 1; });
`;

describe.skipIf(!canTls)('TLS server against real clients', () => {
  describe.each(MODES)('%s', (mode) => {
    it('openssl s_client, TLS 1.2, ALPN, verifying the server', async () => {
      const { seen, result } = await serve(mode, { alpnProtocols: ['x-echo'] }, (port) => runClient('openssl', [
        's_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-tls1_2', '-CAfile', pki.files.ca,
        '-verify_return_error', '-verify_hostname', 'localhost', '-alpn', 'x-echo',
      ], 'hello\nbye\n'));
      expect(result.stdout).toBe('echo:hello\necho:bye\n');
      expect(seen.lines).toEqual(['hello', 'bye']);
      expect(seen.info!.protocol).toBe('TLSv1.2');
      expect(seen.info!.alpnProtocol).toBe('x-echo');
      expect(seen.info!.peerCertificate).toBeNull();
      expect(seen.errors).toEqual([]);
    });

    it('openssl s_client, TLS 1.3', async () => {
      const { seen, result } = await serve(mode, {}, (port) => runClient('openssl', [
        's_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-tls1_3', '-CAfile', pki.files.ca, '-verify_return_error',
      ], 'a\nb\nbye\n'));
      expect(result.stdout).toBe('echo:a\necho:b\necho:bye\n');
      expect(seen.info!.protocol).toBe('TLSv1.3');
      expect(seen.info!.cipher).toMatch(/^TLS_/);
    });

    it.skipIf(!hasPython)("Python's ssl with a client certificate, records larger than a TLS record", async () => {
      const { seen, result } = await serve(mode, { requestCert: true, ca: pki.caCert }, (port) => runClient('python3', [
        '-c', PY_CLIENT, String(port), pki.files.ca, pki.files.clientCert, pki.files.clientKey,
      ]));
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe(`TLSv1.3 ${'echo:one\necho:two\n'.length + 100006 + 'echo:bye\n'.length} echo:one\necho:two`);
      expect(seen.lines.map((l) => l.length)).toEqual([3, 3, 100000, 3]);
      expect(seen.info!.peerCertificate!.commonName).toBe('asynchat test client');
      expect(seen.info!.authorized).toBe(true);
      expect(seen.errors).toEqual([]);
    });

    it.skipIf(!hasPython)("a client that closes without close_notify (Python's close()): closeReason is ERR_ASYNCHAT_TLS_EOF", async () => {
      const { seen, result } = await serve(mode, {}, (port) => runClient('python3', ['-c', `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')
s.sendall(b'x\\n')
print(s.recv(100).decode().strip())
s.close()`, String(port), pki.files.ca]));
      expect(result.stdout.trim()).toBe('echo:x');
      expect(seen.errors).toEqual([]);
      const reason = seen.closeReasons[0] as Error & { code: string };
      expect(reason.code).toBe('ERR_ASYNCHAT_TLS_EOF');
      expect(reason.message).toMatch(/EOF occurred in violation of protocol/);
    });

    it("Node's tls: 200 pipelined lines, ALPN chosen by the server's preference", async () => {
      const { seen, result } = await serve(mode, { alpnProtocols: ['x-echo', 'x-other'] }, (port) => runClient(
        process.execPath, ['-e', NODE_CLIENT, String(port), pki.files.ca]));
      expect(result.stdout.trim()).toBe('TLSv1.3 x-echo 201');
      expect(seen.lines.length).toBe(201);
      expect(seen.errors).toEqual([]);
    });

    it('a server that requires a client certificate refuses a client without one', async () => {
      const { seen } = await serve(mode, { requestCert: true, ca: pki.caCert }, (port) => runClient('openssl', [
        's_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-tls1_2', '-CAfile', pki.files.ca,
      ], 'hello\n'));
      expect(seen.lines).toEqual([]);
      const err = seen.errors[0] as Error & { code: string; reason: string };
      expect(err.code).toBe('ERR_ASYNCHAT_TLS_HANDSHAKE');
      expect(err.reason).toMatch(/certificate/);
    });

    it.skipIf(!hasPython)('a plaintext client on the TLS port: a handshake error with OpenSSL\'s reason, nothing echoed', async () => {
      const { seen, result } = await serve(mode, {}, (port) => runClient('python3', ['-c', `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')
while s.recv(4096):
    pass
print('closed')`, String(port)]));
      expect(result.stdout.trim(), result.stderr).toMatch(/^closed/);
      expect(seen.lines).toEqual([]);
      const err = seen.errors[0] as Error & { code: string; reason: string };
      expect(err.code).toBe('ERR_ASYNCHAT_TLS_HANDSHAKE');
      expect(err.reason).toBe('http request');
    });

    it.skipIf(!hasPython)('a peer that resets in the middle of the handshake: closed with ECONNRESET, nothing leaked', async () => {
      const { seen, result } = await serve(mode, {}, (port) => runClient('python3', ['-c', `
import socket, ssl, struct, sys
raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
ctx = ssl.create_default_context()
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname='localhost')
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
raw.sendall(out.read())          # the ClientHello
raw.recv(1)                      # the server's first flight has started
raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
raw.close()                      # RST
print('reset')`, String(port)]));
      expect(result.stdout.trim()).toBe('reset');
      expect(seen.handshakes).toBe(0);
      const reason = (seen.closeReasons[0] ?? seen.errors[0]) as Error & { code: string };
      expect(['ECONNRESET', 'EPIPE']).toContain(reason.code);
    });

    it('renegotiation is refused (Node\'s tls renegotiate() on TLS 1.2)', async () => {
      const { seen, result } = await serve(mode, {}, (port) => runClient(process.execPath, ['-e', `
        const tls = require('node:tls');
        const s = tls.connect({ host: '127.0.0.1', port: +process.argv[1], rejectUnauthorized: false, maxVersion: 'TLSv1.2' },
          () => s.write('hi\\n'));
        let said = false;
        const say = (what) => { if (!said) console.log('renegotiated:', what); said = true; };
        s.once('data', () => s.renegotiate({}, (err) => say(err ? 'refused' : 'yes')));
        s.on('error', () => say('refused')); s.on('close', () => say('refused'));`, String(port)]));
      expect(result.stdout.trim()).toBe('renegotiated: refused');
      expect(seen.handshakes).toBe(1);
      expect(seen.lines).toEqual(['hi']);
      const err = (seen.errors[0] ?? seen.closeReasons[0]) as Error & { code: string };
      expect(['ERR_ASYNCHAT_TLS_PROTOCOL', 'ERR_ASYNCHAT_TLS_EOF', 'ECONNRESET']).toContain(err.code);
    });

    it('garbage records after the handshake: ERR_ASYNCHAT_TLS_PROTOCOL, the channel closed', async () => {
      const { seen } = await serve(mode, {}, (port) => runClient(process.execPath, ['-e', `
        const net = require('node:net'), tls = require('node:tls');
        const raw = net.connect(+process.argv[1], '127.0.0.1');
        const s = tls.connect({ socket: raw, rejectUnauthorized: false }, () => {
          s.write('ok\\n');
          s.once('data', () => raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), Buffer.alloc(64, 7)])));
        });
        s.on('error', () => {}); raw.on('error', () => {}); raw.on('close', () => console.log('closed'));`, String(port)]));
      expect(seen.lines).toEqual(['ok']);
      const err = seen.errors[0] as Error & { code: string; reason: string };
      expect(err.code).toBe('ERR_ASYNCHAT_TLS_PROTOCOL');
      expect(err.reason).toMatch(/bad record mac/);
    });
  });
});
