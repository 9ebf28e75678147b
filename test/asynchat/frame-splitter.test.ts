// Framer terminators without sockets: the native parsers through InputSplitter and its
// FrameSplitter, against the slow reference (test/helpers/framer-reference.ts), byte stream by
// byte stream, cut at every boundary; then what the feed must honour as InputSplitter does
// (switching terminators mid-read, close, pause, discard, exceptions, chunks fed from callbacks,
// refusals) and what it must not do (copy a field that lies in one read, parse per frame).
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/binding/native';
import { stats } from '../../src/binding/backends';
import { Framer, framers } from '../../src/asynchat/framers';
import { io, parseFrames, results } from '../../src/asynchat/frame-splitter';
import { InputSplitter } from '../../src/asynchat/input-splitter';
import { compareWithReference, cutAt, runScript, ScriptTarget, type FrameScript } from '../helpers/frame-script';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const lp = (payload: string): Buffer => Buffer.concat([be32(payload.length), latin1(payload)]);

/** Every way to cut data in two, and in three for short data; byte by byte too. */
function everySplit(script: FrameScript, data: Buffer, label: string): void {
  compareWithReference(script, [data], label);
  compareWithReference(script, cutAt(data, Array.from({ length: data.length - 1 }, (_, i) => i + 1)), `${label} byte by byte`);
  for (let i = 1; i < data.length; i++) {
    compareWithReference(script, cutAt(data, [i]), `${label} cut at ${i}`);
    if (data.length <= 48) for (let j = i + 1; j < data.length; j++) compareWithReference(script, cutAt(data, [i, j]), `${label} cut at ${i}, ${j}`);
  }
}

const resp = framers.resp({ maxArgs: 8, maxArgBytes: 64, maxInlineBytes: 32, maxCommandBytes: 200 });

