// Bounded memory per connection (flaw 4 of Python's asynchat, fixed): an endless line stops at
// maxInputBuffered with a clear error, and a peer that does not read stops being read from once
// outputHighWater bytes wait for it, until it reads again. Both peers are channels of the same
// map (so that the blocking loop serves them too), over loopback TCP, in both run modes.
import { describe, expect, it } from 'vitest';
import { AsyncChat, type Producer } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { EV } from '../../src/binding/native';
import { stats } from '../../src/binding/backends';
import { AF_INET, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, type Socket } from '../../src/binding/socket';
import { Driver, Listener, MODES, QUIET, withMap } from '../helpers/asynchat';
import { openReactor, type Harness } from '../helpers/reactor';

const KiB = 1024;
const MiB = 1024 * KiB;
const LINE = 1024;

/** Whether the kernel would take more data on fd right now (a wait of 0 ms on a probe reactor). */
function writableNow(h: Harness, fd: number): boolean {
  h.reactor.setInterest(fd, EV.WRITE);
  try {
    const n = h.reactor.wait(0);
    for (let i = 0; i < n; i++) if (h.events[2 * i] === fd && (h.events[2 * i + 1] & EV.WRITE) !== 0) return true;
    return false;
  } finally {
    h.reactor.remove(fd);
  }
}

/** The bytes an AsyncChat has queued for output (its OutputQueue, internal). */
function queuedBytes(chat: AsyncChat): number {
  return chat.outputBuffered;
}

/** Server side: echoes every "\n"-terminated line; records errors and its queue's peak. */
class EchoChat extends AsyncChat {
  override ignoreLogTypes = QUIET;
  readonly errors: unknown[] = [];
  records = 0;
  peakQueued = 0;

  constructor(sock: Socket, map: SocketMap, private readonly d: Driver, setup: (c: EchoChat) => void) {
    super(sock, map);
    this.setTerminator('\n');
    setup(this);
  }

  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    this.records++;
    this.push(this.getData());
    this.push('\n');
    this.peakQueued = Math.max(this.peakQueued, queuedBytes(this));
    this.d.poke();
  }

  override handleError(err?: unknown): void {
    this.errors.push(err);
    super.handleError(err);  // the default: log, then handleClose (which closes)
    this.d.poke();
  }
}

/** A client that sends lines and keeps the ones it gets back. */
class LineClient extends AsyncChat {
  override ignoreLogTypes = QUIET;
  readonly lines: string[] = [];

  constructor(map: SocketMap, port: number, private readonly d: Driver) {
    super(null, map);
    this.createSocket(AF_INET);
    this.connect(['127.0.0.1', port]);
    this.setTerminator('\n');
  }

  override handleConnect(): void {}

  override collectIncomingData(data: Buffer): void {
    this.keepIncomingData(data);
  }

  override foundTerminator(): void {
    this.lines.push(this.getData().toString());
    this.d.poke();
  }
}

/**
 * A client that writes `total` bytes of `pattern` (repeated) as fast as the kernel takes them,
 * and reads (checking what it gets against the same pattern) only while `reading` is set.
 */
class Flooder extends Dispatcher {
  override ignoreLogTypes = QUIET;
  reading = true;
  sending = true;
  sent = 0;
  received = 0;
  /** Where what was read first differed from `expected` (-1: never). */
  mismatch = -1;
  /** What the peer should send back, as a function of the offset; null: anything. */
  expected: ((offset: number, length: number) => Buffer) | null = null;
  closedByPeer = false;
  private readonly buf = Buffer.allocUnsafe(256 * KiB);

  constructor(
    map: SocketMap,
    port: number,
    private readonly pattern: Buffer,
    private readonly total: number,
    private readonly d: Driver,
    bufferSizes = 0,
  ) {
    super(null, map);
    this.createSocket(AF_INET);
    if (bufferSizes > 0) {
      this.socket!.setsockopt!(SOL_SOCKET, SO_SNDBUF, bufferSizes);
      this.socket!.setsockopt!(SOL_SOCKET, SO_RCVBUF, bufferSizes);
    }
    this.connect(['127.0.0.1', port]);
  }

  override handleConnect(): void {}

  override readable(): boolean {
    return this.reading;
  }

  override writable(): boolean {
    return !this.connected || (this.sending && this.sent < this.total);
  }

  override handleWrite(): void {
    const at = this.sent % this.pattern.length;
    const n = Math.min(this.pattern.length - at, this.total - this.sent);
    this.sent += this.send(this.pattern.subarray(at, at + n));
  }

  override handleRead(): void {
    const n = this.socket!.tryRecvInto(this.buf);
    if (n === 0) {
      this.closedByPeer = true;
      this.handleClose();
    }
    if (n <= 0) return;
    if (this.expected !== null && this.mismatch < 0) {
      const want = this.expected(this.received, n);
      if (!this.buf.subarray(0, n).equals(want)) {
        let i = 0;
        while (this.buf[i] === want[i]) i++;
        this.mismatch = this.received + i;
      }
    }
    this.received += n;
    this.d.poke();
  }

