// Framers: the fourth kind of terminator. Where a protocol carries its own lengths, a native
// parser (native/framer_*.cc) splits each read into frames and the fields of each frame, and
// AsyncChat delivers them with Python's contract: every field of a frame to
// collectIncomingData, then foundTerminator() at the frame's end.
//
//   chat.setTerminator(framers.resp())                       // each argument of a command
//   chat.setTerminator(framers.lengthPrefixed())             // a 4-byte big-endian length, then the payload
//   chat.setTerminator(framers.netstring({ maxLength: 1024 }))
//
// A Framer is immutable and may be shared by any number of channels.
import { asynchatError } from '../errors';
import { native } from '../binding/native';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Every limit and offset crosses into C++ as an int32. */
const INT32_MAX = 0x7fffffff;

/** Which parser a Framer runs: the name of the factory that made it. */
export type FramerKind = 'resp' | 'lengthPrefixed' | 'netstring';

/** Options of framers.resp(); the defaults are redis-server's where they are not too large to buffer. */
export interface RespFramerOptions {
  /**
   * Most bulk strings in one command ("*<count>"). Default 1048576: redis-server's limit until
   * 6.2 (7.x takes up to 2^31 - 1; a few bytes that announce that much work deserve a smaller
   * bound, and maxCommandBytes bounds the memory anyway).
   */
  maxArgs?: number;
  /**
   * Most bytes in one bulk string. Default 64 MiB: redis-server's proto-max-bulk-len (512 MB) is
   * more than one connection should make us buffer, and 64 MiB is AsyncChat's default
   * `maxOutputBuffered`, the most a reply could hand back.
   */
  maxArgBytes?: number;
  /**
   * Most bytes of an inline command before its '\n'. Default 65536, redis-server's
   * PROTO_INLINE_MAX_SIZE.
   */
  maxInlineBytes?: number;
  /**
   * Most bytes of one command, headers included: a command is delivered only once it is whole,
   * so this is what one connection can make us buffer. Default 128 MiB: two arguments of
   * maxArgBytes (redis-server's client-query-buffer-limit is 1 GB).
   */
  maxCommandBytes?: number;
}

/**
 * Options of framers.lengthPrefixed(): those of Netty's LengthFieldBasedFrameDecoder, with the
 * same meaning. The frame is lengthFieldOffset + lengthFieldLength + (the field's value +
 * lengthAdjustment) bytes; its one field is the frame less its first initialBytesToStrip bytes.
 */
export interface LengthPrefixedOptions {
  /** Where the length field starts in the frame (default 0). */
  lengthFieldOffset?: number;
  /** Its size in bytes: 1, 2, 3, 4 or 8 (default 4). An 8-byte field is signed, the others unsigned. */
  lengthFieldLength?: 1 | 2 | 3 | 4 | 8;
  /** Default 'big' (network order). */
  byteOrder?: 'big' | 'little';
  /** Added to the field's value (default 0); negative when the field counts the header too. */
  lengthAdjustment?: number;
  /**
   * Bytes cut from the start of the frame before it is delivered. Default: the header
   * (lengthFieldOffset + lengthFieldLength), so that the payload is the field. (Netty's default
   * is 0, the frame whole.)
   */
  initialBytesToStrip?: number;
  /**
   * Most bytes in a frame, header and stripped bytes included, as Netty counts it. Default
   * 4 MiB, AsyncChat's default `maxInputBuffered`.
   */
  maxFrameLength?: number;
}

/** Options of framers.netstring(). */
export interface NetstringOptions {
  /** Most bytes of payload (default 4 MiB, AsyncChat's default `maxInputBuffered`). */
  maxLength?: number;
}

/** A Framer's options, every default filled in. */
export type FramerOptions = Required<RespFramerOptions> | Required<LengthPrefixedOptions> | Required<NetstringOptions>;

/**
 * A terminator that splits the input into frames (see `framers`). Made by the factories only;
 * its options are read-only, resolved with their defaults.
 */
export class Framer<Options extends FramerOptions = FramerOptions> {
  /** The parser's config, as native/framer.h lays it out. */
  readonly #config: Int32Array;

  /** @internal use the factories of `framers` */
  constructor(
    /** Which parser. */
    readonly kind: FramerKind,
    /** The options, defaults filled in. */
    readonly options: Readonly<Options>,
    config: number[],
  ) {
    this.#config = Int32Array.from(config);
    Object.freeze(this);
  }

  /** @internal the config handed to native.parseFrames */
  static config(framer: Framer): Int32Array {
    return framer.#config;
  }

  /** The kind and the options, e.g. `netstring framer {"maxLength":10}`. */
  toString(): string {
    return `${this.kind} framer ${JSON.stringify(this.options)}`;
  }
}

// ---- the factories ----

const K = native.framing.kinds;

/** RESP2 commands as redis-server reads them: each argument of a command is a field. */
function resp(options: RespFramerOptions = {}): Framer<Required<RespFramerOptions>> {
  const o = readOptions<RespFramerOptions>('resp', options, ['maxArgs', 'maxArgBytes', 'maxInlineBytes', 'maxCommandBytes']);
  const resolved: Required<RespFramerOptions> = Object.freeze({
    maxArgs: integer('maxArgs', o.maxArgs, 1024 * 1024, 1),
    maxArgBytes: integer('maxArgBytes', o.maxArgBytes, 64 * MIB, 0),
    maxInlineBytes: integer('maxInlineBytes', o.maxInlineBytes, 64 * KIB, 0),
    maxCommandBytes: integer('maxCommandBytes', o.maxCommandBytes, 128 * MIB, 1),
  });
  const r = resolved;
  return new Framer('resp', resolved, [K.resp, r.maxArgs, r.maxArgBytes, r.maxInlineBytes, r.maxCommandBytes]);
}

