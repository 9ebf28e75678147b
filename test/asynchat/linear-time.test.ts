// Linear time in the bytes (flaws 1 and 2 of Python's asynchat, fixed): Python re-slices its
// input buffer for every record (one 1 MiB read of 2-byte lines takes seconds) and its output
// buffer for every partial send. Here the time per byte is measured inside the test, at several
// sizes over one loopback connection, and must not grow with the size. Only ratios are asserted;
// absolute numbers are printed (ASYNCHAT_LINEAR_LOG=1) and vary with the machine.
import { describe, expect, it } from 'vitest';
import { AsyncChat, type Producer } from '../../src/asynchat/async-chat';
import { Dispatcher } from '../../src/asyncore/dispatcher';
import type { SocketMap } from '../../src/engine/map-state';
import { resetStats, stats } from '../../src/binding/backends';
import type { Socket } from '../../src/binding/socket';
import { Driver, MODES, QUIET, median, tcpPair, withMap } from '../helpers/asynchat';

// CPU time of this process (user + system) in ms: the peer runs in the same process, so it
// counts all the work, and unlike wall time it hardly moves when the machine is busy.
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const log = process.env.ASYNCHAT_LINEAR_LOG ? (msg: string) => console.log(msg) : () => {};

/** Counts "\n"-terminated records and the bytes collected, without keeping them. */
class LineCounter extends AsyncChat {
  override ignoreLogTypes = QUIET;
  records = 0;
  bytes = 0;
  target = -1;

  constructor(sock: Socket, map: SocketMap, private readonly d: Driver) {
    super(sock, map);
    this.setTerminator('\n');
  }

  override collectIncomingData(data: Buffer): void {
    this.bytes += data.length;
  }

  override foundTerminator(): void {
    if (++this.records === this.target) this.d.poke();
  }
}

/** Drains its socket into one scratch buffer, counting bytes. */
class Drain extends Dispatcher {
  override ignoreLogTypes = QUIET;
  received = 0;
  target = -1;
  private readonly buf = Buffer.allocUnsafe(MiB);

  constructor(sock: Socket, map: SocketMap, private readonly d: Driver) {
    super(sock, map);
  }

  override writable(): boolean {
    return false;
  }

  override handleRead(): void {
    for (let i = 0; i < 4; i++) {
      const n = this.socket!.tryRecvInto(this.buf);
      if (n <= 0) {
        if (n === 0) this.handleClose();
        break;
      }
      this.received += n;
    }
    if (this.received === this.target) this.d.poke();
  }

  override handleClose(): void {
    this.close();
  }
}

/** `total` bytes in chunks of `chunk` bytes (the same Buffer, refilled: the queue must copy). */
class CountingProducer implements Producer {
  private left: number;
  private readonly buf: Buffer;

  constructor(total: number, chunk: number) {
    this.left = total;
    this.buf = Buffer.alloc(chunk, 'o');
  }

  more(): Buffer {
    if (this.left === 0) return Buffer.alloc(0);
    const n = Math.min(this.left, this.buf.length);
    this.left -= n;
    return n === this.buf.length ? this.buf : this.buf.subarray(0, n);
  }
}

describe.each(MODES)('AsyncChat in linear time (%s)', (mode) => {
  it('input: one write of 2-byte lines, 64 KiB to 4 MiB, costs the same per byte', async () => {
    await withMap(mode, async (d) => {
      const [a, b] = tcpPair();
      const writer = new AsyncChat(a, d.map);
      writer.ignoreLogTypes = QUIET;
      const reader = new LineCounter(b, d.map, d);
      const lines = Buffer.alloc(4 * MiB);
      for (let i = 0; i < lines.length; i += 2) {
        lines[i] = 0x61;  // "a\n"
        lines[i + 1] = 0x0a;
      }

      const run = async (size: number): Promise<number> => {
        reader.records = 0;
        reader.bytes = 0;
        reader.target = size / 2;
        const t0 = cpuNow();
        writer.push(lines.subarray(0, size));
        await d.until(() => reader.records === size / 2, `${size / 2} records`, 10_000);
        const ns = (cpuNow() - t0) * 1e6;
        expect(reader.bytes).toBe(size / 2);
        return ns / size;
      };

      for (let i = 0; i < 3; i++) await run(MiB);  // warm up the JIT
      // Rounds over all sizes, so that a slow moment of the machine hits every size alike.
      const sizes = [64 * KiB, 256 * KiB, MiB, 4 * MiB];
      const samples: number[][] = sizes.map(() => []);
      for (let round = 0; round < 5; round++) {
        for (let k = 0; k < sizes.length; k++) samples[k].push(await run(sizes[k]));
      }
      const perByte = samples.map(median);
      log(`[${mode}] input ns/byte at ${sizes.map((x) => `${x / KiB} KiB`).join(', ')}: ${perByte.map((x) => x.toFixed(2)).join(', ')}`
        + ` (1 MiB of 2-byte lines: ${(perByte[2] * MiB / 1e6).toFixed(1)} ms)`);
      const ratio = Math.max(...perByte) / Math.min(...perByte);
      expect(ratio, `ns/byte ${perByte.map((x) => x.toFixed(2)).join(', ')}`).toBeLessThan(4);
    });
  });

  it('output: a 64 MiB producer in 64 KiB chunks costs per byte what 4 MiB does, in few writes', async () => {
    await withMap(mode, async (d) => {
      const [a, b] = tcpPair();
      const writer = new AsyncChat(a, d.map);
      writer.ignoreLogTypes = QUIET;
      const reader = new Drain(b, d.map, d);

      const run = async (size: number): Promise<{ nsPerByte: number; writesPerMiB: number }> => {
        reader.received = 0;
        reader.target = size;
        resetStats();
        const t0 = cpuNow();
        writer.pushWithProducer(new CountingProducer(size, 64 * KiB));
        await d.until(() => reader.received === size, `${size} bytes drained`, 10_000);
        const ns = (cpuNow() - t0) * 1e6;
        const writes = stats().writes;
        // The producer leaves the queue at its next pull, which gives nothing.
        await d.until(() => !writer.writable(), 'the exhausted producer leaves the queue');
        return { nsPerByte: ns / size, writesPerMiB: writes / (size / MiB) };
      };

      for (let i = 0; i < 2; i++) await run(4 * MiB);  // warm up
      const small: number[] = [];
      const large: { nsPerByte: number; writesPerMiB: number }[] = [];
      for (let round = 0; round < 3; round++) {
        small.push((await run(4 * MiB)).nsPerByte);
        large.push(await run(64 * MiB));
        small.push((await run(4 * MiB)).nsPerByte);
      }
      const smallNs = median(small);
      const largeNs = median(large.map((r) => r.nsPerByte));
      const writesPerMiB = median(large.map((r) => r.writesPerMiB));
      log(`[${mode}] output ns/byte: 4 MiB ${smallNs.toFixed(3)}, 64 MiB ${largeNs.toFixed(3)}`
        + ` (64 MiB in ${(largeNs * 64 * MiB / 1e6).toFixed(1)} ms, ${writesPerMiB.toFixed(1)} writes per MiB)`);
      expect(largeNs / smallNs, `ns/byte 4 MiB ${smallNs.toFixed(3)}, 64 MiB ${largeNs.toFixed(3)}`).toBeLessThan(4);
      // Each write takes what the kernel will: at least 32 KiB on average, not a 64 KiB chunk per
      // write event (Python's one send of one slice per event).
      expect(writesPerMiB).toBeLessThanOrEqual(32);
    });
  });
});
