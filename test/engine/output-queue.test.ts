// The output queue alone, without sockets: a simulated writer takes what gather() offers, or a
// random part of it, and the bytes it took must be exactly the bytes pushed, in push order.
import { describe, expect, it } from 'vitest';
import { OutputQueue, SimpleProducer, type Producer } from '../../src/engine/output-queue';
import { prng } from '../helpers/prng';


/** The first n bytes of what gather() offered, as writev would write them. */
function written(out: Uint8Array[], count: number, firstOffset: number, n: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < count && n > 0; i++) {
    const b = Buffer.from(out[i].buffer, out[i].byteOffset, out[i].byteLength);
    const from = i === 0 ? firstOffset : 0;
    const take = Math.min(n, b.length - from);
    parts.push(Buffer.from(b.subarray(from, from + take)));
    n -= take;
  }
  return parts;
}

interface Drained {
  data: Buffer;
  gathers: number;
  closed: boolean;
}

/**
 * Drains q like a channel would: gather, write (all of it, or what `accept` allows), consume,
 * until the queue is empty or the close marker is reached.
 */
function drain(
  q: OutputQueue,
  { maxBytes = 256 * 1024, maxChunks = 1024, accept }: {
    maxBytes?: number;
    maxChunks?: number;
    accept?: (offered: number) => number;
  } = {},
): Drained {
  const out: Uint8Array[] = [];
  const parts: Buffer[] = [];
  let gathers = 0;
  for (;;) {
    const r = q.gather(out, maxBytes, maxChunks);
    gathers++;
    if (r.closeReached) return { data: Buffer.concat(parts), gathers, closed: true };
    if (r.count === 0) {
      if (!q.empty) throw new Error('gather() offered nothing from a queue with data');
      return { data: Buffer.concat(parts), gathers, closed: false };
    }
    // Plain checks: this loop runs hundreds of thousands of times.
    if (out.length !== r.count || r.total > maxBytes || r.count > maxChunks || r.total === 0) {
      throw new Error(`bad gather: ${JSON.stringify(r)} with out.length ${out.length}`);
    }
    const n = accept ? accept(r.total) : r.total;
    parts.push(...written(out, r.count, r.firstOffset, n));
    q.consume(n);
  }
}

function spyProducer(chunks: (Uint8Array | string)[]): Producer & { calls: number } {
  const p = {
    calls: 0,
    more() {
      p.calls++;
      return chunks.shift() ?? null;
    },
  };
  return p;
}

