// The input side of async_chat, without sockets: src/asynchat/input-splitter.ts against a literal port of
// Python's handle_read (test/helpers/terminator-reference.ts), chunk boundary by chunk boundary.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AsynchatError } from '../../src/errors';
import { native } from '../../src/binding/native';
import { InputSplitter, type SplitterTarget } from '../../src/asynchat/input-splitter';
import { findPrefixAtEnd, normalizeTerminator, type Terminator } from '../../src/asynchat/terminator';
import { ReferenceSplitter, referencePrefixAtEnd } from '../helpers/terminator-reference';
import { prng as seededRandom } from '../helpers/prng';

type Event = ['collect', string] | ['found'] | ['throw'];

interface Splitter {
  feed(target: SplitterTarget, chunk: Buffer): void;
  discard(): void;
  readonly pending: number;
}

/** What a test target does besides recording; `n` counts its callbacks from 1. */
interface Script {
  /** Terminator at the start, as a string (latin1), a byte count, or null. */
  terminator: string | number | null;
  /** On the k-th found (from 0), set the terminator to switchTo[k % length]. */
  switchTo?: (string | number | null)[];
  /** Switch by protocol: RESP bulk strings, SMTP DATA. */
  protocol?: 'resp' | 'smtp';
  /** Build a new Buffer on every switch (else one Buffer per distinct terminator). */
  freshBuffers?: boolean;
  closeAt?: number;
  discardAt?: number[];
  throwAt?: number[];
  /** Before chunk i (from 1), set the terminator to this (outside any callback). */
  between?: Map<number, string | number | null>;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

class ScriptTarget implements SplitterTarget {
  terminator: Terminator;
  closed = false;
  readonly trace: Event[] = [];
  readonly kept: Buffer[] = [];
  private calls = 0;
  private founds = 0;
  private record = '';
  private mode: 'line' | 'bulk' | 'data' = 'line';
  private readonly interned = new Map<string, Buffer>();

  constructor(private readonly script: Script, private readonly splitter: Splitter) {
    this.terminator = this.term(script.terminator);
  }

  term(t: string | number | null): Terminator {
    if (typeof t !== 'string') return t;
    if (this.script.freshBuffers) return latin1(t);
    let b = this.interned.get(t);
    if (!b) this.interned.set(t, (b = latin1(t)));
    return b;
  }

  collectIncomingData(data: Buffer): void {
    if (data.length === 0) throw new Error('collectIncomingData called with empty data');
    this.trace.push(['collect', data.toString('latin1')]);
    this.kept.push(data);
    this.record += data.toString('latin1');
    this.after();
  }

  foundTerminator(): void {
    this.trace.push(['found']);
    const record = this.record;
    this.record = '';
    const { switchTo, protocol } = this.script;
    if (switchTo) {
      this.terminator = this.term(switchTo[this.founds % switchTo.length]);
    } else if (protocol === 'resp') {
      const m = this.mode === 'line' ? /^\$(\d+)$/.exec(record) : null;
      this.mode = m ? 'bulk' : 'line';
      this.terminator = m ? Number(m[1]) + 2 : this.term('\r\n');
    } else if (protocol === 'smtp') {
      this.mode = this.mode === 'line' && record === 'DATA' ? 'data' : 'line';
      this.terminator = this.term(this.mode === 'data' ? '\r\n.\r\n' : '\r\n');
    }
    this.founds++;
    this.after();
  }

  private after(): void {
    const n = ++this.calls;
    if (this.script.closeAt === n) this.closed = true;
    if (this.script.discardAt?.includes(n)) this.splitter.discard();
    if (this.script.throwAt?.includes(n)) throw new Error(`thrown at callback ${n}`);
  }
}

interface Outcome {
  trace: Event[];
  terminator: string | number | null;
  pending: number | 'closed';
  records: string[];
}

function run(splitter: Splitter, script: Script, chunks: Buffer[]): Outcome & { target: ScriptTarget } {
  const target = new ScriptTarget(script, splitter);
  chunks.forEach((chunk, i) => {
    const t = script.between?.get(i);
    if (t !== undefined) target.terminator = target.term(t);
    try {
      splitter.feed(target, chunk);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('thrown at')) throw err;
      target.trace.push(['throw']);
    }
  });
  const t = target.terminator;
  return {
    target,
    trace: target.trace,
    terminator: t === null || typeof t === 'number' ? t : t.toString('latin1'),
    pending: target.closed ? 'closed' : splitter.pending,
    records: records(target.trace),
  };
}