// Streams that pass through every state of each parser, and each way to refuse a frame.
const RESP_STREAMS: [string, string][] = [
  ['arrays of bulk strings', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\0\xff\r\n*1\r\n$4\r\nPING\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n'],
  ['no command: *0, *-1', '*0\r\n*-1\r\n*1\r\n$1\r\nx\r\n*-9223372036854775808\r\n'],
  ['inline commands', 'PING\r\nSET k "a\\x41\\n\\"b" \'c\\\'d\'\r\n\r\n \t\v\f\r\n\nECHO a"b c" \'\'\nGET x\r\r\n'],
  ['inline escapes', 'E "\\x4" "\\x" "\\xZZ" "\\q\\\\" a\'b\\c\' "\\\'"\n'],
  ['mixed', 'PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING x\n'],
  ['bad: count not a number', 'PING\r\n*x\r\n'],
  ['bad: count -0', '*-0\r\n'],
  ['bad: leading zero', '*01\r\n'],
  ['bad: count with +', '*+1\r\n'],
  ['bad: no \\n after \\r', '*1\rx'],
  ['bad: count too long', '*99999999999999999999\r\n'],
  ['bad: $ expected', '*1\r\n+PING\r\n'],
  ['bad: negative bulk length', '*1\r\n$-1\r\n'],
  ['bad: bulk length with a letter', '*1\r\n$4x\r\n'],
  ['bad: bulk not followed by \\r', '*1\r\n$4\r\nPINGxx'],
  ['bad: bulk not followed by \\n', '*1\r\n$4\r\nPING\rx'],
  ['bad: unbalanced quote', 'ECHO "abc\r\n'],
  ['bad: text after a closing quote', "ECHO 'a'b\r\n"],
  ['bad: NUL in an inline command', 'PI\0NG\r\n'],
  ['too large: args', '*9\r\n'],
  ['too large: arg bytes', '*1\r\n$65\r\n'],
  ['too large: command bytes', '*4\r\n$60\r\n' + 'x'.repeat(60) + '\r\n$60\r\n' + 'y'.repeat(60) + '\r\n$60\r\n'],
  ['too large: inline', 'x'.repeat(33)],
  ['inline at its limit', `${'x'.repeat(31)}\r\n${'y'.repeat(32)}\n`],
];

const LP_CASES: [string, Framer, Buffer][] = [
  ['4-byte big-endian, stripped', framers.lengthPrefixed({ maxFrameLength: 64 }), Buffer.concat([lp('hello'), lp(''), lp('x'.repeat(20))])],
  ['1-byte, not stripped', framers.lengthPrefixed({ lengthFieldLength: 1, initialBytesToStrip: 0 }), latin1('\x03abc\x00\x01z')],
  ['2-byte little-endian at offset 1, adjustment', framers.lengthPrefixed({ lengthFieldOffset: 1, lengthFieldLength: 2, byteOrder: 'little', lengthAdjustment: 1, initialBytesToStrip: 3 }),
    latin1('\xca\x03\x00\xfeabc\xcb\x00\x00\xff')],
  ['3-byte, length counts the whole frame', framers.lengthPrefixed({ lengthFieldLength: 3, lengthAdjustment: -3 }), latin1('\x00\x00\x05ab\x00\x00\x03')],
  ['8-byte', framers.lengthPrefixed({ lengthFieldLength: 8 }), latin1('\0\0\0\0\0\0\0\x02hi\0\0\0\0\0\0\0\0')],
  ['bad: negative 8-byte field', framers.lengthPrefixed({ lengthFieldLength: 8 }), latin1('\0\0\0\0\0\0\0\x01x\xff\0\0\0\0\0\0\0')],
  ['bad: shorter than the header', framers.lengthPrefixed({ lengthAdjustment: -5 }), latin1('\0\0\0\x01x\0\0\0\x02')],
  ['bad: shorter than initialBytesToStrip', framers.lengthPrefixed({ initialBytesToStrip: 6 }), latin1('\0\0\0\x02xy\0\0\0\x01')],
  ['too large', framers.lengthPrefixed({ maxFrameLength: 10 }), latin1('\0\0\0\x06abcdef\0\0\0\x07')],
  ['too large, 8-byte near 2^63', framers.lengthPrefixed({ lengthFieldLength: 8, lengthAdjustment: 2 ** 31 - 1 }), latin1('\x7f\xff\xff\xff\xff\xff\xff\xff')],
];

const NETSTRING_CASES: [string, Framer, string][] = [
  ['payloads', framers.netstring({ maxLength: 12 }), '5:hello,0:,12:hello world!,1:,,'],
  ['bad: leading zero', framers.netstring(), '3:abc,01:x,'],
  ['bad: 0 then not a colon', framers.netstring(), '0x'],
  ['bad: not a digit', framers.netstring(), ':x,'],
  ['bad: no colon', framers.netstring(), '12a'],
  ['bad: no comma', framers.netstring(), '3:abc;'],
  ['too large', framers.netstring({ maxLength: 99 }), '2:ab,100:'],
  ['too large before the digits end', framers.netstring({ maxLength: 5 }), '123'],
];

describe('framers against the reference, cut at every boundary', () => {
  it.each(RESP_STREAMS)('resp: %s', (label, stream) => {
    everySplit({ terminator: resp }, latin1(stream), label);
  });

  it.each(LP_CASES)('lengthPrefixed: %s', (label, framer, data) => {
    everySplit({ terminator: framer }, data, label);
  });

  it.each(NETSTRING_CASES)('netstring: %s', (label, framer, stream) => {
    everySplit({ terminator: framer }, latin1(stream), label);
  });

  it('the errors say where, what was expected and what came (checked against the reference above)', () => {
    const { trace } = compareWithReference({ terminator: resp }, [latin1('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n+1\r\n')]);
    expect(trace.at(-1)).toEqual(['error', 'ERR_ASYNCHAT_BAD_FRAME', { offset: 13, expected: "'$'", got: 0x2b, part: 'bulk header' }]);
    const big = compareWithReference({ terminator: resp }, [latin1('*1\r\n$100\r\n')]).trace;
    expect(big).toEqual([['error', 'ERR_ASYNCHAT_FRAME_TOO_LARGE', { offset: 4, limit: 'maxArgBytes', length: 100, part: 'bulk header' }]]);
  });
});

describe('the error objects', () => {
  function refusal(framer: Framer, data: string): Error & Record<string, unknown> {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: framer }, splitter);
    try {
      splitter.feed(target, latin1(data));
    } catch (err) {
      return err as Error & Record<string, unknown>;
    }
    throw new Error('no refusal');
  }

  it('ERR_ASYNCHAT_BAD_FRAME: offset in the frame, expected, got, part, and a message that says it', () => {
    const e = refusal(resp, 'PING\r\n*1\r\n$4\r\nPINGxx');
    expect(e).toMatchObject({ code: 'ERR_ASYNCHAT_BAD_FRAME', framer: 'resp', offset: 12, expected: "'\\r' after the bulk string", got: 0x78, part: 'bulk string' });
    expect(e.message).toBe("bad RESP frame: expected '\\r' after the bulk string at byte 12 of the frame (its bulk string), got 'x' (0x78)");
    const q = refusal(resp, 'ECHO "abc\r\n');
    expect(q.message).toBe('bad RESP frame: expected a closing quote at byte 9 of the frame (its inline command), got the end of the line');
    const l = refusal(framers.lengthPrefixed({ initialBytesToStrip: 6 }), '\0\0\0\x01x');
    expect(l).toMatchObject({ framer: 'lengthPrefixed', offset: 0, got: 5, part: 'length field' });
    expect(l.message).toBe('bad length-prefixed frame: expected a frame length of at least initialBytesToStrip at byte 0 of the frame (its length field), got a frame length of 5');
  });

  it('ERR_ASYNCHAT_FRAME_TOO_LARGE: the limit, its value, and what the header announced', () => {
    const e = refusal(framers.lengthPrefixed({ maxFrameLength: 100 }), '\0\0\x01\0');
    expect(e).toMatchObject({ code: 'ERR_ASYNCHAT_FRAME_TOO_LARGE', framer: 'lengthPrefixed', limit: 'maxFrameLength', max: 100, length: 260, offset: 0 });
    expect(e.message).toBe('length-prefixed frame refused from its length field (byte 0 of the frame): 260 is over maxFrameLength (100)');
    const n = refusal(framers.netstring({ maxLength: 10 }), '123');
    expect(n).toMatchObject({ limit: 'maxLength', max: 10, length: null });
    expect(n.message).toBe('netstring frame refused from its length (byte 0 of the frame): more than 10 bytes is over maxLength (10)');
  });
});

