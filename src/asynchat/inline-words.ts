// A quoted word of a RESP inline command, unquoted: the native parser (framer_resp.cc) has found
// and checked it (a closing quote, followed by a blank or the end of the line); what remains is
// sdssplitargs' rewriting of it. In "double quotes": \xHH (two hex digits), \n, \r, \t, \b, \a,
// and \ before anything else stands for that byte; in 'single quotes' only \' is an escape.
// Bytes before the opening quote (a"b c") are part of the word.
const ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 };

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** The bytes of the quoted word buf[start, start + length), a new Buffer. */
export function unquoteInline(buf: Uint8Array, start: number, length: number): Buffer {
  const end = start + length;
  const out = Buffer.allocUnsafe(length);
  let n = 0;
  let quote = 0;
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (quote === 0) {
      if (c === 0x22 || c === 0x27) quote = c;
      else out[n++] = c;
      i++;
    } else if (c === quote) {
      break;  // the closing quote ends the word
    } else if (c === 0x5c && quote === 0x22 && i + 1 < end) {
      const e = buf[i + 1];
      const hi = i + 3 < end && e === 0x78 ? hexValue(buf[i + 2]) : -1;
      const lo = hi >= 0 ? hexValue(buf[i + 3]) : -1;
      if (lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 4;
      } else {
        out[n++] = ESCAPES[e] ?? e;
        i += 2;
      }
    } else if (c === 0x5c && quote === 0x27 && i + 1 < end && buf[i + 1] === 0x27) {
      out[n++] = 0x27;
      i += 2;
    } else {
      out[n++] = c;
      i++;
    }
  }
  return out.subarray(0, n);
}
