// Output that cannot outgrow its limits: once an AsyncChat's queue passes outputHighWater, the
// records still to come from what was already read are held (as unread bytes) until half of it
// is sent, so one read of pipelined requests cannot fill memory with replies; past
// maxOutputBuffered the channel gives up with ERR_ASYNCHAT_OUTPUT_TOO_LARGE. Over loopback TCP,
// in both run modes, against peers that do not read.
import { describe, expect, it } from 'vitest';
import { AsyncChat } from '../../src/asynchat/async-chat';
import { Dispatcher, DispatcherWithSend } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { AF_INET, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, type Socket } from '../../src/binding/socket';
import { Driver, Listener, MODES, QUIET, withMap } from '../helpers/asynchat';

const KiB = 1024;
const REPLY = 16 * KiB;

/** Answers every "GET\n" with REPLY bytes that name the request's number; keeps its queue's peak. */
class Replier extends AsyncChat {
  override ignoreLogTypes = QUIET;
  readonly errors: unknown[] = [];
  records = 0;
  peak = 0;

  constructor(sock: Socket, map: SocketMap, private readonly d: Driver, highWater: number) {
    super(sock, map);
    this.outputHighWater = highWater;
    this.setTerminator('\n');
  }

  override collectIncomingData(): void {}

  override foundTerminator(): void {
    this.push(reply(this.records++));
    this.peak = Math.max(this.peak, this.outputBuffered);
    this.d.poke();
  }

  override handleError(err?: unknown): void {
    this.errors.push(err);
    super.handleError(err);
    this.d.poke();
  }
}

function reply(n: number): Buffer {
  const b = Buffer.alloc(REPLY, '.');
  b.write(`${n}:`);
  b[REPLY - 1] = 0x0a;
  return b;
}

/** A client that sends `request` once, and reads only while `reading`. */
class Peer extends Dispatcher {
  override ignoreLogTypes = QUIET;
  reading = false;
  received: Buffer[] = [];
  bytes = 0;
  ended = false;
  private unsent: Buffer;

  constructor(map: SocketMap, port: number, request: Buffer, private readonly d: Driver) {
    super(null, map);
    this.unsent = request;
    this.createSocket(AF_INET);
    this.socket!.setsockopt!(SOL_SOCKET, SO_RCVBUF, 4 * KiB);
    this.connect(['127.0.0.1', port]);
  }

  override handleConnect(): void {}
  override readable(): boolean {
    return this.reading;
  }
  override writable(): boolean {
    return !this.connected || this.unsent.length > 0;
  }
  override handleWrite(): void {
    this.unsent = this.unsent.subarray(this.send(this.unsent));
  }
  override handleRead(): void {
    const data = this.recv(256 * KiB);
    if (data.length > 0) {
      this.received.push(data);
      this.bytes += data.length;
    }
    this.d.poke();
  }
  override handleClose(): void {
    this.ended = true;
    this.close();
    this.d.poke();
  }
}

