// The reference for the framer tests: what one frame at the start of a byte string is, read the
// slow and literal way, from the rules as written (redis-server's string2ll, sdssplitargs and
// processMultibulkBuffer; Netty's LengthFieldBasedFrameDecoder; D. J. Bernstein's netstrings),
// with nothing shared with the native parsers or the FrameSplitter. BigInt for the arithmetic,
// a literal port of sdssplitargs for inline commands (it unquotes, where the native parser only
// finds the words), whole strings for the rest.
import type { Framer } from '../../src/asynchat/framers';
import type { LengthPrefixedOptions, NetstringOptions, RespFramerOptions } from '../../src/asynchat/framers';

export type RefFrame =
  | { kind: 'frame'; fields: Buffer[]; length: number }
  /** bytes that are no command (RESP "*0\r\n", an empty inline line): consumed, nothing delivered */
  | { kind: 'none'; length: number }
  | { kind: 'incomplete' }
  | { kind: 'bad'; offset: number; expected: string; got: number | null; part: string }
  | { kind: 'tooLarge'; offset: number; limit: string; length: number | null; part: string };

const INCOMPLETE: RefFrame = { kind: 'incomplete' };

/** The first frame of b (b starts at a frame boundary). */
export function referenceFrame(framer: Framer, b: Buffer): RefFrame {
  if (framer.kind === 'resp') return resp(framer.options as Required<RespFramerOptions>, b);
  if (framer.kind === 'lengthPrefixed') return lengthPrefixed(framer.options as Required<LengthPrefixedOptions>, b);
  return netstring(framer.options as Required<NetstringOptions>, b);
}

// ---- RESP ----

const INT64_MAX = (1n << 63n) - 1n;

type Num = { ok: true; value: bigint; next: number } | { ok: false; frame: RefFrame };

/** string2ll's number at b[p], then "\r\n" (errors carry `part`). */
function respNumber(b: Buffer, p: number, part: string): Num {
  const bad = (at: number, expected: string): Num => ({ ok: false, frame: { kind: 'bad', offset: at, expected, got: b[at], part } });
  const incomplete: Num = { ok: false, frame: INCOMPLETE };
  let i = p;
  const negative = b[i] === 0x2d;
  if (i === b.length) return incomplete;
  if (negative) i++;
  if (i === b.length) return incomplete;
  const digitsFrom = i;
  if (b[i] === 0x30) {
    if (negative) return bad(i, "a digit from 1 to 9 after '-'");
    i++;
    if (i === b.length) return incomplete;
    if (b[i] !== 0x0d) return bad(i, "'\\r' after 0 (no leading zeros)");
  } else if (b[i] >= 0x31 && b[i] <= 0x39) {
    const limit = negative ? INT64_MAX + 1n : INT64_MAX;
    while (++i < b.length && b[i] >= 0x30 && b[i] <= 0x39) {
      if (BigInt(b.toString('latin1', digitsFrom, i + 1)) > limit) return bad(i, 'a number that fits in 64 bits');
    }
    if (i === b.length) return incomplete;
    if (b[i] !== 0x0d) return bad(i, "a decimal digit or '\\r'");
  } else {
    return bad(i, negative ? "a digit from 1 to 9 after '-'" : 'a decimal digit');
  }
  const value = BigInt(b.toString('latin1', digitsFrom, i)) * (negative ? -1n : 1n);
  i++;
  if (i === b.length) return incomplete;
  if (b[i] !== 0x0a) return bad(i, "'\\n' after '\\r'");
  return { ok: true, value, next: i + 1 };
}

