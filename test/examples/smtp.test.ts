// examples/smtp: Python's smtplib (when python3 is here) and Node's net, in both run modes.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpServer, saveTo } from '../../examples/smtp/server';
import { prng } from '../helpers/asynchat';
import {
  MODES, RawClient, cutAt, fdBaseline, hasCommand, python, startCli, startInProcess, type Mode, type Running,
} from './helpers';

const MAX_SIZE = 10_000;
const haveSmtplib = hasCommand('python3', ['-c', 'import smtplib']);

function start(mode: Mode, dir: string): Promise<Running> {
  if (mode === 'blocking') {
    return startCli('smtp', ['--mode', 'blocking', '--dir', dir, '--max-size', String(MAX_SIZE), '--hostname', 'mx.test']);
  }
  return Promise.resolve(startInProcess((map) => new SmtpServer({
    map, hostname: 'mx.test', maxMessageSize: MAX_SIZE, onMessage: saveTo(dir),
  })));
}

/** Every reply line the server sent, in order. */
function replies(text: string): string[] {
  return text.split('\r\n').filter(Boolean);
}

const EHLO = ['250-mx.test', `250-SIZE ${MAX_SIZE}`, '250-8BITMIME', '250-PIPELINING', '250 HELP'];

describe.each(MODES)('smtp example, %s mode', (mode) => {
  let server: Running;
  let dir: string;
  let settle: () => Promise<void>;

  beforeAll(async () => {
    settle = fdBaseline();
    dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-smtp-'));
    server = await start(mode, dir);
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    await settle();
  });

  /** The messages received so far, oldest first. */
  function messages(): Buffer[] {
    return readdirSync(dir).filter((n) => n.endsWith('.eml')).sort().map((n) => readFileSync(path.join(dir, n)));
  }

  /** One SMTP session from a raw socket: the pieces are written with pauses between them. */
  async function session(pieces: Array<string | Buffer>): Promise<string[]> {
    const c = await RawClient.connect(server.port);
    try {
      await c.writeSlowly(pieces, 3);
      return replies(await c.waitEnd());
    } finally {
      await c.close();
    }
  }

  describe.skipIf(!haveSmtplib)('with smtplib', () => {
    it('receives a message, dot-unstuffed, exactly as sent', async () => {
      const before = messages().length;
      const out = await python(`
import json, smtplib, sys
msg = (b'From: a@x.test\\r\\nSubject: dots\\r\\n\\r\\n.leading dot\\r\\n..two dots\\r\\n.\\r\\n'
       b'a line that ends with a dot.\\r\\n...\\r\\n\\xc3\\xa9t\\xc3\\xa9, 8 bits\\r\\n')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10) as s:
    code, text = s.ehlo('client.test')
    print(json.dumps({'ehlo': code, 'features': sorted(s.esmtp_features),
                      'refused': s.sendmail('a@x.test', ['b@y.test', 'c@y.test'], msg)}))
`, [server.port]);
      expect(JSON.parse(out)).toEqual({ ehlo: 250, features: ['8bitmime', 'help', 'pipelining', 'size'], refused: {} });
      const got = messages();
      expect(got.length).toBe(before + 1);
      expect(got[got.length - 1].toString('latin1')).toBe(
        'From: a@x.test\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n' +
        'a line that ends with a dot.\r\n...\r\n\xc3\xa9t\xc3\xa9, 8 bits\r\n',
      );
    });

    it('takes an empty message: "." right after DATA, and smtplib\'s own empty message', async () => {
      const before = messages().length;
      const out = await python(`
import json, smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10) as s:
    s.helo('client.test')
    r = [s.mail('a@x.test'), s.rcpt('b@y.test'), s.docmd('DATA')]
    s.send(b'.\\r\\n')               # nothing between DATA and the end of data
    r.append(s.getreply())
    s.sendmail('', ['b@y.test'], b'') # smtplib sends one empty line: "\\r\\n.\\r\\n"
    print(json.dumps([[c, t.decode()] for c, t in r]))
`, [server.port]);
      expect(JSON.parse(out)).toEqual([
        [250, 'OK'], [250, 'OK'], [354, 'End data with <CR><LF>.<CR><LF>'], [250, 'OK'],
      ]);
      const got = messages();
      expect(got.length).toBe(before + 2);
      expect(got[got.length - 2].toString()).toBe('');
      expect(got[got.length - 1].toString()).toBe('\r\n');
    });

    it('refuses a command line over 512 bytes and a message over the size limit, and goes on', async () => {
      const before = messages().length;
      const out = await python(`
import json, smtplib, sys
r = []
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10) as s:
    r.append(s.docmd('NOOP ' + 'x' * 600))
    r.append(s.noop())
    try:
        s.sendmail('a@x.test', ['b@y.test'], b'x' * ${MAX_SIZE + 1})  # MAIL FROM with SIZE=
    except smtplib.SMTPSenderRefused as e:
        r.append((e.smtp_code, e.smtp_error))
    s.rset()
    # Without SIZE=, the limit is found while the data arrives.
    s.mail('a@x.test'); s.rcpt('b@y.test'); s.docmd('DATA')
    s.send(b'y' * 4000 + b'\\r\\n' + b'z' * 8000 + b'\\r\\n.\\r\\n')
    r.append(s.getreply())
    r.append(s.noop())
    s.sendmail('a@x.test', ['b@y.test'], b'small\\r\\n')
print(json.dumps([[c, t.decode()] for c, t in r]))
`, [server.port]);
      expect(JSON.parse(out)).toEqual([
        [500, 'Error: line too long'],
        [250, 'OK'],
        [552, 'Error: message size exceeds fixed maximum message size'],
        [552, 'Error: Too much mail data'],
        [250, 'OK'],
      ]);
      const got = messages();
      expect(got.length).toBe(before + 1);
      expect(got[got.length - 1].toString()).toBe('small\r\n');
    });

    it('answers out-of-order commands as smtpd does', async () => {
      const out = await python(`
import json, smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10) as s:
    r = [s.docmd('MAIL FROM:<a@x.test>'), s.helo('client.test'), s.docmd('HELO again'),
         s.docmd('RCPT TO:<b@y.test>'), s.docmd('DATA'), s.docmd('MAIL FROM:<>'), s.docmd('MAIL FROM:<a@x.test>'),
         s.docmd('RCPT TO:<>'), s.docmd('VRFY b'), s.docmd('RSET'), s.docmd('DATA'), s.docmd('NOOP x'), s.docmd('')]
print(json.dumps([[c, t.decode()] for c, t in r]))
`, [server.port]);
      expect(JSON.parse(out)).toEqual([
        [503, 'Error: send HELO first'],
        [250, 'mx.test'],
        [503, 'Duplicate HELO/EHLO'],
        [503, 'Error: need MAIL command'],
        [503, 'Error: need RCPT command'],
        [250, 'OK'],
        [503, 'Error: nested MAIL command'],
        [501, 'Syntax: RCPT TO: <address>'],
        [500, 'Error: command "VRFY" not recognized'],
        [250, 'OK'],
        [503, 'Error: need RCPT command'],
        [501, 'Syntax: NOOP'],
        [500, 'Error: bad syntax'],
      ]);
    });
  });

  describe('with net', () => {
    const pipelined = 'EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n' +
      'Subject: piped\r\n\r\n..dot\r\nline.\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n';
    const expected = ['220 mx.test asynchat SMTP example', ...EHLO, '250 OK', '250 OK', '250 OK',
      '354 End data with <CR><LF>.<CR><LF>', '250 OK', '250 OK', '250 OK', '221 Bye'];

    it('serves pipelined commands sent in one write', async () => {
      const before = messages().length;
      expect(await session([pipelined])).toEqual(expected);
      expect(messages()[before].toString()).toBe('Subject: piped\r\n\r\n.dot\r\nline.\r\n');
    });

    it('serves pipelined commands split across reads, inside every terminator', async () => {
      const before = messages().length;
      // Cut after every "\r" and every "." (inside each "\r\n" and ".\r\n"), then at random places.
      const cuts = [...pipelined].flatMap((ch, i) => (ch === '\r' || ch === '.' ? [i + 1] : []));
      expect(await session(cutAt(pipelined, cuts))).toEqual(expected);
      const random = prng(6);
      const randomCuts: number[] = [];
      for (let at = 1; at < pipelined.length; at += 1 + Math.floor(random() * 12)) randomCuts.push(at);
      expect(await session(cutAt(pipelined, randomCuts))).toEqual(expected);
      const got = messages();
      expect(got.length).toBe(before + 2);
      for (const m of got.slice(before)) expect(m.toString()).toBe('Subject: piped\r\n\r\n.dot\r\nline.\r\n');
    });

    it('ends an empty message at the "." right after DATA, in one write or byte by byte', async () => {
      const before = messages().length;
      const script = 'HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n.\r\nQUIT\r\n';
      const want = ['220 mx.test asynchat SMTP example', '250 mx.test', '250 OK', '250 OK',
        '354 End data with <CR><LF>.<CR><LF>', '250 OK', '221 Bye'];
      expect(await session([script])).toEqual(want);
      const dataAt = script.indexOf('DATA');
      expect(await session(cutAt(script, [dataAt + 5, dataAt + 6, dataAt + 7, dataAt + 8]))).toEqual(want);
      const got = messages();
      expect(got.length).toBe(before + 2);
      expect(got.slice(before).map(String)).toEqual(['', '']);
    });

    it('is back in command state after a message over the limit', async () => {
      const before = messages().length;
      const big = `${'z'.repeat(100)}\r\n`.repeat(Math.ceil(MAX_SIZE / 100));
      const r = await session(['HELO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n', big, '.\r\nNOOP\r\nQUIT\r\n']);
      expect(r.slice(-4)).toEqual(['354 End data with <CR><LF>.<CR><LF>', '552 Error: Too much mail data', '250 OK', '221 Bye']);
      expect(messages().length).toBe(before);
    });
  });
});