describe('the feed honours what InputSplitter honours', () => {
  const line = (s: string): string => `${s}\r\n`;
  const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;

  it('switches between framers, bytes, counts and null at any frame boundary, mid-read', () => {
    const lpf = framers.lengthPrefixed();
    const ns = framers.netstring();
    const data = Buffer.concat([
      latin1(line('HELLO')), latin1(cmd('SET', 'k', 'v')), lp('frame'), latin1('3:abc,'), latin1('12345'), latin1(cmd('PING')),
      latin1('rest of it'),
    ]);
    const script: FrameScript = { terminator: '\r\n', switchTo: [resp, lpf, ns, 5, resp, null] };
    everySplit(script, data, 'line, resp, length, netstring, count, resp, null');
  });

  it('a framer that changes before a read joins the unfinished frame\'s bytes to it for the new terminator', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: resp }, splitter);
    splitter.feed(target, latin1('*1\r\n$4\r\nPI'));
    expect(splitter.pending).toBe(10);
    target.terminator = Buffer.from('\r\n');
    splitter.feed(target, latin1('NG\r\nrest'));
    expect(target.trace).toEqual([['collect', '*1'], ['found'], ['collect', '$4'], ['found'], ['collect', 'PING'], ['found'], ['collect', 'rest']]);
  });

  it('switching to another framer, and back, mid-read', () => {
    const other = framers.resp({ maxArgs: 2 });
    const data = latin1(cmd('A') + cmd('B', 'C') + cmd('D', 'E', 'F') + cmd('G'));
    everySplit({ terminator: resp, switchTo: [other, resp] }, data, 'resp, resp with maxArgs 2');
  });

  it('closed: nothing more after close, from a field or from foundTerminator', () => {
    const data = latin1(cmd('A', 'B') + cmd('C') + cmd('D'));
    for (let at = 1; at <= 6; at++) everySplit({ terminator: resp, closeAt: at }, data, `close at ${at}`);
  });

  it('discard(): nothing more of what was read before it, from a field or from foundTerminator', () => {
    const data = latin1(cmd('A', 'B') + cmd('C') + cmd('D'));
    for (let at = 1; at <= 6; at++) everySplit({ terminator: resp, discardAt: [at] }, data, `discard at ${at}`);
  });

  it('an exception from a callback leaves what was not delivered for the next feed', () => {
    const data = latin1(cmd('A', 'B') + cmd('C') + cmd('D') + 'PING\r\n');
    for (let at = 1; at <= 8; at++) everySplit({ terminator: resp, throwAt: [at] }, data, `throw at ${at}`);
    everySplit({ terminator: resp, throwAt: [1, 2, 5] }, data, 'throw at 1, 2, 5');
    everySplit({ terminator: framers.netstring(), throwAt: [2, 3] }, latin1('3:abc,0:,1:x,'), 'netstring, throw at 2, 3');
  });

  it('paused input holds the frames not yet delivered, unread, until resume()', () => {
    const data = latin1(cmd('A', 'B') + cmd('C') + cmd('D') + 'PING\r\n');
    for (let at = 1; at <= 8; at++) everySplit({ terminator: resp, pauseAt: [at] }, data, `pause at ${at}`);
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: resp, pauseAt: [2] }, splitter);
    splitter.feed(target, data);
    expect(target.trace).toEqual([['collect', 'A'], ['collect', 'B'], ['found']]);
    expect(splitter.holding).toBe(true);
    target.inputPaused = false;
    splitter.resume(target);
    expect(target.trace.slice(3)).toEqual([['collect', 'C'], ['found'], ['collect', 'D'], ['found'], ['collect', 'PING'], ['found']]);
  });

  it('a chunk fed from inside a callback is delivered after the rest of the current one', () => {
    const splitter = new InputSplitter();
    const script: FrameScript = { terminator: resp, feedAt: new Map([[1, latin1(cmd('Z'))]]) };
    const { trace } = runScript(splitter, script, [latin1(cmd('A') + cmd('B'))]);
    expect(trace).toEqual([['collect', 'A'], ['found'], ['collect', 'B'], ['found'], ['collect', 'Z'], ['found']]);
  });

  it('a refused frame: the frames before it delivered, then every feed throws until discard()', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: resp }, splitter);
    expect(() => splitter.feed(target, latin1(`${cmd('A')}*1\r\n$x`))).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_FRAME', offset: 5 }));
    expect(target.trace).toEqual([['collect', 'A'], ['found']]);
    expect(splitter.refused).toBe(true);
    expect(splitter.pending).toBe(0);
    expect(() => splitter.feed(target, latin1(cmd('B')))).toThrow(expect.objectContaining({ code: 'ERR_ASYNCHAT_BAD_FRAME' }));
    splitter.discard();
    splitter.feed(target, latin1(cmd('C')));
    expect(target.trace.slice(2)).toEqual([['collect', 'C'], ['found']]);
  });
});

