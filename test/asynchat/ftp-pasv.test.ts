// A port of CPython's test_ftplib server (DummyFTPHandler, DummyDTPHandler) as its author wrote
// it: cmd_pasv opens a listener with createServer(), gives it a timeout (Python's settimeout),
// pushes the 227 reply, and blocks in accept() until the client connects to the data port.
// Python's own ftplib client drives it (LIST and RETR over passive connections), in both modes;
// a client that never connects makes accept() raise a TimeoutError (ETIMEDOUT) into handleError.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import { closeAll, loop, loopAsync } from '../../src/asyncore/loop';
import { callLater } from '../../src/asyncore/timers';
import type { SocketMap } from '../../src/engine/map-state';
import { createServer } from '../../src/binding/create-socket';
import { AF_INET, SOL_SOCKET, SO_OOBINLINE, type Socket } from '../../src/binding/socket';
import { MODES, type Mode } from '../helpers/asynchat';

const ENCODING = 'utf-8';
const RETR_DATA = 'abcde\xB9\xB2\xB3\xA4\xA6\r\n'.repeat(1000);
const LIST_DATA = 'foo\r\nbar\r\n non-ascii char \xAE\r\n';

class DummyDTPHandler extends AsyncChat {
  dtpConnClosed = false;

  constructor(conn: Socket, private readonly baseclass: DummyFTPHandler) {
    super(conn, baseclass.map);
    this.baseclass.lastReceivedData = [];
  }

  override handleRead(): void {
    this.baseclass.lastReceivedData.push(this.recv(1024));
  }

  override handleClose(): void {
    if (!this.dtpConnClosed) {
      this.baseclass.push('226 transfer complete');
      this.close();
      this.dtpConnClosed = true;
    }
  }

  override push(what: string | Uint8Array): void {
    super.push(typeof what === 'string' ? Buffer.from(what, ENCODING) : what);
  }

  override handleError(): void {
    // test_ftplib's default_error_handler: ignored
  }
}

class DummyFTPHandler extends AsyncChat {
  lastReceivedData: Buffer[] = [];
  private inBuffer: Buffer[] = [];
  private dtp: DummyDTPHandler | null = null;
  readonly errors: unknown[] = [];

  constructor(conn: Socket, readonly map: SocketMap, private readonly pasvTimeout: number) {
    super(conn, map);
    // tells the socket to handle urgent data inline (ABOR command)
    (this.socket as Socket).setsockopt(SOL_SOCKET, SO_OOBINLINE, 1);
    this.setTerminator('\r\n');
    this.push('220 welcome');
  }

  override collectIncomingData(data: Buffer): void {
    this.inBuffer.push(data);
  }

  override foundTerminator(): void {
    const line = Buffer.concat(this.inBuffer).toString(ENCODING);
    this.inBuffer = [];
    const space = line.indexOf(' ');
    const cmd = (space === -1 ? line : line.slice(0, space)).toLowerCase();
    const arg = space === -1 ? '' : line.slice(space + 1);
    const method = (this as unknown as Record<string, unknown>)[`cmd_${cmd}`];
    if (typeof method === 'function') method.call(this, arg);
    else this.push(`550 command "${cmd}" not understood.`);
  }

  override handleError(err: unknown): void {
    this.errors.push(err);  // test_ftplib ignores them; the timeout test looks at them
  }

  override push(data: string | Uint8Array): void {
    super.push(typeof data === 'string' ? Buffer.from(`${data}\r\n`, ENCODING) : data);
  }

  cmd_pasv(): void {
    const sock = createServer([(this.socket!.getsockname() as [string, number])[0], 0]);
    try {
      sock.setTimeout(this.pasvTimeout);
      const port = (sock.getsockname() as [string, number])[1];
      const ip = '252.253.254.255'.replace(/\./g, ',');  // fake_pasv_server_ip (bpo-43285)
      this.push(`227 entering passive mode (${ip},${Math.trunc(port / 256)},${port % 256})`);
      // As test_ftplib wrote it: the reply is corked until the end of the batch, but a socket
      // call about to block (accept() with a timeout) writes corked output first.
      const [conn] = sock.accept();
      this.dtp = new DummyDTPHandler(conn, this);
    } finally {
      sock.close();
    }
  }

  cmd_user(): void {
    this.push('331 username ok');
  }

  cmd_pass(): void {
    this.push('230 password ok');
  }

  cmd_type(): void {
    this.push('200 type ok');
  }

