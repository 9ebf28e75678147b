// Certificates made for each test run (openssl req into a temp dir, never committed), and real
// TLS clients nobody here wrote, run as child processes: Node's own tls, Python's ssl, openssl
// s_client. A test whose client is missing, or run against an addon built without TLS, is skipped
// with a message.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createTlsContext, tlsAvailable, type TlsContext } from '../../src/tls/context';
import { environmentFor, hasCommand } from '../examples/helpers';

export const hasOpenssl = hasCommand('openssl', ['version']);
/** The addon has TLS (false for a build without OpenSSL: npm run test:no-tls tests that one). */
export const hasTls = tlsAvailable;
if (!hasTls) console.log('note: this addon was built without TLS (ERR_ASYNCHAT_NO_TLS); the TLS tests are skipped');
/** TLS tests can run: the addon has TLS, and openssl is there to make their certificates. */
export const canTls = hasTls && hasOpenssl;
export const hasPython = hasCommand('python3', ['-c', 'import ssl']);
export const hasCurl = hasCommand('curl', ['--version']);

export interface Pki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A self-signed server certificate (no CA), for verification failures. */
  selfCert: string;
  selfKey: string;
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: environmentFor('openssl') });
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, signed by it. */
export function makePki(): Pki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=asynchat test CA']);
  const leaf = (name: string, cn: string, ext: string): void => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'asynchat test client', 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost']);
  const read = (f: string): string => readFileSync(path.join(dir, f), 'utf8');
  const files = {
    ca: path.join(dir, 'ca.pem'), serverCert: path.join(dir, 'server.pem'), serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'), clientKey: path.join(dir, 'client.key'),
  };
  return {
    dir, files, caCert: read('ca.pem'), serverCert: read('server.pem'), serverKey: read('server.key'),
    clientCert: read('client.pem'), clientKey: read('client.key'), selfCert: read('self.pem'), selfKey: read('self.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running client: its result once it exits (killed after timeoutMs). */
export function runClient(cmd: string, args: string[], input?: string, timeoutMs = 15000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: environmentFor(cmd) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/**
 * A test PKI, a server context and a client context that trusts its CA, made before the tests of
 * the describe this is called in (when TLS can run there) and cleaned up after them. pki() gives
 * the files, for clients in other processes.
 */
export function tlsContexts(): { server(): TlsContext | undefined; client(): TlsContext | undefined; pki(): Pki | undefined } {
  let pki: Pki | undefined;
  let server: TlsContext | undefined;
  let client: TlsContext | undefined;
  beforeAll(() => {
    if (!canTls) return;
    pki = makePki();
    server = createTlsContext({ cert: pki.serverCert, key: pki.serverKey });
    client = createTlsContext({ ca: pki.caCert });
  });
  afterAll(() => pki?.cleanup());
  return { server: () => server, client: () => client, pki: () => pki };
}
