// examples/syslog: util-linux's logger (RFC 5424 and RFC 3164, over UDP and a Unix datagram
// socket) and Python's socket module (hand-made datagrams, junk, empty and oversized ones), in
// both run modes. Blocking mode writes to a file (--file), attached mode to a callback.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyslogServer } from '../../examples/syslog/server';
import { parseSyslog } from '../../examples/syslog/message';
import { MODES, fdBaseline, hasCommand, python, run, startCli, startInProcess, waitUntil, type Mode, type Running } from './helpers';

const MAX_SIZE = 2048;
const haveLogger = hasCommand('logger', ['--version']);
const havePython = hasCommand('python3', ['-c', 'import socket']);

interface Started {
  running: Running;
  lines(): Array<Record<string, unknown>>;
}

async function start(mode: Mode, dir: string): Promise<Started> {
  const unix = path.join(dir, 'log.sock');
  if (mode === 'blocking') {
    const file = path.join(dir, 'messages.jsonl');
    const running = await startCli('syslog', [
      '--mode', 'blocking', '--format', 'json', '--file', file, '--unix', unix, '--max-size', String(MAX_SIZE),
    ]);
    const lines = (): Array<Record<string, unknown>> => (existsSync(file) ? readFileSync(file, 'utf8') : '')
      .split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    return { running, lines };
  }
  const got: string[] = [];
  const running = startInProcess((map) => new SyslogServer({
    map, format: 'json', unixPath: unix, maxSize: MAX_SIZE, write: (line) => got.push(line),
  }));
  return { running, lines: () => got.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('parseSyslog', () => {
  it('reads RFC 5424 with structured data whose values hold brackets, and a BOM', () => {
    const m = parseSyslog(Buffer.from('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ' +
      '[exampleSDID@32473 iut="3" eventID="a\\]b"][x@1 k="v"] \ufeffAn application event'));
    expect(m).toEqual({
      format: 'rfc5424', facility: 'local4', severity: 'notice', timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com', appName: 'evntslog', procId: null, msgId: 'ID47',
      structuredData: '[exampleSDID@32473 iut="3" eventID="a\\]b"][x@1 k="v"]', message: 'An application event',
    });
  });

  it('reads RFC 3164 with and without HOST, and keeps a message without PRI whole as user.notice', () => {
    expect(parseSyslog(Buffer.from('<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed'))).toMatchObject({
      format: 'rfc3164', facility: 'auth', severity: 'crit', timestamp: 'Oct 11 22:14:15', hostname: 'mymachine',
      appName: 'su', procId: '230', message: '\'su root\' failed',
    });
    expect(parseSyslog(Buffer.from('<13>Dec  1 20:34:03 ux: unix msg'))).toMatchObject({
      hostname: null, appName: 'ux', procId: null, message: 'unix msg',
    });
    expect(parseSyslog(Buffer.from('<999>no'))).toMatchObject({ facility: 'user', severity: 'notice', message: '<999>no' });
  });
});

describe.each(MODES)('syslog example, %s mode', (mode) => {
  let server: Started;
  let dir: string;
  let settle: () => Promise<void>;

  beforeAll(async () => {
    settle = fdBaseline();
    dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-syslog-'));
    server = await start(mode, dir);
  });

  afterAll(async () => {
    await server?.running.stop();
    rmSync(dir, { recursive: true, force: true });
    await settle();
  });

  async function waitForMessage(text: string): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitUntil(() => {
      found = server.lines().find((l) => l.message === text);
      return found !== undefined;
    }, () => `a line with message ${JSON.stringify(text)}; have ${JSON.stringify(server.lines().slice(-5))}\n${server.running.output()}`);
    return found!;
  }

  it.skipIf(!haveLogger)('logger --rfc5424 over UDP', async () => {
    const r = await run('logger', ['-n', '127.0.0.1', '-P', String(server.running.port), '-d', '--rfc5424', '-t', 'myapp',
      '-p', 'local3.warning', '--msgid', 'ID47', '--sd-id', 'test@32473', '--sd-param', 'k="v"', `hello 5424 ${mode}`]);
    expect(r.code, r.stderr).toBe(0);
    const line = await waitForMessage(`hello 5424 ${mode}`);
    expect(line).toMatchObject({ format: 'rfc5424', facility: 'local3', severity: 'warning', appName: 'myapp', msgId: 'ID47', truncated: false });
    expect(line.structuredData).toContain('[test@32473 k="v"]');
    expect(line.from).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it.skipIf(!haveLogger)('logger --rfc3164 over UDP, and logger -u over the Unix datagram socket', async () => {
    let r = await run('logger', ['-n', '127.0.0.1', '-P', String(server.running.port), '-d', '--rfc3164', '-t', 'bsdapp', '-i',
      '-p', 'mail.err', `hello 3164 ${mode}`]);
    expect(r.code, r.stderr).toBe(0);
    const bsd = await waitForMessage(`hello 3164 ${mode}`);
    expect(bsd).toMatchObject({ format: 'rfc3164', facility: 'mail', severity: 'err', appName: 'bsdapp' });
    expect(bsd.procId).toMatch(/^\d+$/);
    r = await run('logger', ['-u', path.join(dir, 'log.sock'), '-d', '-t', 'local', `over unix ${mode}`]);
    expect(r.code, r.stderr).toBe(0);
    const local = await waitForMessage(`over unix ${mode}`);
    expect(local).toMatchObject({ format: 'rfc3164', appName: 'local', hostname: null, from: null });
  });

  it.skipIf(!havePython)('Python datagrams: junk, an empty one, an oversized one (cut, and said so), a burst', async () => {
    await python(`
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
to = ('127.0.0.1', port)
s.sendto(b'', to)
s.sendto(b'junk\\nforged\\x1b[31m ' + sys.argv[2].encode(), to)
s.sendto(b'<14>1 - - - - - - big ' + sys.argv[2].encode() + b' ' + b'x' * 9000, to)
for i in range(200):
    s.sendto(('<15>1 - h a - - - burst %d %s' % (i, sys.argv[2])).encode(), to)
`, [server.running.port, mode]);
    const junk = await waitForMessage(`junk\nforged\x1b[31m ${mode}`);
    expect(junk).toMatchObject({ facility: 'user', severity: 'notice', truncated: false });
    const big = server.lines().find((l) => String(l.message).startsWith(`big ${mode}`));
    expect(big?.truncated).toBe(true);
    expect(String(big?.message).length).toBe(MAX_SIZE - '<14>1 - - - - - - '.length);
    await waitUntil(() => server.lines().filter((l) => String(l.message).endsWith(` ${mode}`) &&
      String(l.message).startsWith('burst')).length === 200, 'all 200 of the burst');
  });
});

describe('syslog example, command line', () => {
  const runs = MODES.flatMap((mode) => (['SIGINT', 'SIGTERM'] as const).map((signal) => ({ mode, signal })));
  it.each(runs)('serves in $mode mode, and exits cleanly on $signal, removing its Unix socket', async ({ mode, signal }) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'asynchat-syslog-cli-'));
    const unix = path.join(dir, 'log.sock');
    const server = await startCli('syslog', ['--unix', unix, '--mode', mode]);
    try {
      expect(server.output()).toMatch(new RegExp(`^syslog: listening on 127\\.0\\.0\\.1:\\d+ \\(${mode} mode\\)\n`));
      const { Socket, AF_UNIX, SOCK_DGRAM } = await import('../../src');
      const s = new Socket(AF_UNIX, SOCK_DGRAM);
      try {
        s.sendto('<11>1 2026-01-01T00:00:00Z h app - - - from the cli test', unix);
      } finally {
        s.close();
      }
      await waitUntil(() => server.output().includes('h user.err app: from the cli test'), () => server.output());
      server.child.kill(signal);
      const code = await new Promise((resolve) => {
        if (server.child.exitCode !== null) resolve(server.child.exitCode);
        else server.child.once('exit', (c) => resolve(c));
      });
      expect(code, server.output()).toBe(0);
      expect(existsSync(unix)).toBe(false);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('syslog example, text format', () => {
  it('escapes control characters, so that a sender cannot forge a line', async () => {
    const got: string[] = [];
    const running = startInProcess((map) => new SyslogServer({ map, write: (line) => got.push(line) }));
    try {
      const { Socket, AF_INET, SOCK_DGRAM } = await import('../../src');
      const s = new Socket(AF_INET, SOCK_DGRAM);
      try {
        s.sendto('<13>1 2026-01-01T00:00:00Z host app 42 - - one\nfake line\r', ['127.0.0.1', running.port]);
      } finally {
        s.close();
      }
      await waitUntil(() => got.length === 1, 'one line');
      expect(got[0]).toBe('2026-01-01T00:00:00Z host user.notice app[42]: one\\x0afake line\\x0d');
    } finally {
      await running.stop();
    }
  });
});