describe.each(MODES)('output limits (%s)', (mode) => {
  it('records already read are held past outputHighWater, and all are answered, in order, once the peer reads', async () => {
    await withMap(mode, async (d) => {
      const highWater = 64 * KiB;
      const requests = 400;  // 1600 bytes: one read; 6.4 MB of replies
      const server: Replier[] = [];
      const listener = new Listener(d.map, (sock) => server.push(new Replier(sock, d.map, d, highWater)));
      (listener.socket as Socket).setsockopt(SOL_SOCKET, SO_SNDBUF, 16 * KiB);
      const peer = new Peer(d.map, listener.port, Buffer.from('GET\n'.repeat(requests)), d);
      await d.until(() => server.length === 1 && server[0].inputPaused && server[0].records > 0, 'the server holds the rest');
      const chat = server[0];
      await d.idle(50);
      const held = chat.records;
      await d.idle(50);
      expect(chat.records).toBe(held);  // nothing more while the peer does not read
      expect(held).toBeLessThan(requests / 4);
      expect(chat.peak).toBeLessThanOrEqual(highWater + REPLY);
      expect(chat.readable()).toBe(false);

      peer.reading = true;
      peer.updateInterest();
      await d.until(() => peer.bytes === requests * REPLY, 'every reply arrives', 15_000);
      const all = Buffer.concat(peer.received);
      for (let i = 0; i < requests; i++) {
        expect(all.subarray(i * REPLY, (i + 1) * REPLY).equals(reply(i))).toBe(true);
      }
      expect(chat.records).toBe(requests);
      expect(chat.peak).toBeLessThanOrEqual(highWater + REPLY);
      expect(chat.errors).toEqual([]);
      await d.until(() => chat.readable(), 'the server reads again');
    });
  });

  it('past maxOutputBuffered an AsyncChat is closed through handleError with ERR_ASYNCHAT_OUTPUT_TOO_LARGE', async () => {
    await withMap(mode, async (d) => {
      const server: Replier[] = [];
      const listener = new Listener(d.map, (sock) => server.push(new Replier(sock, d.map, d, 64 * KiB)));
      const peer = new Peer(d.map, listener.port, Buffer.from('GET\n'), d);
      await d.until(() => server.length === 1 && server[0].records === 1, 'the first request');
      const chat = server[0];
      chat.maxOutputBuffered = 256 * KiB;
      // A broadcast from outside any request (as the chat room's): the member never reads.
      for (let i = 0; i < 64 && !chat.closed; i++) chat.push(Buffer.alloc(16 * KiB, 'b'));
      expect(chat.closed).toBe(true);
      expect(chat.errors).toHaveLength(1);
      expect((chat.errors[0] as { code?: string }).code).toBe('ERR_ASYNCHAT_OUTPUT_TOO_LARGE');
      expect(chat.outputBuffered).toBe(0);
      peer.reading = true;
      peer.updateInterest();
      await d.until(() => peer.ended, 'the peer sees the connection end');
    });
  });

  it('DispatcherWithSend has the same hard limit', async () => {
    await withMap(mode, async (d) => {
      const errors: unknown[] = [];
      const server: DispatcherWithSend[] = [];
      const listener = new Listener(d.map, (sock) => {
        const w = new (class extends DispatcherWithSend {
          override ignoreLogTypes = QUIET;
          override handleError(err?: unknown): void {
            errors.push(err);
            super.handleError(err);
          }
        })(sock, d.map);
        w.maxOutputBuffered = 256 * KiB;
        server.push(w);
      });
      (listener.socket as Socket).setsockopt(SOL_SOCKET, SO_SNDBUF, 16 * KiB);
      const peer = new Peer(d.map, listener.port, Buffer.alloc(0), d);
      await d.until(() => server.length === 1 && server[0].connected, 'accepted');
      const w = server[0];
      for (let i = 0; i < 64 && !w.closed; i++) w.send(Buffer.alloc(16 * KiB, 's'));
      expect(w.closed).toBe(true);
      expect(errors).toHaveLength(1);
      expect((errors[0] as { code?: string }).code).toBe('ERR_ASYNCHAT_OUTPUT_TOO_LARGE');
      peer.reading = true;
      peer.updateInterest();
      await d.until(() => peer.ended, 'the peer sees the connection end');
    });
  });

  it('pushShared queues a large Buffer without copying it: what is sent is the Buffer as it is then', async () => {
    await withMap(mode, async (d) => {
      const value = Buffer.alloc(256 * KiB, 'v');
      const server: AsyncChat[] = [];
      const listener = new Listener(d.map, (sock) => {
        const c = new Replier(sock, d.map, d, 4 * 1024 * KiB);
        c.pushShared(value);
        value.write('changed');  // after the push, before the end of the batch's write
        server.push(c);
      });
      const peer = new Peer(d.map, listener.port, Buffer.alloc(0), d);
      peer.reading = true;
      await d.until(() => peer.bytes === value.length, 'the shared value arrives');
      expect(Buffer.concat(peer.received).equals(value)).toBe(true);
      expect(Buffer.concat(peer.received).subarray(0, 7).toString()).toBe('changed');
    });
  });
});