describe('OutputQueue', () => {
  it('sends data, producers and the close marker in push order', () => {
    const q = new OutputQueue();
    const after = spyProducer(['never']);
    q.push('a');
    q.pushProducer(new SimpleProducer('bcd', 1));
    // push()'s fast path grows the tail entry over a copy only when that entry holds the block:
    // right after a producer (or a close marker) the bytes must get an entry of their own.
    q.push(Buffer.from('e'));
    q.pushProducer(spyProducer(['f', new Uint8Array([0x67]), '']));
    q.push('h');
    q.pushClose();
    q.push('never');
    q.pushProducer(after);
    const { data, closed } = drain(q);
    expect(data.toString()).toBe('abcdefgh');
    expect(closed).toBe(true);
    expect(after.calls).toBe(0);
    expect(q.empty).toBe(false);
  });

  it('reports closeReached only when nothing precedes the marker', () => {
    const q = new OutputQueue();
    q.push('x');
    q.pushProducer(spyProducer([]));
    q.pushClose();
    const out: Uint8Array[] = [];
    let r = q.gather(out, 1024, 16);
    expect(r).toEqual({ count: 1, firstOffset: 0, total: 1, closeReached: false });
    q.consume(1);
    // The exhausted producer is dropped on the way to the marker.
    r = q.gather(out, 1024, 16);
    expect(r).toEqual({ count: 0, firstOffset: 0, total: 0, closeReached: true });
    expect(out.length).toBe(0);
    q.clear();
    expect(q.empty).toBe(true);
    expect(q.gather(out, 1024, 16).closeReached).toBe(false);
  });

  it('copies what is pushed: later changes by the caller are not sent', () => {
    const q = new OutputQueue();
    const small = Buffer.from('hello ');
    const large = Buffer.alloc(100_000, 'L');
    const view = new Uint8Array([1, 2, 3]);
    q.push(small);
    q.push(large);
    q.push(view);
    small.fill(0);
    large.fill(0);
    view.fill(0);
    const { data } = drain(q);
    // equals(), not toEqual(): vitest compares large buffers element by element, slowly.
    expect(data.equals(Buffer.concat([Buffer.from('hello '), Buffer.alloc(100_000, 'L'), Buffer.from([1, 2, 3])]))).toBe(true);
  });

  it('copies chunks from producers that refill the same buffer', () => {
    for (const size of [10, 40_000]) {
      const shared = Buffer.alloc(size);
      let i = 0;
      const q = new OutputQueue();
      q.pushProducer({
        more() {
          if (i === 5) return null;
          shared.fill(0x30 + i++);
          return shared;
        },
      });
      const expected = Buffer.concat([0, 1, 2, 3, 4].map((k) => Buffer.alloc(size, 0x30 + k)));
      // maxBytes large enough that several chunks are pulled before anything is written.
      expect(drain(q, { maxBytes: 1 << 20 }).data.equals(expected)).toBe(true);
    }
  });

  it('encodes strings as UTF-8 by default, or in the encoding given', () => {
    const text = 'héllo ✓ 😀';
    let q = new OutputQueue();
    q.push(text);
    expect(q.bytes).toBe(Buffer.byteLength(text));
    expect(drain(q).data).toEqual(Buffer.from(text, 'utf8'));

    q = new OutputQueue({ encoding: 'latin1' });
    q.push('café');
    q.pushProducer(spyProducer(['ñ']));
    expect(drain(q).data).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xf1]));

    q = new OutputQueue({ encoding: 'utf16le' });
    q.push('ab');
    expect(drain(q).data).toEqual(Buffer.from([0x61, 0, 0x62, 0]));

    q = new OutputQueue({ encoding: 'hex' });
    q.push('');
    q.push('zz'); // invalid hex: encodes to nothing
    expect(q.empty).toBe(true);
    q.push('0a0b');
    expect(drain(q).data).toEqual(Buffer.from([10, 11]));

    expect(() => new OutputQueue({ encoding: 'nope' as BufferEncoding })).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_ENCODING' }),
    );
  });

  it('encodes strings across block boundaries and large strings whole', () => {
    const q = new OutputQueue();
    const parts: string[] = [];
    const random = prng(7);
    for (let i = 0; i < 3000; i++) {
      const s = 'ü€'.repeat(Math.floor(random() * 40)) + `#${i}\n`;
      parts.push(s);
      q.push(s);
    }
    const big = '✓'.repeat(20_000);
    parts.push(big);
    q.push(big);
    expect(drain(q).data.toString('utf8')).toBe(parts.join(''));
  });

  it('rejects anything but bytes and strings with ERR_INVALID_ARG_TYPE, as Python rejects int', () => {
    const q = new OutputQueue();
    for (const bad of [5, {}, null, undefined, [1, 2], true, new ArrayBuffer(4), Symbol('s')]) {
      let caught: unknown;
      try {
        q.push(bad as unknown as string);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect((caught as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    }
    for (const bad of [null, {}, { more: 1 }, 'more', 3]) {
      expect(() => q.pushProducer(bad as unknown as Producer)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
      );
    }
    expect(() => new SimpleProducer(5 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(q.empty).toBe(true);
    expect(q.bytes).toBe(0);
  });

  it('raises from gather() when a producer hands out something that is not bytes, and keeps it', () => {
    const q = new OutputQueue();
    const p = { calls: 0, more: () => [42 as unknown as string, 'ok', null][p.calls++] };
    q.push('a');
    q.pushProducer(p);
    const out: Uint8Array[] = [];
    expect(() => q.gather(out, 100, 10)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(drain(q).data.toString()).toBe('aok');
  });

  it('ignores empty pushes, as Python does', () => {
    const q = new OutputQueue();
    q.push('');
    q.push(new Uint8Array(0));
    q.push(Buffer.alloc(0));
    expect(q.empty).toBe(true);
    expect(q.bytes).toBe(0);
    expect(q.gather([], 100, 10)).toEqual({ count: 0, firstOffset: 0, total: 0, closeReached: false });
  });

  it('counts queued bytes, including what producers have handed out, and clears', () => {
    const q = new OutputQueue();
    q.push('abc');
    q.push(Buffer.alloc(20_000));
    expect(q.bytes).toBe(20_003);
    q.pushProducer(new SimpleProducer('defgh', 2));
    expect(q.bytes).toBe(20_003);
    const out: Uint8Array[] = [];
    const r = q.gather(out, 1 << 20, 16);
    expect(r.total).toBe(20_008);
    expect(q.bytes).toBe(20_008);
    q.consume(10);
    expect(q.bytes).toBe(19_998);
    q.pushClose();
    q.clear();
    expect(q.bytes).toBe(0);
    expect(q.empty).toBe(true);
    expect(q._internals()).toEqual({ entries: 0, blockBytes: 1024 });  // kept for the next push
    q.push('again');
    expect(drain(q).data.toString()).toBe('again');
  });

  it('rejects consume() beyond what is queued before a producer or marker, leaving the queue intact', () => {
    const q = new OutputQueue();
    q.push('abc');
    q.pushClose();
    q.push('def');
    const out: Uint8Array[] = [];
    q.gather(out, 100, 10);
    expect(() => q.consume(4)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => q.consume(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => q.consume(1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => q.gather(out, -1, 10)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(q.bytes).toBe(6);
    const { data, closed } = drain(q);
    expect(data.toString()).toBe('abc');
    expect(closed).toBe(true);
  });

  it('respects maxBytes and maxChunks, offering a partial head with firstOffset', () => {
    const q = new OutputQueue();
    const big = Buffer.alloc(50_000);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    q.push(big);
    q.push(Buffer.alloc(30_000, 1));
    q.push('tail');
    const out: Uint8Array[] = [];
    let r = q.gather(out, 1000, 10);
    expect(r).toMatchObject({ count: 1, total: 1000 });
    q.consume(700);
    r = q.gather(out, 1 << 20, 10);
    // The large push is offered whole, from offset 700: no slice per partial write.
    expect(r).toMatchObject({ count: 3, firstOffset: 700, total: 50_000 - 700 + 30_000 + 4 });
    expect(out[0].byteLength).toBe(50_000);
    const head = out[0];
    q.consume(300);
    r = q.gather(out, 1 << 20, 10);
    expect(r.firstOffset).toBe(1000);
    expect(out[0]).toBe(head); // the same buffer, a later offset: nothing re-sliced
    r = q.gather(out, 1 << 20, 2);
    expect(r).toMatchObject({ count: 2, total: 50_000 - 1000 + 30_000 });
    expect(Buffer.concat(written(out, r.count, r.firstOffset, r.total)).equals(
      Buffer.concat([big.subarray(1000), Buffer.alloc(30_000, 1)]),
    )).toBe(true);
  });
});

describe('SimpleProducer', () => {
  it('hands out slices of bufferSize, then empty, as CPython\'s test with buffer size 8', () => {
    const data = Buffer.from("hello world\nI'm not dead yet!\n");
    const p = new SimpleProducer(data, 8);
    const chunks: string[] = [];
    for (let c = p.more(); c.length > 0; c = p.more()) chunks.push(c.toString());
    expect(chunks).toEqual(['hello wo', 'rld\nI\'m ', 'not dead', ' yet!\n']);
    expect(p.more().length).toBe(0);
    expect(p.more().length).toBe(0);
  });

  it('ends without an extra slice when the data is a multiple of the size; copies its input', () => {
    const data = Buffer.from('0123456789abcdef');
    const p = new SimpleProducer(data, 8);
    data.fill(0x78);
    expect(p.more().toString()).toBe('01234567');
    expect(p.more().toString()).toBe('89abcdef');
    expect(p.more().length).toBe(0);
    expect(new SimpleProducer('é').more()).toEqual(Buffer.from('é'));
    expect(new SimpleProducer('').more().length).toBe(0);
    expect(new SimpleProducer(Buffer.alloc(1000)).more().length).toBe(512);
    expect(() => new SimpleProducer('x', 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('streams through a queue (push_with_producer of a simple_producer)', () => {
    const q = new OutputQueue();
    const text = "hello world\nI'm not dead yet!\nQUIT\n";
    q.pushProducer(new SimpleProducer(text, 8));
    expect(drain(q, { maxBytes: 5, accept: (n) => Math.min(n, 3) }).data.toString()).toBe(text);
  });
});

describe('producers are pulled lazily, in order', () => {
  it('does not call more() before everything in front of the producer was offered', () => {
    const q = new OutputQueue();
    const p = spyProducer(['xy', 'z']);
    q.push(Buffer.alloc(100, 'a'));
    q.pushProducer(p);
    const out: Uint8Array[] = [];
    expect(q.gather(out, 50, 16).total).toBe(50);
    expect(p.calls).toBe(0);
    q.consume(50);
    expect(q.gather(out, 50, 16).total).toBe(50);
    expect(p.calls).toBe(0);
    // Budget left after the data: the producer is pulled until it is exhausted.
    const r = q.gather(out, 200, 16);
    expect(p.calls).toBe(3);
    expect(r.total).toBe(53);
    expect(Buffer.concat(written(out, r.count, r.firstOffset, r.total)).toString()).toBe('a'.repeat(50) + 'xyz');
  });

  it('does not call more() when the chunk budget is spent before it', () => {
    const q = new OutputQueue();
    const p = spyProducer(['late']);
    q.push(Buffer.alloc(20_000));
    q.push(Buffer.alloc(20_000));
    q.pushProducer(p);
    q.gather([], 1 << 20, 2);
    expect(p.calls).toBe(0);
    // One chunk of room: one pull fills it.
    expect(q.gather([], 1 << 20, 3).count).toBe(3);
    expect(p.calls).toBe(1);
    expect(q.gather([], 1 << 20, 4).count).toBe(3);
    expect(p.calls).toBe(2);
  });

  it('pulls only as much as one write can take', () => {
    const q = new OutputQueue();
    let calls = 0;
    q.pushProducer({ more: () => (calls++, 'x'.repeat(100)) }); // endless
    const r = q.gather([], 1000, 1024);
    expect(r.total).toBe(1000);
    expect(calls).toBe(10);
  });

  it('never pulls a producer queued after a close marker', () => {
    const q = new OutputQueue();
    const before = spyProducer(['1', '2']);
    const after = spyProducer(['3']);
    q.pushProducer(before);
    q.pushClose();
    q.pushProducer(after);
    for (let i = 0; i < 3; i++) expect(drain(q).closed).toBe(true);
    expect(before.calls).toBe(3);
    expect(after.calls).toBe(0);
  });

  it('keeps order when more() pushes to the queue, and survives more() clearing it', () => {
    let q = new OutputQueue();
    let n = 0;
    q.pushProducer({
      more() {
        if (n === 2) return '';
        q.push(`pushed${n}`);
        expect(q.gather([], 100, 10).count).toBe(0); // reentrant gather offers nothing
        expect(() => q.consume(1)).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_REENTRANT' }));
        return `more${n++}`;
      },
    });
    q.push('|');
    expect(drain(q).data.toString()).toBe('more0more1|pushed0pushed1');

    // discard_buffers from inside more(): 'a', offered but not written, goes too.
    q = new OutputQueue();
    q.push('a');
    q.pushProducer({
      more() {
        q.clear();
        q.push('b');
        return 'dropped';
      },
    });
    expect(drain(q).data.toString()).toBe('b');
  });

  it('propagates an exception from more() and leaves the producer at its place', () => {
    const q = new OutputQueue();
    let fail = true;
    q.push('a');
    q.pushProducer({
      more() {
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
        return null;
      },
    });
    q.push('b');
    expect(() => q.gather([], 100, 10)).toThrow('boom');
    expect(drain(q).data.toString()).toBe('ab');
  });
});

describe('partial writes', () => {
  // A scenario with every kind of entry: small and large pushes, strings, producers of small
  // and large chunks, a producer refilling one buffer, and the close marker.
  function scenario(): { q: OutputQueue; expected: Buffer } {
    const q = new OutputQueue();
    const parts: Buffer[] = [];
    const add = (b: Buffer) => parts.push(Buffer.from(b));
    const push = (d: Buffer | string) => {
      q.push(d);
      add(typeof d === 'string' ? Buffer.from(d) : d);
    };
    push('hello ');
    push(Buffer.from([0, 1, 2, 3, 4, 5, 6]));
    const large = Buffer.alloc(17_000);
    for (let i = 0; i < large.length; i++) large[i] = (i * 7) & 0xff;
    push(large);
    const produced = Buffer.from('simple producer, small slices;');
    q.pushProducer(new SimpleProducer(produced, 3));
    add(produced);
    push('ünïcode');
    const shared = Buffer.alloc(5);
    let k = 0;
    q.pushProducer({
      more() {
        if (k === 4) return undefined;
        shared.fill(0x41 + k++);
        return shared;
      },
    });
    for (let i = 0; i < 4; i++) add(Buffer.alloc(5, 0x41 + i));
    const bigProduced = Buffer.alloc(40_000, 0x7a);
    q.pushProducer(new SimpleProducer(bigProduced, 20_000));
    add(bigProduced);
    for (let i = 0; i < 50; i++) push(`line ${i}\r\n`);
    q.pushClose();
    q.push('after the marker');
    return { q, expected: Buffer.concat(parts) };
  }

  it('a first write cut at every offset, then the rest, gives the stream exactly', () => {
    const total = scenario().expected.length;
    for (let cut = 0; cut <= total; cut += cut < 200 || total - cut < 200 ? 1 : 97) {
      const { q, expected } = scenario();
      const out: Uint8Array[] = [];
      const r = q.gather(out, 1 << 20, 1024);
      expect(r.total).toBe(total);
      const head = written(out, r.count, r.firstOffset, cut);
      q.consume(cut);
      const rest = drain(q);
      expect(rest.closed).toBe(true);
      expect(Buffer.concat([...head, rest.data]).equals(expected)).toBe(true);
    }
  });

  it('a writer taking random amounts, with random budgets, gives the stream exactly', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const { q, expected } = scenario();
      const maxBytes = 1 + Math.floor(random() * (random() < 0.5 ? 64 : 70_000));
      const maxChunks = 1 + Math.floor(random() * 6);
      const { data, closed } = drain(q, {
        maxBytes,
        maxChunks,
        accept: (offered) => Math.floor(random() * (offered + 1)),
      });
      expect(closed).toBe(true);
      if (!data.equals(expected)) throw new Error(`seed ${seed}: stream differs`);
      expect(q._internals().entries).toBe(2); // the marker and what follows it
    }
  });
});

describe('cost', () => {
  it('coalesces 10,000 small pushes into a few writes', () => {
    const q = new OutputQueue();
    const line = Buffer.from('0123456789abcdefghijklmnopqrstu\r\n!');
    expect(line.length).toBe(34);
    for (let i = 0; i < 10_000; i++) q.push(i % 2 ? line : line.toString('latin1'));
    expect(q.bytes).toBe(340_000);
    // A block per doubling: a few dozen entries, not one per push.
    expect(q._internals().entries).toBeLessThanOrEqual(16);
    const { data, gathers } = drain(q, { maxBytes: 256 * 1024 });
    expect(data.length).toBe(340_000);
    expect(data.equals(Buffer.concat(Array(10_000).fill(line)))).toBe(true);
    expect(gathers - 1).toBeLessThanOrEqual(4); // the last gather finds the queue empty
  });

  it('drains a producer stream in time linear in its size', () => {
    // One large push (copied before the clock starts), then a producer: SimpleProducer's own
    // slices of 16 KiB are queued without a copy, so what is timed is the queue's work (pulls,
    // gathers, partial consumes) rather than the allocator and the caches, which made a 4 vs
    // 64 MiB comparison of copying streams vary 4x on a loaded machine. CPU time, not wall
    // time, for the same reason. Quadratic work would make the ratio 16.
    const source = Buffer.alloc(64 << 20, 0x61);
    const run = (bytes: number): number => {
      const q = new OutputQueue();
      q.push(source.subarray(0, bytes)); // one large head, written a few KiB at a time
      q.pushProducer(new SimpleProducer(source.subarray(0, bytes), 16 * 1024));
      q.push('end');
      const random = prng(bytes);
      const out: Uint8Array[] = [];
      let sent = 0;
      const before = process.cpuUsage();
      for (;;) {
        const r = q.gather(out, 256 * 1024, 1024);
        if (r.count === 0) break;
        // A socket that takes a few KiB of each write: partial writes all along.
        const n = 1 + Math.floor(random() * Math.min(r.total, 8192));
        sent += n;
        q.consume(n);
      }
      const used = process.cpuUsage(before);
      expect(sent).toBe(2 * bytes + 3);
      expect(q._internals().entries).toBe(0);
      expect(q._internals().blockBytes).toBeLessThanOrEqual(2048);
      return ((used.user + used.system) * 1000) / bytes;
    };
    run(4 << 20); // warm up
    const small = Math.min(run(4 << 20), run(4 << 20), run(4 << 20));
    const large = Math.min(run(64 << 20), run(64 << 20));
    expect(large / small).toBeLessThan(4);
  });

  it('copies a 64 MiB stream from a producer that refills one buffer', () => {
    const chunk = Buffer.alloc(64 * 1024);
    let k = 0;
    const q = new OutputQueue();
    q.pushProducer({
      more() {
        if (k === 1024) return null;
        chunk.fill(k++ & 0xff);
        return chunk;
      },
    });
    const out: Uint8Array[] = [];
    const random = prng(99);
    let sent = 0;
    let checked = 0;
    for (;;) {
      const r = q.gather(out, 256 * 1024, 1024);
      if (r.count === 0) break;
      const n = 1 + Math.floor(random() * r.total);
      // Spot-check the first byte written: it belongs to chunk floor(sent / 64 KiB).
      const first = out[0][r.firstOffset];
      if (first !== ((sent >> 16) & 0xff)) throw new Error(`byte ${sent} is ${first}`);
      checked++;
      sent += n;
      q.consume(n);
    }
    expect(sent).toBe(64 << 20);
    expect(checked).toBeGreaterThan(100);
  });

  it('releases what was sent: entries follow what is still queued', () => {
    const q = new OutputQueue();
    const out: Uint8Array[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) q.push(Buffer.alloc(20_000, i));
      for (let i = 0; i < 1000; i++) q.push('small line\n');
      // A slow reader: half of it goes out per round.
      let toSend = Math.floor(q.bytes / 2);
      while (toSend > 0) {
        const r = q.gather(out, Math.min(toSend, 256 * 1024), 64);
        q.consume(r.total);
        toSend -= r.total;
      }
      expect(q._internals().entries).toBeLessThan(250);
    }
    drain(q);
    expect(q.empty).toBe(true);
    expect(q._internals().entries).toBe(0);
    expect(q._internals().blockBytes).toBeLessThanOrEqual(2048);
  });

  it('keeps a small block across drains and writes it again, and lets a burst\'s big block go', () => {
    const q = new OutputQueue();
    const out: Uint8Array[] = [];
    // A steady sender: one reply per batch, sent whole, then the next one.
    for (let i = 0; i < 100; i++) {
      const line = `reply ${i}\r\n`;
      q.push(line);
      const r = q.gather(out, 1 << 20, 64);
      // What the kernel is offered is this reply, not bytes of an earlier one left in the block.
      expect(Buffer.concat(out.slice(0, r.count)).subarray(r.firstOffset).toString()).toBe(line);
      q.consume(r.total);
      expect(q._internals()).toEqual({ entries: 0, blockBytes: 1024 });
    }
    // A burst of small pushes grows blocks to 64 KiB; once drained, none of them is kept.
    for (let i = 0; i < 10_000; i++) q.push('small line\n');
    expect(drain(q).data.length).toBe(110_000);
    expect(q._internals()).toEqual({ entries: 0, blockBytes: 0 });
  });
});
