// examples/http: curl (when installed), Node's fetch, http and net, in both run modes.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer } from '../../examples/http/server';
import { prng } from '../helpers/asynchat';
import {
  MODES, RawClient, cutAt, fdBaseline, hasCommand, run, startCli, startInProcess, type Mode, type Running,
} from './helpers';

const MAX_HEAD = 4096;
const MAX_BODY = 100_000;
const SECRET = 'TOP SECRET';
const haveCurl = hasCommand('curl', ['--version']);

// The files served, and some that must never be:
//   <tmp>/outside/secret.txt   outside the root
//   <tmp>/rootx/secret.txt     outside too, though "<tmp>/root" is a prefix of its path
//   <tmp>/root/...             the root, with symlinks pointing in and out
const tmp = mkdtempSync(path.join(os.tmpdir(), 'asynchat-http-'));
const rootDir = path.join(tmp, 'root');
const big = randomBytes(2 * 1024 * 1024 + 17);
mkdirSync(path.join(rootDir, 'sub'), { recursive: true });
mkdirSync(path.join(tmp, 'outside'));
mkdirSync(path.join(tmp, 'rootx'));
writeFileSync(path.join(tmp, 'outside', 'secret.txt'), SECRET);
writeFileSync(path.join(tmp, 'rootx', 'secret.txt'), SECRET);
writeFileSync(path.join(rootDir, 'index.html'), '<h1>home</h1>\n');
writeFileSync(path.join(rootDir, 'hello.txt'), 'hello, world\n');
writeFileSync(path.join(rootDir, 'with space.txt'), 'spaced\n');
writeFileSync(path.join(rootDir, 'sub', 'index.html'), '<h1>sub</h1>\n');
writeFileSync(path.join(rootDir, 'sub', 'page.txt'), 'a page\n');
writeFileSync(path.join(rootDir, 'big.bin'), big);
symlinkSync('hello.txt', path.join(rootDir, 'link-in'));
symlinkSync('../outside/secret.txt', path.join(rootDir, 'link-out'));
symlinkSync('../outside', path.join(rootDir, 'dir-out'));
symlinkSync(path.join(tmp, 'outside', 'secret.txt'), path.join(rootDir, 'abs-link'));

function start(mode: Mode): Promise<Running> {
  if (mode === 'blocking') {
    return startCli('http', ['--mode', 'blocking', '--root', rootDir, '--max-head', String(MAX_HEAD), '--max-body', String(MAX_BODY)]);
  }
  return Promise.resolve(startInProcess((map) => new HttpServer({ map, root: rootDir, maxHead: MAX_HEAD, maxBody: MAX_BODY })));
}

