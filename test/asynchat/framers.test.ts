// The framer factories: options resolved with their defaults, checked (a stable code, TypeError
// or RangeError), and an immutable Framer that setTerminator accepts as it is.
import { describe, expect, it } from 'vitest';
import { Framer, framers } from '../../src/asynchat/framers';
import { normalizeTerminator } from '../../src/asynchat/terminator';
import { AsyncChat } from '../../src/asynchat/async-chat';
import * as lib from '../../src/index';

const MiB = 1024 * 1024;

function optionError(f: () => unknown, kind: typeof TypeError | typeof RangeError, message: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(kind);
  expect((thrown as { code: string }).code).toBe('ERR_ASYNCHAT_BAD_FRAMER_OPTION');
  expect((thrown as Error).message).toMatch(message);
}

describe('framers', () => {
  it('are exported from the package, at the top and in the asynchat namespace', () => {
    expect(lib.framers).toBe(framers);
    expect(lib.asynchat.framers).toBe(framers);
    expect(lib.Framer).toBe(Framer);
  });

  it('resp: redis-server defaults where they fit, limits within int32', () => {
    const f = framers.resp();
    expect(f.kind).toBe('resp');
    expect(f.options).toEqual({ maxArgs: 1024 * 1024, maxArgBytes: 64 * MiB, maxInlineBytes: 65536, maxCommandBytes: 128 * MiB });
    expect(framers.resp({ maxArgs: 3, maxArgBytes: 0 }).options).toMatchObject({ maxArgs: 3, maxArgBytes: 0 });
    optionError(() => framers.resp({ maxArgs: 0 }), RangeError, /maxArgs must be an integer from 1/);
    optionError(() => framers.resp({ maxArgBytes: 2 ** 31 }), RangeError, /maxArgBytes/);
    optionError(() => framers.resp({ maxInlineBytes: 1.5 }), RangeError, /maxInlineBytes/);
    optionError(() => framers.resp({ maxCommandBytes: '10' as unknown as number }), TypeError, /must be a number, got "10"/);
    optionError(() => framers.resp({ maxArg: 1 } as never), TypeError, /no option 'maxArg'/);
    optionError(() => framers.resp(null as never), TypeError, /takes an options object, got null/);
  });

  it("lengthPrefixed: Netty's options; the header stripped by default", () => {
    const f = framers.lengthPrefixed();
    expect(f.options).toEqual({
      lengthFieldOffset: 0, lengthFieldLength: 4, byteOrder: 'big', lengthAdjustment: 0, initialBytesToStrip: 4,
      maxFrameLength: 4 * MiB,
    });
    expect(framers.lengthPrefixed({ lengthFieldOffset: 2, lengthFieldLength: 2 }).options.initialBytesToStrip).toBe(4);
    expect(framers.lengthPrefixed({ initialBytesToStrip: 0, lengthAdjustment: -4 }).options).toMatchObject({ initialBytesToStrip: 0, lengthAdjustment: -4 });
    for (const size of [1, 2, 3, 4, 8] as const) expect(framers.lengthPrefixed({ lengthFieldLength: size }).options.lengthFieldLength).toBe(size);
    optionError(() => framers.lengthPrefixed({ lengthFieldLength: 5 as 4 }), RangeError, /1, 2, 3, 4 or 8, got 5/);
    optionError(() => framers.lengthPrefixed({ byteOrder: 'middle' as 'big' }), RangeError, /'big' or 'little', got "middle"/);
    optionError(() => framers.lengthPrefixed({ byteOrder: 1 as unknown as 'big' }), TypeError, /byteOrder/);
    optionError(() => framers.lengthPrefixed({ lengthFieldOffset: -1 }), RangeError, /lengthFieldOffset/);
    optionError(() => framers.lengthPrefixed({ initialBytesToStrip: -1 }), RangeError, /initialBytesToStrip/);
    optionError(() => framers.lengthPrefixed({ maxFrameLength: 0 }), RangeError, /maxFrameLength/);
    // As Netty's constructor: the length field must fit in the largest frame.
    optionError(() => framers.lengthPrefixed({ lengthFieldOffset: 10, maxFrameLength: 12 }), RangeError, /at least lengthFieldOffset \(10\) \+ lengthFieldLength \(4\)/);
    expect(framers.lengthPrefixed({ lengthAdjustment: -(2 ** 31) }).options.lengthAdjustment).toBe(-(2 ** 31));
  });

  it('netstring: a maximum length', () => {
    expect(framers.netstring().options).toEqual({ maxLength: 4 * MiB });
    expect(framers.netstring({ maxLength: 0 }).options).toEqual({ maxLength: 0 });
    optionError(() => framers.netstring({ maxLength: -1 }), RangeError, /maxLength/);
  });

  it('make immutable framers, which setTerminator keeps as they are', () => {
    const f = framers.netstring({ maxLength: 10 });
    expect(Object.isFrozen(f)).toBe(true);
    expect(Object.isFrozen(f.options)).toBe(true);
    expect(() => {
      (f.options as { maxLength: number }).maxLength = 20;
    }).toThrow(TypeError);
    expect(String(f)).toBe('netstring framer {"maxLength":10}');
    expect(normalizeTerminator(f)).toBe(f);
    const chat = new AsyncChat();
    chat.setTerminator(f);
    expect(chat.getTerminator()).toBe(f);
    chat.setTerminator('\r\n');
    expect(chat.getTerminator()).toEqual(Buffer.from('\r\n'));
    chat.close();
  });
});
