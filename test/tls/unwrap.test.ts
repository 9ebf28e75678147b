// stopTls() loses nothing (Python's unwrap()): plaintext the peer sends after our close_notify
// and before its own reaches the channel as TLS data, and cleartext that follows the peer's
// close_notify (in the same segment, so in the same read) reaches it as cleartext.
//
// The peer is Python's ssl over memory BIOs (SSLObject), so that it decides exactly which
// bytes go out in which segment: the late records, its close_notify and the cleartext after
// it leave in one send().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SocketMap } from '../../src/engine/map-state';
import type { Socket } from '../../src/binding/socket';
import { native } from '../../src/binding/native';
import { createTlsContext, type TlsContext } from '../../src/tls/context';
import { LineChat, Listener, MODES, withMap, type Driver } from '../helpers/asynchat';
import { canTls, hasPython, makePki, runClient, type ChildResult, type Pki } from '../helpers/tls';

let pki: Pki;
beforeAll(() => {
  if (canTls) pki = makePki();
});
afterAll(() => pki?.cleanup());

// argv: port, CA file, scenario.
//   late:  on our close_notify, it sends two more lines under TLS, then its close_notify, then
//          a cleartext line: all in one segment.
//   first: it sends a line, its close_notify and a cleartext line in one segment before ours
//          comes (a peer that does not wait: the channel reads all three in one read), then
//          waits for ours.
const PEER = `
import socket, ssl, sys
port, ca, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = socket.create_connection(('127.0.0.1', port))
raw.settimeout(10)
clear = b''
def clear_line():
    global clear
    while b'\\n' not in clear:
        d = raw.recv(4096)
        if not d:
            sys.exit('EOF in cleartext')
        clear += d
    line, _, clear = clear.partition(b'\\n')
    return line.decode()
raw.sendall(b'STARTTLS\\n')
assert clear_line() == 'OK'
assert clear == b''
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ssl.create_default_context(cafile=ca).wrap_bio(incoming, outgoing, server_hostname='localhost')
def pump():
    d = raw.recv(65536)
    if not d:
        sys.exit('EOF under TLS')
    incoming.write(d)
def flush():
    d = outgoing.read()
    if d:
        raw.sendall(d)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        pump()
flush()
def read_until_close_notify():
    got = b''
    while True:
        try:
            d = tls.read(65536)
        except ssl.SSLZeroReturnError:
            return got
        except ssl.SSLWantReadError:
            pump()
            continue
        if not d:
            return got
        got += d
tls.write(b'bye\\n')
if scenario == 'late':
    flush()
    got = read_until_close_notify()
    tls.write(b'late1\\nlate2\\n')
    tls.unwrap()  # the server's close_notify is in: this one completes it
    raw.sendall(outgoing.read() + b'plain\\n')
else:
    try:
        tls.unwrap()
    except ssl.SSLWantReadError:
        pass  # ours is out; the server's is awaited
    raw.sendall(outgoing.read() + b'plain\\n')
    got = read_until_close_notify()
    tls.unwrap()
clear = incoming.read()  # what followed the server's close_notify in the same read: cleartext
print(got.decode().strip())
print(clear_line())
`;

class Channel extends LineChat {
  lines: string[] = [];
  phase: 'clear' | 'tls' = 'clear';
  stopped = false;
  constructor(sock: Socket, map: SocketMap, private readonly ctx: TlsContext, private readonly d: Driver) {
    super(sock, map);
  }
  override line(text: string): void {
    this.lines.push(`${this.phase}:${text}`);
    if (text === 'STARTTLS') {
      this.push('OK\n');
      this.startTls(this.ctx, { serverSide: true });
      this.phase = 'tls';
    } else if (text === 'bye') {
      this.push('closing\n');
      this.stopTls();
    } else if (this.phase === 'clear') {
      this.push(`echo:${text}\n`);
    }
  }
  override handleTlsStopped(): void {
    this.stopped = true;
    this.phase = 'clear';
  }
  override handleClose(): void {
    this.close();
    this.d.poke();
  }
}

async function unwrapWith(mode: (typeof MODES)[number], scenario: 'late' | 'first'): Promise<{ result: ChildResult; channel: Channel }> {
  let result: ChildResult | null = null;
  let channel: Channel | null = null;
  await withMap(mode, async (d) => {
    const ctx = createTlsContext({ cert: pki.serverCert, key: pki.serverKey });
    const server: Listener = new Listener(d.map, (sock) => {
      channel = new Channel(sock, d.map, ctx, d);
      server.close();
    });
    void runClient('python3', ['-c', PEER, String(server.port), pki.files.ca, scenario]).then((r) => {
      result = r;
    });
    const deadline = Date.now() + 15000;
    while (result === null || d.map.size > 0) {
      if (Date.now() > deadline) throw new Error(`timed out; the channel has ${JSON.stringify(channel?.lines)}`);
      await d.until(() => result !== null && d.map.size === 0, 'python is done', 50).catch(() => undefined);
      await new Promise((r) => setImmediate(r));
    }
  });
  expect(native.stats().tlsConnections, 'SSL objects left alive').toBe(0);
  return { result: result!, channel: channel! };
}

describe.skipIf(!canTls || !hasPython)('stopTls() loses nothing', () => {
  describe.each(MODES)('%s', (mode) => {
    it('plaintext sent after our close_notify, before the peer\'s, reaches the channel as TLS data; the cleartext after it, as cleartext', async () => {
      const { result, channel } = await unwrapWith(mode, 'late');
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('closing\necho:plain\n');
      expect(channel.lines).toEqual(['clear:STARTTLS', 'tls:bye', 'tls:late1', 'tls:late2', 'clear:plain']);
      expect(channel.stopped).toBe(true);
    });

    it('cleartext read together with the peer\'s close_notify (before ours went out) is delivered as cleartext', async () => {
      const { result, channel } = await unwrapWith(mode, 'first');
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('closing\necho:plain\n');
      expect(channel.lines).toEqual(['clear:STARTTLS', 'tls:bye', 'clear:plain']);
      expect(channel.stopped).toBe(true);
    });
  });
});