describe('views, copies and crossings', () => {
  it('a field that lies in one read is a view of it; one that spans reads is joined once', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: framers.lengthPrefixed() }, splitter);
    const chunk = Buffer.concat([lp('first'), lp('second'), lp('third').subarray(0, 6)]);
    splitter.feed(target, chunk);
    expect(target.kept.map((b) => b.buffer === chunk.buffer)).toEqual([true, true]);
    expect(target.kept[0].byteOffset).toBe(chunk.byteOffset + 4);
    const rest = lp('third').subarray(6);
    const second = Buffer.concat([rest, lp('fourth')]);
    splitter.feed(target, second);
    expect(target.kept.map((b) => b.toString())).toEqual(['first', 'second', 'third', 'fourth']);
    expect(target.kept[2].buffer).not.toBe(chunk.buffer);
    expect(target.kept[2].buffer).not.toBe(second.buffer);
    // the second read's own bytes again
    expect([target.kept[3].buffer === second.buffer, target.kept[3].byteOffset]).toEqual([true, second.byteOffset + rest.length + 4]);
  });

  it('what was delivered is never rewritten, whatever comes after', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: resp }, splitter);
    const cmd = (i: number): string => `*2\r\n$3\r\nGET\r\n$10\r\n${String(i).padStart(10, '0')}\r\n`;
    const stream = latin1(Array.from({ length: 200 }, (_, i) => cmd(i)).join(''));
    let kept: Buffer[] = [];
    let copies: string[] = [];
    for (let at = 0, i = 0; at < stream.length; i++) {
      const n = 1 + ((i * 13) % 50);
      splitter.feed(target, stream.subarray(at, at + n));
      at += n;
      if (i === 40) {
        kept = [...target.kept];
        copies = kept.map((b) => b.toString('latin1'));
      }
    }
    expect(target.kept).toHaveLength(400);
    expect(kept.map((b) => b.toString('latin1'))).toEqual(copies);
    expect(target.kept.filter((_, i) => i % 2 === 1).map((b) => Number(b.toString()))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('one native call per read for a run of frames, not one per frame', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: resp }, splitter);
    const batch = latin1('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n'.repeat(64));
    splitter.feed(target, batch);  // the first read grows the look-ahead
    const before = stats().scans;
    for (let i = 0; i < 10; i++) splitter.feed(target, batch);
    expect(stats().scans - before).toBe(10);
    expect(target.trace.filter((e) => e[0] === 'found')).toHaveLength(11 * 64);
  });

  it('a frame arriving a few bytes at a time costs time linear in its size', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: framers.resp({ maxArgs: 1 << 20 }) }, splitter);
    const args = 20000;
    const data = latin1(`*${args}\r\n${'$1\r\nx\r\n'.repeat(args)}`);
    const t0 = performance.now();
    for (let i = 0; i < data.length; i += 7) splitter.feed(target, data.subarray(i, i + 7));
    const ms = performance.now() - t0;
    expect(target.trace).toHaveLength(args + 1);
    expect(ms).toBeLessThan(2000);  // re-parsing from the frame's start at each read would be ~10^9 steps
  });

  it('a frame with more fields than one parse call reports (the shared results hold 4096)', () => {
    const data = latin1(`*5000\r\n${'$1\r\na\r\n'.repeat(5000)}*1\r\n$1\r\nb\r\n`);
    const framer = framers.resp({ maxArgs: 10000 });
    const { trace } = compareWithReference({ terminator: framer }, [data]);
    expect(trace).toHaveLength(5000 + 1 + 2);
    compareWithReference({ terminator: framer }, cutAt(data, [3000, 20000]));
  });
});