interface Response {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Splits what came back into responses (HEAD responses have no body). */
function parseResponses(data: Buffer, methods: string[]): Response[] {
  const out: Response[] = [];
  let at = 0;
  for (const method of methods) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine, ...lines] = data.toString('latin1', at, end).split('\r\n');
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = method === 'HEAD' ? 0 : Number(headers.get('content-length'));
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** The paths that try to leave the root, as sent on the wire. */
const ESCAPES = [
  '/../outside/secret.txt', '/%2e%2e/outside/secret.txt', '/%2E%2E%2Foutside%2Fsecret.txt', '/..%2f..%2f..%2fetc%2fpasswd',
  '/sub/../../outside/secret.txt', '/../rootx/secret.txt', '/link-out', '/dir-out/secret.txt', '/abs-link',
  '//etc/passwd', `/${'../'.repeat(12)}etc/passwd`,
];

describe.each(MODES)('http example, %s mode', (mode) => {
  let server: Running;
  let base: string;
  let settle: () => Promise<void>;

  beforeAll(async () => {
    settle = fdBaseline();
    server = await start(mode);
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.stop();
    await settle();
  });

  const curl = (args: string[], input?: string | Buffer) => run('curl', ['-sS', '--max-time', '10', ...args], { input });

  /** One connection: writes the pieces (with pauses), returns what came back until the server closed it. */
  async function exchange(pieces: Array<string | Buffer>, gapMs = 0): Promise<Buffer> {
    const c = await RawClient.connect(server.port);
    try {
      await c.writeSlowly(pieces, gapMs);
      await c.waitEnd();
      return c.received;
    } finally {
      await c.close();
    }
  }

  describe.skipIf(!haveCurl)('with curl', () => {
    it('GET and HEAD a file, with its length and type', async () => {
      const get = await curl(['-i', `${base}/hello.txt`]);
      expect(get.stdout.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(get.stdout.toString()).toMatch(/\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
      expect(get.stdout.toString()).toMatch(/\r\nContent-Length: 13\r\n(.*\r\n)*\r\nhello, world\n$/);
      const head = await curl(['-I', `${base}/hello.txt`]);
      expect(head.stdout.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Content-Length: 13\r\n(.*\r\n)*\r\n$/);
      const index = await curl([`${base}/`, `${base}/sub/`, `${base}/link-in`, `${base}/with%20space.txt`]);
      expect(index.stdout.toString()).toBe('<h1>home</h1>\n<h1>sub</h1>\nhello, world\nspaced\n');
    });

    it('keeps the connection alive across requests, a 404 and a request body included', async () => {
      const r = await curl(['-v', `${base}/hello.txt`, `${base}/nope`, `${base}/sub/page.txt`,
        '--next', '-X', 'POST', '--data-binary', 'x=1', `${base}/form`, '--next', `${base}/hello.txt`]);
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('hello, world\nnot found\na page\nPOST is not allowed here (read 3 body bytes)\nhello, world\n');
      expect(r.stderr.match(/Re-using existing connection/g)).toHaveLength(4);
    });

    it('sends a large file whole', async () => {
      const r = await curl([`${base}/big.bin`]);
      expect(r.stdout.length).toBe(big.length);
      expect(r.stdout.equals(big)).toBe(true);
    });

    it('reads chunked and Content-Length bodies, and answers Expect: 100-continue', async () => {
      const body = randomBytes(50_000);
      const chunked = await curl(['-i', '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${base}/upload`], body);
      expect(chunked.stdout.toString()).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n(.*\r\n)*Allow: GET, HEAD\r\n/);
      expect(chunked.stdout.toString()).toMatch(/read 50000 body bytes\)\n$/);
      // Without the 100, curl would send the body anyway, but only after --expect100-timeout.
      const started = Date.now();
      const expect100 = await curl(['-v', '--expect100-timeout', '20', '-H', 'Expect: 100-continue', '--data-binary', '@-', `${base}/upload`], body);
      expect(expect100.stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
      expect(expect100.stdout.toString()).toMatch(/read 50000 body bytes\)\n$/);
      expect(Date.now() - started).toBeLessThan(15_000);
      const tooBig = await curl(['-i', '--data-binary', '@-', `${base}/upload`], randomBytes(MAX_BODY + 1));
      expect(tooBig.stdout.toString()).toMatch(/^HTTP\/1\.1 413 Content Too Large\r\n(.*\r\n)*Connection: close\r\n/);
    });

    it('never serves a file outside its root', async () => {
      for (const p of ESCAPES) {
        const r = await curl(['-i', '--path-as-is', `${base}${p}`]);
        expect(r.stdout.toString(), p).toMatch(/^HTTP\/1\.1 (404 Not Found|400 Bad Request)\r\n/);
        expect(r.stdout.toString(), p).not.toContain(SECRET);
        expect(r.stdout.toString(), p).not.toContain('root:');
      }
    });
  });

  describe('with fetch and http', () => {
    it('GET, HEAD and 404', async () => {
      const close = { connection: 'close' };  // no connection left in fetch's pool
      const get = await fetch(`${base}/sub/page.txt`, { headers: close });
      expect([get.status, get.headers.get('content-type'), await get.text()]).toEqual([200, 'text/plain; charset=utf-8', 'a page\n']);
      const head = await fetch(`${base}/big.bin`, { method: 'HEAD', headers: close });
      expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, String(big.length), '']);
      const missing = await fetch(`${base}/nope.txt`, { headers: close });
      expect([missing.status, await missing.text()]).toEqual([404, 'not found\n']);
      const bigGet = await fetch(`${base}/big.bin`, { headers: close });
      expect(Buffer.from(await bigGet.arrayBuffer()).equals(big)).toBe(true);
    });

    it('reads a streamed (chunked) request body', async () => {
      const parts = ['first part, ', 'second, ', 'and the last'];
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
          controller.close();
        },
      });
      const r = await fetch(`${base}/upload`, { method: 'PUT', body, duplex: 'half', headers: { connection: 'close' } } as RequestInit);
      expect([r.status, await r.text()]).toEqual([405, `PUT is not allowed here (read ${parts.join('').length} body bytes)\n`]);
    });

    it('serves several requests on one kept-alive connection (http.Agent)', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const reused: boolean[] = [];
        for (const p of ['/hello.txt', '/sub/', '/nope', '/hello.txt']) {
          const body = await new Promise<string>((resolve, reject) => {
            const req = http.get(`${base}${p}`, { agent }, (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (d: string) => { text += d; });
              res.on('end', () => resolve(`${res.statusCode} ${text}`));
            });
            req.on('error', reject);
            reused.push(req.reusedSocket);
          });
          expect(body).toMatch(/^(200|404) /);
        }
        expect(reused).toEqual([false, true, true, true]);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('with net', () => {
    it('answers pipelined requests in order, split anywhere across reads', async () => {
      const requests =
        'GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n' +
        'HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n' +
        'POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0a\r\n, chunked!\r\n0\r\nX-Trailer: 1\r\n\r\n' +
        'POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n\r\n\r\n' +  // a body that looks like the end of a head
        '\r\nGET /sub/page.txt HTTP/1.1\r\nHost: t\r\n\r\n' +                  // an empty line first is allowed
        'GET /nope HTTP/1.1\r\nHost: t\r\n\r\n' +
        'GET http://t/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n';
      const methods = ['GET', 'HEAD', 'POST', 'POST', 'GET', 'GET', 'GET'];
      const check = (data: Buffer): void => {
        const rs = parseResponses(data, methods);
        expect(rs.map((r) => r.status)).toEqual([200, 200, 405, 405, 200, 404, 200]);
        expect(rs.map((r) => r.body.toString())).toEqual([
          'hello, world\n', '', 'POST is not allowed here (read 15 body bytes)\n', 'POST is not allowed here (read 4 body bytes)\n',
          'a page\n', 'not found\n', 'hello, world\n',
        ]);
        expect(rs.map((r) => r.headers.get('connection'))).toEqual([...Array(6).fill('keep-alive'), 'close']);
        expect(rs[1].headers.get('content-length')).toBe('13');
      };
      check(await exchange([requests]));
      const random = prng(7);
      const cuts = Array.from({ length: 50 }, () => Math.floor(random() * requests.length)).sort((a, b) => a - b);
      check(await exchange(cutAt(requests, cuts), 2));
    });

    it('closes after an HTTP/1.0 request unless asked to keep alive', async () => {
      const r = parseResponses(await exchange(['GET /hello.txt HTTP/1.0\r\n\r\n']), ['GET']);
      expect([r[0].status, r[0].headers.get('connection')]).toEqual([200, 'close']);
      const c = await RawClient.connect(server.port);
      try {
        await c.write('GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
        await c.waitForText('hello, world\n');
        await c.write('GET /sub/page.txt HTTP/1.0\r\n\r\n');
        expect(await c.waitEnd()).toMatch(/Connection: keep-alive\r\n(.*\r\n)*\r\nhello, world\nHTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n\r\na page\n$/);
      } finally {
        await c.close();
      }
    });

    it('answers malformed requests with 400 (or 431, 501, 505) and closes', async () => {
      const cases: Array<[string, number]> = [
        ['GARBAGE\r\n\r\n', 400],
        ['GET /hello.txt\r\n\r\n', 400],
        ['GET  /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n', 400],
        ['GET /hello.txt HTTP/1.1\r\n\r\n', 400],                                   // no Host
        ['GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
        ['GET /hello.txt HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n', 400],
        ['GET /hello.txt HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n', 400],
        ['GET /hello.txt HTTP/1.1\r\nHost : t\r\n\r\n', 400],
        ['GET /hello.txt HTTP/1.1\r\nHost: t\r\nX: a\x01b\r\n\r\n', 400],
        ['GET hello.txt HTTP/1.1\r\nHost: t\r\n\r\n', 400],
        ['GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n', 400],
        ['GET /hello.txt%00.html HTTP/1.1\r\nHost: t\r\n\r\n', 400],
        ['POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
        ['POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n', 400],
        ['POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd', 400],
        ['POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
        ['POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n', 400],
        [`POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${'1'.repeat(MAX_HEAD + 10)}`, 400],
        ['POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
        ['POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
        ['GET /hello.txt HTTP/2.0\r\nHost: t\r\n\r\n', 505],
        [`GET /hello.txt HTTP/1.1\r\nHost: t\r\nX-Big: ${'b'.repeat(MAX_HEAD)}\r\n\r\n`, 431],
        [`POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`, 413],
      ];
      for (const [request, status] of cases) {
        // A good request after the bad one must not be answered: the connection is closed.
        const got = await exchange([`${request}GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n`]);
        const [r, extra] = parseResponses(got, ['GET', 'GET']);
        expect(r?.status, JSON.stringify(request)).toBe(status);
        expect(r.headers.get('connection'), JSON.stringify(request)).toBe('close');
        expect(extra, JSON.stringify(request)).toBeUndefined();
      }
    });

    it('never serves a file outside its root, whatever the target\'s form', async () => {
      const targets = [...ESCAPES, ...ESCAPES.map((p) => `http://t${p}`)];
      for (const target of targets) {
        const got = await exchange([`GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`]);
        expect(got.toString(), target).toMatch(/^HTTP\/1\.1 (404 Not Found|400 Bad Request)\r\n/);
        expect(got.toString(), target).not.toContain(SECRET);
      }
    });
  });
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
