// Fuzzing the framers: random bytes and mutated valid streams, cut at random places and (the short
// ones) at every boundary, through the native parsers and the FrameSplitter, compared with the
// slow reference. Seeded (test/helpers/prng.ts): a failure prints its seed and replays. Each group
// runs for a bounded time.
import { describe, expect, it } from 'vitest';
import { framers, type Framer, type LengthPrefixedOptions } from '../../src/asynchat/framers';
import { compareWithReference, cutAt, type FrameScript, type ScriptTerminator } from '../helpers/frame-script';
import { prng } from '../helpers/prng';

/** Per group; ASYNCHAT_FUZZ_MS=60000 for a long run by hand. */
const BUDGET_MS = Number(process.env.ASYNCHAT_FUZZ_MS ?? 1500);

type Random = () => number;
const int = (r: Random, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)];

/** Bytes that matter to the parsers, often; anything, sometimes. */
const ALPHABET = Buffer.from('*$-0123456789\r\n\r\n :,"\'\\x\t\v\0abAF', 'latin1');
function randomBytes(r: Random, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r() < 0.8 ? ALPHABET[int(r, ALPHABET.length)] : int(r, 256);
  return b;
}

function mutate(r: Random, data: Buffer): Buffer {
  let b = Buffer.from(data);
  for (let k = 1 + int(r, 3); k > 0; k--) {
    const at = int(r, b.length + 1);
    const op = int(r, 4);
    if (op === 0 && at < b.length) b[at] = r() < 0.7 ? ALPHABET[int(r, ALPHABET.length)] : int(r, 256);
    else if (op === 1 && at < b.length) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else if (op === 2) b = Buffer.concat([b.subarray(0, at), randomBytes(r, 1 + int(r, 3)), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(int(r, b.length + 1)), b.subarray(at)]).subarray(0, data.length * 2 + 8);
  }
  return b;
}

// ---- valid streams ----

function respStream(r: Random, frames: number): Buffer {
  const parts: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const kind = int(r, 10);
    if (kind < 6) {
      const args = Array.from({ length: 1 + int(r, 4) }, () => randomBytes(r, int(r, 12)));
      parts.push(Buffer.from(`*${args.length}\r\n`));
      for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
    } else if (kind < 9) {
      const words = Array.from({ length: int(r, 4) }, () => {
        const w = pick(r, ['GET', 'k', 'a b', "it's", 'x\\y', '', 'q"']);
        const style = int(r, 3);
        if (style === 0) return w.replace(/[ "'\\]/g, '') || 'w';
        if (style === 1) return `"${w.replace(/["\\]/g, (c) => `\\${c}`)}\\x41"`;
        return `'${w.replace(/'/g, "\\'")}'`;
      });
      parts.push(Buffer.from(`${words.join(pick(r, [' ', '  ', '\t']))}${pick(r, ['\r\n', '\n'])}`, 'latin1'));
    } else {
      parts.push(Buffer.from(pick(r, ['*0\r\n', '*-1\r\n', '\r\n', '\n'])));
    }
  }
  return Buffer.concat(parts);
}

function lengthOptions(r: Random): LengthPrefixedOptions {
  const lengthFieldLength = pick(r, [1, 2, 3, 4, 8] as const);
  const lengthFieldOffset = int(r, 3);
  const lengthAdjustment = int(r, 5) - 2;
  const header = lengthFieldOffset + lengthFieldLength;
  return {
    lengthFieldOffset, lengthFieldLength, lengthAdjustment, byteOrder: r() < 0.5 ? 'big' : 'little',
    initialBytesToStrip: int(r, header + 2), maxFrameLength: header + 2 + int(r, 40),
  };
}

function lengthStream(r: Random, o: Required<LengthPrefixedOptions>, frames: number): Buffer {
  const parts: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const payload = randomBytes(r, int(r, 30));
    const value = Math.max(0, payload.length - o.lengthAdjustment);
    const field = Buffer.alloc(o.lengthFieldLength);
    let v = BigInt(value);
    for (let i = 0; i < o.lengthFieldLength; i++) {
      field[o.byteOrder === 'big' ? o.lengthFieldLength - 1 - i : i] = Number(v & 0xffn);
      v >>= 8n;
    }
    parts.push(randomBytes(r, o.lengthFieldOffset), field, payload.subarray(0, value + o.lengthAdjustment));
  }
  return Buffer.concat(parts);
}