describe('parseFrames, the native contract', () => {
  const F = native.framing;
  const S = F.slots;
  /** The config words written into io by hand, the way FrameSplitter's parseFrames() loads them. */
  function load(words: number[]): void {
    for (let i = 0; i < S.configWords; i++) io[S.config + i] = words[i] ?? 0;
  }
  afterEach(() => {
    io[S.phase] = 0;
    parseFrames(framers.netstring(), Buffer.alloc(0), 0, 0, 1);  // leaves a real framer's config loaded
  });

  it('checks what JavaScript hands it', () => {
    const buf = latin1('PING\r\n');
    io[S.phase] = 0;
    expect(() => parseFrames(resp, buf, 0, 7, 1)).toThrow(/out of range/);
    expect(() => parseFrames(resp, buf, 3, 2, 1)).toThrow(/out of range/);
    expect(() => parseFrames(resp, buf, -1, 6, 1)).toThrow(RangeError);
    expect(() => parseFrames(resp, 'x' as never, 0, 1, 1)).toThrow(TypeError);
    io[S.pos] = 0;
    io[S.end] = 6;
    io[S.maxFrames] = 1;
    load([9, 1]);
    expect(() => native.parseFrames(buf)).toThrow(/not a framer's config/);
    load([2, 0, 5, 0, 0, 0, 10]);  // a 5-byte length field
    expect(() => native.parseFrames(buf)).toThrow(/not a framer's config/);
    load([1, 1.5, 1, 1, 1]);
    expect(() => native.parseFrames(buf)).toThrow(/not a framer's config/);
    const c = [...(Framer.config(resp))];
    load(c);
    io[S.phase] = 9;
    expect(() => native.parseFrames(buf)).toThrow(/state/);
    io[S.phase] = 3;
    io[S.at] = 100;  // the resume point past the range
    expect(() => native.parseFrames(buf)).toThrow(/state/);
    io[S.phase] = 0;
    io[S.maxFrames] = 0.5;
    expect(() => native.parseFrames(buf)).toThrow(/maxFrames must be an integer/);
    io[S.maxFrames] = 1;
    expect(() => native.framingArrays(new Float64Array(3), new Int32Array(8))).toThrow(/too short/);
    expect(() => native.framingArrays(io, new Int32Array(2))).toThrow(/at least 4/);
    expect(native.parseFrames(buf)).toBeUndefined();
    expect(io[S.count]).toBe(4);
    expect([...results.subarray(0, 4)]).toEqual([0, 4, -1, 6]);
    expect(io[S.status]).toBe(F.status.end);
  });

  it('stops after maxFrames (full), and says what an unfinished frame still needs (more)', () => {
    const buf = Buffer.concat([lp('ab'), lp('cd'), lp('efgh').subarray(0, 5)]);
    const f = framers.lengthPrefixed();
    expect(parseFrames(f, buf, 0, buf.length, 1)).toBe(4);
    expect([io[S.status], io[S.stop]]).toEqual([F.status.full, 6]);
    expect(parseFrames(f, buf, 6, buf.length, 10)).toBe(4);
    expect([io[S.status], io[S.stop], io[S.need]]).toEqual([F.status.more, 12, 3]);
  });

  it('RESP resumes in the state it stopped in, with the fields of the unfinished frame after the complete ones', () => {
    const whole = latin1('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n');
    io[S.phase] = 0;
    const n = parseFrames(resp, whole, 0, 25, 10);
    expect(n).toBe(0);
    expect(io[S.status]).toBe(F.status.more);
    expect(io[S.partial]).toBe(4);
    expect([...results.subarray(0, 4)]).toEqual([8, 3, 17, 1]);
    expect(io[S.need]).toBe(6);  // "alue\r\n"
    expect(io[S.phase]).not.toBe(0);
    expect(parseFrames(resp, whole, 0, whole.length, 10)).toBe(4);
    expect([...results.subarray(0, 4)]).toEqual([24, 5, -1, whole.length]);
  });
});
