// The example servers with --tls-cert/--tls-key, against real clients: curl --cacert (HTTPS,
// keep-alive, HEAD), redis-cli --tls and redis-benchmark --tls (RESP), openssl s_client (chat).
// Both modes, as the CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES, hasCommand, root, startCli } from './helpers';
import { hasCurl, canTls, hasPython, makePki, runClient, type Pki } from '../helpers/tls';

const hasRedisCli = hasCommand('redis-cli', ['--version']);
// Debian's redis-tools 7.0 is built with TLS; a build without it has no --tls in its help.
const hasRedisBenchmarkTls = ((): boolean => {
  if (!hasCommand('redis-benchmark', ['--version'])) return false;
  const help = spawnSync('redis-benchmark', ['--help'], { encoding: 'utf8', timeout: 10_000 });
  const tls = /^\s*--tls\b/m.test(`${help.stdout}${help.stderr}`);
  if (!tls) console.log('note: this redis-benchmark was built without --tls; the redis-benchmark --tls tests are skipped');
  return tls;
})();
let pki: Pki;
beforeAll(() => {
  if (canTls) pki = makePki();
});
afterAll(() => pki?.cleanup());

const tlsArgs = (): string[] => ['--tls-cert', pki.files.serverCert, '--tls-key', pki.files.serverKey];