/** The records a trace delivers: collected data joined up to each found. */
function records(trace: Event[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const e of trace) {
    if (e[0] === 'collect') cur += e[1];
    else if (e[0] === 'found') {
      out.push(cur);
      cur = '';
    }
  }
  return out;
}

function compare(script: Script, chunks: Buffer[]): Outcome {
  const fast = run(new InputSplitter(), script, chunks);
  const ref = run(new ReferenceSplitter(), script, chunks);
  const strip = ({ target: _t, ...o }: Outcome & { target: ScriptTarget }): Outcome => o;
  const a = strip(fast);
  const b = strip(ref);
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    // Only on failure: say which case.
    expect({ script: describeScript(script), chunks: chunks.map((c) => c.toString('latin1')), ...a })
      .toEqual({ script: describeScript(script), chunks: chunks.map((c) => c.toString('latin1')), ...b });
  }
  return a;
}

function describeScript(s: Script): unknown {
  return { ...s, between: s.between ? [...s.between] : undefined };
}

/** Splits data at the given offsets. */
function cut(data: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const i of [...at, data.length]) {
    out.push(Buffer.from(data.subarray(prev, i)));
    prev = i;
  }
  return out;
}

function chunksOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(Buffer.from(data.subarray(i, i + size)));
  return out;
}