function netstringStream(r: Random, frames: number): Buffer {
  return Buffer.concat(Array.from({ length: frames }, () => {
    const p = randomBytes(r, int(r, 20));
    return Buffer.concat([Buffer.from(`${p.length}:`), p, Buffer.from(',')]);
  }));
}

// ---- cutting and running ----

function randomCuts(r: Random, data: Buffer): Buffer[] {
  const cuts = Array.from({ length: int(r, 6) }, () => int(r, data.length + 1)).sort((a, b) => a - b);
  return cutAt(data, cuts);
}

function check(script: FrameScript, data: Buffer, r: Random, label: string): void {
  compareWithReference(script, [data], label);
  for (let k = 0; k < 3; k++) compareWithReference(script, randomCuts(r, data), label);
  if (data.length <= 40) {
    for (let i = 1; i < data.length; i++) compareWithReference(script, cutAt(data, [i]), `${label} cut at ${i}`);
  }
}

/** Runs cases from seeds 1, 2, ... until the time budget is spent; returns how many ran. */
function fuzz(name: string, one: (r: Random, label: string) => void): number {
  const deadline = performance.now() + BUDGET_MS;
  let seed = 0;
  while (performance.now() < deadline) {
    seed++;
    one(prng(seed * 7919 + name.length), `${name} seed ${seed}`);
  }
  return seed;
}

const RESP_FRAMERS = [
  framers.resp(),
  framers.resp({ maxArgs: 3, maxArgBytes: 8, maxInlineBytes: 12, maxCommandBytes: 40 }),
];

describe('fuzzing the framers against the reference', { timeout: BUDGET_MS + 20_000 }, () => {
  it('resp: random bytes', () => {
    const n = fuzz('resp random', (r, label) => {
      check({ terminator: pick(r, RESP_FRAMERS) }, randomBytes(r, 1 + int(r, 60)), r, label);
    });
    expect(n).toBeGreaterThan(10);
  });

  it('resp: mutated valid streams', () => {
    const n = fuzz('resp mutated', (r, label) => {
      const valid = respStream(r, 1 + int(r, 5));
      check({ terminator: pick(r, RESP_FRAMERS) }, r() < 0.2 ? valid : mutate(r, valid), r, label);
    });
    expect(n).toBeGreaterThan(10);
  });

  it('lengthPrefixed: random options, random bytes and mutated valid streams', () => {
    const n = fuzz('length', (r, label) => {
      const framer = framers.lengthPrefixed(lengthOptions(r));
      const o = framer.options as Required<LengthPrefixedOptions>;
      const valid = lengthStream(r, o, 1 + int(r, 5));
      const data = pick(r, [valid, mutate(r, valid), randomBytes(r, 1 + int(r, 40))]);
      check({ terminator: framer }, data, r, `${label} ${JSON.stringify(o)}`);
    });
    expect(n).toBeGreaterThan(10);
  });

  it('netstring: random bytes and mutated valid streams', () => {
    const n = fuzz('netstring', (r, label) => {
      const framer = framers.netstring({ maxLength: pick(r, [0, 5, 19, 1000]) });
      const valid = netstringStream(r, 1 + int(r, 5));
      check({ terminator: framer }, pick(r, [valid, mutate(r, valid), randomBytes(r, 1 + int(r, 30))]), r, label);
    });
    expect(n).toBeGreaterThan(10);
  });

  it('switching terminators at random frame boundaries, with callbacks that throw, close, discard and pause', () => {
    const lp = framers.lengthPrefixed({ lengthFieldLength: 1 });
    const ns = framers.netstring({ maxLength: 30 });
    const choices: ScriptTerminator[] = [RESP_FRAMERS[0], lp, ns, '\r\n', ',', 3, null];
    const n = fuzz('switching', (r, label) => {
      const script: FrameScript = {
        terminator: pick(r, choices),
        switchTo: Array.from({ length: 1 + int(r, 5) }, () => pick(r, choices)),
        throwAt: r() < 0.3 ? [1 + int(r, 12)] : undefined,
        closeAt: r() < 0.1 ? 1 + int(r, 20) : undefined,
        discardAt: r() < 0.1 ? [1 + int(r, 20)] : undefined,
        pauseAt: r() < 0.3 ? [1 + int(r, 12), 1 + int(r, 12)] : undefined,
      };
      const data = Buffer.concat(Array.from({ length: 1 + int(r, 6) }, () => pick(r, [
        respStream(r, 1), netstringStream(r, 1), Buffer.from([int(r, 6)]), randomBytes(r, int(r, 8)),
      ])));
      check(script, data, r, label);
    });
    expect(n).toBeGreaterThan(10);
  });
});
