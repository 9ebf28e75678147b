// native.recvScan (one crossing that reads and finds the records of what it read) and the
// splitter's receive(), which uses it once a run of records makes a native scan worth it: fed
// the chunk it read, the splitter starts from those results instead of scanning again.
import { afterEach, describe, expect, it } from 'vitest';
import { BufferView } from '../../src/engine/buffer-view';
import { native } from '../../src/binding/native';
import { socketpair, type Socket } from '../../src/binding/socket';
import { InputSplitter, type SplitterTarget } from '../../src/asynchat/input-splitter';
import { receive } from '../../src/asynchat/receive';
import { transportFor } from '../../src/engine/transport';
import type { Terminator } from '../../src/asynchat/terminator';

const CRLF = Buffer.from('\r\n');
let open: Socket[] = [];

function pair(): [Socket, Socket] {
  const p = socketpair();
  open.push(...p);
  return p;
}

afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

function send(sock: Socket, data: string): void {
  expect(native.send(sock.fileno(), Buffer.from(data, 'latin1'))).toBe(data.length);
}

describe('native.recvScan', () => {
  it('reads, then finds the records: positions from the offset, the partial terminator, the count last', () => {
    const [a, b] = pair();
    send(a, 'ab\r\ncd\r\ne\r');
    const buf = Buffer.alloc(4096);
    const out = new Int32Array(10);
    const n = native.recvScan(b.fileno(), buf, 100, 1000, CRLF, out, 8, 0);
    expect(n).toBe(10);
    expect(buf.toString('latin1', 100, 110)).toBe('ab\r\ncd\r\ne\r');
    expect(out[9]).toBe(2);
    expect([out[0], out[1]]).toEqual([2, 6]);
    expect(out[2]).toBe(1);  // "\r" at the end: a proper prefix of the terminator, kept
  });

  it('below minBytes it only reads (count -1); -1 when nothing is there; 0 at end of stream', () => {
    const [a, b] = pair();
    const buf = Buffer.alloc(64);
    const out = new Int32Array(10);
    send(a, 'x\r\n');
    expect(native.recvScan(b.fileno(), buf, 0, 64, CRLF, out, 8, 4)).toBe(3);
    expect(out[9]).toBe(-1);
    expect(native.recvScan(b.fileno(), buf, 0, 64, CRLF, out, 8, 0)).toBe(-1);
    a.close();
    open = open.filter((s) => s !== a);
    expect(native.recvScan(b.fileno(), buf, 0, 64, CRLF, out, 8, 0)).toBe(0);
  });

  it('keeps the last two slots of out for the prefix and the count', () => {
    const [a, b] = pair();
    send(a, 'a\r\n'.repeat(10));
    const out = new Int32Array(4);
    expect(native.recvScan(b.fileno(), Buffer.alloc(64), 0, 64, CRLF, out, 100, 0)).toBe(30);
    expect(out[3]).toBe(2);
    expect([out[0], out[1]]).toEqual([1, 4]);
  });

  it('counts a read and a scan in stats()', () => {
    const [a, b] = pair();
    send(a, 'a\r\nb\r\n');
    const before = native.stats();
    native.recvScan(b.fileno(), Buffer.alloc(64), 0, 64, CRLF, new Int32Array(10), 8, 0);
    const after = native.stats();
    expect(after.reads - before.reads).toBe(1);
    expect(after.scans - before.scans).toBe(1);
  });

  it('rejects bad arguments with TypeError/RangeError, and a failed recv as a system error', () => {
    const [, b] = pair();
    const out = new Int32Array(10);
    const fd = b.fileno();
    expect(() => native.recvScan(fd, [] as unknown as Uint8Array, 0, 1, CRLF, out, 8, 0)).toThrow(TypeError);
    expect(() => native.recvScan(fd, Buffer.alloc(8), 0, 8, CRLF, new Float64Array(4) as unknown as Int32Array, 8, 0))
      .toThrow(TypeError);
    expect(() => native.recvScan(fd, Buffer.alloc(8), 4, 8, CRLF, out, 8, 0)).toThrow(RangeError);
    expect(() => native.recvScan(fd, Buffer.alloc(8), 0, 8, Buffer.alloc(0), out, 8, 0)).toThrow(RangeError);
    expect(() => native.recvScan(fd, Buffer.alloc(8), 0, 8, CRLF, new Int32Array(1), 8, 0)).toThrow(RangeError);
    expect(() => native.recvScan(1 << 30, Buffer.alloc(8), 0, 8, CRLF, out, 8, 0))
      .toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'recv' }));
  });
});