function resp(o: Required<RespFramerOptions>, b: Buffer): RefFrame {
  if (b.length === 0) return INCOMPLETE;
  if (b[0] !== 0x2a) return inline(o, b);
  const count = respNumber(b, 1, 'array header');
  if (!count.ok) return count.frame;
  if (count.value <= 0n) return { kind: 'none', length: count.next };
  if (count.value > BigInt(o.maxArgs)) {
    return { kind: 'tooLarge', offset: 0, limit: 'maxArgs', length: Number(count.value), part: 'array header' };
  }
  const fields: Buffer[] = [];
  let p = count.next;
  for (let k = 0n; k < count.value; k++) {
    if (p === b.length) return INCOMPLETE;
    if (b[p] !== 0x24) return { kind: 'bad', offset: p, expected: "'$'", got: b[p], part: 'bulk header' };
    const len = respNumber(b, p + 1, 'bulk header');
    if (!len.ok) return len.frame;
    if (len.value < 0n) return { kind: 'bad', offset: p + 1, expected: 'a bulk length of 0 or more', got: 0x2d, part: 'bulk header' };
    if (len.value > BigInt(o.maxArgBytes)) {
      return { kind: 'tooLarge', offset: p, limit: 'maxArgBytes', length: Number(len.value), part: 'bulk header' };
    }
    const n = Number(len.value);
    const through = len.next + n + 2;
    if (through > o.maxCommandBytes) {
      return { kind: 'tooLarge', offset: p, limit: 'maxCommandBytes', length: through, part: 'bulk header' };
    }
    if (b.length < through) return INCOMPLETE;
    if (b[len.next + n] !== 0x0d) return { kind: 'bad', offset: len.next + n, expected: "'\\r' after the bulk string", got: b[len.next + n], part: 'bulk string' };
    if (b[len.next + n + 1] !== 0x0a) return { kind: 'bad', offset: len.next + n + 1, expected: "'\\n' after the bulk string", got: b[len.next + n + 1], part: 'bulk string' };
    fields.push(b.subarray(len.next, len.next + n));
    p = through;
  }
  return { kind: 'frame', fields, length: p };
}

function inline(o: Required<RespFramerOptions>, b: Buffer): RefFrame {
  // processInlineBuffer: the line ends at '\n'; redis-server waits for it until the buffer holds
  // more than PROTO_INLINE_MAX_SIZE bytes. A NUL is refused where it is met.
  let nl = -1;
  for (let i = 0; i < b.length && i <= o.maxInlineBytes; i++) {
    if (b[i] === 0x0a) {
      nl = i;
      break;
    }
    if (b[i] === 0) return { kind: 'bad', offset: i, expected: 'a byte other than NUL', got: 0, part: 'inline command' };
  }
  if (nl < 0) {
    return b.length > o.maxInlineBytes
      ? { kind: 'tooLarge', offset: 0, limit: 'maxInlineBytes', length: null, part: 'inline command' }
      : INCOMPLETE;
  }
  const lineEnd = nl > 0 && b[nl - 1] === 0x0d ? nl - 1 : nl;
  const words = sdssplitargs(b.subarray(0, lineEnd));
  if (!Array.isArray(words)) {
    return { kind: 'bad', offset: words.at, expected: words.expected, got: words.at === lineEnd ? null : b[words.at], part: 'inline command' };
  }
  return words.length === 0 ? { kind: 'none', length: nl + 1 } : { kind: 'frame', fields: words, length: nl + 1 };
}

const isspace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isHex = (c: number): boolean => /[0-9a-fA-F]/.test(String.fromCharCode(c));

/**
 * sds.c's sdssplitargs, line by line, over line (a C string: reading past the end gives 0).
 * Returns the words, or where and why it failed ("goto err").
 */
function sdssplitargs(line: Buffer): Buffer[] | { at: number; expected: string } {
  const at = (i: number): number => (i < line.length ? line[i] : 0);
  const vector: Buffer[] = [];
  let p = 0;
  for (;;) {
    while (at(p) && isspace(at(p))) p++;
    if (!at(p)) return vector;
    let inq = false;
    let insq = false;
    let done = false;
    const current: number[] = [];
    while (!done) {
      if (inq) {
        if (at(p) === 0x5c && at(p + 1) === 0x78 && isHex(at(p + 2)) && isHex(at(p + 3))) {
          current.push(parseInt(String.fromCharCode(at(p + 2), at(p + 3)), 16));
          p += 3;
        } else if (at(p) === 0x5c && at(p + 1)) {
          p++;
          const c = ({ 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 } as Record<number, number>)[at(p)];
          current.push(c ?? at(p));
        } else if (at(p) === 0x22) {
          // closing quote must be followed by a space or nothing at all
          if (at(p + 1) && !isspace(at(p + 1))) return { at: p + 1, expected: 'a blank or the end of the line after a closing quote' };
          done = true;
        } else if (!at(p)) {
          return { at: p, expected: 'a closing quote' };
        } else {
          current.push(at(p));
        }
      } else if (insq) {
        if (at(p) === 0x5c && at(p + 1) === 0x27) {
          p++;
          current.push(0x27);
        } else if (at(p) === 0x27) {
          if (at(p + 1) && !isspace(at(p + 1))) return { at: p + 1, expected: 'a blank or the end of the line after a closing quote' };
          done = true;
        } else if (!at(p)) {
          return { at: p, expected: 'a closing quote' };
        } else {
          current.push(at(p));
        }
      } else {
        switch (at(p)) {
          case 0x20: case 0x0a: case 0x0d: case 0x09: case 0:
            done = true;
            break;
          case 0x22:
            inq = true;
            break;
          case 0x27:
            insq = true;
            break;
          default:
            current.push(at(p));
        }
      }
      if (at(p)) p++;
    }
    vector.push(Buffer.from(current));
  }
}