  cmd_quit(): void {
    this.push('221 quit ok');
    this.closeWhenDone();
  }

  cmd_retr(): void {
    this.push('125 retr ok');
    this.dtp!.push(RETR_DATA);
    this.dtp!.closeWhenDone();
  }

  cmd_list(): void {
    this.push('125 list ok');
    this.dtp!.push(LIST_DATA);
    this.dtp!.closeWhenDone();
  }
}

/** DummyFTPServer for one session: it stops listening once its first client is served. */
class DummyFTPServer extends Dispatcher {
  handler: DummyFTPHandler | null = null;

  constructor(readonly map: SocketMap, private readonly pasvTimeout: number) {
    super(null, map);
    this.createSocket(AF_INET);
    this.bind(['127.0.0.1', 0]);
    this.listen(5);
  }

  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }

  override handleAccepted(conn: Socket): void {
    this.handler = new DummyFTPHandler(conn, this.map, this.pasvTimeout);
    this.close();
  }
}

function python(script: string, port: number): { done: Promise<string> } {
  // Started now (spawn forks at once), read later: in blocking mode loop() holds this process.
  const child = spawn('python3', ['-c', script, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const done = new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`python3 exited ${code}:\n${out}`));
    });
  });
  return { done };
}

/** Serves the map in `mode` until it is empty (bounded: a stuck session is closed after 15 s). */
async function serve(mode: Mode, map: SocketMap): Promise<void> {
  const guard = callLater({ seconds: 15, map }, () => closeAll(map, true));
  const stopped = (): void => {
    guard.cancel();
  };
  if (mode === 'blocking') {
    while (map.size > 0) loop({ map, timeout: 0.05, count: 1 });
    stopped();
    loop({ map, timeout: 0, count: 1 });  // lets the cancelled guard go
  } else {
    const served = loopAsync({ map });
    const check = setInterval(() => {
      if (map.size === 0) stopped();
    }, 10);
    await served.finally(() => clearInterval(check));
  }
}

const CLIENT = `
import ftplib, sys
ftp = ftplib.FTP(timeout=10)
print(ftp.connect('127.0.0.1', int(sys.argv[1])))
print(ftp.login())
lines = []
print(ftp.retrlines('LIST', lines.append))
print(lines)
data = bytearray()
print(ftp.retrbinary('RETR file', data.extend))
print(len(data), bytes(data) == ${JSON.stringify(RETR_DATA)}.encode('utf-8'))
print(ftp.quit())
`;

const SILENT_CLIENT = `
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
f = s.makefile('rb')
print(f.readline().decode().strip())
s.sendall(b'PASV\\r\\n')
print(f.readline().decode().strip())
time.sleep(1.0)  # never connects to the data port
s.sendall(b'QUIT\\r\\n')
print(f.readline().decode().strip())
`;

describe('test_ftplib\'s passive mode, ported: push the 227 reply, then block in accept()', () => {
  for (const mode of MODES) {
    it(`Python's ftplib client lists and retrieves over passive connections (${mode})`, async () => {
      const map: SocketMap = new Map();
      const server = new DummyFTPServer(map, 10);
      const client = python(CLIENT, server.port);
      await serve(mode, map);
      const out = await client.done;
      expect(out.split('\n')).toEqual([
        '220 welcome',
        '230 password ok',
        '226 transfer complete',
        JSON.stringify(['foo', 'bar', ' non-ascii char \xAE']).replace(/"/g, "'").replace(/,/g, ', '),
        '226 transfer complete',
        `${Buffer.byteLength(RETR_DATA, 'utf8')} True`,
        '221 quit ok',
        '',
      ]);
      expect(server.handler!.errors).toEqual([]);
    });

    it(`accept() raises a TimeoutError when the client never connects to the data port (${mode})`, async () => {
      const map: SocketMap = new Map();
      const server = new DummyFTPServer(map, 0.3);
      const client = python(SILENT_CLIENT, server.port);
      const t0 = performance.now();
      await serve(mode, map);
      const out = await client.done;
      expect(out).toMatch(/^220 welcome\n227 entering passive mode \(252,253,254,255,\d+,\d+\)\n221 quit ok\n$/);
      expect(server.handler!.errors).toEqual([expect.objectContaining({
        name: 'TimeoutError', code: 'ETIMEDOUT', syscall: 'accept', timeout: 0.3,
      })]);
      expect(performance.now() - t0).toBeLessThan(10_000);
    });
  }
});
