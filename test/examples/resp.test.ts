// examples/resp: redis-cli and redis-benchmark (when installed) and Node's net, in both run modes,
// with each of its sessions: the RESP framer's (the default) and the terminator port's.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RespServer, splitInline } from '../../examples/resp/server';
import { prng } from '../helpers/asynchat';
import {
  MODES, RawClient, cutAt, fdBaseline, hasCommand, python, run, startCli, startInProcess, type Mode, type Running,
} from './helpers';

const MAX_LINE = 4096;
const haveCli = hasCommand('redis-cli', ['--version']);
const haveBenchmark = hasCommand('redis-benchmark', ['--version']);
const havePython = hasCommand('python3', ['--version']);

type Parser = 'framer' | 'terminator';
const CASES: [Mode, Parser][] = MODES.flatMap((m) => (['framer', 'terminator'] as const).map((p): [Mode, Parser] => [m, p]));

function start(mode: Mode, parser: Parser): Promise<Running> {
  if (mode === 'blocking') return startCli('resp', ['--mode', 'blocking', '--max-line', String(MAX_LINE), '--parser', parser]);
  return Promise.resolve(startInProcess((map) => new RespServer({ map, maxLine: MAX_LINE, parser })));
}

/** A command as a RESP array of bulk strings. */
function encode(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

describe('splitInline', () => {
  it('splits at blanks and groups quoted words, as Redis does', () => {
    expect(splitInline('  SET  key "a b\\r\\n\\x41" \'it\\\'s\'\t')).toEqual(['SET', 'key', 'a b\r\nA', "it's"]);
    expect(splitInline('')).toEqual([]);
    expect(() => splitInline('ECHO "open')).toThrow('unbalanced quotes');
    expect(() => splitInline('ECHO "a"b')).toThrow('unbalanced quotes');
  });
});

describe.each(CASES)('resp example, %s mode, %s session', (mode, parser) => {
  let server: Running;
  let settle: () => Promise<void>;

  beforeAll(async () => {
    settle = fdBaseline();
    server = await start(mode, parser);
  });

  afterAll(async () => {
    await server?.stop();
    await settle();
  });

  const cli = (args: string[], input?: string | Buffer) =>
    run('redis-cli', ['-h', '127.0.0.1', '-p', String(server.port), ...args], { input });

  /** Sends the pieces on one connection, then returns what came back once `expected` bytes did. */
  async function exchange(pieces: Buffer[], expected: number, gapMs = 0): Promise<Buffer> {
    const c = await RawClient.connect(server.port);
    try {
      await c.writeSlowly(pieces, gapMs);
      await c.waitFor(() => c.received.length >= expected, `${expected} bytes of replies`);
      return c.received;
    } finally {
      await c.close();
    }
  }

  describe.skipIf(!haveCli)('with redis-cli', () => {
    it('runs every command, replying with the right types', async () => {
      const script = [
        'PING', 'PING hello', 'ECHO "a b"', 'SET cli:a 1', 'GET cli:a', 'INCR cli:a', 'GET cli:none', 'EXISTS cli:a cli:none cli:a',
        'MSET cli:k1 v1 cli:k2 v2', 'MGET cli:k1 cli:none cli:k2', 'DEL cli:k1 cli:k2 cli:none', 'INCR cli:k1', 'SET cli:s x',
        'INCR cli:s', 'GET', 'NOSUCH x y', '',
      ].join('\n');
      const r = await cli(['--no-raw'], script);
      expect(r.code).toBe(0);
      expect(r.stdout.toString().split('\n')).toEqual([
        'PONG', '"hello"', '"a b"', 'OK', '"1"', '(integer) 2', '(nil)', '(integer) 2',
        'OK', '1) "v1"', '2) (nil)', '3) "v2"', '(integer) 2', '(integer) 1', 'OK',
        '(error) ERR value is not an integer or out of range',
        "(error) ERR wrong number of arguments for 'get' command",
        "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' 'y' ",
        '',
      ]);
    });

    it('stores and returns values byte for byte', async () => {
      const value = Buffer.concat([Buffer.from('\0\r\n\xff$3\r\n*1\r\n', 'latin1'), randomBytes(100_000)]);
      expect((await cli(['-x', 'SET', 'cli:bin'], value)).stdout.toString()).toBe('OK\n');
      const got = await cli(['--raw', 'GET', 'cli:bin']);
      expect(got.stdout.equals(Buffer.concat([value, Buffer.from('\n')]))).toBe(true);
    });
  });

  describe.skipIf(!haveBenchmark)('with redis-benchmark', () => {
    const bench = (args: string[]) =>
      run('redis-benchmark', ['-h', '127.0.0.1', '-p', String(server.port), '-n', '2000', '-q', ...args], { timeoutMs: 60_000 });

    it('serves PING (inline and multibulk), SET, GET, INCR and MSET', async () => {
      const r = await bench(['-c', '10', '-t', 'ping,set,get,incr,mset']);
      expect(r.code).toBe(0);
      const out = r.stdout.toString();
      for (const test of ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'INCR', 'MSET (10 keys)']) {
        expect(out).toMatch(new RegExp(`${test.replace(/[()]/g, '\\$&')}: [\\d.]+ requests per second`));
      }
      expect(out).not.toMatch(/error/i);
      // 2000 INCRs of one key (without -r, redis-benchmark uses the key as written).
      if (haveCli) expect((await cli(['GET', 'counter:__rand_int__'])).stdout.toString()).toBe('2000\n');
    });

    it('serves 16 pipelined requests per connection, with 100-byte values on 1000 keys', async () => {
      const r = await bench(['-c', '8', '-P', '16', '-d', '100', '-r', '1000', '-t', 'ping,set,get']);
      expect(r.code).toBe(0);
      expect(r.stdout.toString().match(/requests per second/g)).toHaveLength(4);
      expect(r.stdout.toString()).not.toMatch(/error/i);
    });
  });

  describe.skipIf(!havePython)('with python3', () => {
    it('a socket client sending binary values one byte per segment', async () => {
      const out = await python(`
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def cmd(*a): return b'*%d\\r\\n' % len(a) + b''.join(b'$%d\\r\\n%s\\r\\n' % (len(x), x) for x in a)
req = cmd(b'SET', b'py:k', b'\\x00\\r\\n\\xff') + cmd(b'GET', b'py:k') + b'PING\\r\\n' + cmd(b'DEL', b'py:k') + cmd(b'ECHO', b'')
for i in range(len(req)): s.sendall(req[i:i + 1])
want = b'+OK\\r\\n$4\\r\\n\\x00\\r\\n\\xff\\r\\n+PONG\\r\\n:1\\r\\n$0\\r\\n\\r\\n'
got = b''
while len(got) < len(want):
  d = s.recv(4096)
  if not d: break
  got += d
print(got == want, repr(got))`, [server.port]);
      expect(out.trim()).toMatch(/^True /);
    });
  });

  describe('with net', () => {
    it('answers pipelined commands split anywhere across reads', async () => {
      const big = randomBytes(300_000);  // an integer terminator over many reads
      const request = Buffer.concat([
        encode('SET', 'net:k', 'v\r\n1'), encode('GET', 'net:k'), encode('SET', 'net:big', big), encode('GET', 'net:big'),
        encode('INCR', 'net:n'), encode('INCR', 'net:n'), encode('MGET', 'net:n', 'net:none'), encode('DEL', 'net:big'),
        encode('EXISTS', 'net:big', 'net:k'), encode('PING'),
      ]);
      const reply = Buffer.concat([
        Buffer.from('+OK\r\n$4\r\nv\r\n1\r\n+OK\r\n'), Buffer.from(`$${big.length}\r\n`), big,
        Buffer.from('\r\n:1\r\n:2\r\n*2\r\n$1\r\n2\r\n$-1\r\n:1\r\n:1\r\n+PONG\r\n'),
      ]);
      expect((await exchange([request], reply.length)).equals(reply)).toBe(true);
      // Again from scratch, cut at 60 random places (each piece arrives in a read of its own).
      const again = Buffer.concat([encode('DEL', 'net:n'), request]);
      const random = prng(42);
      const cuts = Array.from({ length: 60 }, () => Math.floor(random() * again.length)).sort((a, b) => a - b);
      const got = await exchange(cutAt(again, cuts), reply.length + 4, 2);
      expect(got.equals(Buffer.concat([Buffer.from(':1\r\n'), reply]))).toBe(true);
    });

    it('accepts inline commands', async () => {
      const want = "+PONG\r\n+OK\r\n$3\r\nv w\r\n$3\r\na b\r\n-ERR unknown command 'FOO', with args beginning with: \r\n:1\r\n";
      const got = await exchange([Buffer.from('PING\r\nSET net:in "v w"\r\nGET net:in\r\nECHO \'a b\'\r\n\r\nFOO\r\nDEL net:in\r\n')], want.length);
      expect(got.toString()).toBe(want);
    });

    it('answers a protocol error, after the replies before it, and closes', async () => {
      const cases: Array<[string, string]> = [
        ['PING\r\n*x\r\n', '+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n'],
        ['*1\r\n+PING\r\n', "-ERR Protocol error: expected '$', got '+'\r\n"],
        ['*1\r\n$4\r\nPINGxx', '-ERR Protocol error: bulk string not followed by CRLF\r\n'],
        ['*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
        ['ECHO "unbalanced\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
        [`PING\r\n${'x'.repeat(MAX_LINE + 10)}`, '+PONG\r\n-ERR Protocol error: too big inline request\r\n'],
      ];
      for (const [request, reply] of cases) {
        const c = await RawClient.connect(server.port);
        try {
          await c.write(request);
          expect(await c.waitEnd()).toBe(reply);
        } finally {
          await c.close();
        }
      }
    });
  });
});