/** The shared seeded generator, with the three draws these tests need. */
function prng(seed: number): { int(n: number): number; pick<T>(a: readonly T[]): T; chance(p: number): boolean } {
  const next = seededRandom(seed);
  return {
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

type Rng = ReturnType<typeof prng>;

function randomString(r: Rng, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

function randomChunks(r: Rng, data: Buffer): Buffer[] {
  const style = r.int(5);
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const n = style === 0 ? 1 + r.int(3)
      : style === 1 ? 1 + r.int(16)
      : style === 2 ? r.int(200)  // empty chunks too
      : style === 3 ? 1 + r.int(4000)
      : r.pick([1, 2, 7, 64, 1000, 5000]);
    out.push(Buffer.from(data.subarray(i, i + n)));
    i += n;
  }
  if (r.chance(0.2)) out.push(Buffer.alloc(0));
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('normalizeTerminator', () => {
  it('encodes strings (UTF-8 unless told) and copies bytes', () => {
    expect(normalizeTerminator('\r\n')).toEqual(Buffer.from('\r\n'));
    expect(normalizeTerminator('é')).toEqual(Buffer.from([0xc3, 0xa9]));
    expect(normalizeTerminator('é', 'latin1')).toEqual(Buffer.from([0xe9]));
    const bytes = new Uint8Array([1, 2, 3]);
    const t = normalizeTerminator(bytes) as Buffer;
    expect(Buffer.isBuffer(t)).toBe(true);
    bytes[0] = 9;
    expect([...t]).toEqual([1, 2, 3]);
    const buf = Buffer.from('xy');
    expect(normalizeTerminator(buf)).not.toBe(buf);
  });

  it('makes falsy terminators null, keeps counts', () => {
    expect(normalizeTerminator('')).toBe(null);
    expect(normalizeTerminator(Buffer.alloc(0))).toBe(null);
    expect(normalizeTerminator(new Uint8Array(0))).toBe(null);
    expect(normalizeTerminator(null)).toBe(null);
    expect(normalizeTerminator(undefined)).toBe(null);
    expect(normalizeTerminator(0)).toBe(0);
    expect(Object.is(normalizeTerminator(-0), 0)).toBe(true);
    expect(normalizeTerminator(5)).toBe(5);
  });

  it('rejects negative and fractional counts (Python: ValueError) and other types', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 60]) {
      let err: unknown;
      try {
        normalizeTerminator(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AsynchatError);
      expect((err as AsynchatError).code).toBe('ERR_ASYNCHAT_BAD_TERMINATOR');
    }
    for (const bad of [true, {}, [1], 1n]) {
      expect(() => normalizeTerminator(bad as never)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_ASYNCHAT_BAD_TERMINATOR' }),
      );
    }
  });
});

describe('findPrefixAtEnd', () => {
  it('matches CPython test_find_prefix_at_end', () => {
    expect(findPrefixAtEnd('qwerty\r', '\r\n')).toBe(1);
    expect(findPrefixAtEnd('qwertydkjf', '\r\n')).toBe(0);
    expect(findPrefixAtEnd(Buffer.from('qwerty\r'), Buffer.from('\r\n'))).toBe(1);
    expect(findPrefixAtEnd(Buffer.from('qwerty\r'), '\r\n')).toBe(1);
  });

  it('is the longest proper prefix, never the whole needle, and -1 for an empty one as in Python', () => {
    expect(findPrefixAtEnd('xaab', 'aab')).toBe(0);
    expect(findPrefixAtEnd('xaa', 'aab')).toBe(2);
    expect(findPrefixAtEnd('a', 'aab')).toBe(1);
    expect(findPrefixAtEnd('abab', 'abab')).toBe(2);
    expect(findPrefixAtEnd('', 'abc')).toBe(0);
    expect(findPrefixAtEnd('abc', '')).toBe(-1);
    expect(findPrefixAtEnd(Buffer.from('abc'), Buffer.alloc(0))).toBe(-1);
  });

  it('agrees with the literal port on random inputs, short and long needles', () => {
    const r = prng(7);
    for (let i = 0; i < 2000; i++) {
      const needle = latin1(randomString(r, 'ab', 1 + r.int(i % 10 === 0 ? 40 : 8)));
      const hay = latin1(randomString(r, 'ab', r.int(50)));
      expect(findPrefixAtEnd(hay, needle)).toBe(referencePrefixAtEnd(hay, needle));
    }
  });
});

describe('InputSplitter: CPython test_asynchat, at the splitter', () => {
  function contents(script: Script, chunks: Buffer[]): { contents: string[]; rest: string } {
    const { trace } = compare(script, chunks);
    const recs = records(trace);
    let rest = '';
    for (const e of trace) rest = e[0] === 'found' ? '' : e[0] === 'collect' ? rest + e[1] : rest;
    return { contents: recs, rest };
  }

  for (const term of ['\n', '\r\n', 'qqq']) {
    for (const size of [1, 2, 3]) {
      it(`line terminator ${JSON.stringify(term)}, chunks of ${size}`, () => {
        const data = latin1(`hello world${term}I'm not dead yet!${term}`);
        expect(contents({ terminator: term }, chunksOf(data, size)).contents)
          .toEqual(['hello world', "I'm not dead yet!"]);
      });
    }
  }

  for (const n of [1, 6]) {
    it(`numeric terminator ${n} over 31 bytes`, () => {
      const data = latin1("hello world, I'm not dead yet!\n");
      expect(data.length).toBe(31);
      for (const chunks of [[data], chunksOf(data, 1), chunksOf(data, 4)]) {
        const { contents: c, rest } = contents({ terminator: n }, chunks);
        expect(c).toEqual([data.subarray(0, n).toString('latin1')]);
        expect(rest).toBe(data.subarray(n).toString('latin1'));
      }
    });
  }

  it('the integer countdown: "abc", "defgh", "ij" with 5', () => {
    const target = run(new InputSplitter(), { terminator: 5 }, [latin1('abc'), latin1('defgh'), latin1('ij')]);
    expect(target.trace).toEqual([
      ['collect', 'abc'], ['collect', 'de'], ['found'], ['collect', 'fgh'], ['collect', 'ij'],
    ]);
    expect(target.terminator).toBe(0);
  });

  it('writes the countdown back to the target', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: 10 }, splitter);
    splitter.feed(target, latin1('abcd'));
    expect(target.terminator).toBe(6);
    splitter.feed(target, latin1('efghijk'));
    expect(target.terminator).toBe(0);
    expect(target.trace).toEqual([['collect', 'abcd'], ['collect', 'efghij'], ['found'], ['collect', 'k']]);
  });

  it('None terminator: no record, everything collected', () => {
    const data = latin1("hello world, I'm not dead yet!\n");
    for (const chunks of [[data], chunksOf(data, 3)]) {
      const { contents: c, rest } = contents({ terminator: null }, chunks);
      expect(c).toEqual([]);
      expect(rest).toBe(data.toString('latin1'));
    }
  });

  it('an empty line gives an empty record (found without a collect)', () => {
    const data = latin1("hello world\n\nI'm not dead yet!\n");
    for (const size of [1, 2, 100]) {
      const out = compare({ terminator: '\n' }, chunksOf(data, size));
      expect(out.records).toEqual(['hello world', '', "I'm not dead yet!"]);
    }
    const { trace } = run(new InputSplitter(), { terminator: '\n' }, [latin1('a\n\n')]);
    expect(trace).toEqual([['collect', 'a'], ['found'], ['found']]);
  });

  it('follows the spec examples across reads', () => {
    const crlf = (chunks: string[]): Event[] =>
      run(new InputSplitter(), { terminator: '\r\n' }, chunks.map(latin1)).trace;
    expect(crlf(['abc\r', '\ndef\r\n'])).toEqual([['collect', 'abc'], ['found'], ['collect', 'def'], ['found']]);
    expect(crlf(['\r', '\r', '\n'])).toEqual([['collect', '\r'], ['found']]);
    expect(crlf(['ab\r', 'c\r\n'])).toEqual([['collect', 'ab'], ['collect', '\rc'], ['found']]);
  });

  it('closing inside foundTerminator stops delivery (Python delivers the rest: flaw 5)', () => {
    const data = [latin1('one\ntwo\nthree\n')];
    const script: Script = { terminator: '\n', closeAt: 2 };
    const fixed = compare(script, data);
    expect(fixed.records).toEqual(['one']);
    const python = run(new ReferenceSplitter(false), script, data);
    expect(python.records).toEqual(['one', 'two', 'three']);
    // And nothing after close, across reads and inside a collect.
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: '\n', closeAt: 1 }, splitter);
    splitter.feed(target, latin1('abc'));
    splitter.feed(target, latin1('def\nmore\n'));
    expect(target.trace).toEqual([['collect', 'abc']]);
    expect(splitter.pending).toBe(0);
  });

  it('a negative terminator is rejected', () => {
    expect(() => normalizeTerminator(-1)).toThrow(/non-negative/);
  });
});

