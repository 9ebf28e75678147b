// The TLS transport's state machine fed bytes, without sockets: both ends are native TLS
// connections whose ciphertext goes through memory. Each state (TLS_STATES) meets each event:
// read and write events, plaintext in and out, the peer's data split at every byte, its
// close_notify, junk, its end of stream and a reset; and close() with the socket's buffer full.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTlsContext, type TlsContext } from '../../src/tls/context';
import { TLS_STATES } from '../../src/tls/tls-transport';
import { READ_INTEREST, WRITE_INTEREST } from '../../src/engine/interest-bits';
import { WROTE_ALL, WROTE_FULL } from '../../src/engine/output-queue';
import { canTls, makePki, type Pki } from '../helpers/tls';
import {
  ECONNRESET, FakeSocket, exchange, handshake, memoryEnd, readAll, testLingering, type MemoryEnd,
} from '../helpers/tls-memory';

const JUNK = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

describe.skipIf(!canTls)('the TLS transport fed bytes', () => {
  let pki: Pki;
  let serverCtx: TlsContext;
  let clientCtx: TlsContext;
  beforeAll(() => {
    pki = makePki();
    serverCtx = createTlsContext({ cert: pki.serverCert, key: pki.serverKey });
    clientCtx = createTlsContext({ ca: pki.caCert });
  });
  afterAll(() => pki?.cleanup());

  const ends: MemoryEnd[] = [];
  function end(server: boolean, cleartext?: string): MemoryEnd {
    const e = memoryEnd(server ? serverCtx : clientCtx, server, cleartext);
    ends.push(e);
    return e;
  }
  /** Frees every connection a test made (the suite checks that no SSL object outlives a file). */
  function release(): void {
    for (const e of ends.splice(0)) e.tls.close(new FakeSocket(), null);
  }

  /** A client and a server with the handshake done and nothing in flight. */
  function open(): [MemoryEnd, MemoryEnd] {
    const c = end(false);
    const s = end(true);
    handshake(c, s);
    // The server's session tickets reach the client's first read.
    readAll(c);
    exchange(c, s);
    return [c, s];
  }

  /** The server in `state`, its peer the client. */
  function inState(state: typeof TLS_STATES[number]): [MemoryEnd, MemoryEnd] {
    switch (state) {
      case 'flushing':
        return [end(false), end(true, '220 Ready to start TLS\r\n')];
      case 'handshake': {
        const c = end(false);
        const s = end(true);
        c.tls.claimsWriteEvent();  // the ClientHello is in flight
        exchange(c, s);
        return [c, s];
      }
      case 'open':
        return open();
      case 'closing': {
        const [c, s] = open();
        s.tls.stop();
        return [c, s];
      }
      case 'done': {
        const [c, s] = open();
        s.tls.stop();
        exchange(c, s);
        c.tls.stop();  // the client answers with its own close_notify
        exchange(c, s);
        s.tls.claimsReadEvent();
        return [c, s];
      }
    }
  }

  it('names its states in one place, in the order a connection goes through them', () => {
    expect(TLS_STATES).toEqual(['flushing', 'handshake', 'open', 'closing', 'done']);
    for (const state of TLS_STATES) {
      const [, s] = inState(state);
      expect(s.tls.state).toBe(state);
    }
    release();
  });

  describe('flushing: cleartext queued before startTls goes first', () => {
    it('read events wait, writes go to the socket in cleartext, and the handshake starts once the queue is empty', () => {
      const [, s] = inState('flushing');
      expect(s.tls.claimsReadEvent()).toBe(true);
      expect(s.tls.claimsWriteEvent()).toBe(false);
      expect(s.tls.holdsOutput).toBe(false);
      expect(s.tls.interest(READ_INTEREST)).toBe(WRITE_INTEREST);
      const out = s.owner.out!;
      expect(out.writeTo(s.tls, 1 << 20, 64)).toBe(WROTE_ALL);
      expect(Buffer.concat(s.plain.written).toString()).toBe('220 Ready to start TLS\r\n');
      expect(s.conn.takeCipher().length).toBe(0);  // nothing of it was encrypted
      expect(s.tls.afterWrite(WROTE_ALL, out)).toBe(WROTE_ALL);
      expect(s.tls.state).toBe('handshake');
      release();
    });

    it('close(): the connection is freed and the socket closed, nothing lingers', () => {
      const [, s] = inState('flushing');
      const sock = new FakeSocket();
      const { lingering } = testLingering();
      s.tls.close(sock, lingering);
      expect(sock.closes).toBe(1);
      expect(lingering.size).toBe(0);
      expect(s.tls.state).toBe('done');
      release();
    });
  });

  describe('handshake', () => {
    it('is stepped by read and write events; output waits; it completes with the records split at every byte', () => {
      const c = end(false);
      const s = end(true);
      expect(s.tls.holdsOutput).toBe(true);
      expect(s.tls.writev(Buffer.from('early'), 0)).toBe(-1);
      expect(s.tls.read(Buffer.alloc(16), 0, 16)).toBe(-1);
      // Nothing has arrived: the server waits to read.
      expect(s.tls.claimsReadEvent()).toBe(true);
      expect(s.tls.interest(READ_INTEREST | WRITE_INTEREST) & READ_INTEREST).toBe(READ_INTEREST);
      for (let round = 0; round < 20 && !(c.tls.handshakeDone && s.tls.handshakeDone); round++) {
        if (c.tls.state === 'handshake') {
          c.tls.claimsWriteEvent();
          c.tls.claimsReadEvent();
        }
        // The client's flight reaches the server one byte at a time, a read event per byte.
        const flight = c.conn.takeCipher();
        for (let i = 0; i < flight.length; i++) {
          s.conn.feedCipher(flight.subarray(i, i + 1));
          s.tls.claimsReadEvent();
        }
        if (s.tls.state === 'handshake') s.tls.claimsWriteEvent();
        c.conn.feedCipher(s.conn.takeCipher());
      }
      expect(c.tls.handshakeDone && s.tls.handshakeDone).toBe(true);
      expect(c.owner.handshakes).toBe(1);
      expect(s.owner.handshakes).toBe(1);
      expect(s.tls.tlsInfo()?.protocol).toMatch(/^TLSv1\.[23]$/);
      release();
    });

    it('close(): no close_notify before the handshake is done; nothing lingers', () => {
      const [, s] = inState('handshake');
      const sock = new FakeSocket();
      const { lingering } = testLingering();
      s.tls.close(sock, lingering);
      expect(sock.closes).toBe(1);
      expect(lingering.size).toBe(0);
      release();
    });
  });

  describe('open', () => {
    it('read events and write events are the channel\'s; plaintext goes both ways, split at every byte', () => {
      const [c, s] = open();
      expect(s.tls.claimsReadEvent()).toBe(false);
      expect(s.tls.claimsWriteEvent()).toBe(false);
      expect(s.tls.holdsOutput).toBe(false);
      const message = Buffer.from('x'.repeat(3000) + 'the end');
      expect(c.tls.writev([message.subarray(0, 1000), message.subarray(1000)], 0)).toBe(message.length);
      const cipher = c.conn.takeCipher();
      const got: Buffer[] = [];
      const buf = Buffer.alloc(4096);
      for (let i = 0; i < cipher.length; i++) {
        s.conn.feedCipher(cipher.subarray(i, i + 1));
        const n = s.tls.read(buf, 0, buf.length);
        if (n > 0) got.push(Buffer.from(buf.subarray(0, n)));
        else expect(n).toBe(-1);  // a partial record: nothing yet
      }
      expect(Buffer.concat(got).equals(message)).toBe(true);
      release();
    });

    it('plaintext left inside OpenSSL asks for a read without the fd', () => {
      const [c, s] = open();
      c.tls.writev(Buffer.alloc(40_000, 'p'), 0);
      exchange(c, s);
      const before = s.owner.readAgains;
      expect(s.tls.read(Buffer.alloc(100), 0, 100)).toBe(100);
      expect(s.owner.readAgains).toBeGreaterThan(before);
      expect(readAll(s)[0].length).toBe(40_000 - 100);
      release();
    });

    it('ciphertext the socket did not take goes out at the next write event, before anything else', () => {
      const [c, s] = open();
      s.conn.setCipherCapacity(100);
      expect(s.tls.writev(Buffer.alloc(5000, 'w'), 0)).toBe(5000);  // all encrypted, 100 bytes sent
      expect(s.status[1]).toBeGreaterThan(0);
      expect(s.tls.interest(READ_INTEREST) & WRITE_INTEREST).toBe(WRITE_INTEREST);
      // more plaintext waits while ciphertext does
      expect(s.tls.writev(Buffer.from('later'), 0)).toBe(-1);
      expect(s.tls.afterWrite(WROTE_ALL, s.owner.out!)).toBe(WROTE_FULL);
      expect(s.tls.claimsWriteEvent()).toBe(true);  // still full
      s.conn.setCipherCapacity(-1);
      exchange(c, s);
      expect(s.tls.claimsWriteEvent()).toBe(false);  // flushed: the channel writes again
      expect(s.status[1]).toBe(0);
      exchange(c, s);
      expect(readAll(c)[0].length).toBe(5000);
      release();
    });

    it("the peer's close_notify reads as the end of the stream (0)", () => {
      const [c, s] = open();
      c.tls.writev(Buffer.from('last words'), 0);
      c.tls.close(new FakeSocket(), null);  // close_notify after the data
      s.conn.feedCipher(c.conn.takeCipher());
      const [data, last] = readAll(s);
      expect(data.toString()).toBe('last words');
      expect(last).toBe(0);
      release();
    });

    it('close() sends close_notify; with the socket full it lingers until the alert is out, never dropping it', () => {
      const [c, s] = open();
      s.conn.setCipherCapacity(0);
      s.tls.writev(Buffer.alloc(20_000, 'z'), 0);
      const sock = new FakeSocket(77);
      const { lingering, told } = testLingering();
      s.tls.close(sock, lingering);
      expect(sock.closes).toBe(0);
      expect(lingering.size).toBe(1);
      expect(told.get(77)).toBe(WRITE_INTEREST);
      expect(s.tls.state).toBe('done');
      // The socket takes a little at each write event: the close goes on until it is all out.
      for (let i = 0; i < 1000 && lingering.size > 0; i++) {
        s.conn.setCipherCapacity(1000);
        c.conn.feedCipher(s.conn.takeCipher());
        lingering.event(77, WRITE_INTEREST);
      }
      expect(lingering.size).toBe(0);
      expect(sock.closes).toBe(1);
      expect(told.has(77)).toBe(false);
      c.conn.feedCipher(s.conn.takeCipher());
      const [data, last] = readAll(c);
      expect(data.length).toBe(20_000);
      expect(last).toBe(0);  // the close_notify arrived after every byte
      release();
    });

    it('close() to a peer that is gone frees at once', () => {
      const [, s] = open();
      s.conn.failCipher(ECONNRESET);
      const sock = new FakeSocket();
      const { lingering } = testLingering();
      s.tls.close(sock, lingering);
      expect(sock.closes).toBe(1);
      expect(lingering.size).toBe(0);
      release();
    });
  });

  describe('closing: stopTls() sent close_notify and waits for the peer\'s', () => {
    it('output waits; plaintext the peer sends before its close_notify is the channel\'s; then the unwrap completes', () => {
      const [c, s] = inState('closing');
      expect(s.tls.holdsOutput).toBe(true);
      expect(s.tls.writev(Buffer.from('x'), 0)).toBe(-1);
      exchange(c, s);  // our close_notify reaches the client
      c.tls.writev(Buffer.from('before'), 0);
      exchange(c, s);
      expect(s.tls.claimsReadEvent()).toBe(false);  // plaintext waits for the channel's read
      expect(readAll(s)[0].toString()).toBe('before');
      c.tls.stop();  // the client's close_notify, then cleartext
      s.conn.feedCipher(Buffer.concat([c.conn.takeCipher(), Buffer.from('QUIT\r\n')]));
      s.tls.claimsReadEvent();
      // Only records are read during the unwrap: the cleartext after the peer's close_notify
      // stays in the socket, for the channel's cleartext reads.
      expect(s.owner.unwrappedWith).toBe(null);
      expect(s.tls.state).toBe('done');
      release();
    });

    it('cleartext that an earlier read took past the peer\'s close_notify is handed over at the unwrap', () => {
      const [c, s] = open();
      c.tls.writev(Buffer.from('data'), 0);
      c.tls.stop();  // the client unwraps first: data, close_notify, then cleartext
      s.conn.feedCipher(Buffer.concat([c.conn.takeCipher(), Buffer.from('QUIT\r\n')]));
      const [data, last] = readAll(s);
      expect(data.toString()).toBe('data');
      expect(last).toBe(0);
      s.tls.stop();
      expect(s.owner.unwrappedWith?.toString()).toBe('QUIT\r\n');
      release();
    });

    it('close() with our close_notify still waiting for the socket lingers for it', () => {
      const [c, s] = open();
      s.conn.setCipherCapacity(0);
      s.tls.stop();
      expect(s.status[1]).toBeGreaterThan(0);
      const sock = new FakeSocket(78);
      const { lingering } = testLingering();
      s.tls.close(sock, lingering);
      expect(lingering.size).toBe(1);
      s.conn.setCipherCapacity(-1);
      lingering.event(78, WRITE_INTEREST);
      expect(sock.closes).toBe(1);
      c.conn.feedCipher(s.conn.takeCipher());
      expect(readAll(c)[1]).toBe(0);
      release();
    });
  });

  // A peer that vanishes (its end of stream, without close_notify), resets, or sends junk, in
  // each state that reads from it: the step that meets it throws a coded error, which the
  // channel's dispatch turns into its close (a disconnect) or handleError (the default closes).
  // (In 'flushing' and 'done' the transport reads nothing: the socket's own end of stream and
  // errors reach the channel as they do without TLS.)
  const VANISHINGS = {
    eof: (e: MemoryEnd) => e.conn.endCipher(),
    reset: (e: MemoryEnd) => e.conn.failCipher(ECONNRESET),
    junk: (e: MemoryEnd) => e.conn.feedCipher(JUNK),
  };
  const EXPECTED = {
    handshake: { eof: { code: 'ERR_ASYNCHAT_TLS_HANDSHAKE', reason: 'unexpected eof while reading' }, reset: { code: 'ECONNRESET' }, junk: { code: 'ERR_ASYNCHAT_TLS_HANDSHAKE' } },
    open: { eof: { code: 'ERR_ASYNCHAT_TLS_EOF', reason: 'unexpected eof while reading' }, reset: { code: 'ECONNRESET' }, junk: { code: 'ERR_ASYNCHAT_TLS_PROTOCOL' } },
    closing: { eof: { code: 'ERR_ASYNCHAT_TLS_EOF', reason: 'unexpected eof while reading' }, reset: { code: 'ECONNRESET' }, junk: { code: expect.stringMatching(/^ERR_ASYNCHAT_TLS_/) } },
  } as const;
  for (const [state, byPeer] of Object.entries(EXPECTED) as [keyof typeof EXPECTED, typeof EXPECTED[keyof typeof EXPECTED]][]) {
    for (const peer of ['eof', 'reset', 'junk'] as const) {
      it(`${state}: a peer that ${peer === 'eof' ? 'closes without close_notify' : peer === 'reset' ? 'resets' : 'sends junk'} is a coded error`, () => {
        const fresh = state === 'handshake' ? [end(false), end(true)] as const : inState(state);
        const s = fresh[1];
        VANISHINGS[peer](s);
        const buf = Buffer.alloc(64);
        // The read that meets it: a read event steps the handshake and the unwrap; an open
        // connection's reads are the channel's. (A ClientHello fed before is answered first.)
        const step = (): void => {
          for (let i = 0; i < 5; i++) {
            if (state === 'open') s.tls.read(buf, 0, buf.length);
            else s.tls.claimsReadEvent();
          }
        };
        expect(step).toThrow(expect.objectContaining(byPeer[peer]));
        release();
      });
    }
  }

  describe('done', () => {
    it('asks for nothing, reads nothing, and close() only closes the socket', () => {
      const [, s] = inState('done');
      expect(s.owner.unwrappedWith).toBe(null);
      expect(s.tls.interest(READ_INTEREST | WRITE_INTEREST)).toBe(0);
      expect(s.tls.read(Buffer.alloc(8), 0, 8)).toBe(-1);
      expect(s.tls.claimsReadEvent()).toBe(true);
      const sock = new FakeSocket();
      s.tls.close(sock, null);
      expect(sock.closes).toBe(1);
      release();
    });
  });
});