// ---- length-prefixed (Netty's decode()) ----

function lengthPrefixed(o: Required<LengthPrefixedOptions>, b: Buffer): RefFrame {
  const endOffset = o.lengthFieldOffset + o.lengthFieldLength;
  if (b.length === 0 || b.length < endOffset) return b.length === 0 ? INCOMPLETE : INCOMPLETE;
  const at = o.lengthFieldOffset;
  const field = b.subarray(at, endOffset);
  const ordered = o.byteOrder === 'big' ? field : Buffer.from(field).reverse();
  let value = BigInt(`0x${ordered.toString('hex')}`);
  if (o.lengthFieldLength === 8 && value >= 1n << 63n) value -= 1n << 64n;  // getLong
  const part = 'length field';
  if (value < 0n) return { kind: 'bad', offset: at, expected: 'a length field of 0 or more', got: Number(value), part };
  const frameLength = value + BigInt(o.lengthAdjustment) + BigInt(endOffset);
  if (frameLength < BigInt(endOffset)) {
    return { kind: 'bad', offset: at, expected: 'a frame length of at least lengthFieldOffset + lengthFieldLength', got: Number(frameLength), part };
  }
  if (frameLength > BigInt(o.maxFrameLength)) return { kind: 'tooLarge', offset: at, limit: 'maxFrameLength', length: Number(frameLength), part };
  if (BigInt(o.initialBytesToStrip) > frameLength) {
    return { kind: 'bad', offset: at, expected: 'a frame length of at least initialBytesToStrip', got: Number(frameLength), part };
  }
  const n = Number(frameLength);
  if (b.length < n) return INCOMPLETE;
  return { kind: 'frame', fields: [b.subarray(o.initialBytesToStrip, n)], length: n };
}

// ---- netstrings ----

function netstring(o: Required<NetstringOptions>, b: Buffer): RefFrame {
  const text = b.toString('latin1');
  const digits = /^[0-9]*/.exec(text)![0];
  if (digits.length === 0) {
    if (b.length === 0) return INCOMPLETE;
    return { kind: 'bad', offset: 0, expected: 'a decimal digit', got: b[0], part: 'length' };
  }
  if (digits[0] === '0' && digits.length > 1) {
    return { kind: 'bad', offset: 1, expected: "':' after 0 (no leading zeros)", got: b[1], part: 'length' };
  }
  // Over maxLength as soon as a prefix of the digits is.
  for (let i = 1; i <= digits.length; i++) {
    if (BigInt(digits.slice(0, i)) > BigInt(o.maxLength)) return { kind: 'tooLarge', offset: 0, limit: 'maxLength', length: null, part: 'length' };
  }
  const colon = digits.length;
  if (colon === b.length) return INCOMPLETE;
  if (b[colon] !== 0x3a) {
    const expected = digits === '0' ? "':' after 0 (no leading zeros)" : "a decimal digit or ':'";
    return { kind: 'bad', offset: colon, expected, got: b[colon], part: 'length' };
  }
  const n = Number(digits);
  const comma = colon + 1 + n;
  if (b.length <= comma) return INCOMPLETE;
  if (b[comma] !== 0x2c) return { kind: 'bad', offset: comma, expected: "',' after the payload", got: b[comma], part: 'payload' };
  return { kind: 'frame', fields: [b.subarray(colon + 1, comma)], length: comma + 1 };
}