describe('InputSplitter: every split into 2 and 3 chunks equals the reference', () => {
  const cases: [string, Script][] = [
    ['hello\nworld\n\nlast', { terminator: '\n' }],
    ['a\r\nb\r\r\n\r\n\r\rx\r', { terminator: '\r\n' }],
    ['xqqqyqqqqqqqzqqaqq', { terminator: 'qqq' }],
    ['aaabaabaaab aabaa', { terminator: 'aab' }],
    ['ababababcabababa', { terminator: 'abab' }],
    ['abcdefghijklmnopq', { terminator: 3, switchTo: [3] }],
    ['abcdefghij', { terminator: 1 }],
    ['abcdefghij', { terminator: 4 }],
    ['abc\ndef', { terminator: null }],
    ['HELO x\r\nDATA\r\nl1\r\n.\r\r\n.\r\nQUIT\r\n', { terminator: '\r\n', protocol: 'smtp' }],
    ['$3\r\nabc\r\n+OK\r\n$0\r\n\r\n', { terminator: '\r\n', protocol: 'resp' }],
    ['a;b,,c;d,e;;f', { terminator: ';', switchTo: [',', ';', 2, null] }],
  ];
  for (const [input, script] of cases) {
    it(`${JSON.stringify(input)} with ${JSON.stringify(script.terminator)}${script.protocol ? ` (${script.protocol})` : ''}`, () => {
      const data = latin1(input);
      const whole = compare(script, [data]).records;
      const n = data.length;
      for (let i = 0; i <= n; i++) {
        expect(compare(script, cut(data, [i])).records).toEqual(whole);
        for (let j = i; j <= n; j++) compare(script, cut(data, [i, j]));
      }
    });
  }
});