  override handleClose(): void {
    this.close();
    this.d.poke();
  }
}

/** `pattern` repeated from `offset` for `length` bytes. */
function repeated(pattern: Buffer, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length;) {
    const at = (offset + i) % pattern.length;
    i += pattern.copy(out, i, at, Math.min(pattern.length, at + length - i));
  }
  return out;
}

function lines(lineLength: number, count: number): Buffer {
  const line = Buffer.alloc(lineLength, 'y');
  line[lineLength - 1] = 0x0a;
  return Buffer.concat(Array.from({ length: count }, () => line));
}

describe.each(MODES)('AsyncChat limits (%s)', (mode) => {
  it('an endless line stops at maxInputBuffered: ERR_ASYNCHAT_INPUT_TOO_LARGE, the channel closes, others go on', async () => {
    await withMap(mode, async (d) => {
      const server: EchoChat[] = [];
      const listener = new Listener(d.map, (sock) => {
        server.push(new EchoChat(sock, d.map, d, (c) => {
          c.maxInputBuffered = 64 * KiB;
        }));
      });
      const good = new LineClient(d.map, listener.port, d);
      good.push('ping 1\n');
      await d.until(() => good.lines.length === 1, 'the first echo');
      expect(server).toHaveLength(1);

      // No terminator, ever: 'x' * 16 MiB.
      const bad = new Flooder(d.map, listener.port, Buffer.alloc(64 * KiB, 'x'), 16 * MiB, d);
      await d.until(() => server.length === 2 && server[1].closed, 'the endless line is refused');
      const [err] = server[1].errors;
      expect(server[1].errors).toHaveLength(1);
      expect(err).toBeInstanceOf(Error);
      expect((err as { code?: string }).code).toBe('ERR_ASYNCHAT_INPUT_TOO_LARGE');
      expect([...d.map.values()]).not.toContain(server[1]);
      // it stopped right past the limit: one read's worth, not the 16 MiB on offer
      expect(bad.sent).toBeLessThan(16 * MiB);

      // The other client is still served, after the bad channel is gone.
      expect(server[0].closed).toBe(false);
      good.push('ping 2\n');
      await d.until(() => good.lines.length === 2, 'the second echo');
      expect(good.lines).toEqual(['ping 1', 'ping 2']);
      expect(server[0].errors).toEqual([]);

      // and the bad peer learns that its connection is gone
      await d.until(() => bad.closed, 'the flooder sees its connection end');
    });
  });

  it('a peer that never reads: past outputHighWater the channel is not read from; reading resumes when it drains', async () => {
    const probe = openReactor(8);
    try {
      await withMap(mode, async (d) => {
        const highWater = 256 * KiB;
        const server: EchoChat[] = [];
        const listener = new Listener(d.map, (sock) => {
          server.push(new EchoChat(sock, d.map, d, (c) => {
            c.outputHighWater = highWater;
          }));
        });
        // Small kernel buffers on both ends keep what the kernel can hold well below the flood.
        for (const opt of [SO_SNDBUF, SO_RCVBUF]) (listener.socket as Socket).setsockopt(SOL_SOCKET, opt, 64 * KiB);
        const pattern = lines(LINE, 64);
        const total = 8 * MiB;
        const peer = new Flooder(d.map, listener.port, pattern, total, d, 64 * KiB);
        peer.reading = false;
        peer.expected = (offset, length) => repeated(pattern, offset, length);

        // Stalled: the server stopped reading (readable() false) and the peer's own send buffer
        // is full (the kernel reports it not writable).
        await d.until(
          () => server.length === 1 && !server[0].readable() && peer.connected && !writableNow(probe, peer._fileno!),
          'the server stops reading and the peer\'s send buffer fills',
        );
        const chat = server[0];
        const readsAtStall = stats().reads;
        const recordsAtStall = chat.records;
        await d.idle(50);
        // Not one read more. (The peer may still have moved a little into the kernel's buffers
        // as delayed ACKs freed its send buffer, but no further: what sits between the two is
        // bounded by the kernel buffers, far below the 8 MiB on offer.)
        expect(stats().reads).toBe(readsAtStall);
        expect(chat.records).toBe(recordsAtStall);
        expect(chat.readable()).toBe(false);
        expect(peer.sent - chat.records * LINE).toBeLessThan(1 * MiB);
        expect(peer.sent).toBeLessThan(total);
        // Memory stays bounded: at most one read's worth past the high water mark.
        expect(chat.peakQueued).toBeGreaterThan(highWater);
        expect(chat.peakQueued).toBeLessThanOrEqual(highWater + chat.acInBufferSize + pattern.length);
        expect(queuedBytes(chat)).toBeLessThanOrEqual(highWater + chat.acInBufferSize + pattern.length);

        // The peer reads again: everything arrives, and the server reads again.
        peer.reading = true;
        peer.updateInterest();
        await d.until(() => peer.received === total, 'the whole echo arrives', 15_000);
        expect(peer.sent).toBe(total);
        expect(peer.mismatch).toBe(-1);
        expect(chat.records).toBe(total / LINE);
        expect(stats().reads).toBeGreaterThan(readsAtStall);
        expect(chat.readable()).toBe(true);
        expect(chat.peakQueued).toBeLessThanOrEqual(highWater + chat.acInBufferSize + pattern.length);
        expect(chat.errors).toEqual([]);
      });
    } finally {
      probe.close();
    }
  });

  it('a queue that drains through an exhausted producer lets reading resume', async () => {
    // 1 MiB of data (one whole write), then a producer with nothing left: the write that takes
    // the data leaves only the producer, which gives nothing. The queue is empty then, and the
    // channel must read again (it stopped at 1 MiB > outputHighWater).
    await withMap(mode, async (d) => {
      const data = Buffer.alloc(MiB, 'd');
      const server: EchoChat[] = [];
      const listener = new Listener(d.map, (sock) => {
        server.push(new EchoChat(sock, d.map, d, (c) => {
          c.outputHighWater = 256 * KiB;
          c.push(data);
          c.pushWithProducer({ more: () => Buffer.alloc(0) });
        }));
      });
      (listener.socket as Socket).setsockopt(SOL_SOCKET, SO_SNDBUF, 4 * MiB);
      const peer = new Flooder(d.map, listener.port, Buffer.from('ping\n'), 5, d);
      const all = Buffer.concat([data, Buffer.from('ping\n')]);
      peer.expected = (offset, length) => all.subarray(offset, offset + length);
      await d.until(() => peer.received === all.length, 'the data and the echo of "ping"');
      expect(peer.mismatch).toBe(-1);
      expect(server[0].records).toBe(1);
      expect(server[0].readable()).toBe(true);
      expect(server[0].errors).toEqual([]);
    });
  });

  // With a large send buffer the last of the producer tends to go out in one initiateSend, which
  // then meets the exhausted producer: reading must resume there too.
  it.each([64 * KiB, 2 * MiB])('a producer bigger than outputHighWater: reading stops, and resumes once it is sent (SO_SNDBUF %i)', async (sndbuf) => {
    await withMap(mode, async (d) => {
      const highWater = 256 * KiB;
      const size = 8 * MiB;
      const chunk = Buffer.alloc(64 * KiB, 'p');
      let handedOut = 0;
      const producer: Producer = {
        more: () => {
          if (handedOut === size) return Buffer.alloc(0);
          handedOut += chunk.length;
          return chunk;
        },
      };
      const server: EchoChat[] = [];
      const listener = new Listener(d.map, (sock) => {
        server.push(new EchoChat(sock, d.map, d, (c) => {
          c.outputHighWater = highWater;
          c.pushWithProducer(producer);
        }));
      });
      (listener.socket as Socket).setsockopt(SOL_SOCKET, SO_SNDBUF, sndbuf);
      (listener.socket as Socket).setsockopt(SOL_SOCKET, SO_RCVBUF, 64 * KiB);
      // The peer does not read, at first; once the server stopped reading, it sends one line.
      const peer = new Flooder(d.map, listener.port, Buffer.from('ping\n'), 5, d, 64 * KiB);
      peer.reading = false;
      peer.sending = false;
      const all = Buffer.concat([Buffer.alloc(size, 'p'), Buffer.from('ping\n')]);
      peer.expected = (offset, length) => all.subarray(offset, offset + length);
      await d.until(() => server.length === 1 && !server[0].readable(), 'the producer fills the queue');
      const chat = server[0];
      peer.sending = true;
      peer.updateInterest();
      await d.until(() => peer.sent === 5, 'the peer sends its line');
      expect(handedOut).toBeLessThan(size);  // the producer is not pulled ahead of the socket
      if (sndbuf === 64 * KiB) {
        // With a small send buffer the queue stays far above the mark: "ping" waits unread. (A
        // large one lets acknowledgements drain the queue below half the mark now and then.)
        await d.idle(30);
        expect(chat.records).toBe(0);
        expect(chat.readable()).toBe(false);
      }

      peer.reading = true;
      peer.updateInterest();
      // Everything the producer had, then the echo of "ping": read only once the queue drained.
      const expected = size + 5;
      await d.until(() => peer.received === expected, 'the producer\'s output and the echo', 15_000);
      expect(peer.mismatch).toBe(-1);
      expect(chat.records).toBe(1);
      expect(chat.readable()).toBe(true);
      expect(chat.errors).toEqual([]);
    });
  });
});
