// maxInputBuffered bounds what the library itself holds (what keepIncomingData keeps until
// getData, and bytes kept back across reads), not bytes already handed to the program: a
// channel that streams a message into its own list, as CPython's smtpd does, takes a message of
// any size, while a line the library is asked to keep is still refused past the limit.
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, type Socket } from '../../src/binding/socket';
import { Listener, MODES, QUIET, withMap, type Driver } from '../helpers/asynchat';

const MiB = 1024 * 1024;
const DATA_BYTES = 64 * MiB;

/**
 * smtpd.SMTPChannel's shape: commands are lines the library keeps (keepIncomingData); after
 * DATA the message goes, piece by piece, into a list of the channel's own until "\r\n.\r\n".
 */
class SmtpdLike extends AsyncChat {
  override ignoreLogTypes = QUIET;
  state: 'command' | 'data' = 'command';
  receivedLines: Buffer[] = [];
  messageBytes = -1;
  readonly errors: unknown[] = [];

  constructor(sock: Socket, map: SocketMap, private readonly d: Driver) {
    super(sock, map);
    this.maxInputBuffered = 1 * MiB;  // far below the message: only what the library keeps counts
    this.setTerminator('\r\n');
    this.push('220 ready\r\n');
  }

  override collectIncomingData(data: Buffer): void {
    if (this.state === 'data') this.receivedLines.push(data);
    else this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    if (this.state === 'data') {
      this.messageBytes = this.receivedLines.reduce((n, b) => n + b.length, 0);
      this.receivedLines = [];
      this.state = 'command';
      this.setTerminator('\r\n');
      this.push('250 OK\r\n');
    } else {
      const line = this.getData().toString();
      if (line === 'DATA') {
        this.state = 'data';
        this.setTerminator('\r\n.\r\n');
        this.push('354 End data with <CR><LF>.<CR><LF>\r\n');
      } else {
        this.push('250 OK\r\n');
      }
    }
    this.d.poke();
  }

  override handleError(err?: unknown): void {
    this.errors.push(err);
    super.handleError(err);
    this.d.poke();
  }
}

/** Sends `total` bytes made by `chunk(offset)`, then reads lines until the peer closes. */
class Sender extends Dispatcher {
  override ignoreLogTypes = QUIET;
  sent = 0;
  replies = '';
  peerClosed = false;

  constructor(map: SocketMap, port: number, private readonly d: Driver, private readonly total: number,
    private readonly chunk: (offset: number) => Buffer) {
    super(null, map);
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
  }

  override handleConnect(): void {}

  override writable(): boolean {
    return !this.connected || this.sent < this.total;
  }

  override handleWrite(): void {
    const c = this.chunk(this.sent);
    this.sent += this.send(c.subarray(0, Math.min(c.length, this.total - this.sent)));
  }

  override handleRead(): void {
    const data = this.recv(65536);
    this.replies += data.toString();
    this.d.poke();
  }

  override handleClose(): void {
    this.peerClosed = true;
    this.close();
    this.d.poke();
  }
}

describe.each(MODES)('maxInputBuffered (%s)', (mode) => {
  it('an smtpd-style channel that streams into its own list takes a 64 MiB message; an endless command line is still refused', async () => {
    await withMap(mode, async (d) => {
      const channels: SmtpdLike[] = [];
      const listener = new Listener(d.map, (sock) => channels.push(new SmtpdLike(sock, d.map, d)));

      const head = Buffer.from('DATA\r\n');
      const tail = Buffer.from('\r\n.\r\n');
      const body = Buffer.alloc(256 * 1024, 'm');
      const total = head.length + DATA_BYTES + tail.length;
      const message = new Sender(d.map, listener.port, d, total, (at) => {
        if (at < head.length) return head.subarray(at);
        if (at < head.length + DATA_BYTES) return body.subarray(0, Math.min(body.length, head.length + DATA_BYTES - at));
        return tail.subarray(at - head.length - DATA_BYTES);
      });
      await d.until(() => message.replies.includes('250 OK'), 'the 64 MiB message accepted', 30_000);
      expect(message.replies).toBe('220 ready\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 OK\r\n');
      expect(channels[0].messageBytes).toBe(DATA_BYTES);
      expect(channels[0].errors).toEqual([]);
      expect(channels[0].closed).toBe(false);

      // A command line with no end: the library keeps it (keepIncomingData), so it is refused
      // just past maxInputBuffered, and the channel closes, without reading the 16 MiB on offer.
      const line = Buffer.alloc(64 * 1024, 'x');
      const endless = new Sender(d.map, listener.port, d, 16 * MiB, () => line);
      await d.until(() => channels.length === 2 && channels[1].closed, 'the endless line refused', 10_000);
      expect(channels[1].errors).toHaveLength(1);
      expect(channels[1].errors[0]).toEqual(expect.objectContaining({ code: 'ERR_ASYNCHAT_INPUT_TOO_LARGE' }));
      expect(endless.sent).toBeLessThan(16 * MiB);
      await d.until(() => endless.peerClosed, 'the endless sender sees the close');
    });
  });

  it('counts what keepIncomingData holds, even when the program empties `incoming` by hand', async () => {
    await withMap(mode, async (d) => {
      const channels: SmtpdLike[] = [];
      const listener = new Listener(d.map, (sock) => {
        const c = new SmtpdLike(sock, d.map, d);
        // Keeps each piece, then lets it go itself (as Python code may: self.incoming = []).
        c.collectIncomingData = (data: Buffer): void => {
          c.keepIncomingData(data);
          if (c.incoming.length > 4) c.incoming = [];
        };
        channels.push(c);
      });
      const line = Buffer.alloc(64 * 1024, 'y');
      const sender = new Sender(d.map, listener.port, d, 8 * MiB, () => line);
      await d.until(() => sender.sent === 8 * MiB, 'all of it taken, none of it refused', 20_000);
      expect(channels[0].errors).toEqual([]);
      expect(channels[0].closed).toBe(false);
    });
  });
});