describe('InputSplitter: random cases against the reference', () => {
  // Mostly 1 to 8 bytes from a small alphabet, so that partial matches are frequent; a few
  // long ones for the KMP paths (more than 16 bytes; more than 256, beyond the native scan).
  function randomTerminator(r: Rng, alphabet: string, big: boolean): string {
    if (r.chance(0.05)) return 'a'.repeat(15 + r.int(10)) + 'b';
    if (!big && r.chance(0.02)) return 'a'.repeat(300) + 'b';
    return randomString(r, alphabet, 1 + r.int(8));
  }

  function randomData(r: Rng, alphabet: string, terms: string[], big: boolean): Buffer {
    let s = '';
    // (the reference is quadratic in a long terminator's length: keep those inputs short)
    const records = terms.some((t) => t.length > 100) ? r.int(6) : big ? 40 + r.int(160) : r.int(30);
    for (let i = 0; i < records; i++) {
      s += randomString(r, alphabet, r.int(r.chance(0.3) ? 3 : 12));
      if (r.chance(0.8)) s += r.pick(terms);
      else if (r.chance(0.5)) s += r.pick(terms).slice(0, 1 + r.int(4));
    }
    return latin1(s);
  }

  it('static byte terminators, random chunkings', () => {
    const r = prng(1);
    for (let i = 0; i < 1000; i++) {
      const alphabet = r.pick(['ab', 'abc', 'a\r\n', 'xy\n.']);
      const big = i % 5 === 0;
      const t = randomTerminator(r, alphabet, big);
      const data = randomData(r, alphabet, [t], big);
      compare({ terminator: t, freshBuffers: r.chance(0.3) }, randomChunks(r, data));
    }
  });

  it('terminators switched inside foundTerminator: bytes to bytes, bytes to counts, null', () => {
    const r = prng(2);
    for (let i = 0; i < 1000; i++) {
      const alphabet = r.pick(['ab', 'abc', 'a\r\n']);
      const big = i % 4 === 0;
      const terms = [randomTerminator(r, alphabet, big), randomTerminator(r, alphabet, big)];
      const switchTo: (string | number | null)[] = [...terms];
      if (r.chance(0.6)) switchTo.push(1 + r.int(12));
      if (r.chance(0.2)) switchTo.push(0);
      if (r.chance(0.1)) switchTo.push(null);
      const data = randomData(r, alphabet, terms, big);
      compare({ terminator: terms[0], switchTo, freshBuffers: r.chance(0.5) }, randomChunks(r, data));
    }
  });

  it('SMTP and RESP streams, switching by content', () => {
    const r = prng(3);
    for (let i = 0; i < 400; i++) {
      let s = '';
      const n = i % 3 === 0 ? 200 : 15;
      if (i % 2 === 0) {
        for (let k = 0; k < n; k++) {
          if (r.chance(0.2)) {
            s += 'DATA\r\n';
            for (let l = r.int(5); l > 0; l--) s += `${randomString(r, 'ab.\r\n', r.int(10))}\r\n`;
            s += '.\r\n';
          } else s += `${randomString(r, 'ABCD .', r.int(12))}\r\n`;
        }
        compare({ terminator: '\r\n', protocol: 'smtp', freshBuffers: r.chance(0.5) }, randomChunks(r, latin1(s)));
      } else {
        for (let k = 0; k < n; k++) {
          if (r.chance(0.5)) {
            const payload = randomString(r, 'xy\r\n$', r.int(20));
            s += `$${payload.length}\r\n${payload}\r\n`;
          } else s += r.pick(['+OK\r\n', ':42\r\n', '-ERR x\r\n', '*2\r\n']);
        }
        compare({ terminator: '\r\n', protocol: 'resp', freshBuffers: r.chance(0.5) }, randomChunks(r, latin1(s)));
      }
    }
  });

  it('callbacks that close, discard, throw; terminators changed between reads', () => {
    const r = prng(4);
    for (let i = 0; i < 1200; i++) {
      const alphabet = r.pick(['ab', 'a\r\n', 'abc']);
      const big = i % 5 === 0;
      const terms = [randomTerminator(r, alphabet, big), randomTerminator(r, alphabet, big)];
      const data = randomData(r, alphabet, terms, big);
      const chunks = randomChunks(r, data);
      const calls = Math.max(4, data.length);
      const script: Script = { terminator: terms[0], freshBuffers: r.chance(0.3) };
      if (r.chance(0.5)) script.switchTo = r.chance(0.5) ? [terms[1], terms[0]] : [terms[1], 1 + r.int(6), terms[0]];
      const kind = r.int(4);
      if (kind === 0) script.closeAt = 1 + r.int(calls);
      if (kind === 1) script.discardAt = [1 + r.int(calls), 1 + r.int(calls)];
      if (kind === 2) script.throwAt = [1 + r.int(calls), 1 + r.int(calls), 1 + r.int(calls)];
      if (kind === 3 || r.chance(0.3)) {
        script.between = new Map();
        for (let k = 0; k < 3; k++) {
          script.between.set(1 + r.int(chunks.length), r.pick<string | number | null>([...terms, terms[0], 3, null, 0]));
        }
      }
      compare(script, chunks);
    }
  });

  it('long runs of the terminator\'s first byte (candidates that fail, then memmem)', () => {
    const r = prng(9);
    for (let i = 0; i < 60; i++) {
      const t = r.pick(['\r\n', '\r\n.\r\n', 'ab', 'aaab']);
      let s = '';
      for (let k = 0; k < 6; k++) s += t[0].repeat(r.int(3000)) + randomString(r, 'xy', r.int(3)) + (r.chance(0.7) ? t : '');
      const data = latin1(s);
      compare({ terminator: t }, [data]);
      compare({ terminator: t }, randomChunks(r, data));
    }
  });

  it('uses the native scan for runs of records, and the results match', () => {
    const data = latin1('ab\r\n'.repeat(5000));
    const before = native.stats().scans;
    const out = compare({ terminator: '\r\n' }, chunksOf(data, 65536));
    expect(out.records.length).toBe(5000);
    expect(native.stats().scans).toBeGreaterThan(before);
  });
});

