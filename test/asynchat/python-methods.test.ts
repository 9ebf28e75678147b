// Python's recv() and send() honoured: async_chat reads through self.recv() and writes through
// self.send(), and programs override them to count, throttle, log or transform bytes. A
// subclass that overrides either sees every byte, its records are built from what its recv()
// returns, and partial sends resume, in both run modes and over TLS; checked against Python
// 3.11's asynchat on the same bytes.
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import type { TlsContext } from '../../src/tls/context';
import { Listener, MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';
import { canTls, hasPython, tlsContexts } from '../helpers/tls';
import { startPython } from '../helpers/python-server';

// Lines of every length from 0 to 100, lowercase: 5,150 bytes with their terminators.
const LINES = Array.from({ length: 101 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'.repeat(4).slice(0, i));
const PAYLOAD = Buffer.from(LINES.map((l) => `${l}\n`).join(''));
const ECHO = Buffer.from(PAYLOAD.toString().toUpperCase());

/** Counts what its recv() returns and upper-cases it; sends at most 7 bytes per send() call. */
class Throttled extends AsyncChat {
  override ignoreLogTypes = QUIET;
  received = 0;
  sendCalls = 0;
  largestOffer = 0;
  readonly records: string[] = [];

  constructor(sock: Socket, map: SocketMap, private readonly d: Driver, tls?: TlsContext) {
    super(sock, map);
    this.setTerminator('\n');
    if (tls !== undefined) this.startTls(tls, { serverSide: true });
  }

  override recv(bufferSize: number): Buffer {
    const data = super.recv(bufferSize);
    this.received += data.length;
    return Buffer.from(data.toString('latin1').toUpperCase(), 'latin1');
  }

  override send(data: Uint8Array | string): number {
    this.sendCalls++;
    this.largestOffer = Math.max(this.largestOffer, data.length);
    return super.send(Buffer.from(data).subarray(0, 7));
  }

  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    const record = this.getData();
    this.records.push(record.toString());
    this.push(Buffer.concat([record, Buffer.from('\n')]));
    this.d.poke();
  }
}

/** Sends PAYLOAD once connected and collects everything that comes back; closes once it has `expected` bytes. */
class Client extends AsyncChat {
  override ignoreLogTypes = QUIET;
  readonly got: Buffer[] = [];
  bytes = 0;

  constructor(map: SocketMap, port: number, private readonly d: Driver, private readonly expected: number, tls?: TlsContext) {
    super(undefined, map);
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
    this.setTerminator(null);
    if (tls !== undefined) this.startTls(tls, { serverHostname: 'localhost' });
    this.push(PAYLOAD);
  }

  override collectIncomingData(data: Buffer): void {
    this.got.push(Buffer.from(data));
    this.bytes += data.length;
    if (this.bytes >= this.expected) this.close();
    this.d.poke();
  }

  override foundTerminator(): void {
    // never: no terminator
  }

  override handleClose(): void {
    this.close();
    this.d.poke();
  }
}

describe.each(MODES)('recv()/send() overrides (%s)', (mode) => {
  const contexts = tlsContexts();

  for (const overTls of [false, true]) {
    it.skipIf(overTls && !canTls)(`see every byte, build the records from what recv() returns, resume partial sends${overTls ? ' (TLS)' : ''}`, async () => {
      await withMap(mode, async (d) => {
        let server: Throttled | null = null;
        const listener = new Listener(d.map, (sock) => {
          server = new Throttled(sock, d.map, d, overTls ? contexts.server() : undefined);
        });
        const client = new Client(d.map, listener.port, d, ECHO.length, overTls ? contexts.client() : undefined);
        await d.until(() => client.closed, 'the whole echo', 10_000);
        const s = server!;
        expect(s.received).toBe(PAYLOAD.length);
        expect(s.records).toEqual(LINES.map((l) => l.toUpperCase()));
        expect(Buffer.concat(client.got).equals(ECHO)).toBe(true);
        // Each send() took 7 bytes at most: at least that many calls, each offered one slice
        // of at most acOutBufferSize, as Python's initiate_send offers.
        expect(s.sendCalls).toBeGreaterThanOrEqual(Math.ceil(ECHO.length / 7));
        expect(s.largestOffer).toBeLessThanOrEqual(s.acOutBufferSize);
        expect(s.largestOffer).toBeGreaterThan(7);
      });
    });
  }

  it('a recv or send assigned to a live channel is used from then on', async () => {
    await withMap(mode, async (d) => {
      const seen: number[] = [];
      let server: Throttled | null = null;
      const listener = new Listener(d.map, (sock) => {
        const s = server = new Throttled(sock, d.map, d);
        // Python code instruments an instance: `chan.recv = counting(chan.recv)`.
        const recv = s.recv.bind(s);
        s.recv = (n: number): Buffer => {
          const data = recv(n);
          seen.push(data.length);
          return data;
        };
      });
      const client = new Client(d.map, listener.port, d, ECHO.length);
      await d.until(() => client.closed, 'the whole echo', 10_000);
      expect(seen.reduce((a, b) => a + b, 0)).toBe(PAYLOAD.length);
      expect(server!.records.length).toBe(LINES.length);
    });
  });

  it('a recv() that returns more than it was asked for: every byte it returns becomes records', async () => {
    class Doubling extends Throttled {
      override recv(bufferSize: number): Buffer {
        const data = super.recv(Math.min(bufferSize, 64));
        // each byte twice, the newlines once: twice as many bytes as were asked for
        return Buffer.from(data.toString('latin1').replace(/[^\n]/g, '$&$&'), 'latin1');
      }
    }
    await withMap(mode, async (d) => {
      let server: Doubling | null = null;
      const listener = new Listener(d.map, (sock) => {
        server = new Doubling(sock, d.map, d);
        server.acInBufferSize = 16;
      });
      const doubled = Buffer.from(ECHO.toString().replace(/[^\n]/g, '$&$&'));
      const client = new Client(d.map, listener.port, d, doubled.length);
      await d.until(() => client.closed, 'the whole doubled echo', 10_000);
      expect(Buffer.concat(client.got).equals(doubled)).toBe(true);
      expect(server!.records.length).toBe(LINES.length);
    });
  });

  it.skipIf(!hasPython)('does what Python 3.11\'s asynchat does with the same overrides and the same bytes', async () => {
    const py = await startPython(`
import asynchat, asyncore, json, socket, sys
class Throttled(asynchat.async_chat):
    def __init__(self, sock):
        super().__init__(sock)
        self.set_terminator(b'\\n')
        self.received = 0
        self.records = []
        self.buf = []
    def recv(self, n):
        data = super().recv(n)
        self.received += len(data)
        return data.upper()
    def send(self, data):
        return super().send(data[:7])
    def collect_incoming_data(self, data):
        self.buf.append(data)
    def found_terminator(self):
        record = b''.join(self.buf)
        self.buf = []
        self.records.append(record.decode())
        self.push(record + b'\\n')
    def handle_close(self):
        print(json.dumps({'received': self.received, 'records': self.records}), flush=True)
        self.close()
        raise asyncore.ExitNow()
class Server(asyncore.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(('127.0.0.1', 0))
        self.listen(1)
        print(self.socket.getsockname()[1], flush=True)
    def handle_accepted(self, sock, addr):
        Throttled(sock)
Server()
try:
    asyncore.loop(0.05)
except asyncore.ExitNow:
    pass
`);
    try {
      await withMap(mode, async (d) => {
        const client = new Client(d.map, py.port, d, ECHO.length);
        await d.until(() => client.closed, 'the whole echo from Python', 10_000);
        expect(Buffer.concat(client.got).equals(ECHO)).toBe(true);
      });
      const report = JSON.parse(await py.lastLine()) as { received: number; records: string[] };
      // The same bytes seen, the same records built, as the library's own Throttled server above.
      expect(report.received).toBe(PAYLOAD.length);
      expect(report.records).toEqual(LINES.map((l) => l.toUpperCase()));
    } finally {
      py.stop();
    }
  });
});