/** Frames announced by a length field (Netty's LengthFieldBasedFrameDecoder): the frame, less its stripped bytes, is the field. */
function lengthPrefixed(options: LengthPrefixedOptions = {}): Framer<Required<LengthPrefixedOptions>> {
  const o = readOptions<LengthPrefixedOptions>('lengthPrefixed', options, [
    'lengthFieldOffset', 'lengthFieldLength', 'byteOrder', 'lengthAdjustment', 'initialBytesToStrip', 'maxFrameLength',
  ]);
  const offset = integer('lengthFieldOffset', o.lengthFieldOffset, 0, 0);
  const size = integer('lengthFieldLength', o.lengthFieldLength, 4, 1);
  if (![1, 2, 3, 4, 8].includes(size)) {
    throw optionError(`lengthFieldLength must be 1, 2, 3, 4 or 8, got ${size}`, 'RangeError');
  }
  const byteOrder = o.byteOrder ?? 'big';
  if (byteOrder !== 'big' && byteOrder !== 'little') {
    throw optionError(`byteOrder must be 'big' or 'little', got ${describe(byteOrder)}`, typeof byteOrder === 'string' ? 'RangeError' : 'TypeError');
  }
  const adjustment = integer('lengthAdjustment', o.lengthAdjustment, 0, -INT32_MAX - 1);
  const strip = integer('initialBytesToStrip', o.initialBytesToStrip, offset + size, 0);
  const max = integer('maxFrameLength', o.maxFrameLength, 4 * MIB, 1);
  if (offset + size > max) {
    throw optionError(
      `maxFrameLength (${max}) must be at least lengthFieldOffset (${offset}) + lengthFieldLength (${size})`, 'RangeError',
    );
  }
  const resolved: Required<LengthPrefixedOptions> = Object.freeze({
    lengthFieldOffset: offset,
    lengthFieldLength: size as 1 | 2 | 3 | 4 | 8,
    byteOrder,
    lengthAdjustment: adjustment,
    initialBytesToStrip: strip,
    maxFrameLength: max,
  });
  return new Framer('lengthPrefixed', resolved, [K.lengthPrefixed, offset, size, byteOrder === 'little' ? 1 : 0, adjustment, strip, max]);
}

/** Netstrings, "<length>:<payload>,": the payload is the field. */
function netstring(options: NetstringOptions = {}): Framer<Required<NetstringOptions>> {
  const o = readOptions<NetstringOptions>('netstring', options, ['maxLength']);
  const resolved: Required<NetstringOptions> = Object.freeze({ maxLength: integer('maxLength', o.maxLength, 4 * MIB, 0) });
  return new Framer('netstring', resolved, [K.netstring, resolved.maxLength]);
}

/** The type of `framers`. */
export interface FramerFactories {
  /** RESP2 commands as redis-server reads them: each argument of a command is a field. */
  resp(options?: RespFramerOptions): Framer<Required<RespFramerOptions>>;
  /** Frames announced by a length field (Netty's LengthFieldBasedFrameDecoder): the frame, less its stripped bytes, is the field. */
  lengthPrefixed(options?: LengthPrefixedOptions): Framer<Required<LengthPrefixedOptions>>;
  /** Netstrings, "<length>:<payload>,": the payload is the field. */
  netstring(options?: NetstringOptions): Framer<Required<NetstringOptions>>;
}

/**
 * The framer factories. A framer given to `setTerminator()` makes AsyncChat call
 * collectIncomingData once per field of a frame (even an empty one) and foundTerminator() at
 * its end; a frame is delivered only once it is whole and valid. A malformed frame, or one whose
 * header announces more than a limit, is refused before any of it is delivered: the read throws
 * ERR_ASYNCHAT_BAD_FRAME or ERR_ASYNCHAT_FRAME_TOO_LARGE, which reaches handleError (closing
 * the channel by default).
 */
export const framers: Readonly<FramerFactories> = Object.freeze({ resp, lengthPrefixed, netstring });

// ---- option checks ----

function readOptions<T extends object>(factory: string, options: T, known: (keyof T & string)[]): Partial<T> {
  if (options === null || typeof options !== 'object') {
    throw optionError(`framers.${factory}() takes an options object, got ${describe(options)}`, 'TypeError');
  }
  for (const name of Object.keys(options)) {
    if (!(known as string[]).includes(name)) {
      throw optionError(`framers.${factory}() has no option '${name}' (it has ${known.join(', ')})`, 'TypeError');
    }
  }
  return options;
}

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw optionError(`${name} must be a number, got ${describe(value)}`, 'TypeError');
  if (!Number.isInteger(value) || value < min || value > INT32_MAX) {
    throw optionError(`${name} must be an integer from ${min} to ${INT32_MAX}, got ${value}`, 'RangeError');
  }
  return value + 0;  // -0 becomes 0
}

function optionError(message: string, kind: 'TypeError' | 'RangeError'): Error {
  return asynchatError('ERR_ASYNCHAT_BAD_FRAMER_OPTION', message, kind);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