describe('InputSplitter: agrees with CPython 3.11 asynchat itself', () => {
  const probe = spawnSync('python3', ['-W', 'ignore', '-c', 'import asynchat'], { encoding: 'utf8' });
  const python = probe.status === 0;

  it.skipIf(!python)('on random cases (one python3 process)', () => {
    const r = prng(5);
    const cases: { chunks: string[]; terminator: string | number | null; switchTo: (string | number | null)[] }[] = [];
    for (let i = 0; i < 200; i++) {
      const alphabet = r.pick(['ab', 'a\r\n', 'abc\n']);
      const terms = [randomString(r, alphabet, 1 + r.int(5)), randomString(r, alphabet, 1 + r.int(5))];
      let s = '';
      for (let k = r.int(20); k > 0; k--) s += randomString(r, alphabet, r.int(8)) + (r.chance(0.7) ? r.pick(terms) : '');
      const switchTo: (string | number | null)[] = r.chance(0.5) ? [] : [terms[1], r.int(5), terms[0], null];
      cases.push({ chunks: randomChunks(r, latin1(s)).map((c) => c.toString('latin1')), terminator: terms[0], switchTo });
    }
    const script = String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
import asynchat
def conv(t):
    return t.encode('latin-1') if isinstance(t, str) else t
class Chat(asynchat.async_chat):
    def __init__(self, case):
        asynchat.async_chat.__init__(self)
        self.trace = []
        self.chunks = [c.encode('latin-1') for c in case['chunks']]
        self.switch = case['switchTo']
        self.founds = 0
        self.set_terminator(conv(case['terminator']))
    def recv(self, n):
        return self.chunks.pop(0)
    def collect_incoming_data(self, data):
        self.trace.append(['collect', data.decode('latin-1')])
    def found_terminator(self):
        self.trace.append(['found'])
        if self.switch:
            self.set_terminator(conv(self.switch[self.founds % len(self.switch)]))
        self.founds += 1
out = []
for case in json.load(sys.stdin):
    c = Chat(case)
    while c.chunks:
        c.handle_read()
    t = c.get_terminator()
    out.append({'trace': c.trace, 'terminator': t.decode('latin-1') if isinstance(t, bytes) else t, 'pending': len(c.ac_in_buffer)})
json.dump(out, sys.stdout)
`;
    const res = spawnSync('python3', ['-W', 'ignore', '-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
    expect(res.stderr).toBe('');
    const expected = JSON.parse(res.stdout) as { trace: Event[]; terminator: string | number | null; pending: number }[];
    cases.forEach((c, i) => {
      const chunks = c.chunks.map(latin1);
      const script: Script = { terminator: c.terminator, switchTo: c.switchTo.length ? c.switchTo : undefined };
      for (const splitter of [new InputSplitter(), new ReferenceSplitter()]) {
        const got = run(splitter, script, chunks);
        expect({ case: c, trace: got.trace, terminator: got.terminator, pending: got.pending })
          .toEqual({ case: c, ...expected[i] });
      }
    });
  });
});

describe('InputSplitter: buffer ownership', () => {
  it('what collectIncomingData got never changes afterwards', () => {
    const r = prng(6);
    for (let i = 0; i < 200; i++) {
      const splitter = new InputSplitter();
      const t = r.pick(['\r\n', 'aab', '\n', 'abab']);
      const target = new ScriptTarget({ terminator: t, switchTo: [t, 3, t] }, splitter);
      // Each piece is snapshotted when handed out; later reads must not change any of them.
      const data = latin1(randomString(r, 'ab\r\n', 2000));
      const snapshots: string[] = [];
      for (const chunk of randomChunks(r, data)) {
        splitter.feed(target, chunk);
        while (snapshots.length < target.kept.length) snapshots.push(target.kept[snapshots.length].toString('latin1'));
      }
      expect(target.kept.map((b) => b.toString('latin1'))).toEqual(snapshots);
    }
  });

  it('kept bytes joined with the next read are handed out as a fresh buffer', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: '\r\n' }, splitter);
    const a = latin1('ab\r');
    const b = latin1('c\r\n');
    splitter.feed(target, a);
    expect(splitter.pending).toBe(1);
    splitter.feed(target, b);
    expect(target.trace).toEqual([['collect', 'ab'], ['collect', '\rc'], ['found']]);
    // Many more reads that leave bytes behind must not overwrite what was handed out.
    for (let i = 0; i < 1000; i++) splitter.feed(target, latin1(`x${i}\r`));
    expect(target.kept[0].toString('latin1')).toBe('ab');
    expect(target.kept[1].toString('latin1')).toBe('\rc');
    expect(target.kept[2].toString('latin1')).toBe('x0');
    expect(target.kept.at(-1)!.toString('latin1')).toBe('\rx999');
  });

  it('views of a kept partial terminator survive later reads', () => {
    // "aab": kept "aa", then "ab" starts the terminator at kept byte 1: collect "a" (a view of
    // the kept bytes).
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: 'aab' }, splitter);
    for (let i = 0; i < 500; i++) {
      splitter.feed(target, latin1('xaa'));
      splitter.feed(target, latin1('ab'));
    }
    const expected: string[] = [];
    for (let i = 0; i < 500; i++) expected.push('x', 'a');
    expect(target.kept.map((b) => b.toString('latin1'))).toEqual(expected);
  });
});

describe('InputSplitter: refused input', () => {
  const refusal = new AsynchatError('ERR_ASYNCHAT_INPUT_TOO_LARGE', 'over the limit');

  it('refuse() from a callback: the rest of that read is dropped, every feed throws the refusal until discard()', () => {
    const splitter = new InputSplitter();
    const collected: string[] = [];
    let refuseAt = 3;
    const target: SplitterTarget = {
      terminator: Buffer.from('\n'),
      closed: false,
      collectIncomingData(data) {
        collected.push(data.toString());
        if (--refuseAt === 0) {
          splitter.refuse(refusal);
          throw refusal;
        }
      },
      foundTerminator() {},
    };
    expect(() => splitter.feed(target, latin1('a\nb\nc\nd\ne'))).toThrow(refusal);
    expect(collected).toEqual(['a', 'b', 'c']);
    expect(splitter.refused).toBe(true);
    expect(splitter.pending).toBe(0);  // nothing of the refused read is kept for later
    expect(() => splitter.feed(target, latin1('f\n'))).toThrow(refusal);
    expect(collected).toEqual(['a', 'b', 'c']);
    splitter.discard();
    expect(splitter.refused).toBe(false);
    splitter.feed(target, latin1('ok\n'));
    expect(collected).toEqual(['a', 'b', 'c', 'ok']);
  });

  it('an exception that is not a refusal keeps the rest of the read for the next feed, as Python keeps ac_in_buffer', () => {
    const splitter = new InputSplitter();
    const collected: string[] = [];
    let fail = true;
    const target: SplitterTarget = {
      terminator: Buffer.from('\n'),
      closed: false,
      collectIncomingData(data) {
        collected.push(data.toString());
        if (data.toString() === 'b' && fail) {
          fail = false;
          throw new Error('once');
        }
      },
      foundTerminator() {},
    };
    expect(() => splitter.feed(target, latin1('a\nb\nc\n'))).toThrow('once');
    splitter.feed(target, latin1(''));
    expect(collected).toEqual(['a', 'b', 'b', 'c']);
  });
});

describe('InputSplitter: details', () => {
  it('discard() drops kept bytes, and inside a callback the rest of the read, as Python', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: '\r\n' }, splitter);
    splitter.feed(target, latin1('abc\r'));
    expect(splitter.pending).toBe(1);
    splitter.discard();
    expect(splitter.pending).toBe(0);
    splitter.feed(target, latin1('\nx\r\n'));
    expect(target.trace).toEqual([['collect', 'abc'], ['collect', '\nx'], ['found']]);
    compare({ terminator: '\n', discardAt: [2] }, [latin1('a\nb\nc\n')]);
  });

  it('splitters share the scan results safely when one is fed from another\'s callback', () => {
    const inner = new InputSplitter();
    const innerTarget = new ScriptTarget({ terminator: '\n' }, inner);
    const outer = new InputSplitter();
    const lines = 'a\n'.repeat(500);
    const scans = native.stats().scans;
    const seen: string[] = [];
    let found = 0;
    const target: SplitterTarget = {
      terminator: Buffer.from('\n'),
      closed: false,
      collectIncomingData: (d) => seen.push(d.toString()),
      foundTerminator: () => {
        seen.push('|');
        // Every 7th record, so that the outer one has runs of records from one scan; the
        // inner records are of another length: results left by its scan would split 'a\n'
        // wrongly.
        if (++found % 7 === 0) inner.feed(innerTarget, latin1('bbb\n'.repeat(50)));
      },
    };
    outer.feed(target, Buffer.from(lines));
    expect(seen.join('')).toBe('a|'.repeat(500));
    expect(innerTarget.trace.length).toBe(71 * 100);
    expect(native.stats().scans - scans).toBeGreaterThan(71);
  });

  it('a chunk fed from inside a callback is delivered after the current one', () => {
    const splitter = new InputSplitter();
    const seen: string[] = [];
    let nested = false;
    const target: SplitterTarget = {
      terminator: Buffer.from('\n'),
      closed: false,
      collectIncomingData: (d) => seen.push(d.toString()),
      foundTerminator: () => {
        seen.push('|');
        if (!nested) {
          nested = true;
          splitter.feed(target, Buffer.from('d\ne'));
        }
      },
    };
    splitter.feed(target, Buffer.from('a\nb\nc'));
    expect(seen.join('')).toBe('a|b|cd|e');
  });

  it('accepts a plain Uint8Array chunk', () => {
    const splitter = new InputSplitter();
    const target = new ScriptTarget({ terminator: '\n' }, splitter);
    splitter.feed(target, new Uint8Array([0x61, 0x0a, 0x62]) as Buffer);
    expect(target.trace).toEqual([['collect', 'a'], ['found'], ['collect', 'b']]);
    expect(Buffer.isBuffer(target.kept[0])).toBe(true);
  });
});

describe('InputSplitter: linear time (ratio checks only)', () => {
  interface Workload {
    chunks: Buffer[];
    /** A fresh target for each run. */
    target(): SplitterTarget;
  }

  const plain = (terminator: Terminator): SplitterTarget => ({
    terminator,
    closed: false,
    collectIncomingData() {},
    foundTerminator() {},
  });

  /**
   * CPU time per byte of one run: the process's own CPU time, not the wall clock, which also
   * counts the time other processes of a loaded machine held the CPU.
   */
  function perByte(w: Workload, bytes: number): number {
    const splitter = new InputSplitter();
    const target = w.target();
    const t0 = process.cpuUsage();
    for (const c of w.chunks) splitter.feed(target, c);
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / bytes;
  }

  /**
   * Time per byte may not grow much from `small` to `large` (Python's grows with the size: 8x
   * the bytes, 8x the time per byte). The two sizes run in turns and each keeps its best run: a
   * shared machine only ever makes a run slower, and taking turns keeps a busy spell from
   * falling on one size alone.
   */
  function linear(make: (bytes: number) => Workload, small: number, large: number): void {
    const a = make(small);
    const b = make(large);
    perByte(a, small);  // warm up
    let bestSmall = Infinity;
    let bestLarge = Infinity;
    for (let i = 0; i < 7; i++) {
      bestSmall = Math.min(bestSmall, perByte(a, small));
      bestLarge = Math.min(bestLarge, perByte(b, large));
    }
    expect(bestLarge / bestSmall).toBeLessThan(4);
  }

  it('2-byte lines in one read', () => {
    linear((bytes) => ({
      chunks: [Buffer.from('a\n'.repeat(bytes / 2))],
      target: () => plain(Buffer.from('\n')),
    }), 128 * 1024, 1024 * 1024);
  });

  it('RESP in one read: the terminator alternates between bytes and a count', () => {
    const one = '$3\r\nabc\r\n';
    linear((bytes) => ({
      chunks: [Buffer.from(one.repeat(Math.floor(bytes / one.length)))],
      target: () => {
        const crlf = Buffer.from('\r\n');
        const t = plain(crlf);
        t.foundTerminator = () => {
          t.terminator = t.terminator === 0 ? crlf : 5;
        };
        return t;
      },
    }), 64 * 1024, 1024 * 1024);
  });

  it('a long terminator arriving byte by byte', () => {
    const term = Buffer.from(`${'a'.repeat(1000)}b`);
    linear((bytes) => ({
      chunks: chunksOf(Buffer.from('a'.repeat(bytes)), 1),
      target: () => plain(term),
    }), 16 * 1024, 128 * 1024);
  });
});