/** Records as strings, joined from what collectIncomingData got. */
class Lines implements SplitterTarget {
  terminator: Terminator = Buffer.from('\r\n');
  closed = false;
  readonly records: string[] = [];
  private current = '';
  onRecord: (() => void) | null = null;

  collectIncomingData(data: Buffer): void {
    this.current += data.toString('latin1');
  }

  foundTerminator(): void {
    this.records.push(this.current);
    this.current = '';
    this.onRecord?.();
  }
}

/** Memory that reads land in back to back, as AsyncChat's slab. */
class Slab {
  readonly memory = Buffer.alloc(1 << 20);
  used = 0;
}

/** Reads what the peer sent with receive() into the slab and feeds it, as AsyncChat.handleRead. */
function receiveAndFeed(s: InputSplitter, target: Lines, sock: Socket, slab: Slab): void {
  const { memory } = slab;
  const at = slab.used;
  const n = receive(s, transportFor(sock), memory, at, memory.length - at, target.terminator, memory.buffer);
  if (n <= 0) return;
  slab.used += n;  // before feeding: a read made from a callback goes after this one
  s.feed(target, new BufferView(memory.buffer, at, n), memory.buffer, at);
}

function countScanCalls<T>(fn: () => T): [T, number] {
  const scan = native.scan;
  let calls = 0;
  native.scan = (...args) => {
    calls++;
    return scan(...args);
  };
  try {
    return [fn(), calls];
  } finally {
    native.scan = scan;
  }
}

describe('InputSplitter.receive', () => {
  it('once a run has started, a read brings its records along: no separate scan call', () => {
    const [a, b] = pair();
    const s = new InputSplitter();
    const target = new Lines();
    const slab = new Slab();
    const expected: string[] = [];
    let scansBefore = 0;
    const [, calls] = countScanCalls(() => {
      for (let round = 0; round < 20; round++) {
        let chunk = '';
        for (let i = 0; i < 16; i++) {
          const line = `line ${round}.${i} ${'x'.repeat(round)}`;
          expected.push(line);
          chunk += `${line}\r\n`;
        }
        send(a, chunk);
        if (round === 4) scansBefore = native.stats().scans;
        receiveAndFeed(s, target, b, slab);
      }
    });
    expect(target.records).toEqual(expected);
    // The first rounds find their records one at a time (the run is still short), and may scan
    // from JavaScript; from then on every read scans within recvScan.
    expect(native.stats().scans - scansBefore).toBeGreaterThanOrEqual(15);
    expect(calls).toBeLessThanOrEqual(5);
  });

  it('results are used only for the chunk they were read into', () => {
    const [a, b] = pair();
    const s = new InputSplitter();
    const target = new Lines();
    const slab = new Slab();
    const { memory } = slab;
    for (let i = 0; i < 10; i++) {
      send(a, 'ab\r\n'.repeat(16));
      receiveAndFeed(s, target, b, slab);
    }
    // A read primed for offset 10000, but a different chunk is fed instead: it is searched
    // afresh (records of another length, so stale results would split it wrongly).
    send(a, 'ab\r\n'.repeat(16));
    expect(receive(s, transportFor(b), memory, 10_000, 64, target.terminator, memory.buffer)).toBe(64);
    const other = Buffer.from('abcdef\r\n'.repeat(8));
    s.feed(target, other);
    expect(target.records.slice(-8)).toEqual(Array(8).fill('abcdef'));
    expect(target.records.length).toBe(168);
  });

  it('a read made from inside a callback does not overwrite the results being delivered', () => {
    const [a, b] = pair();
    const s = new InputSplitter();
    const target = new Lines();
    const slab = new Slab();
    for (let i = 0; i < 10; i++) {
      send(a, 'ab\r\n'.repeat(16));
      receiveAndFeed(s, target, b, slab);
    }
    // The next read holds 16 records; the third one's callback reads again (the peer has sent
    // records of another length meanwhile), and that chunk is delivered after this one.
    send(a, 'cd\r\n'.repeat(16));
    target.onRecord = () => {
      if (target.records.length !== 163) return;
      send(a, 'efgh\r\n'.repeat(16));
      receiveAndFeed(s, target, b, slab);
    };
    receiveAndFeed(s, target, b, slab);
    expect(target.records.slice(160)).toEqual([...Array(16).fill('cd'), ...Array(16).fill('efgh')]);
  });
});
