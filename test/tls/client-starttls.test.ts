// The library as a TLS client (against Node's tls server in a child process): verification of
// the chain and the name, client certificates; and STARTTLS then unwrap against Python's ssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext, type TlsContext, type TlsContextOptions } from '../../src/tls/context';
import type { TlsInfo } from '../../src/tls/info';
import { MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';
import { canTls, hasPython, makePki, runClient, type Pki } from '../helpers/tls';

let pki: Pki;
beforeAll(() => {
  if (canTls) pki = makePki();
});
afterAll(() => pki?.cleanup());

const NODE_SERVER = `
const tls = require('node:tls'), fs = require('node:fs');
const [cert, key, ca] = process.argv.slice(1);
const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key),
  ...(ca ? { ca: fs.readFileSync(ca), requestCert: true, rejectUnauthorized: true } : {}) }, (s) => {
  s.on('data', (d) => s.write('echo:' + String(d).trim() + (s.getPeerCertificate().subject ? ' from ' + s.getPeerCertificate().subject.CN : '') + '\\n'));
  s.on('error', () => {});
  s.on('end', () => { s.end(); server.close(); });
});
server.on('tlsClientError', () => server.close());
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function nodeServer(args: string[]): Promise<{ port: number; child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(process.execPath, ['-e', NODE_SERVER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
  });
  return { port, child, exited };
}

class Client extends AsyncChat {
  got = '';
  info: TlsInfo | null = null;
  error: (Error & { code?: string; reason?: string }) | null = null;
  constructor(map: SocketMap, port: number, private readonly ctx: TlsContext, private readonly host: string | undefined,
    private readonly d: Driver) {
    super(undefined, map);
    this.ignoreLogTypes = QUIET;
    this.setTerminator('\n');
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
  }
  override handleConnect(): void {
    this.startTls(this.ctx, { serverHostname: this.host });
  }
  override handleTlsHandshake(): void {
    this.info = this.tlsInfo();
    this.push('hi\n');
  }
  override collectIncomingData(data: Buffer): void {
    this.got += data.toString();
  }
  override foundTerminator(): void {
    this.close();
    this.d.poke();
  }
  override handleError(err?: unknown): void {
    this.error = err as Error;
    this.close();
    this.d.poke();
  }
}

async function connectTo(
  mode: (typeof MODES)[number], serverArgs: string[], options: TlsContextOptions, host: string | undefined,
): Promise<Client> {
  const server = await nodeServer(serverArgs);
  let client!: Client;
  try {
    await withMap(mode, async (d) => {
      client = new Client(d.map, server.port, createTlsContext(options), host, d);
      await d.untilEmpty('the client is done', 10000);
    });
  } finally {
    server.child.kill();
    await server.exited;
  }
  expect(native.stats().tlsConnections, 'SSL objects left alive').toBe(0);
  return client;
}

describe.skipIf(!canTls)('TLS client against Node\'s tls server', () => {
  describe.each(MODES)('%s', (mode) => {
    it('verifies the chain and the name, then talks', async () => {
      const c = await connectTo(mode, [pki.files.serverCert, pki.files.serverKey], { ca: pki.caCert }, 'localhost');
      expect(c.error).toBeNull();
      expect(c.got).toBe('echo:hi');
      expect(c.info!.authorized).toBe(true);
      expect(c.info!.peerCertificate!.commonName).toBe('localhost');
      expect(c.info!.peerCertificate!.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    });

    it('a self-signed server with the default CAs: ERR_ASYNCHAT_TLS_CERT, DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
      const self = `${pki.dir}/self.pem`;
      const c = await connectTo(mode, [self, `${pki.dir}/self.key`], {}, 'localhost');
      expect(c.error!.code).toBe('ERR_ASYNCHAT_TLS_CERT');
      expect(c.error!.reason).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(c.got).toBe('');
    });

    it('the wrong name: ERR_ASYNCHAT_TLS_CERT, HOSTNAME_MISMATCH', async () => {
      const c = await connectTo(mode, [pki.files.serverCert, pki.files.serverKey], { ca: pki.caCert }, 'example.com');
      expect(c.error!.code).toBe('ERR_ASYNCHAT_TLS_CERT');
      expect(c.error!.reason).toBe('HOSTNAME_MISMATCH');
    });

    it('rejectUnauthorized: false goes on, and tlsInfo() says why the server is not authorized', async () => {
      const c = await connectTo(mode, [`${pki.dir}/self.pem`, `${pki.dir}/self.key`], { rejectUnauthorized: false }, 'localhost');
      expect(c.error).toBeNull();
      expect(c.got).toBe('echo:hi');
      expect(c.info!.authorized).toBe(false);
      expect(c.info!.authorizationError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    });

    it('sends its certificate to a server that requires one', async () => {
      const c = await connectTo(mode, [pki.files.serverCert, pki.files.serverKey, pki.files.ca],
        { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey, maxVersion: 'TLSv1.2' }, 'localhost');
      expect(c.error).toBeNull();
      expect(c.got).toBe('echo:hi from asynchat test client');
      expect(c.info!.protocol).toBe('TLSv1.2');
    });
  });
});

// STARTTLS in the middle of a cleartext conversation, then back to cleartext (Python's unwrap).
const PY_STARTTLS = `
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
raw = socket.create_connection(('127.0.0.1', port))
f = raw.makefile('rb')
raw.sendall(b'STARTTLS\\n')
assert f.readline() == b'OK\\n'
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(raw, server_hostname='localhost')
s.sendall(b'secret\\n')
buf = b''
while not buf.endswith(b'ok\\n'):
    buf += s.recv(100)
print(buf.decode().strip().replace('\\n', '|'))
plain = s.unwrap()
plain.sendall(b'plain\\n')
print(plain.recv(100).decode().strip())
plain.close()
`;

class StartTlsServerChannel extends AsyncChat {
  lines: string[] = [];
  stopped = false;
  private part = '';
  constructor(sock: Socket, map: SocketMap, private readonly ctx: TlsContext, private readonly d: Driver,
    private readonly all: StartTlsServerChannel[]) {
    super(sock, map);
    this.ignoreLogTypes = QUIET;
    this.setTerminator('\n');
    all.push(this);
  }
  override collectIncomingData(data: Buffer): void {
    this.part += data.toString();
  }
  override foundTerminator(): void {
    const line = this.part;
    this.part = '';
    this.lines.push(`${this.tlsInfo() ? 'tls' : 'clear'}:${line}`);
    if (line === 'STARTTLS') {
      this.push('OK\n');
      this.startTls(this.ctx, { serverSide: true });
    } else if (line === 'secret') {
      this.push('got secret\nok\n');
      this.stopTls();
    } else {
      this.push(`echo:${line}\n`);
    }
  }
  override handleTlsStopped(): void {
    this.stopped = true;
  }
  override handleClose(): void {
    this.close();
    this.d.poke();
  }
}

describe.skipIf(!canTls || !hasPython)('STARTTLS and unwrap with Python\'s ssl', () => {
  it.each(MODES)('%s', async (mode) => {
    const channels: StartTlsServerChannel[] = [];
    let result: { stdout: string; stderr: string } | null = null;
    await withMap(mode, async (d) => {
      const ctx = createTlsContext({ cert: pki.serverCert, key: pki.serverKey });
      const server = new (class extends Dispatcher {
        override handleAccepted(sock: Socket): void {
          new StartTlsServerChannel(sock, d.map, ctx, d, channels);
          this.close();
        }
      })(undefined, d.map);
      server.createSocket(AF_INET);
      server.bind(['127.0.0.1', 0]);
      server.listen(1);
      const port = (server.socket as Socket).getsockname()[1] as number;
      void runClient('python3', ['-c', PY_STARTTLS, String(port), pki.files.ca]).then((r) => {
        result = r;
      });
      const deadline = Date.now() + 15000;
      while (result === null || d.map.size > 0) {
        if (Date.now() > deadline) throw new Error('timed out');
        await d.until(() => result !== null && d.map.size === 0, 'python is done', 50).catch(() => undefined);
        await new Promise((r) => setImmediate(r));
      }
    });
    expect(result!.stderr).toBe('');
    expect(result!.stdout).toBe('got secret|ok\necho:plain\n');
    expect(channels[0].lines).toEqual(['clear:STARTTLS', 'tls:secret', 'clear:plain']);
    expect(channels[0].stopped).toBe(true);
    expect(native.stats().tlsConnections).toBe(0);
  });
});