describe.skipIf(!canTls)('examples over TLS', () => {
  describe.each(MODES)('%s', (mode) => {
    it.skipIf(!hasCurl)('http serves HTTPS to curl --cacert: two GETs on one connection, and HEAD', async () => {
      const server = await startCli('http', ['--mode', mode, ...tlsArgs()]);
      try {
        const url = `https://localhost:${server.port}/`;
        const r = await runClient('curl', ['-sS', '--cacert', pki.files.ca, '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\\n',
          '--resolve', `localhost:${server.port}:127.0.0.1`, url, url]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('200 1\n200 0\n');
        const viaNode = await runClient(process.execPath, ['-e', `
          const https = require('node:https');
          const agent = new https.Agent({ keepAlive: true, ca: require('node:fs').readFileSync(process.argv[2]) });
          const get = () => new Promise((ok, no) => https.get({ host: '127.0.0.1', servername: 'localhost', port: +process.argv[1], agent },
            (res) => { const proto = res.socket.getProtocol(); let n = 0; res.on('data', (d) => { n += d.length; }); res.on('end', () => ok([res.statusCode, n, proto])); }).on('error', no));
          get().then(async (a) => { const b = await get(); console.log(JSON.stringify([a, b])); agent.destroy(); });`,
          String(server.port), pki.files.ca]);
        expect(viaNode.stderr).toBe('');
        const [a, b] = JSON.parse(viaNode.stdout) as [number, number, string][];
        expect(a[0]).toBe(200);
        expect(a[1]).toBeGreaterThan(0);
        expect(a[2]).toBe('TLSv1.3');
        expect(b).toEqual(a);
        const head = await runClient('curl', ['-sS', '-I', '--cacert', pki.files.ca, '--resolve', `localhost:${server.port}:127.0.0.1`, url]);
        expect(head.stdout).toMatch(/^HTTP\/1\.1 200/);
        expect(head.stdout).toMatch(/content-length: \d+/i);
      } finally {
        await server.stop();
      }
    });

    it('the client example with --tls --ca talks to the resp example over TLS', async () => {
      const server = await startCli('resp', ['--mode', mode, ...tlsArgs()]);
      try {
        const r = await runClient(process.execPath, [`${root}/examples/run.cjs`, 'client', '--mode', mode, '--port', String(server.port),
          '--tls', '--ca', pki.files.ca, 'SET', 'n', '41', ';', 'INCR', 'n']);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('OK\n(integer) 42\n');
        const bad = await runClient(process.execPath, [`${root}/examples/run.cjs`, 'client', '--port', String(server.port), '--tls', 'PING']);
        expect(bad.stderr).toMatch(/certificate verification failed: UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
      } finally {
        await server.stop();
      }
    });

    it.skipIf(!hasRedisCli)('resp serves redis-cli --tls', async () => {
      const server = await startCli('resp', ['--mode', mode, ...tlsArgs()]);
      try {
        const cli = ['--tls', '--cacert', pki.files.ca, '-h', '127.0.0.1', '-p', String(server.port)];
        expect((await runClient('redis-cli', [...cli, 'SET', 'k', 'v'])).stdout.trim()).toBe('OK');
        expect((await runClient('redis-cli', [...cli, 'GET', 'k'])).stdout.trim()).toBe('v');
      } finally {
        await server.stop();
      }
    });

    it.skipIf(!hasRedisBenchmarkTls)('resp serves redis-benchmark --tls: PING, SET and GET, 5 connections, 4 pipelined', async () => {
      const server = await startCli('resp', ['--mode', mode, ...tlsArgs()]);
      try {
        const r = await runClient('redis-benchmark', ['--tls', '--cacert', pki.files.ca, '-h', '127.0.0.1', '-p', String(server.port),
          '-n', '2000', '-c', '5', '-P', '4', '-t', 'ping,set,get', '--csv'], undefined, 60_000);
        expect(r.code).toBe(0);
        expect(r.stderr).not.toMatch(/error|fail/i);
        // CSV: a header, then one row per test: "name","requests per second",latencies...
        const rows = r.stdout.trim().split('\n').slice(1).map((line) => line.split(',').map((f) => f.replace(/^"|"$/g, '')));
        expect(rows.map((row) => row[0])).toEqual(['PING_INLINE', 'PING_MBULK', 'SET', 'GET']);
        for (const row of rows) expect(Number(row[1])).toBeGreaterThan(0);
        // Still healthy after the benchmark's 20 connections came and went: a new TLS client is served.
        const after = await runClient(process.execPath, ['-e', `
          const s = require('node:tls').connect({ host: '127.0.0.1', port: +process.argv[1], ca: require('node:fs').readFileSync(process.argv[2]),
            checkServerIdentity: () => undefined }, () => s.write('*1\\r\\n$4\\r\\nPING\\r\\n'));
          s.on('data', (d) => { process.stdout.write(d); s.end(); });`, String(server.port), pki.files.ca]);
        expect(after.stderr).toBe('');
        expect(after.stdout).toBe('+PONG\r\n');
      } finally {
        await server.stop();
      }
    });

    it.skipIf(!hasPython)("smtp: STARTTLS with Python's smtplib.starttls(), a second STARTTLS refused, the mail delivered", async () => {
      const dir = `${pki.dir}/mail-${mode}`;
      const server = await startCli('smtp', ['--mode', mode, '--dir', dir, '--hostname', 'mx.test', ...tlsArgs()]);
      try {
        const r = await runClient('python3', ['-c', `
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.ehlo('client')
print('offered', s.has_extn('starttls'))
print(s.starttls(context=ctx)[0])
s.ehlo('client')
print('again', s.has_extn('starttls'), s.sock.version())
print(s.docmd('STARTTLS')[0])
s.sendmail('me@here', ['you@there'], 'Subject: over tls\\r\\n\\r\\nsecret\\r\\n')
s.quit()`, String(server.port), pki.files.ca]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('offered True\n220\nagain False TLSv1.3\n503\n');
        const files = readdirSync(dir);
        expect(files.length).toBe(1);
        expect(readFileSync(`${dir}/${files[0]}`, 'utf8')).toMatch(/secret/);
      } finally {
        await server.stop();
      }
    });

    it('chat over TLS with openssl s_client', async () => {
      const server = await startCli('chat', ['--mode', mode, ...tlsArgs()]);
      try {
        const r = await runClient('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-quiet', '-CAfile', pki.files.ca,
          '-verify_return_error'], 'alice\n/quit\n', 10000);
        expect(r.stdout).toMatch(/^\* welcome to the chat room[^]*\* welcome, alice!/);
        expect(r.code).toBe(0);
      } finally {
        await server.stop();
      }
    });
  });
});
